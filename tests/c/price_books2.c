/*
 * Prices by what was delivered: Fargate's Linux/x86 list prices per hour
 * ($0.04048 per vCPU-hour, $0.004445 per GB-hour), with Linux/ARM at
 * $0.03238 and $0.00356 for SKUs described as aarch64; from 1 h on, a new
 * table version lowers ARM to 25,000,000 and 2,500,000 nano-units.
 *
 *   x86 (c7i), 1 vCPU, 2 GiB, 2 h: 2 x (40,480,000 + 2 x 4,445,000) = 98,740,000
 *   ARM (c6g), 1 vCPU, 2 GiB: first hour 32,380,000 + 2 x 3,560,000 = 39,500,000
 *                             second hour 25,000,000 + 2 x 2,500,000 = 30,000,000
 *   total                                                            168,240,000
 */
#include "check.h"

#define TABLE(V, AT, ARM_CPU, ARM_MEM)                                                        \
  "{\"version\": " V ", \"effective\": " AT ", \"rates_per\": \"hour\","                     \
  " \"cpu_nanos_per_vcpu_second\": 40480000, \"idle_cpu_nanos_per_vcpu_second\": 40480000," \
  " \"memory_nanos_per_gib_second\": 4445000, \"accelerator_nanos_per_second\": 0,"           \
  " \"sku_rates\": [{\"arch\": \"aarch64\", \"cpu_nanos_per_vcpu_second\": " ARM_CPU ","     \
  " \"idle_cpu_nanos_per_vcpu_second\": " ARM_CPU ", \"memory_nanos_per_gib_second\": " ARM_MEM \
  ", \"accelerator_nanos_per_second\": 0}]}"

int main(void) {
  tl_meter *m = NULL;
  OKE(tl_meter_new(NULL, 0, &m, &err));
  OKE(tl_meter_add_price_table_json(m, S(TABLE("1", "0", "32380000", "3560000")), &err));
  OKE(tl_meter_add_price_table_json(m, S(TABLE("2", "3600000", "25000000", "2500000")), &err));
  OKE(tl_meter_describe_skus_json(m,
                                  S("[{\"sku\": \"c6g\", \"family\": \"c6g\", \"arch\": \"aarch64\"},"
                                    " {\"sku\": \"c7i\", \"family\": \"c7i\", \"arch\": \"x86_64\"}]"),
                                  &err));
  /* The same description again changes nothing; another is a conflict. */
  OKE(tl_meter_describe_skus_json(m, S("[{\"sku\": \"c6g\", \"family\": \"c6g\", \"arch\": \"aarch64\"}]"),
                                  &err));
  FAILS(TL_STATUS_CONFLICT, "c6g",
        tl_meter_describe_skus_json(m, S("[{\"sku\": \"c6g\", \"arch\": \"x86_64\"}]"), &err));
  FAILS(TL_STATUS_BAD_JSON, "arch",
        tl_meter_describe_skus_json(m, S("[{\"sku\": \"c8\", \"arch\": \"mips\"}]"), &err));

  size_t n = 0;
  OKE(tl_meter_ingest_json(
      m,
      S("[{\"id\": 1, \"tenant\": \"acme\", \"app\": \"web\", \"instance\": 1, \"at\": 0,"
        "  \"kind\": {\"started\": {\"resources\": {\"cpu_millis\": 1000, \"memory_mib\": 2048},"
        "   \"delivered\": \"c7i\"}}},"
        " {\"id\": 2, \"tenant\": \"acme\", \"app\": \"web\", \"instance\": 2, \"at\": 0,"
        "  \"kind\": {\"started\": {\"resources\": {\"cpu_millis\": 1000, \"memory_mib\": 2048},"
        "   \"delivered\": \"c6g\"}}},"
        " {\"id\": 3, \"tenant\": \"acme\", \"app\": \"web\", \"instance\": 1, \"at\": 7200000, \"kind\": \"stopped\"},"
        " {\"id\": 4, \"tenant\": \"acme\", \"app\": \"web\", \"instance\": 2, \"at\": 7200000,"
        "  \"kind\": \"stopped\"}]"),
      7200000, &n, &err));
  CHECK(n == 4);

  tl_report *r = NULL;
  OKE(tl_meter_close_period(m, 7200000, 7200000, &r, &err));
  tl_invoice inv;
  inv.total_nanos = -1;
  inv.line_count = 0;
  OKE(tl_report_invoice(r, 0, &inv, &err));
  CHECK(inv.total_nanos == 168240000);
  /* Per version, per SKU by name, per component. */
  static const struct {
    uint64_t version;
    const char *sku;
    const char *component;
    int64_t rate;
    int64_t amount;
  } want[] = {
      {1, "c6g", "cpu", 32380000, 32380000}, {1, "c6g", "memory", 3560000, 7120000},
      {1, "c7i", "cpu", 40480000, 40480000}, {1, "c7i", "memory", 4445000, 8890000},
      {2, "c6g", "cpu", 25000000, 25000000}, {2, "c6g", "memory", 2500000, 5000000},
      {2, "c7i", "cpu", 40480000, 40480000}, {2, "c7i", "memory", 4445000, 8890000},
  };
  CHECK(inv.line_count == sizeof want / sizeof want[0]);
  for (size_t j = 0; j < inv.line_count && j < sizeof want / sizeof want[0]; j++) {
    tl_invoice_line line;
    OKE(tl_report_invoice_line(r, 0, j, &line, &err));
    CHECK(line.price_version == want[j].version);
    CHECK(str_eq(line.sku, want[j].sku));
    CHECK(str_eq(line.component, want[j].component));
    CHECK(line.rate_nanos == want[j].rate);
    CHECK(line.amount_nanos == want[j].amount);
  }
  printf("price_books2.c: ARM and x86 across a price change: %lld nano-units\n",
         (long long)inv.total_nanos);
  tl_report_free(r);

  /* A table whose SKU rate selects nothing is refused. */
  FAILS(TL_STATUS_INVALID_INPUT, "names no sku",
        tl_meter_add_price_table_json(m,
                                      S("{\"version\": 3, \"effective\": 7200000,"
                                        " \"cpu_nanos_per_vcpu_second\": 1, \"idle_cpu_nanos_per_vcpu_second\": 1,"
                                        " \"memory_nanos_per_gib_second\": 1, \"accelerator_nanos_per_second\": 0,"
                                        " \"sku_rates\": [{\"cpu_nanos_per_vcpu_second\": 1,"
                                        " \"idle_cpu_nanos_per_vcpu_second\": 1, \"memory_nanos_per_gib_second\": 1,"
                                        " \"accelerator_nanos_per_second\": 0}]}"),
                                      &err));
  CHECK(tl_meter_free(m) == TL_STATUS_OK);
  return finish("price_books2.c");
}
