/*
 * Consolidation from C: four hosts each carry one small instance after a
 * scale-down. The plan empties three of them with three ordered moves;
 * the embedder starts what each step allows (one move at a time, the
 * app's disruption budget), confirms each move, and calls again until the
 * step says the plan is carried out. Bad options are refused by JSON path
 * and leave the out-parameter untouched.
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

/* The replacement ids (`"to":N`) of the moves in a step's JSON, up to
 * `cap` of them; returns how many. */
static size_t move_targets(const tl_buffer *step, uint64_t *to, size_t cap) {
  size_t len = tl_buffer_len(step), found = 0;
  char *text = malloc(len + 1);
  if (text == NULL) {
    return 0;
  }
  memcpy(text, tl_buffer_data(step), len);
  text[len] = '\0';
  const char *moves = strstr(text, "\"moves\":[");
  const char *end = moves != NULL ? strchr(moves, ']') : NULL;
  for (const char *p = moves; p != NULL && end != NULL && found < cap;) {
    p = strstr(p, "\"to\":");
    if (p == NULL || p > end) {
      break;
    }
    p += strlen("\"to\":");
    to[found++] = strtoull(p, NULL, 10);
  }
  free(text);
  return found;
}

int main(void) {
  tl_scheduler *s = NULL;
  OKE(tl_scheduler_new(NULL, 0, &s, &err));
  OKE(tl_scheduler_add_zone(s, S("a"), TL_ZONE_STATE_UP, 0, &err));
  ADD_SKU(s,
          "{\"id\": \"g7\", \"family\": \"g7\", \"generation\": 7, \"arch\": \"x86_64\","
          " \"cpu_vendor\": \"intel\", \"allocatable\": {\"cpu_millis\": 16000, \"memory_mib\": 65536},"
          " \"perf_score\": 100, \"price_nanos_per_second\": 1000}",
          0);
  for (uint64_t h = 1; h <= 4; h++) {
    add_host(s, h, "g7", "a", 0);
  }
  ADD_APP(s,
          "{\"id\": \"batch\", \"tenant\": \"t\", \"resources\": {\"cpu_millis\": 12000, \"memory_mib\": 8192}, \"arches\": [\"x86_64\"]}",
          0);
  ADD_APP(s,
          "{\"id\": \"web\", \"tenant\": \"t\", \"resources\": {\"cpu_millis\": 4000, \"memory_mib\": 8192}, \"arches\": [\"x86_64\"]}",
          0);
  tl_decisions *d = NULL;
  OKE(tl_scheduler_scale(s, S("batch"), 4, 1, TL_MODE_COMMIT, &d, &err));
  tl_decisions_free(d);
  OKE(tl_scheduler_scale(s, S("web"), 4, 1, TL_MODE_COMMIT, &d, &err));
  tl_decisions_free(d);
  OKE(tl_scheduler_scale(s, S("batch"), 0, 2, TL_MODE_COMMIT, &d, &err));
  tl_decisions_free(d);

  /* Bad options: refused by path, nothing written. */
  tl_buffer *plan = NULL;
  FAILS(TL_STATUS_BAD_JSON, "max_hosts",
        tl_scheduler_plan_consolidation(s, S("{\"max_hosts\": -1}"), &plan, &err));
  FAILS(TL_STATUS_BAD_JSON, "max_host",
        tl_scheduler_plan_consolidation(s, S("{\"max_host\": 1}"), &plan, &err));
  CHECK(plan == NULL);
  FAILS(TL_STATUS_NULL_POINTER, "plan_out",
        tl_scheduler_plan_consolidation(s, NULL, 0, NULL, &err));

  /* A limit of one host: one move. */
  OKE(tl_scheduler_plan_consolidation(s, S("{\"max_hosts\": 1}"), &plan, &err));
  CHECK(contains(plan, "\"hosts_freed\":1,\"instances_moved\":1"));
  tl_buffer_free(plan);
  plan = NULL;

  /* No limits: three hosts freed by three moves, 3000 nanos per second. */
  OKE(tl_scheduler_plan_consolidation(s, NULL, 0, &plan, &err));
  CHECK(contains(plan, "\"hosts_freed\":3,\"instances_moved\":3"));
  CHECK(contains(plan, "\"hosts_before\":4,\"hosts_after\":1"));
  CHECK(contains(plan, "\"cost_saved_nanos_per_second\":3000"));

  /* A dry run starts nothing. */
  tl_buffer *step = NULL;
  OKE(tl_scheduler_start_consolidation(s, (const char *)tl_buffer_data(plan), tl_buffer_len(plan),
                                       10, TL_MODE_DRY_RUN, &step, &err));
  CHECK(contains(step, "\"reason\":\"consolidate\""));
  tl_buffer_free(step);
  step = NULL;
  FAILS(TL_STATUS_BAD_JSON, "consolidation plan",
        tl_scheduler_start_consolidation(s, S("{\"moves\": 3}"), 10, TL_MODE_COMMIT, &step, &err));
  CHECK(step == NULL);

  /* Carry it out: one move per step, each confirmed. */
  int rounds = 0, finished = 0;
  for (uint64_t now = 10; rounds < 10 && !finished; now++, rounds++) {
    OKE(tl_scheduler_start_consolidation(s, (const char *)tl_buffer_data(plan),
                                         tl_buffer_len(plan), now, TL_MODE_COMMIT, &step, &err));
    finished = contains(step, "\"in_flight\":0,\"done\":3,\"waiting\":0,\"stale\":[],\"replan\":null");
    uint64_t to[4];
    size_t n = move_targets(step, to, 4);
    CHECK(finished || n == 1);
    for (size_t i = 0; i < n; i++) {
      OKE(tl_scheduler_complete_move(s, to[i], now, TL_MODE_COMMIT, &d, &err));
      CHECK(tl_decisions_removals_len(d) == 1);
      tl_decisions_free(d);
    }
    tl_buffer_free(step);
    step = NULL;
  }
  CHECK(finished);
  CHECK(rounds == 4);

  /* Nothing left to free. */
  tl_buffer *again = NULL;
  OKE(tl_scheduler_plan_consolidation(s, NULL, 0, &again, &err));
  CHECK(contains(again, "\"hosts_freed\":0"));
  tl_buffer_free(again);
  tl_buffer_free(plan);
  OK(tl_scheduler_free(s));
  return finish("consolidation");
}
