/*
 * The calls the other tests do not make, each with what it must decide:
 * a failed provisioning (cancellation, eviction, back-off deadline, a
 * substitute provisioned instead), host_ready, explain_substitution,
 * plan_return with an aborted move, cordoning and draining, a skew
 * violation the app allows, a failed host whose instances find no room
 * (unplaced), a shortfall, plan_repack, the host query and remove_app.
 */
#include "check.h"

/* Whether a buffer's bytes contain a string. */
static int contains(const tl_buffer *b, const char *needle) {
  size_t n = tl_buffer_len(b), m = strlen(needle);
  const uint8_t *p = tl_buffer_data(b);
  for (size_t i = 0; i + m <= n; i++) {
    if (memcmp(p + i, needle, m) == 0) return 1;
  }
  return 0;
}

static void commit_free(tl_status st, tl_error *err, tl_decisions *d, const char *what) {
  (void)ok_at(st, err, what, __FILE__, __LINE__);
  tl_decisions_free(d);
}

int main(void) {
  tl_scheduler *s = NULL;
  tl_decisions *d = NULL;
  tl_buffer *b = NULL;
  OKE(tl_scheduler_new(NULL, 0, &s, &err));
  OKE(tl_scheduler_add_zone(s, S("zone-a"), TL_ZONE_STATE_UP, 0, &err));
  OKE(tl_scheduler_add_zone(s, S("zone-b"), TL_ZONE_STATE_UP, 0, &err));
  ADD_SKU(s,
          "{\"id\": \"g7\", \"family\": \"g7\", \"generation\": 7, \"arch\": \"x86_64\","
          " \"cpu_vendor\": \"intel\", \"allocatable\": {\"cpu_millis\": 16000, \"memory_mib\": 65536},"
          " \"perf_score\": 100, \"price_nanos_per_second\": 256000}",
          0);
  ADD_SKU(s,
          "{\"id\": \"g8i\", \"family\": \"g8i\", \"generation\": 8, \"arch\": \"x86_64\","
          " \"cpu_vendor\": \"intel\", \"allocatable\": {\"cpu_millis\": 128000, \"memory_mib\": 524288},"
          " \"numa_nodes\": [{\"cpu_millis\": 64000, \"memory_mib\": 262144},"
          "                  {\"cpu_millis\": 64000, \"memory_mib\": 262144}],"
          " \"perf_score\": 125, \"price_nanos_per_second\": 2048000}",
          0);
  add_host(s, 1, "g7", "zone-a", 0);
  {
    tl_error *err = NULL;
    tl_status st = tl_scheduler_set_stock(s, S("g7"), S("zone-a"), TL_STOCK_KNOWN, 5, 0, TL_MODE_COMMIT, &d, &err);
    commit_free(st, err, d, "set_stock g7");
    err = NULL;
    st = tl_scheduler_set_stock(s, S("g8i"), S("zone-a"), TL_STOCK_UNKNOWN, 0, 0, TL_MODE_COMMIT, &d, &err);
    commit_free(st, err, d, "set_stock g8i");
  }
  ADD_APP(s,
          "{\"id\": \"game\", \"tenant\": \"games\", \"resources\": {\"cpu_millis\": 16000, \"memory_mib\": 32768},"
          " \"arches\": [\"x86_64\"], \"sku\": \"g7\", \"substitution\": {\"tiers\": [[\"g7\"], [\"g8i\"]]},"
          " \"spread\": {\"zones\": [\"zone-a\"]}}",
          0);

  /* Three instances: one fits, two wait on two g7 hosts to provision. */
  OKE(tl_scheduler_scale(s, S("game"), 3, 10, TL_MODE_COMMIT, &d, &err));
  CHECK(tl_decisions_placements_len(d) == 1 && tl_decisions_tentative_len(d) == 2);
  CHECK(tl_decisions_provisions_len(d) == 1);
  tl_provision prov;
  OKE(tl_decisions_provision(d, 0, &prov, &err));
  CHECK(str_eq(prov.sku, "g7") && prov.count == 2 && !prov.substituted && prov.substitutes_for.len == 0);
  CHECK(str_eq(prov.app, "game") && prov.instances == 2 && prov.tier == 0);
  tl_decisions_free(d);

  /* The provider has no g7 after all: the planned hosts are cancelled,
   * their instances evicted and planned on a g8i host instead, and the
   * offering backs off (the next deadline). */
  bool has = false;
  uint64_t deadline = 0;
  OKE(tl_scheduler_next_deadline(s, &has, &deadline, &err));
  CHECK(!has);
  OKE(tl_scheduler_provision_failed(s, S("g7"), S("zone-a"), TL_PROVISION_FAILURE_INSUFFICIENT_STOCK, 20,
                                    TL_MODE_COMMIT, &d, &err));
  printf("calls: provision failed: %zu cancellations, %zu evictions, %zu tentative, %zu provisions\n",
         tl_decisions_cancellations_len(d), tl_decisions_evictions_len(d), tl_decisions_tentative_len(d),
         tl_decisions_provisions_len(d));
  CHECK(tl_decisions_cancellations_len(d) == 1);
  tl_cancellation c;
  OKE(tl_decisions_cancellation(d, 0, &c, &err));
  CHECK(c.cause == TL_CANCELLATION_CAUSE_PROVISION_FAILED && c.host_count == 2 && c.provision == prov.id);
  CHECK(tl_decisions_evictions_len(d) == 2);
  tl_eviction e;
  OKE(tl_decisions_eviction(d, 0, &e, &err));
  CHECK(e.cause == TL_EVICTION_CAUSE_PROVISION_FAILED && e.preempted_by == 0);
  CHECK(tl_decisions_tentative_len(d) == 2 && tl_decisions_provisions_len(d) == 1);
  OKE(tl_decisions_provision(d, 0, &prov, &err));
  CHECK(str_eq(prov.sku, "g8i") && prov.substituted && str_eq(prov.substitutes_for, "g7") && prov.tier == 1);
  tl_placement t;
  OKE(tl_decisions_tentative(d, 0, &t, &err));
  CHECK(t.substituted && str_eq(t.requested_sku, "g7") && t.tier == 1);
  uint64_t planned = 0;
  OKE(tl_decisions_provision_host(d, 0, 0, &planned, &err));
  FAILS(TL_STATUS_INDEX_OUT_OF_RANGE, "index 1", tl_decisions_provision_host(d, 0, 1, &planned, &err));
  tl_decisions_free(d);
  OKE(tl_scheduler_next_deadline(s, &has, &deadline, &err));
  CHECK(has && deadline == 20 + 180000);

  /* Why g8i may serve the app in zone-a, and why g7 is passed over. */
  OKE(tl_scheduler_explain_substitution(s, S("game"), S("zone-a"), &b, &err));
  CHECK(contains(b, "\"g8i\"") && contains(b, "\"accepted\""));
  tl_buffer_free(b);

  /* The g8i host is ready: the two instances start on it. */
  OKE(tl_scheduler_host_ready(s, planned, 100, 200, TL_MODE_COMMIT, &d, &err));
  CHECK(tl_decisions_placements_len(d) == 2);
  tl_placement p;
  OKE(tl_decisions_placement(d, 0, &p, &err));
  CHECK(p.host == 100 && str_eq(p.sku, "g8i") && p.substituted);
  size_t note_len = 0;
  OKE(tl_decisions_substitution_note(d, TL_NOTE_LIST_PLACEMENTS, 0, NULL, 0, &note_len, &err));
  CHECK(note_len > 0);
  tl_decisions_free(d);

  /* g7 is back after the back-off: plan_return moves the substituted
   * instances back to g7; the embedder aborts one move. */
  {
    tl_error *err = NULL;
    tl_status st = tl_scheduler_set_stock(s, S("g7"), S("zone-a"), TL_STOCK_KNOWN, 5, 200000, TL_MODE_COMMIT, &d, &err);
    commit_free(st, err, d, "set_stock g7 again");
  }
  OKE(tl_scheduler_reconcile(s, 200000, TL_MODE_COMMIT, &d, &err));
  tl_decisions_free(d);
  OKE(tl_scheduler_plan_return(s, 200001, TL_MODE_COMMIT, &d, &err));
  size_t moves = tl_decisions_moves_len(d);
  printf("calls: plan_return: %zu moves, %zu provisions\n", moves, tl_decisions_provisions_len(d));
  CHECK(moves >= 1);
  if (moves >= 1) {
    tl_move m;
    OKE(tl_decisions_move(d, 0, &m, &err));
    CHECK(m.reason == TL_MOVE_REASON_RETURN_TO_PREFERRED && m.from_host == 100 && m.to_tier == 0);
    tl_decisions *aborted = NULL;
    OKE(tl_scheduler_abort_move(s, m.to, 200002, TL_MODE_COMMIT, &aborted, &err));
    CHECK(tl_decisions_removals_len(aborted) == 1);
    tl_removal r;
    OKE(tl_decisions_removal(aborted, 0, &r, &err));
    CHECK(r.instance == m.to);
    tl_decisions_free(aborted);
    FAILS(TL_STATUS_CONFLICT, "not the replacement",
          tl_scheduler_abort_move(s, m.to, 200003, TL_MODE_COMMIT, &aborted, &err));
  }
  tl_decisions_free(d);

  /* Cordon host 1 and drain zone-b: nothing to decide, and the host says so. */
  OKE(tl_scheduler_set_host_state(s, 1, TL_HOST_STATE_CORDONED, 200010, TL_MODE_COMMIT, &d, &err));
  CHECK(tl_decisions_is_empty(d));
  tl_decisions_free(d);
  OKE(tl_scheduler_host_json(s, 1, &b, &err));
  CHECK(contains(b, "\"cordoned\"") && contains(b, "\"g7\""));
  tl_buffer_free(b);
  OKE(tl_scheduler_set_zone_state(s, S("zone-b"), TL_ZONE_STATE_DRAINING, 200010, TL_MODE_COMMIT, &d, &err));
  tl_decisions_free(d);
  OKE(tl_scheduler_set_zone_state(s, S("zone-b"), TL_ZONE_STATE_UP, 200010, TL_MODE_COMMIT, &d, &err));
  tl_decisions_free(d);
  OKE(tl_scheduler_set_host_state(s, 1, TL_HOST_STATE_READY, 200010, TL_MODE_COMMIT, &d, &err));
  tl_decisions_free(d);

  /* An app that schedules anyway when its spread cannot hold: zone-b has
   * no hosts, so instances in zone-a break the skew of 1, reported. */
  ADD_APP(s,
          "{\"id\": \"cache\", \"tenant\": \"shop\", \"resources\": {\"cpu_millis\": 1000, \"memory_mib\": 1024},"
          " \"arches\": [\"x86_64\"], \"spread\": {\"max_skew\": 1, \"when_unsatisfiable\": \"schedule_anyway\"}}",
          200020);
  OKE(tl_scheduler_scale(s, S("cache"), 3, 200020, TL_MODE_COMMIT, &d, &err));
  CHECK(tl_decisions_skew_violations_len(d) == 1);
  tl_skew_violation v;
  OKE(tl_decisions_skew_violation(d, 0, &v, &err));
  printf("calls: skew violation: %u instances, skew %u, max %u\n", v.instances, v.skew, v.max_skew);
  CHECK(str_eq(v.app, "cache") && v.has_max_skew && v.max_skew == 1 && v.skew > 1 && v.instances >= 1);
  tl_decisions_free(d);

  /* A shortfall: an app whose instances fit no host and no offering. */
  ADD_APP(s,
          "{\"id\": \"huge\", \"tenant\": \"lab\", \"resources\": {\"cpu_millis\": 16000, \"memory_mib\": 65536},"
          " \"arches\": [\"x86_64\"], \"sku\": \"g7\", \"spread\": {\"zones\": [\"zone-b\"]}}",
          200030);
  OKE(tl_scheduler_scale(s, S("huge"), 2, 200030, TL_MODE_COMMIT, &d, &err));
  printf("calls: huge: %zu pending, %zu shortfalls\n", tl_decisions_pending_len(d), tl_decisions_shortfalls_len(d));
  CHECK(tl_decisions_pending_len(d) == 2);
  CHECK(tl_decisions_shortfalls_len(d) == 1);
  if (tl_decisions_shortfalls_len(d) == 1) {
    tl_shortfall sf;
    OKE(tl_decisions_shortfall(d, 0, &sf, &err));
    CHECK(str_eq(sf.app, "huge") && str_eq(sf.zone, "zone-b") && sf.instances == 2);
    CHECK(sf.resources.cpu_millis == 32000 && sf.resources.memory_mib == 131072);
  }
  tl_decisions_free(d);
  OKE(tl_scheduler_scale(s, S("huge"), 0, 200031, TL_MODE_COMMIT, &d, &err));
  CHECK(tl_decisions_removals_len(d) == 2);
  tl_removal r;
  OKE(tl_decisions_removal(d, 0, &r, &err));
  CHECK(!r.has_host && r.host == 0);
  tl_decisions_free(d);
  OKE(tl_scheduler_remove_app(s, S("huge"), 200031, &err));
  FAILS(TL_STATUS_UNKNOWN_ID, "unknown app huge", tl_scheduler_remove_app(s, S("huge"), 200031, &err));
  FAILS(TL_STATUS_CONFLICT, "game", tl_scheduler_remove_app(s, S("game"), 200031, &err));

  /* Host 100 fails when both SKUs are sold out: nowhere else has room for
   * its instances. */
  {
    tl_error *err = NULL;
    tl_status st = tl_scheduler_set_stock(s, S("g7"), S("zone-a"), TL_STOCK_EXHAUSTED, 0, 200040, TL_MODE_COMMIT, &d, &err);
    commit_free(st, err, d, "g7 sold out");
    err = NULL;
    st = tl_scheduler_set_stock(s, S("g8i"), S("zone-a"), TL_STOCK_EXHAUSTED, 0, 200040, TL_MODE_COMMIT, &d, &err);
    commit_free(st, err, d, "g8i sold out");
  }
  OKE(tl_scheduler_host_failed(s, 100, 200040, TL_MODE_DRY_RUN, &d, &err));
  printf("calls: host 100 fails: %zu evictions, %zu unplaced, %zu provisions\n", tl_decisions_evictions_len(d),
         tl_decisions_unplaced_len(d), tl_decisions_provisions_len(d));
  for (size_t i = 0; i < tl_decisions_evictions_len(d); i++) {
    OKE(tl_decisions_eviction(d, i, &e, &err));
    CHECK(e.cause == TL_EVICTION_CAUSE_HOST_FAILED && e.host == 100);
  }
  for (size_t i = 0; i < tl_decisions_unplaced_len(d); i++) {
    tl_unplaced u;
    OKE(tl_decisions_unplaced(d, i, &u, &err));
    CHECK(u.instances > 0 && u.resources.cpu_millis > 0);
  }
  CHECK(tl_decisions_evictions_len(d) > 0);
  CHECK(tl_decisions_unplaced_len(d) > 0);
  tl_decisions_free(d);

  /* plan_repack is a query. */
  OKE(tl_scheduler_plan_repack(s, 0, 0, &b, &err));
  CHECK(contains(b, "\"hosts_before\"") && contains(b, "\"moves\""));
  tl_buffer_free(b);
  OKE(tl_scheduler_check_invariants(s, &err));
  CHECK(tl_scheduler_free(s) == TL_STATUS_OK);
  return finish("calls.c");
}
