/*
 * Per-tenant plans on a price table, at Fargate's hourly list prices
 * ($0.04048 per vCPU-hour, $0.004445 per GB-hour):
 *
 *   acme, every app: 15% off: 34,408,000 and 3,778,250 per hour
 *   acme, app batch: 50% off: 20,240,000 and 2,222,500 per hour
 *   zeta: no plan, list prices
 *
 * Each app runs 1 vCPU, 1 GiB for one hour:
 *   acme: batch 20,240,000 + 2,222,500, web 34,408,000 + 3,778,250
 *         = 60,648,750
 *   zeta: 40,480,000 + 4,445,000 = 44,925,000
 */
#include "check.h"

#define TABLE_HEAD                                                                     \
  "{\"version\": 1, \"effective\": 0, \"rates_per\": \"hour\","                       \
  " \"cpu_nanos_per_vcpu_second\": 40480000, \"idle_cpu_nanos_per_vcpu_second\": 40480000," \
  " \"memory_nanos_per_gib_second\": 4445000, \"accelerator_nanos_per_second\": 0,"

static int64_t cpu_rate_of(tl_report *r, size_t invoice, const char *app) {
  tl_invoice inv;
  inv.line_count = 0;
  OKE(tl_report_invoice(r, invoice, &inv, &err));
  for (size_t j = 0; j < inv.line_count; j++) {
    tl_invoice_line line;
    OKE(tl_report_invoice_line(r, invoice, j, &line, &err));
    if (str_eq(line.app, app) && str_eq(line.component, "cpu")) {
      return line.rate_nanos;
    }
  }
  return -1;
}

