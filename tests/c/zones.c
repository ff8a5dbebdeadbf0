/*
 * A zone failure and recovery, from C: zone-c goes down while hosts are
 * being provisioned there. One evacuation plan evicts its instances (cause:
 * zone down), cancels its planned hosts (cause: zone down) and re-places
 * the instances in the surviving zones; the embedder reports the new hosts
 * ready. When zone-c returns, rebalance moves instances back within the
 * app's skew limit and the embedder confirms each move.
 */
#include "check.h"

static const char *zones[] = {"zone-a", "zone-b", "zone-c"};

/* Reports every provisioned host of `d` ready, numbering them from *next. */
static void provision_all(tl_scheduler *s, const tl_decisions *d, uint64_t *next, uint64_t now) {
  for (size_t i = 0; i < tl_decisions_provisions_len(d); i++) {
    tl_provision p;
    OKE(tl_decisions_provision(d, i, &p, &err));
    for (size_t j = 0; j < p.count; j++) {
      uint64_t planned = 0;
      OKE(tl_decisions_provision_host(d, i, j, &planned, &err));
      tl_decisions *r = NULL;
      OKE(tl_scheduler_host_ready(s, planned, (*next)++, now, TL_MODE_COMMIT, &r, &err));
      CHECK(tl_decisions_tentative_len(r) == 0);
      tl_decisions_free(r);
    }
  }
}

