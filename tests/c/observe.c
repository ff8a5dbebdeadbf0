/*
 * Observability from C: rigid web preempts best-effort batch; the audit
 * log hands the preemption over with its victims, the counters and the
 * OpenMetrics exposition count the same, the embedder's latencies land in
 * the histogram, and promise versus delivery reads per app.
 */
#include "check.h"

/* A buffer's bytes as a NUL-terminated string (caller frees). */
static char *text_of(const tl_buffer *b) {
  size_t n = tl_buffer_len(b);
  char *t = malloc(n + 1);
  if (t == NULL) {
    abort();
  }
  memcpy(t, tl_buffer_data(b), n);
  t[n] = '\0';
  return t;
}

/* The number after `key` in `text`, or -1 if absent. */
static long long number_after(const char *text, const char *key) {
  const char *at = strstr(text, key);
  long long v = -1;
  if (at == NULL || sscanf(at + strlen(key), "%lld", &v) != 1) {
    return -1;
  }
  return v;
}

/* How many times `needle` occurs in `text`. */
static int occurrences(const char *text, const char *needle) {
  int n = 0;
  for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle)) {
    n++;
  }
  return n;
}

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
  add_host(s, 2, "g7", "zone-a", 0);
  ADD_APP(s,
          "{\"id\": \"batch\", \"tenant\": \"shop\", \"resources\": {\"cpu_millis\": 8000, \"memory_mib\": 16384},"
          " \"arches\": [\"x86_64\"], \"qos\": \"best_effort\"}",
          0);
  ADD_APP(s,
          "{\"id\": \"web\", \"tenant\": \"shop\", \"resources\": {\"cpu_millis\": 8000, \"memory_mib\": 16384},"
          " \"arches\": [\"x86_64\"]}",
          0);

  /* batch fills both hosts; web takes two of its places. */
  tl_decisions *d = NULL;
  OKE(tl_scheduler_scale(s, S("batch"), 4, 1000, TL_MODE_COMMIT, &d, &err));
  tl_decisions_free(d);
  OKE(tl_scheduler_scale(s, S("web"), 2, 2000, TL_MODE_COMMIT, &d, &err));
  CHECK(tl_decisions_evictions_len(d) == 2);
  tl_decisions_free(d);
  OKE(tl_scheduler_record_placement_latency(s, 3000, &err));
  /* A dry run decides on a copy that does not carry the log: its two
   * preemptions and placements are not logged here. */
  OKE(tl_scheduler_scale(s, S("web"), 4, 2500, TL_MODE_DRY_RUN, &d, &err));
  CHECK(tl_decisions_evictions_len(d) == 2);
  tl_decisions_free(d);

  /* The audit log: every decision in order, each preemption with its
   * victim. */
  tl_buffer *b = NULL;
  OKE(tl_scheduler_drain_audit(s, &b, &err));
  char *audit = text_of(b);
  tl_buffer_free(b);
  CHECK(strstr(audit, "\"format\":1,\"dropped\":0,") != NULL);
  CHECK(occurrences(audit, "\"kind\":\"placement\"") == 6);
  CHECK(occurrences(audit, "\"kind\":\"preemption\"") >= 1);
  CHECK(occurrences(audit, "\"cause\":{\"preempted\":") == 2);
  /* The victims wait as preempted until retried: no pending decision. */
  CHECK(occurrences(audit, "\"kind\":\"pending\"") == 0);
  CHECK(number_after(audit, "\"seq\":") == 1);
  printf("observe: audit %zu bytes\n", strlen(audit));
  free(audit);
  /* Drained: the log is empty now. */
  OKE(tl_scheduler_drain_audit(s, &b, &err));
  audit = text_of(b);
  tl_buffer_free(b);
  CHECK(strstr(audit, "\"records\":[]") != NULL);
  free(audit);

  /* Counters and the exposition agree. */
  OKE(tl_scheduler_counters(s, &b, &err));
  char *counters = text_of(b);
  tl_buffer_free(b);
  CHECK(number_after(counters, "\"placements\":") == 6);
  CHECK(number_after(counters, "\"preemptions\":") == 2);
  free(counters);
  OKE(tl_scheduler_metrics_text(s, &b, &err));
  char *metrics = text_of(b);
  tl_buffer_free(b);
  CHECK(number_after(metrics, "\ntrimline_placements_total ") == 6);
  CHECK(number_after(metrics, "\ntrimline_preemptions_total ") == 2);
  CHECK(number_after(metrics, "\ntrimline_pending_instances{reason=\"preempted\"} ") == 2);
  CHECK(number_after(metrics, "\ntrimline_placement_latency_seconds_count ") == 1);
  CHECK(strstr(metrics, "# TYPE trimline_utilisation_ratio gauge\n") != NULL);
  size_t len = strlen(metrics);
  CHECK(len > 6 && strcmp(metrics + len - 6, "# EOF\n") == 0);
  free(metrics);

  /* Promise versus delivery. */
  OKE(tl_scheduler_delivery(s, S("web"), 3000, &b, &err));
  char *web = text_of(b);
  tl_buffer_free(b);
  CHECK(strstr(web, "\"app\":\"web\"") != NULL);
  CHECK(number_after(web, "\"placed\":") == 2);
  CHECK(number_after(web, "\"numa_local\":") == 2);
  free(web);
  OKE(tl_scheduler_deliveries(s, 3000, &b, &err));
  char *all = text_of(b);
  tl_buffer_free(b);
  CHECK(occurrences(all, "\"app\":") == 2);
  CHECK(number_after(strstr(all, "\"app\":\"batch\""), "\"pending\":") == 2);
  free(all);
  FAILS(TL_STATUS_UNKNOWN_ID, "nope", tl_scheduler_delivery(s, S("nope"), 3000, &b, &err));
  FAILS(TL_STATUS_NULL_POINTER, "text_out", tl_scheduler_metrics_text(s, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler", tl_scheduler_drain_audit(NULL, &b, &err));

  /* Off: nothing is recorded, everything still counted. */
  OKE(tl_scheduler_set_audit_capacity(s, 0, &err));
  OKE(tl_scheduler_scale(s, S("web"), 3, 4000, TL_MODE_COMMIT, &d, &err));
  tl_decisions_free(d);
  OKE(tl_scheduler_drain_audit(s, &b, &err));
  audit = text_of(b);
  tl_buffer_free(b);
  CHECK(strstr(audit, "\"records\":[]") != NULL);
  free(audit);
  OKE(tl_scheduler_counters(s, &b, &err));
  counters = text_of(b);
  tl_buffer_free(b);
  CHECK(number_after(counters, "\"placements\":") == 7);
  free(counters);

  CHECK(tl_scheduler_free(s) == TL_STATUS_OK);
  return finish("observe.c");
}
