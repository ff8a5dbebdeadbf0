/*
 * Meter keys and zones per event, against bills computed by hand.
 *
 * Two schedulers, "east" and "west", each count instances from 1 and share
 * one meter. An app of 2 vCPU / 4 GiB; 10,000 nano-units per vCPU-second,
 * 1,000 per GiB-second (24,000 per instance-second):
 *
 *   east: 2 instances x 60 s x 24,000 = 2,880,000
 *   west: 1 instance  x 30 s x 24,000 =   720,000
 *   total                             = 3,600,000
 *
 * Zones: list prices 5,000 / 500, zone z-a 10,000 / 1,000, zone z-b
 * 20,000 / 2,000; SKU g7 is described in z-a. Two instances of 1 vCPU /
 * 1 GiB run 100 s on g7, the first naming no zone (z-a, as described),
 * the second delivered in z-b:
 *
 *   100 s x (10,000 + 1,000) + 100 s x (20,000 + 2,000) = 3,300,000
 */
#include "check.h"

static tl_scheduler *region(void) {
  tl_scheduler *s = NULL;
  OKE(tl_scheduler_new(NULL, 0, &s, &err));
  OKE(tl_scheduler_add_zone(s, S("zone-a"), TL_ZONE_STATE_UP, 0, &err));
  ADD_SKU(s,
          "{\"id\": \"g7\", \"family\": \"g7\", \"generation\": 7, \"arch\": \"x86_64\","
          " \"cpu_vendor\": \"intel\", \"allocatable\": {\"cpu_millis\": 16000, \"memory_mib\": 65536},"
          " \"perf_score\": 100, \"price_nanos_per_second\": 1000}",
          0);
  add_host(s, 1, "g7", "zone-a", 0);
  ADD_APP(s,
          "{\"id\": \"shop-api\", \"tenant\": \"shop\", \"resources\": {\"cpu_millis\": 2000, \"memory_mib\": 4096},"
          " \"arches\": [\"x86_64\"]}",
          0);
  return s;
}

/* Scale `app` of `s` to `target` at `now` and meter it as `source`. */
static size_t scale(tl_meter *m, tl_scheduler *s, const char *source, uint32_t target, uint64_t now) {
  tl_decisions *d = NULL;
  size_t n = 0;
  OKE(tl_scheduler_scale(s, S("shop-api"), target, now, TL_MODE_COMMIT, &d, &err));
  OKE(tl_meter_ingest_decisions_from(m, source, strlen(source), s, d, now, &n, &err));
  /* The same decisions again are duplicates within the source. */
  size_t again = 0;
  OKE(tl_meter_ingest_decisions_from(m, source, strlen(source), s, d, now, &again, &err));
  CHECK(again == n);
  tl_decisions_free(d);
  return n;
}

static int contains(const tl_buffer *b, const char *needle) {
  size_t len = tl_buffer_len(b), k = strlen(needle);
  const uint8_t *data = tl_buffer_data(b);
  for (size_t i = 0; i + k <= len; i++) {
    if (memcmp(data + i, needle, k) == 0) {
      return 1;
    }
  }
  return 0;
}

static int64_t total_of(tl_meter *m, uint64_t end, tl_buffer **json) {
  tl_report *r = NULL;
  OKE(tl_meter_close_period(m, end, end, &r, &err));
  tl_invoice inv;
  inv.total_nanos = -1;
  OKE(tl_report_invoice(r, 0, &inv, &err));
  OKE(tl_report_to_json(r, json, &err));
  tl_report_free(r);
  return inv.total_nanos;
}