int main(void) {
  tl_scheduler *s = NULL;
  OKE(tl_scheduler_new(NULL, 0, &s, &err));
  for (int z = 0; z < 3; z++) {
    OKE(tl_scheduler_add_zone(s, zones[z], strlen(zones[z]), TL_ZONE_STATE_UP, 0, &err));
  }
  ADD_SKU(s,
          "{\"id\": \"g7\", \"family\": \"g7\", \"generation\": 7, \"arch\": \"x86_64\","
          " \"cpu_vendor\": \"intel\", \"allocatable\": {\"cpu_millis\": 16000, \"memory_mib\": 65536},"
          " \"perf_score\": 100, \"price_nanos_per_second\": 1000}",
          0);
  uint64_t next_host = 1;
  for (int z = 0; z < 3; z++) {
    for (int k = 0; k < 2; k++) {
      add_host(s, next_host++, "g7", zones[z], 0);
    }
    tl_decisions *d = NULL;
    OKE(tl_scheduler_set_stock(s, S("g7"), zones[z], strlen(zones[z]), TL_STOCK_KNOWN, 10, 0,
                               TL_MODE_COMMIT, &d, &err));
    tl_decisions_free(d);
  }
  ADD_APP(s,
          "{\"id\": \"web\", \"tenant\": \"shop\", \"resources\": {\"cpu_millis\": 4000, \"memory_mib\": 8192},"
          " \"arches\": [\"x86_64\"], \"spread\": {\"max_skew\": 1, \"disruption_budget\": 20}}",
          0);

  /* 30 instances: 24 fit on the 6 hosts, 6 wait on hosts to provision. */
  tl_decisions *d = NULL;
  OKE(tl_scheduler_scale(s, S("web"), 30, 1000, TL_MODE_COMMIT, &d, &err));
  CHECK(tl_decisions_placements_len(d) == 24);
  CHECK(tl_decisions_tentative_len(d) == 6);
  size_t provisions_in_c = 0;
  for (size_t i = 0; i < tl_decisions_provisions_len(d); i++) {
    tl_provision p;
    OKE(tl_decisions_provision(d, i, &p, &err));
    provisions_in_c += str_eq(p.zone, "zone-c");
  }
  CHECK(provisions_in_c == 1);
  tl_decisions_free(d);

  /* Before the failure: losing any one zone now would leave instances
   * unplaced (the region is full), and the report says so. */
  tl_buffer *survive = NULL;
  OKE(tl_scheduler_survive_zone_loss(s, &survive, &err));
  CHECK(tl_buffer_len(survive) > 0 && tl_buffer_data(survive)[0] == '[');
  tl_buffer_free(survive);

  /* zone-c goes down. */
  tl_decisions *dry = NULL;
  OKE(tl_scheduler_zone_down(s, S("zone-c"), 2000, TL_MODE_DRY_RUN, &dry, &err));
  OKE(tl_scheduler_zone_down(s, S("zone-c"), 2000, TL_MODE_COMMIT, &d, &err));
  tl_buffer *a = json_of(dry);
  tl_buffer *b = json_of(d);
  CHECK(same_bytes(a, b));
  tl_buffer_free(a);
  tl_buffer_free(b);
  tl_decisions_free(dry);

  size_t evicted = tl_decisions_evictions_len(d);
  printf("zones: zone-c down: %zu evictions, %zu cancellations, %zu placed, %zu tentative, %zu "
         "provisions, %zu unplaced, %zu pending\n",
         evicted, tl_decisions_cancellations_len(d), tl_decisions_placements_len(d),
         tl_decisions_tentative_len(d), tl_decisions_provisions_len(d), tl_decisions_unplaced_len(d),
         tl_decisions_pending_len(d));
  /* Its 8 running instances and the 2 waiting on its planned host. */
  CHECK(evicted == 10);
  for (size_t i = 0; i < evicted; i++) {
    tl_eviction e;
    OKE(tl_decisions_eviction(d, i, &e, &err));
    CHECK(e.cause == TL_EVICTION_CAUSE_ZONE_DOWN);
    CHECK(e.host == 5 || e.host == 6 || (e.host >> 63) == 1);
    CHECK(str_eq(e.app, "web"));
  }
  CHECK(tl_decisions_cancellations_len(d) == 1);
  tl_cancellation c;
  OKE(tl_decisions_cancellation(d, 0, &c, &err));
  CHECK(c.cause == TL_CANCELLATION_CAUSE_ZONE_DOWN);
  CHECK(str_eq(c.zone, "zone-c") && str_eq(c.sku, "g7"));
  CHECK(c.host_count >= 1);
  uint64_t cancelled = 0;
  OKE(tl_decisions_cancellation_host(d, 0, 0, &cancelled, &err));
  CHECK((cancelled >> 63) == 1);
  /* Every instance of zone-c is re-placed in the surviving zones. */
  CHECK(tl_decisions_unplaced_len(d) == 0);
  for (size_t i = 0; i < tl_decisions_tentative_len(d); i++) {
    tl_placement p;
    OKE(tl_decisions_tentative(d, i, &p, &err));
    CHECK(!str_eq(p.zone, "zone-c"));
  }
  /* The cancelled host is gone: reporting it ready is an unknown host. */
  tl_decisions *late = NULL;
  FAILS(TL_STATUS_UNKNOWN_ID, "unknown host",
        tl_scheduler_host_ready(s, cancelled, 999, 2000, TL_MODE_COMMIT, &late, &err));
  provision_all(s, d, &next_host, 2100);
  tl_decisions_free(d);

  size_t pending = 99;
  OKE(tl_scheduler_pending(s, NULL, 0, &pending, &err));
  CHECK(pending == 0);

  /* zone-c returns: rebalance moves instances back, within the budget. */
  OKE(tl_scheduler_zone_up(s, S("zone-c"), 3000, TL_MODE_COMMIT, &d, &err));
  size_t moves = tl_decisions_moves_len(d);
  printf("zones: zone-c up: %zu moves\n", moves);
  CHECK(moves > 0);
  /* Replacements wait for zone-c hosts to be provisioned where its two
   * hosts are full: report those ready first. */
  provision_all(s, d, &next_host, 3200);
  for (size_t i = 0; i < moves; i++) {
    tl_move m;
    OKE(tl_decisions_move(d, i, &m, &err));
    CHECK(m.reason == TL_MOVE_REASON_REBALANCE);
    CHECK(m.to_host == 5 || m.to_host == 6 || (m.to_host >> 63) == 1);
    CHECK(str_eq(m.app, "web"));
    tl_decisions *done = NULL;
    OKE(tl_scheduler_complete_move(s, m.to, 3500, TL_MODE_COMMIT, &done, &err));
    /* Completing the move removes the original instance. */
    CHECK(tl_decisions_removals_len(done) == 1);
    tl_removal r;
    OKE(tl_decisions_removal(done, 0, &r, &err));
    CHECK(r.instance == m.from && r.has_host && r.host == m.from_host);
    tl_decisions_free(done);
  }
  tl_decisions_free(d);

  /* Rebalanced: within the skew limit, nothing left to move. */
  uint32_t skew = 99;
  OKE(tl_scheduler_skew(s, S("web"), &skew, &err));
  printf("zones: skew after rebalance: %u\n", skew);
  CHECK(skew <= 1);
  OKE(tl_scheduler_rebalance(s, 4000, TL_MODE_DRY_RUN, &d, &err));
  CHECK(tl_decisions_moves_len(d) == 0);
  tl_decisions_free(d);
  OKE(tl_scheduler_check_invariants(s, &err));

  CHECK(tl_scheduler_free(s) == TL_STATUS_OK);
  return finish("zones.c");
}
