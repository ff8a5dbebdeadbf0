/*
 * A price book as published: Fargate's $0.04048 per vCPU-hour and
 * $0.004445 per GB-hour, billed per second with a one-minute minimum,
 * rates kept exact per hour (per second they would be 101,200/9).
 *
 *   task 1: 0.25 vCPU, 0.5 GiB for 30.2 s, billed the 60 s minimum
 *   task 2: 2 vCPU, 4 GiB for 3,600.5 s, rounded up to 3,601 s
 *
 *   CPU:    7,217 vCPU-s  / 3,600 x 40,480,000 = 81,151,155 5/9
 *   memory: 14,434 GiB-s  / 3,600 x  4,445,000 = 17,821,980 5/9
 *   total   98,973,136 1/9, rounded once       = 98,973,136
 *
 * Then SAE's per-minute billing (USD 0.0006414 per core-minute, 0.0001603
 * per GiB-minute, partial minutes charged whole): 1 vCPU, 2 GiB for 61 s
 * is two minutes: 2 x 641,400 + 4 x 160,300 = 1,924,000.
 */
#include "check.h"

static tl_meter *meter_with(const char *table, size_t len) {
  tl_meter *m = NULL;
  OKE(tl_meter_new(NULL, 0, &m, &err));
  OKE(tl_meter_add_price_table_json(m, table, len, &err));
  return m;
}

static int64_t close_total(tl_meter *m, uint32_t want_rate_per_seconds) {
  tl_report *r = NULL;
  OKE(tl_meter_close_period(m, 7200000, 7200000, &r, &err));
  CHECK(tl_report_invoices_len(r) == 1);
  tl_invoice inv;
  inv.total_nanos = -1;
  inv.line_count = 0;
  OKE(tl_report_invoice(r, 0, &inv, &err));
  for (size_t j = 0; j < inv.line_count; j++) {
    tl_invoice_line line;
    OKE(tl_report_invoice_line(r, 0, j, &line, &err));
    CHECK(line.rate_per_seconds == want_rate_per_seconds);
    /* No idle memory line without an idle memory rate. */
    CHECK(!str_eq(line.component, "idle_memory"));
    if (str_eq(line.component, "cpu") && want_rate_per_seconds == 3600) {
      CHECK(line.rate_nanos == 40480000);
      CHECK(line.quantity == 7217000000LL);
      CHECK(line.amount_nanos == 81151156);
    }
  }
  tl_report_free(r);
  return inv.total_nanos;
}

