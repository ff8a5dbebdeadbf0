/*
 * Warm pools from C: a pool of two idle hosts of g7 in zone a is ordered
 * (a provision with reason warm pool and no app), made ready, drawn down
 * first by a scale-out and ordered back in the same decisions; the dry
 * run's draw-down equals the committed call's decisions; the pool survives
 * a snapshot; bad input is refused and writes nothing.
 */
#include "check.h"

static tl_provision provision_of(const tl_decisions *d, size_t i) {
  tl_provision p;
  memset(&p, 0, sizeof p);
  OKE(tl_decisions_provision(d, i, &p, &err));
  return p;
}

/* Hosts ordered by `d` with `reason`. */
static uint32_t ordered(const tl_decisions *d, uint32_t reason) {
  uint32_t n = 0;
  for (size_t i = 0; i < tl_decisions_provisions_len(d); i++) {
    tl_provision p = provision_of(d, i);
    if (p.reason == reason) {
      n += p.count;
    }
  }
  return n;
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
  ADD_APP(s,
          "{\"id\": \"web\", \"tenant\": \"t\", \"resources\": {\"cpu_millis\": 4000, \"memory_mib\": 8192},"
          " \"arches\": [\"x86_64\"]}",
          0);
  tl_decisions *d = NULL;

  /* No offering yet: refused, nothing written. */
  d = (tl_decisions *)0x1;
  FAILS(TL_STATUS_UNKNOWN_ID, "no offering of sku g7 in zone a",
        tl_scheduler_set_warm_pool(s, S("g7"), S("a"), 2, 1, TL_MODE_COMMIT, &d, &err));
  CHECK(d == (tl_decisions *)0x1);
  OKE(tl_scheduler_set_stock(s, S("g7"), S("a"), TL_STOCK_UNKNOWN, 0, 1, TL_MODE_COMMIT, &d, &err));
  tl_decisions_free(d);

  /* The pool is ordered: two hosts, no app. */
  OKE(tl_scheduler_set_warm_pool(s, S("g7"), S("a"), 2, 1, TL_MODE_COMMIT, &d, &err));
  CHECK(tl_decisions_provisions_len(d) == 1);
  tl_provision p = provision_of(d, 0);
  CHECK(p.reason == TL_PROVISION_REASON_WARM_POOL && p.count == 2);
  CHECK(p.app.len == 0 && p.instances == 0);
  for (size_t j = 0; j < 2; j++) {
    uint64_t planned = 0;
    OKE(tl_decisions_provision_host(d, 0, j, &planned, &err));
    tl_decisions *ready = NULL;
    OKE(tl_scheduler_host_ready(s, planned, 100 + j, 2, TL_MODE_COMMIT, &ready, &err));
    tl_decisions_free(ready);
  }
  tl_decisions_free(d);
  tl_buffer *pools = NULL;
  OKE(tl_scheduler_warm_pools(s, &pools, &err));
  const char *want = "[{\"sku\":\"g7\",\"zone\":\"a\",\"target\":2,\"idle_ready\":2,\"idle_planned\":0}]";
  CHECK(tl_buffer_len(pools) == strlen(want) && memcmp(tl_buffer_data(pools), want, strlen(want)) == 0);
  tl_buffer_free(pools);

  /* Ten instances: eight on the pool's hosts, two on a host ordered for
   * web, and the pool ordered back; the dry run shows the draw-down. */
  tl_decisions *plan = NULL;
  OKE(tl_scheduler_scale(s, S("web"), 10, 3, TL_MODE_DRY_RUN, &plan, &err));
  tl_warm_pool_draw draw;
  memset(&draw, 0, sizeof draw);
  OKE(tl_scheduler_warm_pool_draw(s, plan, &draw, &err));
  CHECK(draw.hosts_used == 2 && draw.instances == 8 && draw.refill_hosts == 2);
  tl_warm_pool_draw untouched;
  memset(&untouched, 0xAB, sizeof untouched);
  FAILS(TL_STATUS_NULL_POINTER, "decisions", tl_scheduler_warm_pool_draw(s, NULL, &untouched, &err));
  CHECK(untouched.hosts_used == 0xABABABABu);
  OKE(tl_scheduler_scale(s, S("web"), 10, 3, TL_MODE_COMMIT, &d, &err));
  CHECK(tl_decisions_placements_len(d) == 8 && tl_decisions_tentative_len(d) == 2);
  for (size_t i = 0; i < 8; i++) {
    tl_placement pl;
    OKE(tl_decisions_placement(d, i, &pl, &err));
    CHECK(pl.host == 100 || pl.host == 101);
  }
  CHECK(ordered(d, TL_PROVISION_REASON_INSTANCES) == 1);
  CHECK(ordered(d, TL_PROVISION_REASON_WARM_POOL) == 2);
  CHECK(ordered(plan, TL_PROVISION_REASON_WARM_POOL) == 2);
  tl_decisions_free(plan);
  tl_decisions_free(d);

  /* The pool and its planned hosts survive a snapshot. */
  tl_buffer *snap = NULL;
  OKE(tl_scheduler_snapshot(s, &snap, &err));
  CHECK(strstr((const char *)tl_buffer_data(snap), "\"warm_pools\"") != NULL);
  tl_scheduler *r = NULL;
  OKE(tl_scheduler_restore(tl_buffer_data(snap), tl_buffer_len(snap), &r, &err));
  tl_buffer *again = NULL;
  OKE(tl_scheduler_snapshot(r, &again, &err));
  CHECK(same_bytes(snap, again));
  tl_buffer_free(again);
  tl_buffer_free(snap);
  OK(tl_scheduler_free(r));
  OK(tl_scheduler_free(s));
  return finish("warm_pool");
}
