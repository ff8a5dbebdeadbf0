/*
 * Replacing consolidation from C: three hosts of an old SKU, each more
 * than half full with one instance, and a bigger new SKU at 2000 nanos per
 * second that takes all three. With `"replace": {}` the plan provisions
 * one new host and moves the three instances onto it, saving 1000 of the
 * 3000 nanos per second. The embedder starts the steps: the first plans
 * the new host (a provision in the decisions); once it is ready the moves
 * complete one by one. With no cheaper SKU the plan says why.
 */
#include "check.h"

/* Whether the buffer's bytes contain `needle`. */
static int contains(const tl_buffer *b, const char *needle) {
  size_t n = strlen(needle), len = tl_buffer_len(b);
  const uint8_t *data = tl_buffer_data(b);
  for (size_t i = 0; n <= len && i <= len - n; i++) {
    if (memcmp(data + i, needle, n) == 0) {
      return 1;
    }
  }
  return 0;
}

/* The number after the first `key` in the buffer, or 0. */
static uint64_t number_after(const tl_buffer *b, const char *key) {
  size_t len = tl_buffer_len(b);
  char *text = malloc(len + 1);
  uint64_t v = 0;
  if (text == NULL) {
    return 0;
  }
  memcpy(text, tl_buffer_data(b), len);
  text[len] = '\0';
  const char *p = strstr(text, key);
  if (p != NULL) {
    v = strtoull(p + strlen(key), NULL, 10);
  }
  free(text);
  return v;
}

/* The replacement id (`"to":N`) of the first move in a step's JSON, or 0. */
static uint64_t move_to(const tl_buffer *step) {
  size_t len = tl_buffer_len(step);
  char *text = malloc(len + 1);
  uint64_t v = 0;
  if (text == NULL) {
    return 0;
  }
  memcpy(text, tl_buffer_data(step), len);
  text[len] = '\0';
  const char *m = strstr(text, "\"moves\":[{");
  const char *p = m != NULL ? strstr(m, "\"to\":") : NULL;
  if (p != NULL) {
    v = strtoull(p + strlen("\"to\":"), NULL, 10);
  }
  free(text);
  return v;
}

static tl_scheduler *region(uint64_t new_price) {
  tl_scheduler *s = NULL;
  char sku[512];
  OKE(tl_scheduler_new(NULL, 0, &s, &err));
  OKE(tl_scheduler_add_zone(s, S("a"), TL_ZONE_STATE_UP, 0, &err));
  ADD_SKU(s,
          "{\"id\": \"old\", \"family\": \"old\", \"generation\": 7, \"arch\": \"x86_64\","
          " \"cpu_vendor\": \"intel\", \"allocatable\": {\"cpu_millis\": 16000, \"memory_mib\": 32768},"
          " \"perf_score\": 100, \"price_nanos_per_second\": 1000}",
          0);
  snprintf(sku, sizeof sku,
           "{\"id\": \"new\", \"family\": \"new\", \"generation\": 7, \"arch\": \"x86_64\","
           " \"cpu_vendor\": \"intel\", \"allocatable\": {\"cpu_millis\": 32000, \"memory_mib\": 65536},"
           " \"perf_score\": 100, \"price_nanos_per_second\": %llu}",
           (unsigned long long)new_price);
  OKE(tl_scheduler_add_sku_json(s, sku, strlen(sku), 0, &err));
  for (uint64_t h = 1; h <= 3; h++) {
    add_host(s, h, "old", "a", 0);
  }
  ADD_APP(s,
          "{\"id\": \"web\", \"tenant\": \"t\", \"resources\": {\"cpu_millis\": 9000, \"memory_mib\": 16384}, \"arches\": [\"x86_64\"]}",
          0);
  tl_decisions *d = NULL;
  OKE(tl_scheduler_scale(s, S("web"), 3, 1, TL_MODE_COMMIT, &d, &err));
  CHECK(tl_decisions_placements_len(d) == 3);
  tl_decisions_free(d);
  OKE(tl_scheduler_set_stock(s, S("new"), S("a"), TL_STOCK_KNOWN, 4, 2, TL_MODE_COMMIT, &d, &err));
  tl_decisions_free(d);
  return s;
}

int main(void) {
  tl_scheduler *s = region(2000);
  tl_buffer *plan = NULL;
  FAILS(TL_STATUS_BAD_JSON, "replace",
        tl_scheduler_plan_consolidation(s, S("{\"replace\": {\"max_new_host\": 1}}"), &plan, &err));
  CHECK(plan == NULL);
  OKE(tl_scheduler_plan_consolidation(s, S("{\"replace\": {}}"), &plan, &err));
  CHECK(contains(plan, "\"hosts_freed\":3,\"instances_moved\":3"));
  CHECK(contains(plan, "\"hosts_before\":3,\"hosts_after\":1"));
  CHECK(contains(plan, "\"cost_saved_nanos_per_second\":1000,\"cost_before_nanos_per_second\":3000,"
                       "\"cost_after_nanos_per_second\":2000"));
  CHECK(contains(plan, "\"sku\":\"new\",\"zone\":\"a\",\"price_nanos_per_second\":2000,\"replaces\":[1,2,3]"));
  uint64_t planned = number_after(plan, "\"provisions\":[{\"host\":");
  CHECK(planned == ((uint64_t)1 << 63 | 1));

  tl_buffer *step = NULL;
  tl_decisions *d = NULL;
  int rounds = 0, finished = 0;
  for (uint64_t now = 10; rounds < 10 && !finished; now++, rounds++) {
    OKE(tl_scheduler_start_consolidation(s, (const char *)tl_buffer_data(plan),
                                         tl_buffer_len(plan), now, TL_MODE_COMMIT, &step, &err));
    finished = contains(step, "\"in_flight\":0,\"done\":3,\"waiting\":0,\"stale\":[],\"replan\":null");
    if (rounds == 0) {
      /* The first step plans the new host; the move's replacement waits
       * on it until it is ready. */
      CHECK(contains(step, "\"provisions\":[{"));
      CHECK(contains(step, "\"count\":1,\"hosts\":[9223372036854775809]"));
      OKE(tl_scheduler_host_ready(s, planned, 100, now, TL_MODE_COMMIT, &d, &err));
      CHECK(tl_decisions_placements_len(d) == 1);
      tl_decisions_free(d);
    }
    if (!finished) {
      /* One move at a time (the app's disruption budget): complete it. */
      uint64_t to = move_to(step);
      CHECK(to != 0);
      OKE(tl_scheduler_complete_move(s, to, now, TL_MODE_COMMIT, &d, &err));
      CHECK(tl_decisions_removals_len(d) == 1);
      tl_decisions_free(d);
    }
    tl_buffer_free(step);
    step = NULL;
  }
  CHECK(finished);
  CHECK(rounds == 4);
  tl_buffer_free(plan);
  OK(tl_scheduler_free(s));

  /* No cheaper SKU: no provision, and the plan says why. */
  s = region(3000);
  plan = NULL;
  OKE(tl_scheduler_plan_consolidation(s, S("{\"replace\": {\"skus\": [\"new\"]}}"), &plan, &err));
  CHECK(contains(plan, "\"provisions\":[]"));
  CHECK(contains(plan, "\"cost_saved_nanos_per_second\":0"));
  CHECK(contains(plan, "{\"sku\":\"new\",\"reason\":\"not_cheaper\"}"));
  CHECK(contains(plan, "{\"sku\":\"old\",\"reason\":\"not_listed\"}"));
  tl_buffer_free(plan);
  OK(tl_scheduler_free(s));
  return finish("consolidation_replace");
}
