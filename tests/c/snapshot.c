/*
 * Snapshot -> free -> restore -> identical decisions: a scheduler in the
 * middle of a scale-out (instances running, hosts being provisioned, some
 * pending) is written to bytes and freed; the one restored from the bytes
 * writes the same bytes back and decides exactly what the original would
 * have decided. A snapshot that is not one is refused with its reason.
 */
#include "check.h"

static tl_scheduler *busy_region(void) {
  tl_scheduler *s = NULL;
  OKE(tl_scheduler_new(S("{\"candidates_per_class\": 3}"), &s, &err));
  OKE(tl_scheduler_add_zone(s, S("zone-a"), TL_ZONE_STATE_UP, 0, &err));
  OKE(tl_scheduler_add_zone(s, S("zone-b"), TL_ZONE_STATE_UP, 0, &err));
  ADD_SKU(s,
          "{\"id\": \"g7\", \"family\": \"g7\", \"generation\": 7, \"arch\": \"x86_64\","
          " \"cpu_vendor\": \"intel\", \"allocatable\": {\"cpu_millis\": 16000, \"memory_mib\": 65536},"
          " \"numa_nodes\": [{\"cpu_millis\": 8000, \"memory_mib\": 32768},"
          "                  {\"cpu_millis\": 8000, \"memory_mib\": 32768}],"
          " \"perf_score\": 100, \"price_nanos_per_second\": 1000}",
          0);
  for (uint64_t h = 1; h <= 6; h++) {
    add_host(s, h, "g7", h % 2 ? "zone-a" : "zone-b", 0);
  }
  tl_decisions *d = NULL;
  OKE(tl_scheduler_set_stock(s, S("g7"), S("zone-a"), TL_STOCK_KNOWN, 2, 0, TL_MODE_COMMIT, &d, &err));
  tl_decisions_free(d);
  ADD_APP(s,
          "{\"id\": \"api\", \"tenant\": \"shop\", \"resources\": {\"cpu_millis\": 3000, \"memory_mib\": 4096},"
          " \"arches\": [\"x86_64\"], \"priority\": 5, \"spread\": {\"max_skew\": 2}}",
          0);
  ADD_APP(s,
          "{\"id\": \"batch\", \"tenant\": \"lab\", \"resources\": {\"cpu_millis\": 2000, \"memory_mib\": 2048},"
          " \"arches\": [\"x86_64\"], \"qos\": \"best_effort\"}",
          0);
  OKE(tl_scheduler_scale(s, S("batch"), 20, 10, TL_MODE_COMMIT, &d, &err));
  tl_decisions_free(d);
  OKE(tl_scheduler_scale(s, S("api"), 34, 20, TL_MODE_COMMIT, &d, &err));
  CHECK(tl_decisions_evictions_len(d) > 0);
  CHECK(tl_decisions_tentative_len(d) > 0);
  tl_decisions_free(d);
  return s;
}

/* The next calls, whose decisions are compared as JSON, concatenated. */
static char *next_calls(tl_scheduler *s, size_t *len) {
  const tl_decisions *all[4] = {NULL, NULL, NULL, NULL};
  tl_decisions *d[4] = {NULL, NULL, NULL, NULL};
  OKE(tl_scheduler_place(s, S("api"), 30, TL_MODE_COMMIT, &d[0], &err));
  OKE(tl_scheduler_remove_host(s, 3, 40, TL_MODE_COMMIT, &d[1], &err));
  OKE(tl_scheduler_scale(s, S("batch"), 5, 50, TL_MODE_COMMIT, &d[2], &err));
  OKE(tl_scheduler_reconcile(s, 60, TL_MODE_COMMIT, &d[3], &err));
  size_t total = 0;
  tl_buffer *json[4];
  for (int i = 0; i < 4; i++) {
    all[i] = d[i];
    json[i] = json_of(all[i]);
    total += tl_buffer_len(json[i]);
  }
  char *out = malloc(total + 1);
  size_t at = 0;
  for (int i = 0; i < 4; i++) {
    memcpy(out + at, tl_buffer_data(json[i]), tl_buffer_len(json[i]));
    at += tl_buffer_len(json[i]);
    tl_buffer_free(json[i]);
    tl_decisions_free(d[i]);
  }
  out[total] = '\0';
  *len = total;
  return out;
}

int main(void) {
  /* The original: snapshot, then the next calls. */
  tl_scheduler *original = busy_region();
  tl_buffer *snap = NULL;
  OKE(tl_scheduler_snapshot(original, &snap, &err));
  size_t snap_len = tl_buffer_len(snap);
  uint8_t *bytes = malloc(snap_len);
  memcpy(bytes, tl_buffer_data(snap), snap_len);
  tl_buffer_free(snap);
  size_t expected_len = 0;
  char *expected = next_calls(original, &expected_len);
  CHECK(tl_scheduler_free(original) == TL_STATUS_OK);

  /* Restored from the bytes alone: the same snapshot, the same decisions. */
  tl_scheduler *restored = NULL;
  OKE(tl_scheduler_restore(bytes, snap_len, &restored, &err));
  tl_buffer *again = NULL;
  OKE(tl_scheduler_snapshot(restored, &again, &err));
  CHECK(tl_buffer_len(again) == snap_len && memcmp(tl_buffer_data(again), bytes, snap_len) == 0);
  tl_buffer_free(again);
  uint64_t now = 0;
  OKE(tl_scheduler_now(restored, &now, &err));
  CHECK(now == 20);
  size_t got_len = 0;
  char *got = next_calls(restored, &got_len);
  CHECK(got_len == expected_len && strcmp(got, expected) == 0);
  printf("snapshot.c: %zu snapshot bytes, %zu bytes of decisions after restore, equal: %s\n",
         snap_len, got_len, strcmp(got, expected) == 0 ? "yes" : "no");
  OKE(tl_scheduler_check_invariants(restored, &err));
  free(got);
  free(expected);
  CHECK(tl_scheduler_free(restored) == TL_STATUS_OK);

  /* Not a snapshot: bad JSON names the path; a wrong format is refused. */
  tl_scheduler *none = NULL;
  FAILS(TL_STATUS_BAD_JSON, "snapshot: ", tl_scheduler_restore(bytes, snap_len / 2, &none, &err));
  FAILS(TL_STATUS_BAD_JSON, "snapshot: format",
        tl_scheduler_restore((const uint8_t *)"{\"format\": \"x\"}", 15, &none, &err));
  char *other = malloc(snap_len + 16);
  const char *fmt = strstr((const char *)bytes, "\"format\":");
  CHECK(fmt != NULL && fmt == (const char *)bytes + 1);
  if (fmt != NULL) {
    /* The same snapshot claiming format 999. */
    const char *rest = strchr(fmt, ',');
    int n = snprintf(other, snap_len + 16, "{\"format\":999%.*s", (int)(snap_len - (size_t)(rest - (const char *)bytes)), rest);
    FAILS(TL_STATUS_RESTORE, "999", tl_scheduler_restore((const uint8_t *)other, (size_t)n, &none, &err));
  }
  CHECK(none == NULL);
  free(other);
  free(bytes);
  return finish("snapshot.c");
}
