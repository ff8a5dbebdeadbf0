/*
 * Standby instances from C: two standbys are created stopped and hold
 * their capacity; a scale-out starts them in place first and refills the
 * target; the dry run's cold-start mix equals the committed call's; the
 * standbys survive a snapshot; bad input is refused and writes nothing.
 */
#include "check.h"

/* The placement `i` of `d`. */
static tl_placement placement_of(const tl_decisions *d, size_t i) {
  tl_placement p;
  memset(&p, 0, sizeof p);
  OKE(tl_decisions_placement(d, i, &p, &err));
  return p;
}

static int buffer_is(tl_buffer *b, const char *text) {
  return tl_buffer_len(b) == strlen(text) && memcmp(tl_buffer_data(b), text, strlen(text)) == 0;
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
  for (uint64_t h = 1; h <= 2; h++) {
    add_host(s, h, "g7", "a", 0);
  }
  ADD_APP(s, "{\"id\": \"game\", \"tenant\": \"t\", \"arches\": [\"x86_64\"], \"resources\": {\"cpu_millis\": 8000, \"memory_mib\": 16384}}",
          0);
  ADD_APP(s, "{\"id\": \"api\", \"tenant\": \"t\", \"arches\": [\"x86_64\"], \"resources\": {\"cpu_millis\": 1000, \"memory_mib\": 1024}}", 0);

  /* Bad input: refused, nothing written. */
  tl_decisions *d = (tl_decisions *)0x1;
  FAILS(TL_STATUS_UNKNOWN_ID, "unknown app nope",
        tl_scheduler_set_standby(s, S("nope"), 1, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_LIMIT_EXCEEDED, "max", tl_scheduler_set_standby(s, S("game"), 100000000, 1, TL_MODE_COMMIT, &d, &err));
  CHECK(d == (tl_decisions *)0x1);

  /* Four standbys fill both hosts: created stopped, holding capacity. */
  OKE(tl_scheduler_set_standby(s, S("game"), 4, 1, TL_MODE_COMMIT, &d, &err));
  CHECK(tl_decisions_placements_len(d) == 4);
  for (size_t i = 0; i < 4; i++) {
    CHECK(placement_of(d, i).standby == TL_STANDBY_MARK_STOPPED);
  }
  tl_decisions_free(d);
  OKE(tl_scheduler_scale(s, S("api"), 1, 2, TL_MODE_COMMIT, &d, &err));
  CHECK(tl_decisions_placements_len(d) == 0 && tl_decisions_pending_len(d) == 1);
  tl_decisions_free(d);
  OKE(tl_scheduler_scale(s, S("api"), 0, 3, TL_MODE_COMMIT, &d, &err));
  tl_decisions_free(d);
  OKE(tl_scheduler_set_standby(s, S("game"), 2, 4, TL_MODE_COMMIT, &d, &err));
  CHECK(tl_decisions_removals_len(d) == 2);
  tl_decisions_free(d);
  tl_buffer *held = NULL;
  OKE(tl_scheduler_standby(s, S("game"), &held, &err));
  CHECK(buffer_is(held, "{\"instances\":[1,2],\"target\":2}"));
  tl_buffer_free(held);

  /* Scale out to 3: the two standbys start in place, one instance is
   * created, two new standbys refill the target. */
  tl_decisions *plan = NULL;
  OKE(tl_scheduler_scale(s, S("game"), 3, 5, TL_MODE_DRY_RUN, &plan, &err));
  tl_cold_start_mix planned;
  OKE(tl_scheduler_cold_start_mix(s, plan, &planned, &err));
  OKE(tl_scheduler_scale(s, S("game"), 3, 5, TL_MODE_COMMIT, &d, &err));
  tl_cold_start_mix mix;
  OKE(tl_scheduler_cold_start_mix(s, d, &mix, &err));
  CHECK(mix.standby.instances == 2 && planned.standby.instances == 2);
  CHECK(mix.standby.ready_ms == 0 && mix.standby.pull_bytes == 0);
  CHECK(mix.warm_with_image.instances == planned.warm_with_image.instances);
  CHECK(mix.new_hosts.instances == planned.new_hosts.instances);
  CHECK(placement_of(d, 0).instance == 1 && placement_of(d, 0).standby == TL_STANDBY_MARK_STARTED);
  CHECK(placement_of(d, 1).instance == 2 && placement_of(d, 1).standby == TL_STANDBY_MARK_STARTED);
  CHECK(placement_of(d, 0).pull_bytes == 0);
  CHECK(placement_of(d, 2).instance == 6 && placement_of(d, 2).standby == TL_STANDBY_MARK_NONE);
  CHECK(placement_of(d, 3).instance == 7 && placement_of(d, 3).standby == TL_STANDBY_MARK_STOPPED);
  /* The second new standby does not fit: it waits, still a standby. */
  CHECK(tl_decisions_placements_len(d) == 4 && tl_decisions_pending_len(d) == 1);
  tl_decisions_free(plan);
  tl_decisions_free(d);

  /* Standbys survive a snapshot. */
  tl_buffer *snap = NULL;
  OKE(tl_scheduler_snapshot(s, &snap, &err));
  tl_scheduler *r = NULL;
  OKE(tl_scheduler_restore(tl_buffer_data(snap), tl_buffer_len(snap), &r, &err));
  tl_buffer *again = NULL;
  OKE(tl_scheduler_snapshot(r, &again, &err));
  CHECK(same_bytes(snap, again));
  held = NULL;
  OKE(tl_scheduler_standby(r, S("game"), &held, &err));
  CHECK(buffer_is(held, "{\"instances\":[7,8],\"target\":2}"));
  tl_buffer_free(held);
  tl_buffer_free(again);
  tl_buffer_free(snap);
  OK(tl_scheduler_free(r));
  OK(tl_scheduler_free(s));
  return finish("standby");
}