int main(void) {
  tl_scheduler *east = region();
  tl_scheduler *west = region();
  tl_meter *m = NULL;
  OKE(tl_meter_new(NULL, 0, &m, &err));
  OKE(tl_meter_add_price_table_json(m,
                                    S("{\"version\": 1, \"effective\": 0, \"cpu_nanos_per_vcpu_second\": 10000,"
                                      " \"idle_cpu_nanos_per_vcpu_second\": 10000,"
                                      " \"memory_nanos_per_gib_second\": 1000,"
                                      " \"accelerator_nanos_per_second\": 0}"),
                                    &err));

  CHECK(scale(m, east, "east", 2, 0) == 2);
  CHECK(scale(m, west, "west", 1, 0) == 1);
  /* Both schedulers placed instance 1; each is running in its source. */
  bool running = false;
  /* The meter names the sources its events came from, in order. */
  tl_buffer *sources = NULL;
  OKE(tl_meter_sources(m, &sources, &err));
  CHECK(tl_buffer_len(sources) == strlen("[\"east\",\"west\"]") &&
        memcmp(tl_buffer_data(sources), "[\"east\",\"west\"]", tl_buffer_len(sources)) == 0);
  tl_buffer_free(sources);
  FAILS(TL_STATUS_NULL_POINTER, "json_out", tl_meter_sources(m, NULL, &err));
  OKE(tl_meter_is_running(m, S("east"), 1, &running, &err));
  CHECK(running);
  OKE(tl_meter_is_running(m, S("west"), 1, &running, &err));
  CHECK(running);
  OKE(tl_meter_is_running(m, NULL, 0, 1, &running, &err));
  CHECK(!running);
  CHECK(scale(m, west, "west", 0, 30000) == 1);
  OKE(tl_meter_is_running(m, S("west"), 1, &running, &err));
  CHECK(!running);
  OKE(tl_meter_is_running(m, S("east"), 1, &running, &err));
  CHECK(running);
  CHECK(scale(m, east, "east", 0, 60000) == 2);

  tl_decisions *d = NULL;
  size_t n = 0;
  OKE(tl_scheduler_scale(east, S("shop-api"), 1, 60000, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_INVALID_INPUT, "source", tl_meter_ingest_decisions_from(m, S("no spaces"), east, d, 60000, &n, &err));
  FAILS(TL_STATUS_NULL_POINTER, "source is NULL", tl_meter_ingest_decisions_from(m, NULL, 3, east, d, 60000, &n, &err));
  FAILS(TL_STATUS_NULL_POINTER, "running_out is NULL", tl_meter_is_running(m, S("east"), 1, NULL, &err));
  tl_decisions_free(d);

  tl_buffer *json = NULL;
  CHECK(total_of(m, 120000, &json) == 2880000 + 720000);
  CHECK(contains(json, "\"source\":\"east\""));
  CHECK(contains(json, "\"source\":\"west\""));
  tl_buffer_free(json);
  printf("meter_keys.c: east and west, both from instance 1, billed 3,600,000 nano-units\n");

  /* Zones per event. */
  tl_meter *z = NULL;
  OKE(tl_meter_new(NULL, 0, &z, &err));
  OKE(tl_meter_add_price_table_json(z,
                                    S("{\"version\": 1, \"effective\": 0, \"cpu_nanos_per_vcpu_second\": 5000,"
                                      " \"idle_cpu_nanos_per_vcpu_second\": 5000,"
                                      " \"memory_nanos_per_gib_second\": 500,"
                                      " \"accelerator_nanos_per_second\": 0, \"sku_rates\": ["
                                      " {\"zone\": \"z-a\", \"cpu_nanos_per_vcpu_second\": 10000,"
                                      "  \"idle_cpu_nanos_per_vcpu_second\": 10000,"
                                      "  \"memory_nanos_per_gib_second\": 1000, \"accelerator_nanos_per_second\": 0},"
                                      " {\"zone\": \"z-b\", \"cpu_nanos_per_vcpu_second\": 20000,"
                                      "  \"idle_cpu_nanos_per_vcpu_second\": 20000,"
                                      "  \"memory_nanos_per_gib_second\": 2000, \"accelerator_nanos_per_second\": 0}]}"),
                                    &err));
  OKE(tl_meter_describe_skus_json(z, S("[{\"sku\": \"g7\", \"zone\": \"z-a\"}]"), &err));
  OKE(tl_meter_ingest_json(
      z,
      S("[{\"id\": 1, \"tenant\": \"shop\", \"app\": \"shop-api\", \"instance\": 1, \"at\": 0,"
        "  \"kind\": {\"started\": {\"resources\": {\"cpu_millis\": 1000, \"memory_mib\": 1024},"
        "  \"delivered\": \"g7\"}}},"
        " {\"id\": 2, \"tenant\": \"shop\", \"app\": \"shop-api\", \"instance\": 2, \"at\": 0,"
        "  \"kind\": {\"started\": {\"resources\": {\"cpu_millis\": 1000, \"memory_mib\": 1024},"
        "  \"delivered\": \"g7\", \"zone\": \"z-b\"}}},"
        " {\"id\": 3, \"tenant\": \"shop\", \"app\": \"shop-api\", \"instance\": 1, \"at\": 100000,"
        "  \"kind\": \"stopped\"},"
        " {\"id\": 4, \"tenant\": \"shop\", \"app\": \"shop-api\", \"instance\": 2, \"at\": 100000,"
        "  \"kind\": \"stopped\"}]"),
      100000, &n, &err));
  CHECK(n == 4);
  FAILS(TL_STATUS_BAD_JSON, "zone",
        tl_meter_ingest_json(z,
                             S("[{\"id\": 5, \"tenant\": \"shop\", \"app\": \"shop-api\", \"instance\": 3,"
                               " \"at\": 0, \"kind\": {\"started\": {\"resources\": {\"cpu_millis\": 1000,"
                               " \"memory_mib\": 1024}, \"delivered\": \"g7\", \"zone\": \"no spaces\"}}}]"),
                             100000, &n, &err));

  /* The snapshot keeps the zone; the restored meter bills the same. */
  tl_buffer *snap = NULL;
  OKE(tl_meter_snapshot(z, &snap, &err));
  CHECK(contains(snap, "\"zone\":\"z-b\""));
  tl_meter *z2 = NULL;
  OKE(tl_meter_restore(tl_buffer_data(snap), tl_buffer_len(snap), &z2, &err));
  tl_buffer_free(snap);

  tl_report *r = NULL;
  OKE(tl_meter_close_period(z, 120000, 120000, &r, &err));
  tl_invoice inv;
  OKE(tl_report_invoice(r, 0, &inv, &err));
  CHECK(inv.total_nanos == 3300000);
  CHECK(inv.line_count == 4);
  /* Lines by SKU, then zone: g7 with no zone named first. */
  int64_t rates[4] = {10000, 1000, 20000, 2000};
  int64_t amounts[4] = {1000000, 100000, 2000000, 200000};
  for (size_t j = 0; j < 4 && j < inv.line_count; j++) {
    tl_invoice_line line;
    OKE(tl_report_invoice_line(r, 0, j, &line, &err));
    CHECK(str_eq(line.sku, "g7"));
    CHECK(line.rate_nanos == rates[j]);
    CHECK(line.amount_nanos == amounts[j]);
  }
  tl_buffer *first = NULL;
  OKE(tl_report_to_json(r, &first, &err));
  CHECK(contains(first, "\"zone\":\"z-b\""));
  tl_report_free(r);
  tl_buffer *second = NULL;
  CHECK(total_of(z2, 120000, &second) == 3300000);
  CHECK(same_bytes(first, second));
  tl_buffer_free(first);
  tl_buffer_free(second);
  printf("meter_keys.c: g7 in z-a and z-b billed 3,300,000 nano-units\n");

  CHECK(tl_meter_free(m) == TL_STATUS_OK);
  CHECK(tl_meter_free(z) == TL_STATUS_OK);
  CHECK(tl_meter_free(z2) == TL_STATUS_OK);
  CHECK(tl_scheduler_free(east) == TL_STATUS_OK);
  CHECK(tl_scheduler_free(west) == TL_STATUS_OK);
  return finish("meter_keys.c");
}
