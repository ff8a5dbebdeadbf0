/*
 * Volume tiers and a free quota in a JSON price table, per vCPU-hour:
 * the first vCPU-hour of each period free, then $0.04048, then $0.030
 * from 3 vCPU-hours on. One run of 4 vCPU for 1 h crosses both
 * boundaries and is split there:
 *
 *   1 vCPU-hour free                      0
 *   2 vCPU-hours at 40,480,000   80,960,000
 *   1 vCPU-hour  at 30,000,000   30,000,000
 *                               -----------
 *                               110,960,000
 */
#include "check.h"

#define TABLE_HEAD                                                                     \
  "{\"version\": 1, \"effective\": 0, \"rates_per\": \"hour\","                       \
  " \"cpu_nanos_per_vcpu_second\": 40480000, \"idle_cpu_nanos_per_vcpu_second\": 40480000," \
  " \"memory_nanos_per_gib_second\": 0, \"accelerator_nanos_per_second\": 0,"

#define QUOTA " \"free_quotas\": [{\"component\": \"cpu\", \"quantity\": 1}],"

int main(void) {
  tl_meter *m = NULL;
  OKE(tl_meter_new(NULL, 0, &m, &err));
  OKE(tl_meter_add_price_table_json(
      m, S(TABLE_HEAD QUOTA " \"tiers\": [{\"component\": \"cpu\", \"start\": 3, \"rate_nanos\": 30000000}]}"),
      &err));
  size_t n = 0;
  OKE(tl_meter_ingest_json(
      m,
      S("[{\"id\": 1, \"tenant\": \"acme\", \"app\": \"web\", \"instance\": 1, \"at\": 0,"
        "  \"kind\": {\"started\": {\"resources\": {\"cpu_millis\": 4000, \"memory_mib\": 1024}}}},"
        " {\"id\": 2, \"tenant\": \"acme\", \"app\": \"web\", \"instance\": 1, \"at\": 3600000, \"kind\": \"stopped\"}]"),
      7200000, &n, &err));
  CHECK(n == 2);
  tl_report *r = NULL;
  OKE(tl_meter_close_period(m, 7200000, 7200000, &r, &err));
  CHECK(tl_report_invoices_len(r) == 1);
  tl_invoice inv;
  inv.total_nanos = -1;
  inv.line_count = 0;
  OKE(tl_report_invoice(r, 0, &inv, &err));
  CHECK(inv.total_nanos == 110960000);
  const int64_t quantities[3] = {3600000000LL, 7200000000LL, 3600000000LL};
  const int64_t rates[3] = {0, 40480000, 30000000};
  const int64_t amounts[3] = {0, 80960000, 30000000};
  /* The free quota is below the first tier; the last line is tier 0. */
  const bool free[3] = {true, false, false};
  const bool has_tier[3] = {false, false, true};
  size_t cpu = 0;
  for (size_t j = 0; j < inv.line_count; j++) {
    tl_invoice_line line;
    OKE(tl_report_invoice_line(r, 0, j, &line, &err));
    if (!str_eq(line.component, "cpu")) {
      continue;
    }
    CHECK(cpu < 3);
    if (cpu < 3) {
      CHECK(line.quantity == quantities[cpu]);
      CHECK(line.rate_nanos == rates[cpu]);
      CHECK(line.amount_nanos == amounts[cpu]);
      CHECK(line.free_quota == free[cpu]);
      CHECK(line.has_tier == has_tier[cpu]);
      CHECK(line.tier == 0);
    }
    cpu++;
  }
  CHECK(cpu == 3);
  printf("price_tiers.c: %lld nano-units\n", (long long)inv.total_nanos);
  tl_report_free(r);

  /* Tier starts must increase, a component has one quota at most, and a
   * tier needs a rate. */
  FAILS(TL_STATUS_INVALID_INPUT, "tier",
        tl_meter_add_price_table_json(
            m,
            S(TABLE_HEAD " \"tiers\": [{\"component\": \"cpu\", \"start\": 3, \"rate_nanos\": 1},"
                         " {\"component\": \"cpu\", \"start\": 2, \"rate_nanos\": 1}]}"),
            &err));
  FAILS(TL_STATUS_INVALID_INPUT, "free quota",
        tl_meter_add_price_table_json(
            m,
            S(TABLE_HEAD " \"free_quotas\": [{\"component\": \"cpu\", \"quantity\": 1},"
                         " {\"component\": \"cpu\", \"quantity\": 2}]}"),
            &err));
  FAILS(TL_STATUS_BAD_JSON, "rate_nanos",
        tl_meter_add_price_table_json(
            m, S(TABLE_HEAD " \"tiers\": [{\"component\": \"cpu\", \"start\": 3}]}"), &err));
  CHECK(tl_meter_free(m) == TL_STATUS_OK);
  return finish("price_tiers.c");
}