int main(void) {
  tl_meter *m = meter_with(S("{\"version\": 1, \"effective\": 0, \"rates_per\": \"hour\","
                             " \"cpu_nanos_per_vcpu_second\": 40480000,"
                             " \"idle_cpu_nanos_per_vcpu_second\": 40480000,"
                             " \"memory_nanos_per_gib_second\": 4445000,"
                             " \"accelerator_nanos_per_second\": 0, \"minimum_run_seconds\": 60}"));
  size_t n = 0;
  OKE(tl_meter_ingest_json(
      m,
      S("[{\"id\": 1, \"tenant\": \"acme\", \"app\": \"web\", \"instance\": 1, \"at\": 0,"
        "  \"kind\": {\"started\": {\"resources\": {\"cpu_millis\": 250, \"memory_mib\": 512}}}},"
        " {\"id\": 2, \"tenant\": \"acme\", \"app\": \"web\", \"instance\": 2, \"at\": 0,"
        "  \"kind\": {\"started\": {\"resources\": {\"cpu_millis\": 2000, \"memory_mib\": 4096}}}},"
        " {\"id\": 3, \"tenant\": \"acme\", \"app\": \"web\", \"instance\": 1, \"at\": 30200, \"kind\": \"stopped\"},"
        " {\"id\": 4, \"tenant\": \"acme\", \"app\": \"web\", \"instance\": 2, \"at\": 3600500,"
        "  \"kind\": \"stopped\"}]"),
      7200000, &n, &err));
  CHECK(n == 4);
  int64_t total = close_total(m, 3600);
  CHECK(total == 98973136);
  printf("price_books.c: per-second at hourly rates: %lld nano-units\n", (long long)total);
  CHECK(tl_meter_free(m) == TL_STATUS_OK);

  m = meter_with(S("{\"version\": 1, \"effective\": 0, \"rates_per\": \"minute\","
                   " \"billing_increment_seconds\": 60,"
                   " \"cpu_nanos_per_vcpu_second\": 641400,"
                   " \"idle_cpu_nanos_per_vcpu_second\": 641400,"
                   " \"memory_nanos_per_gib_second\": 160300,"
                   " \"accelerator_nanos_per_second\": 0}"));
  OKE(tl_meter_ingest_json(
      m,
      S("[{\"id\": 1, \"tenant\": \"acme\", \"app\": \"web\", \"instance\": 1, \"at\": 0,"
        "  \"kind\": {\"started\": {\"resources\": {\"cpu_millis\": 1000, \"memory_mib\": 2048}}}},"
        " {\"id\": 2, \"tenant\": \"acme\", \"app\": \"web\", \"instance\": 1, \"at\": 61000, \"kind\": \"stopped\"}]"),
      7200000, &n, &err));
  total = close_total(m, 60);
  CHECK(total == 1924000);
  printf("price_books.c: per-minute billing: %lld nano-units\n", (long long)total);
  CHECK(tl_meter_free(m) == TL_STATUS_OK);

  /* An increment with exact billing is refused, naming the field. */
  tl_meter *bad = NULL;
  OKE(tl_meter_new(NULL, 0, &bad, &err));
  FAILS(TL_STATUS_INVALID_INPUT, "billing_increment_seconds",
        tl_meter_add_price_table_json(bad,
                                      S("{\"version\": 1, \"effective\": 0, \"sub_second\": \"exact\","
                                        " \"billing_increment_seconds\": 60,"
                                        " \"cpu_nanos_per_vcpu_second\": 1, \"idle_cpu_nanos_per_vcpu_second\": 1,"
                                        " \"memory_nanos_per_gib_second\": 1, \"accelerator_nanos_per_second\": 0}"),
                                      &err));
  FAILS(TL_STATUS_BAD_JSON, "rates_per",
        tl_meter_add_price_table_json(bad,
                                      S("{\"version\": 1, \"effective\": 0, \"rates_per\": \"fortnight\","
                                        " \"cpu_nanos_per_vcpu_second\": 1, \"idle_cpu_nanos_per_vcpu_second\": 1,"
                                        " \"memory_nanos_per_gib_second\": 1, \"accelerator_nanos_per_second\": 0}"),
                                      &err));
  CHECK(tl_meter_free(bad) == TL_STATUS_OK);

  /* A default meter takes an event stamped 1 ms (up to 5 s) ahead of the
   * caller's clock, and one up to 5 minutes older than its instance's
   * latest. */
  m = meter_with(S("{\"version\": 1, \"effective\": 0, \"cpu_nanos_per_vcpu_second\": 1,"
                   " \"idle_cpu_nanos_per_vcpu_second\": 1, \"memory_nanos_per_gib_second\": 1,"
                   " \"accelerator_nanos_per_second\": 0}"));
  OKE(tl_meter_ingest_json(
      m,
      S("[{\"id\": 1, \"tenant\": \"acme\", \"app\": \"web\", \"instance\": 1, \"at\": 10001,"
        "  \"kind\": {\"started\": {\"resources\": {\"cpu_millis\": 1000, \"memory_mib\": 1024}}}},"
        " {\"id\": 2, \"tenant\": \"acme\", \"app\": \"web\", \"instance\": 1, \"at\": 15000, \"kind\": \"idle\"}]"),
      10000, &n, &err));
  CHECK(n == 2);
  OKE(tl_meter_ingest_json(
      m,
      S("[{\"id\": 3, \"tenant\": \"acme\", \"app\": \"web\", \"instance\": 1, \"at\": 300000, \"kind\": \"stopped\"},"
        " {\"id\": 4, \"tenant\": \"acme\", \"app\": \"web\", \"instance\": 1, \"at\": 20000, \"kind\": \"active\"}]"),
      300000, &n, &err));
  CHECK(n == 2);
  FAILS(TL_STATUS_OUT_OF_ORDER, "watermark",
        tl_meter_ingest_json(m,
                             S("[{\"id\": 5, \"tenant\": \"acme\", \"app\": \"web\", \"instance\": 2,"
                               " \"at\": 305001, \"kind\": {\"started\": {\"resources\":"
                               " {\"cpu_millis\": 1000, \"memory_mib\": 1024}}}}]"),
                             300000, &n, &err));
  CHECK(tl_meter_free(m) == TL_STATUS_OK);
  return finish("price_books.c");
}
