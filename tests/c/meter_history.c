/*
 * The meter's history of closed periods and its usage export.
 *
 * One instance of 2 vCPU and 4 GiB runs from 0, at 10,000 per vCPU-s and
 * 1,000 per GiB-s: each one-minute period bills 2 x 60 x 10,000 +
 * 4 x 60 x 1,000 = 1,440,000 nano-units. The meter keeps two periods.
 */
#include "check.h"

#define NOW 100000000ULL

/* Occurrences of `needle` in a buffer's bytes. */
static size_t count_in(const tl_buffer *b, const char *needle) {
  size_t n = 0, len = tl_buffer_len(b), k = strlen(needle);
  const uint8_t *d = tl_buffer_data(b);
  for (size_t i = 0; i + k <= len; i++) {
    if (memcmp(d + i, needle, k) == 0) {
      n++;
    }
  }
  return n;
}

/* The total of the only invoice of closed period `period`. */
static int64_t closed_total(const tl_meter *m, uint64_t period) {
  tl_report *r = NULL;
  tl_invoice inv;
  inv.total_nanos = -1;
  OKE(tl_meter_closed_report(m, period, &r, &err));
  CHECK(tl_report_invoices_len(r) == 1);
  OKE(tl_report_invoice(r, 0, &inv, &err));
  CHECK(inv.period == period);
  tl_report_free(r);
  return inv.total_nanos;
}

int main(void) {
  tl_meter *m = NULL;
  OKE(tl_meter_new(S("{\"history_periods\": 2}"), &m, &err));
  OKE(tl_meter_add_price_table_json(
      m,
      S("{\"version\": 1, \"effective\": 0, \"cpu_nanos_per_vcpu_second\": 10000,"
        " \"idle_cpu_nanos_per_vcpu_second\": 2000, \"memory_nanos_per_gib_second\": 1000,"
        " \"accelerator_nanos_per_second\": 0}"),
      &err));
  OKE(tl_meter_describe_skus_json(m, S("[{\"sku\": \"g7\", \"zone\": \"z1\"}]"), &err));
  size_t n = 0;
  OKE(tl_meter_ingest_json(
      m,
      S("[{\"id\": 1, \"tenant\": \"acme\", \"app\": \"web\", \"instance\": 1, \"at\": 0,"
        "  \"kind\": {\"started\": {\"resources\": {\"cpu_millis\": 2000, \"memory_mib\": 4096},"
        "                          \"delivered\": \"g7\"}}}]"),
      NOW, &n, &err));
  CHECK(n == 1);
  for (uint64_t k = 1; k <= 3; k++) {
    tl_report *r = NULL;
    OKE(tl_meter_close_period(m, k * 60000, NOW, &r, &err));
    tl_report_free(r);
  }

  /* Periods 1 and 2 are kept; period 0 was dropped first. */
  FAILS(TL_STATUS_UNKNOWN_ID, "periods 1 to 2", tl_meter_closed_report(m, 0, &(tl_report *){NULL}, &err));
  FAILS(TL_STATUS_UNKNOWN_ID, "not in the meter's history", tl_meter_closed_report(m, 3, &(tl_report *){NULL}, &err));
  CHECK(closed_total(m, 1) == 1440000);
  CHECK(closed_total(m, 2) == 1440000);
  tl_buffer *history = NULL;
  OKE(tl_meter_history_json(m, &history, &err));
  CHECK(count_in(history, "\"invoices\"") == 2);
  CHECK(count_in(history, "\"total_nanos\":1440000") == 2);
  tl_buffer_free(history);

  /* A restored meter answers the same. */
  tl_buffer *snap = NULL;
  OKE(tl_meter_snapshot(m, &snap, &err));
  CHECK(count_in(snap, "\"format\":3") == 1);
  tl_meter *copy = NULL;
  OKE(tl_meter_restore(tl_buffer_data(snap), tl_buffer_len(snap), &copy, &err));
  tl_buffer_free(snap);
  CHECK(closed_total(copy, 2) == 1440000);
  FAILS(TL_STATUS_UNKNOWN_ID, "history", tl_meter_closed_report(copy, 0, &(tl_report *){NULL}, &err));
  OK(tl_meter_free(copy));

  /* Usage of the open period [180 s, 240 s): it goes idle at 200 s.
   * Active 20 s: 2,000 x 20,000 = 40,000,000 millicore-ms and
   * 4,096 x 20,000 = 81,920,000 MiB-ms; idle 40 s: 80,000,000 and
   * 163,840,000. */
  OKE(tl_meter_ingest_json(
      m, S("[{\"id\": 2, \"tenant\": \"acme\", \"app\": \"web\", \"instance\": 1, \"at\": 200000, \"kind\": \"idle\"}]"),
      NOW, &n, &err));
  tl_buffer *usage = NULL;
  OKE(tl_meter_usage_json(m, 180000, 240000, NULL, 0, &usage, &err));
  CHECK(count_in(usage, "\"component\"") == 4);
  CHECK(count_in(usage, "\"tenant\":\"acme\",\"app\":\"web\",\"source\":null,\"instance\":1,\"sku\":\"g7\",\"zone\":\"z1\"") == 4);
  CHECK(count_in(usage, "\"component\":\"cpu\",\"quantity\":40000000,") == 1);
  CHECK(count_in(usage, "\"component\":\"idle_cpu\",\"quantity\":80000000,") == 1);
  CHECK(count_in(usage, "\"component\":\"memory\",\"quantity\":81920000,") == 1);
  CHECK(count_in(usage, "\"component\":\"idle_memory\",\"quantity\":163840000,") == 1);
  tl_buffer_free(usage);
  OKE(tl_meter_usage_json(m, 180000, 240000, S("{\"zone\": true}"), &usage, &err));
  CHECK(count_in(usage, "\"tenant\":null,\"app\":null,\"source\":null,\"instance\":null,\"sku\":null,\"zone\":\"z1\"") == 4);
  tl_buffer_free(usage);

  /* Closed periods are not exported; group_by is checked. */
  FAILS(TL_STATUS_INVALID_INPUT, "open period",
        tl_meter_usage_json(m, 0, 240000, NULL, 0, &(tl_buffer *){NULL}, &err));
  FAILS(TL_STATUS_BAD_JSON, "bogus",
        tl_meter_usage_json(m, 180000, 240000, S("{\"bogus\": true}"), &(tl_buffer *){NULL}, &err));
  FAILS(TL_STATUS_NULL_POINTER, "json_out", tl_meter_usage_json(m, 180000, 240000, NULL, 0, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "meter", tl_meter_closed_report(NULL, 1, &(tl_report *){NULL}, &err));

  OK(tl_meter_free(m));
  return finish("meter_history.c");
}
