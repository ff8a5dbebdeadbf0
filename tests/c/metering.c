/*
 * An invoice checked against a figure computed by hand. Two instances of a
 * 2 vCPU / 4 GiB app run for 60 s; the first goes idle at 30 s (an event
 * sent as JSON). Prices: 10,000 nano-units per active vCPU-second, 2,000
 * per idle vCPU-second, 1,500 per GiB-second.
 *
 *   active CPU: 2 vCPU x (30 s + 60 s) x 10,000 = 1,800,000
 *   idle CPU:   2 vCPU x 30 s x 2,000           =   120,000
 *   memory:     4 GiB x 120 s x 1,500           =   720,000 (idle or not)
 *   total                                       = 2,640,000
 *
 * The meter's snapshot restores to a meter that bills the same. Events are
 * derived from the scheduler's decisions; replaying them is harmless.
 */
#include "check.h"

int main(void) {
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

  tl_meter *m = NULL;
  OKE(tl_meter_new(NULL, 0, &m, &err));
  OKE(tl_meter_add_price_table_json(m,
                                    S("{\"version\": 1, \"effective\": 0, \"cpu_nanos_per_vcpu_second\": 10000,"
                                      " \"idle_cpu_nanos_per_vcpu_second\": 2000,"
                                      " \"memory_nanos_per_gib_second\": 1500,"
                                      " \"accelerator_nanos_per_second\": 200000}"),
                                    &err));
  FAILS(TL_STATUS_INVALID_INPUT, "idle",
        tl_meter_add_price_table_json(m,
                                      S("{\"version\": 2, \"effective\": 0, \"cpu_nanos_per_vcpu_second\": 1,"
                                        " \"idle_cpu_nanos_per_vcpu_second\": 2,"
                                        " \"memory_nanos_per_gib_second\": 1,"
                                        " \"accelerator_nanos_per_second\": 1}"),
                                      &err));

  /* Two instances start at 0 s. */
  tl_decisions *d = NULL;
  size_t n = 0;
  OKE(tl_scheduler_scale(s, S("shop-api"), 2, 0, TL_MODE_COMMIT, &d, &err));
  CHECK(tl_decisions_placements_len(d) == 2);
  tl_placement first;
  OKE(tl_decisions_placement(d, 0, &first, &err));
  OKE(tl_meter_ingest_decisions(m, s, d, 0, &n, &err));
  CHECK(n == 2);
  /* The same decisions again are duplicates: nothing is billed twice. */
  OKE(tl_meter_ingest_decisions(m, s, d, 0, &n, &err));
  CHECK(n == 2);
  tl_decisions_free(d);

  /* The first goes idle at 30 s: an event of the embedder's, as JSON. */
  char idle[256];
  int len = snprintf(idle, sizeof idle,
                     "[{\"id\": 7001, \"tenant\": \"shop\", \"app\": \"shop-api\", \"instance\": %llu,"
                     " \"at\": 30000, \"kind\": \"idle\"}]",
                     (unsigned long long)first.instance);
  OKE(tl_meter_ingest_json(m, idle, (size_t)len, 30000, &n, &err));
  CHECK(n == 1);
  FAILS(TL_STATUS_BAD_JSON, "events: [0].kind: unknown variant",
        tl_meter_ingest_json(m, S("[{\"id\": 7002, \"tenant\": \"shop\", \"app\": \"shop-api\", \"instance\": 1,"
                                  " \"at\": 30000, \"kind\": \"sleepy\"}]"),
                             30000, &n, &err));
  FAILS(TL_STATUS_CONFLICT, "event 0 of the batch refused",
        tl_meter_ingest_json(m, S("[{\"id\": 7001, \"tenant\": \"shop\", \"app\": \"shop-api\", \"instance\": 2,"
                                  " \"at\": 30000, \"kind\": \"idle\"}]"),
                             30000, &n, &err));

  /* Both stop at 60 s. */
  OKE(tl_scheduler_scale(s, S("shop-api"), 0, 60000, TL_MODE_COMMIT, &d, &err));
  CHECK(tl_decisions_removals_len(d) == 2);
  OKE(tl_meter_ingest_decisions(m, s, d, 60000, &n, &err));
  CHECK(n == 2);
  tl_decisions_free(d);

  /* The meter survives a snapshot and restore. */
  tl_buffer *snap = NULL;
  OKE(tl_meter_snapshot(m, &snap, &err));
  tl_meter *m2 = NULL;
  OKE(tl_meter_restore(tl_buffer_data(snap), tl_buffer_len(snap), &m2, &err));
  tl_meter *none = NULL;
  FAILS(TL_STATUS_BAD_JSON, "meter snapshot", tl_meter_restore(tl_buffer_data(snap), 10, &none, &err));
  tl_buffer_free(snap);

  tl_meter *meters[2] = {m, m2};
  tl_buffer *reports[2] = {NULL, NULL};
  for (int k = 0; k < 2; k++) {
    tl_report *r = NULL;
    FAILS(TL_STATUS_OUT_OF_ORDER, "", tl_meter_close_period(meters[k], 120000, 60000, &r, &err));
    OKE(tl_meter_close_period(meters[k], 120000, 120000, &r, &err));
    CHECK(tl_report_invoices_len(r) == 1);
    tl_invoice inv;
    OKE(tl_report_invoice(r, 0, &inv, &err));
    CHECK(str_eq(inv.tenant, "shop"));
    CHECK(inv.total_nanos == 2640000);
    int64_t sum = 0;
    int64_t cpu = -1, idle_cpu = -1;
    for (size_t j = 0; j < inv.line_count; j++) {
      tl_invoice_line line;
      OKE(tl_report_invoice_line(r, 0, j, &line, &err));
      CHECK(str_eq(line.app, "shop-api"));
      CHECK(line.price_version == 1 && !line.is_adjustment);
      sum += line.amount_nanos;
      if (str_eq(line.component, "cpu")) {
        cpu = line.amount_nanos;
        CHECK(line.quantity == 2000LL * 90000LL); /* millicore-ms */
        CHECK(line.rate_nanos == 10000);
      }
      if (str_eq(line.component, "idle_cpu")) {
        idle_cpu = line.amount_nanos;
      }
    }
    CHECK(sum == inv.total_nanos);
    CHECK(cpu == 1800000);
    CHECK(idle_cpu == 120000);
    tl_invoice_line line;
    FAILS(TL_STATUS_INDEX_OUT_OF_RANGE, "index", tl_report_invoice_line(r, 0, inv.line_count, &line, &err));
    FAILS(TL_STATUS_INDEX_OUT_OF_RANGE, "index 1", tl_report_invoice(r, 1, &inv, &err));
    OKE(tl_report_to_json(r, &reports[k], &err));
    printf("metering.c: invoice for shop: %lld nano-units in %zu lines\n", (long long)inv.total_nanos,
           inv.line_count);
    tl_report_free(r);
  }
  /* The restored meter bills exactly what the original does. */
  CHECK(same_bytes(reports[0], reports[1]));
  tl_buffer_free(reports[0]);
  tl_buffer_free(reports[1]);

  FAILS(TL_STATUS_NULL_POINTER, "meter is NULL", tl_meter_ingest_json(NULL, S("[]"), 0, &n, &err));
  FAILS(TL_STATUS_NULL_POINTER, "ingested_out is NULL", tl_meter_ingest_json(m, S("[]"), 0, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "decisions is NULL", tl_meter_ingest_decisions(m, s, NULL, 0, &n, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL", tl_meter_ingest_decisions(m, NULL, NULL, 0, &n, &err));
  FAILS(TL_STATUS_NULL_POINTER, "report is NULL", tl_report_to_json(NULL, &snap, &err));
  CHECK(tl_report_invoices_len(NULL) == 0);

  CHECK(tl_meter_free(m) == TL_STATUS_OK);
  CHECK(tl_meter_free(m2) == TL_STATUS_OK);
  CHECK(tl_scheduler_free(s) == TL_STATUS_OK);
  return finish("metering.c");
}
