/*
 * Standby instances on the invoice, from C: two standbys from 10 s, a
 * scale-out to one at 110 s starts one and refills the target, the started
 * one is scaled away at 170 s, and the period closes at 210 s. A standby
 * pays no CPU, its memory at the standby memory rate and its accelerator
 * as an idle accelerator; every figure is computed by hand below.
 */
#include "check.h"

#define T0 10000ULL
#define SEC 1000ULL

static void metered(tl_meter *m, tl_scheduler *s, tl_decisions *d, uint64_t now) {
  size_t n = 0;
  OKE(tl_meter_ingest_decisions(m, s, d, now, &n, &err));
  tl_decisions_free(d);
}

static tl_invoice_line line_of(const tl_report *r, size_t i) {
  tl_invoice_line line;
  memset(&line, 0, sizeof line);
  OKE(tl_report_invoice_line(r, 0, i, &line, &err));
  return line;
}

int main(void) {
  tl_scheduler *s = NULL;
  OKE(tl_scheduler_new(NULL, 0, &s, &err));
  OKE(tl_scheduler_add_zone(s, S("a"), TL_ZONE_STATE_UP, 0, &err));
  ADD_SKU(s,
          "{\"id\": \"g7\", \"family\": \"g7\", \"generation\": 7, \"arch\": \"x86_64\","
          " \"cpu_vendor\": \"intel\", \"allocatable\": {\"cpu_millis\": 16000, \"memory_mib\": 65536,"
          " \"accelerators\": 4}, \"accelerator_model\": \"a10\", \"perf_score\": 100,"
          " \"price_nanos_per_second\": 1000}",
          0);
  for (uint64_t h = 1; h <= 2; h++) {
    add_host(s, h, "g7", "a", 0);
  }
  ADD_APP(s,
          "{\"id\": \"game\", \"tenant\": \"t\", \"arches\": [\"x86_64\"],"
          " \"resources\": {\"cpu_millis\": 4000, \"memory_mib\": 8192, \"accelerators\": 1}}",
          0);

  tl_meter *m = NULL;
  OKE(tl_meter_new(NULL, 0, &m, &err));
  /* A standby memory rate above the memory rate is refused. */
  FAILS(TL_STATUS_INVALID_INPUT, "standby_memory_nanos_per_gib_second = 1001 is higher",
        tl_meter_add_price_table_json(m,
                                      S("{\"version\": 1, \"effective\": 0, \"cpu_nanos_per_vcpu_second\": 10000,"
                                        " \"idle_cpu_nanos_per_vcpu_second\": 2000, \"memory_nanos_per_gib_second\": 1000,"
                                        " \"standby_memory_nanos_per_gib_second\": 1001,"
                                        " \"accelerator_nanos_per_second\": 100000}"),
                                      &err));
  OKE(tl_meter_add_price_table_json(m,
                                    S("{\"version\": 1, \"effective\": 0, \"cpu_nanos_per_vcpu_second\": 10000,"
                                      " \"idle_cpu_nanos_per_vcpu_second\": 2000, \"memory_nanos_per_gib_second\": 1000,"
                                      " \"standby_memory_nanos_per_gib_second\": 250,"
                                      " \"accelerator_nanos_per_second\": 100000,"
                                      " \"idle_accelerator_nanos_per_second\": 20000}"),
                                    &err));

  tl_decisions *d = NULL;
  OKE(tl_scheduler_set_standby(s, S("game"), 2, T0, TL_MODE_COMMIT, &d, &err));
  metered(m, s, d, T0);
  OKE(tl_scheduler_scale(s, S("game"), 1, T0 + 100 * SEC, TL_MODE_COMMIT, &d, &err));
  CHECK(tl_decisions_placements_len(d) == 2);
  metered(m, s, d, T0 + 100 * SEC);
  /* The standby that started is the running instance: instance 1. */
  bool running = false;
  OKE(tl_meter_is_running(m, NULL, 0, 1, &running, &err));
  CHECK(running);
  OKE(tl_scheduler_scale(s, S("game"), 0, T0 + 160 * SEC, TL_MODE_COMMIT, &d, &err));
  CHECK(tl_decisions_removals_len(d) == 1);
  metered(m, s, d, T0 + 160 * SEC);

  /* A standby event for an instance that is not running is refused. */
  size_t n = 0;
  FAILS(TL_STATUS_CONFLICT, "not running",
        tl_meter_ingest_json(m,
                             S("[{\"id\": 1, \"tenant\": \"t\", \"app\": \"game\", \"instance\": 1,"
                               " \"at\": 175000, \"kind\": \"standby\"}]"),
                             T0 + 170 * SEC, &n, &err));

  tl_report *r = NULL;
  OKE(tl_meter_close_period(m, T0 + 200 * SEC, T0 + 200 * SEC, &r, &err));
  tl_invoice inv;
  OKE(tl_report_invoice(r, 0, &inv, &err));
  /*
   * Instance 1: standby 0-100 s, active 100-160 s. Instance 2: standby
   * 0-200 s. Instance 3: standby 100-200 s.
   *   cpu:               4 vCPU x 60 s x 10,000          = 2,400,000
   *   memory:            8 GiB x 60 s x 1,000            =   480,000
   *   accelerators:      1 x 60 s x 100,000              = 6,000,000
   *   idle_accelerators: 1 x 400 s x 20,000              = 8,000,000
   *   standby_memory:    8 GiB x 400 s x 250             =   800,000
   */
  CHECK(inv.total_nanos == 17680000);
  CHECK(inv.line_count == 5);
  const char *components[] = {"cpu", "memory", "accelerators", "idle_accelerators", "standby_memory"};
  const int64_t quantities[] = {4000LL * 60000, 8LL * 60 * 1024000, 60000, 400000, 8LL * 400 * 1024000};
  const int64_t amounts[] = {2400000, 480000, 6000000, 8000000, 800000};
  for (size_t i = 0; i < 5 && i < inv.line_count; i++) {
    tl_invoice_line line = line_of(r, i);
    CHECK(str_eq(line.component, components[i]));
    CHECK(line.quantity == quantities[i]);
    CHECK(line.amount_nanos == amounts[i]);
  }
  printf("standby_metering.c: invoice %lld nano-units in %zu lines\n", (long long)inv.total_nanos,
         inv.line_count);
  tl_report_free(r);

  /*
   * A standby that waits for a new host comes up a standby: six servers
   * and the two standbys fill both hosts, a third standby is placed on a
   * planned host, and host_ready reports it marked stopped (metered as a
   * standby, not a running server).
   */
  OKE(tl_scheduler_set_stock(s, S("g7"), S("a"), TL_STOCK_UNKNOWN, 0, T0 + 300 * SEC, TL_MODE_COMMIT, &d,
                             &err));
  tl_decisions_free(d);
  OKE(tl_scheduler_scale(s, S("game"), 6, T0 + 300 * SEC, TL_MODE_COMMIT, &d, &err));
  tl_decisions_free(d);
  OKE(tl_scheduler_set_standby(s, S("game"), 3, T0 + 301 * SEC, TL_MODE_COMMIT, &d, &err));
  CHECK(tl_decisions_tentative_len(d) == 1 && tl_decisions_provisions_len(d) == 1);
  uint64_t planned = 0;
  OKE(tl_decisions_provision_host(d, 0, 0, &planned, &err));
  tl_decisions_free(d);
  OKE(tl_scheduler_host_ready(s, planned, 50, T0 + 390 * SEC, TL_MODE_COMMIT, &d, &err));
  CHECK(tl_decisions_placements_len(d) == 1);
  tl_placement p;
  memset(&p, 0, sizeof p);
  OKE(tl_decisions_placement(d, 0, &p, &err));
  CHECK(p.host == 50 && p.standby == TL_STANDBY_MARK_STOPPED);
  tl_decisions_free(d);
  OK(tl_meter_free(m));
  OK(tl_scheduler_free(s));
  return finish("standby_metering");
}
