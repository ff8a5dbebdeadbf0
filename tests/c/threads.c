/*
 * Distinct handles are independent: two threads each build their own
 * scheduler and run the same calls at the same time; each gets exactly the
 * decisions a single-threaded run gets. (One handle shared by threads needs
 * the caller's lock; that is not exercised here.)
 */
#include <threads.h>

#include "check.h"

typedef struct {
  char *json;   /* the decisions of every call, concatenated */
  size_t len;
  int ok;
} run_result;

static int run(void *arg) {
  run_result *out = arg;
  out->ok = 0;
  tl_scheduler *s = NULL;
  tl_error *err = NULL;
  if (tl_scheduler_new(NULL, 0, &s, &err) != TL_STATUS_OK ||
      tl_scheduler_add_zone(s, S("zone-a"), TL_ZONE_STATE_UP, 0, &err) != TL_STATUS_OK ||
      tl_scheduler_add_sku_json(
          s,
          S("{\"id\": \"g7\", \"family\": \"g7\", \"generation\": 7, \"arch\": \"x86_64\","
            " \"cpu_vendor\": \"intel\", \"allocatable\": {\"cpu_millis\": 16000, \"memory_mib\": 65536},"
            " \"perf_score\": 100, \"price_nanos_per_second\": 1000}"),
          0, &err) != TL_STATUS_OK ||
      tl_scheduler_add_app_json(
          s,
          S("{\"id\": \"web\", \"tenant\": \"t\", \"resources\": {\"cpu_millis\": 1000, \"memory_mib\": 2048},"
            " \"arches\": [\"x86_64\"]}"),
          0, &err) != TL_STATUS_OK) {
    tl_error_free(err);
    tl_scheduler_free(s);
    return 1;
  }
  size_t cap = 1 << 16;
  out->json = malloc(cap);
  out->len = 0;
  for (uint64_t h = 1; h <= 200; h++) {
    tl_decisions *d = NULL;
    if (tl_scheduler_add_host(s, h, S("g7"), S("zone-a"), h, TL_MODE_COMMIT, &d, &err) != TL_STATUS_OK) {
      tl_error_free(err);
      tl_scheduler_free(s);
      return 1;
    }
    tl_decisions_free(d);
  }
  int failed = 0;
  for (uint64_t t = 1000; t < 1300 && !failed; t++) {
    tl_decisions *d = NULL;
    if (tl_scheduler_place(s, S("web"), t, TL_MODE_COMMIT, &d, &err) != TL_STATUS_OK) {
      tl_error_free(err);
      failed = 1;
      break;
    }
    tl_buffer *json = json_of(d);
    size_t n = tl_buffer_len(json);
    if (out->len + n > cap) {
      cap = 2 * (out->len + n);
      out->json = realloc(out->json, cap);
    }
    memcpy(out->json + out->len, tl_buffer_data(json), n);
    out->len += n;
    tl_buffer_free(json);
    tl_decisions_free(d);
  }
  out->ok = !failed && tl_scheduler_check_invariants(s, NULL) == TL_STATUS_OK;
  tl_scheduler_free(s);
  return 0;
}

int main(void) {
  run_result alone, a, b;
  CHECK(run(&alone) == 0 && alone.ok);
  thrd_t ta, tb;
  CHECK(thrd_create(&ta, run, &a) == thrd_success);
  CHECK(thrd_create(&tb, run, &b) == thrd_success);
  int ra = 1, rb = 1;
  CHECK(thrd_join(ta, &ra) == thrd_success && ra == 0);
  CHECK(thrd_join(tb, &rb) == thrd_success && rb == 0);
  CHECK(a.ok && b.ok);
  CHECK(a.len == alone.len && memcmp(a.json, alone.json, alone.len) == 0);
  CHECK(b.len == alone.len && memcmp(b.json, alone.json, alone.len) == 0);
  printf("threads.c: two threads, %zu bytes of decisions each, equal to one thread's\n", a.len);
  free(alone.json);
  free(a.json);
  free(b.json);
  return finish("threads.c");
}