int main(void) {
  tl_meter *m = NULL;
  OKE(tl_meter_new(NULL, 0, &m, &err));
  OKE(tl_meter_add_price_table_json(
      m,
      S(TABLE_HEAD " \"plans\": [{\"tenant\": \"acme\", \"discount_basis_points\": 1500},"
                   " {\"tenant\": \"acme\", \"app\": \"batch\", \"discount_basis_points\": 5000}]}"),
      &err));
  size_t n = 0;
  OKE(tl_meter_ingest_json(
      m,
      S("[{\"id\": 1, \"tenant\": \"acme\", \"app\": \"web\", \"instance\": 1, \"at\": 0,"
        "  \"kind\": {\"started\": {\"resources\": {\"cpu_millis\": 1000, \"memory_mib\": 1024}}}},"
        " {\"id\": 2, \"tenant\": \"acme\", \"app\": \"batch\", \"instance\": 2, \"at\": 0,"
        "  \"kind\": {\"started\": {\"resources\": {\"cpu_millis\": 1000, \"memory_mib\": 1024}}}},"
        " {\"id\": 3, \"tenant\": \"zeta\", \"app\": \"web\", \"instance\": 3, \"at\": 0,"
        "  \"kind\": {\"started\": {\"resources\": {\"cpu_millis\": 1000, \"memory_mib\": 1024}}}},"
        " {\"id\": 4, \"tenant\": \"acme\", \"app\": \"web\", \"instance\": 1, \"at\": 3600000, \"kind\": \"stopped\"},"
        " {\"id\": 5, \"tenant\": \"acme\", \"app\": \"batch\", \"instance\": 2, \"at\": 3600000, \"kind\": \"stopped\"},"
        " {\"id\": 6, \"tenant\": \"zeta\", \"app\": \"web\", \"instance\": 3, \"at\": 3600000, \"kind\": \"stopped\"}]"),
      7200000, &n, &err));
  CHECK(n == 6);
  tl_report *r = NULL;
  OKE(tl_meter_close_period(m, 7200000, 7200000, &r, &err));
  CHECK(tl_report_invoices_len(r) == 2);
  tl_invoice inv;
  inv.total_nanos = -1;
  OKE(tl_report_invoice(r, 0, &inv, &err));
  CHECK(str_eq(inv.tenant, "acme"));
  CHECK(inv.total_nanos == 60648750);
  CHECK(cpu_rate_of(r, 0, "batch") == 20240000);
  CHECK(cpu_rate_of(r, 0, "web") == 34408000);
  OKE(tl_report_invoice(r, 1, &inv, &err));
  CHECK(inv.total_nanos == 44925000);
  CHECK(cpu_rate_of(r, 1, "web") == 40480000);
  printf("tenant_plans.c: acme %lld, zeta %lld nano-units\n", 60648750LL, (long long)inv.total_nanos);
  tl_report_free(r);
  r = NULL;

  /* 3 basis points off 4,445,000 is 4,443,666.5: refused, naming the rate. */
  FAILS(TL_STATUS_INVALID_INPUT, "memory_nanos_per_gib_second",
        tl_meter_add_price_table_json(
            m, S(TABLE_HEAD " \"plans\": [{\"tenant\": \"acme\", \"discount_basis_points\": 3}]}"), &err));
  FAILS(TL_STATUS_BAD_JSON, "discount",
        tl_meter_add_price_table_json(m, S(TABLE_HEAD " \"plans\": [{\"tenant\": \"acme\"}]}"), &err));
  CHECK(tl_meter_free(m) == TL_STATUS_OK);

  /* Idle accelerators at their own rate: a GPU at 2,480,000,000 nano-units
   * per hour, idle at 248,000,000. Two GPUs active for 1 h and idle for
   * 0.5 h: 2 x 2,480,000,000 + 1 x 248,000,000 = 5,208,000,000. */
  OKE(tl_meter_new(NULL, 0, &m, &err));
  OKE(tl_meter_add_price_table_json(
      m,
      S("{\"version\": 1, \"effective\": 0, \"rates_per\": \"hour\","
        " \"cpu_nanos_per_vcpu_second\": 0, \"idle_cpu_nanos_per_vcpu_second\": 0,"
        " \"memory_nanos_per_gib_second\": 0, \"accelerator_nanos_per_second\": 2480000000,"
        " \"idle_accelerator_nanos_per_second\": 248000000}"),
      &err));
  OKE(tl_meter_ingest_json(
      m,
      S("[{\"id\": 1, \"tenant\": \"acme\", \"app\": \"train\", \"instance\": 1, \"at\": 0,"
        "  \"kind\": {\"started\": {\"resources\": {\"cpu_millis\": 1000, \"memory_mib\": 1024,"
        "  \"accelerators\": 2}}}},"
        " {\"id\": 2, \"tenant\": \"acme\", \"app\": \"train\", \"instance\": 1, \"at\": 3600000, \"kind\": \"idle\"},"
        " {\"id\": 3, \"tenant\": \"acme\", \"app\": \"train\", \"instance\": 1, \"at\": 5400000, \"kind\": \"stopped\"}]"),
      7200000, &n, &err));
  CHECK(n == 3);
  OKE(tl_meter_close_period(m, 7200000, 7200000, &r, &err));
  OKE(tl_report_invoice(r, 0, &inv, &err));
  CHECK(inv.total_nanos == 5208000000LL);
  int idle_lines = 0;
  for (size_t j = 0; j < inv.line_count; j++) {
    tl_invoice_line line;
    OKE(tl_report_invoice_line(r, 0, j, &line, &err));
    if (str_eq(line.component, "idle_accelerators")) {
      idle_lines++;
      CHECK(line.quantity == 3600000);
      CHECK(line.rate_nanos == 248000000);
      CHECK(line.amount_nanos == 248000000);
    }
  }
  CHECK(idle_lines == 1);
  printf("tenant_plans.c: idle accelerators: %lld nano-units\n", (long long)inv.total_nanos);
  tl_report_free(r);
  CHECK(tl_meter_free(m) == TL_STATUS_OK);
  return finish("tenant_plans.c");
}
