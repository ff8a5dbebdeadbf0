/*
 * Cold start from C: three warm hosts, one holding the game's image, and
 * an offering with figures. Of two equal hosts the one holding the image
 * is chosen; each placement reports the bytes it pulls; the dry run's
 * cold-start mix equals the committed call's; images and figures survive
 * a snapshot; bad input is refused and writes nothing.
 */
#include "check.h"

#define GB 1000000000ULL

/* The placement `i` of `d` (tentative ones with `tentative`). */
static tl_placement placement_of(const tl_decisions *d, size_t i, int tentative) {
  tl_placement p;
  memset(&p, 0, sizeof p);
  if (tentative) {
    OKE(tl_decisions_tentative(d, i, &p, &err));
  } else {
    OKE(tl_decisions_placement(d, i, &p, &err));
  }
  return p;
}

static int same_bucket(tl_start_bucket a, tl_start_bucket b) {
  return a.instances == b.instances && a.without_figures == b.without_figures &&
         a.pull_bytes == b.pull_bytes && a.ready_ms == b.ready_ms;
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
  for (uint64_t h = 1; h <= 3; h++) {
    add_host(s, h, "g7", "a", 0);
  }
  ADD_APP(s,
          "{\"id\": \"game\", \"tenant\": \"t\", \"resources\": {\"cpu_millis\": 8000, \"memory_mib\": 16384},"
          " \"arches\": [\"x86_64\"],"
          " \"images\": {\"x86_64\": {\"digest\": \"sha256:game\", \"size_bytes\": 3000000000}}}",
          0);
  tl_decisions *d = NULL;
  OKE(tl_scheduler_set_stock(s, S("g7"), S("a"), TL_STOCK_UNKNOWN, 0, 0, TL_MODE_COMMIT, &d, &err));
  tl_decisions_free(d);

  /* Bad input: refused, nothing changes. */
  FAILS(TL_STATUS_UNKNOWN_ID, "unknown host host-9",
        tl_scheduler_set_host_images(s, 9, S("[]"), 1, &err));
  FAILS(TL_STATUS_BAD_JSON, "image digests",
        tl_scheduler_set_host_images(s, 1, S("[\"sha256 bad\"]"), 1, &err));
  FAILS(TL_STATUS_INVALID_INPUT, "pull_mb_per_second must be at least 1",
        tl_scheduler_set_offering_figures(
            s, S("{\"sku\": \"g7\", \"zone\": \"a\", \"provision_seconds\": 90, \"pull_mb_per_second\": 0}"),
            1, &err));
  FAILS(TL_STATUS_UNKNOWN_ID, "unknown sku g9",
        tl_scheduler_set_offering_figures(
            s, S("{\"sku\": \"g9\", \"zone\": \"a\", \"provision_seconds\": 90, \"pull_mb_per_second\": 1}"),
            1, &err));
  tl_cold_start_mix mix;
  memset(&mix, 0xAB, sizeof mix);
  FAILS(TL_STATUS_NULL_POINTER, "decisions", tl_scheduler_cold_start_mix(s, NULL, &mix, &err));
  CHECK(mix.new_hosts.instances == 0xABABABABu);

  OKE(tl_scheduler_set_host_images(s, 2, S("[\"sha256:game\"]"), 1, &err));
  OKE(tl_scheduler_set_offering_figures(
      s, S("{\"sku\": \"g7\", \"zone\": \"a\", \"provision_seconds\": 90, \"pull_mb_per_second\": 200}"), 1,
      &err));
  tl_buffer *images = NULL;
  OKE(tl_scheduler_host_images(s, 2, &images, &err));
  CHECK(tl_buffer_len(images) == strlen("[\"sha256:game\"]") &&
        memcmp(tl_buffer_data(images), "[\"sha256:game\"]", tl_buffer_len(images)) == 0);
  tl_buffer_free(images);

  /* Plan a scale-out of 8, then do it. */
  tl_decisions *plan = NULL;
  OKE(tl_scheduler_scale(s, S("game"), 8, 2, TL_MODE_DRY_RUN, &plan, &err));
  tl_cold_start_mix planned;
  OKE(tl_scheduler_cold_start_mix(s, plan, &planned, &err));
  OKE(tl_scheduler_scale(s, S("game"), 8, 2, TL_MODE_COMMIT, &d, &err));
  OKE(tl_scheduler_cold_start_mix(s, d, &mix, &err));
  CHECK(same_bucket(mix.warm_with_image, planned.warm_with_image));
  CHECK(same_bucket(mix.warm_without_image, planned.warm_without_image));
  CHECK(same_bucket(mix.new_hosts, planned.new_hosts));
  /* Host 2 (with the image) first; hosts 1 and 3 pull once each; one new
   * host takes the last two after 90 s, pulling 3 GB at 200 MB/s (15 s). */
  CHECK(placement_of(d, 0, 0).host == 2 && placement_of(d, 0, 0).pull_bytes == 0);
  CHECK(placement_of(d, 2, 0).host == 1 && placement_of(d, 2, 0).pull_bytes == 3 * GB);
  CHECK(placement_of(d, 3, 0).pull_bytes == 0);
  CHECK(placement_of(d, 0, 1).pull_bytes == 3 * GB);
  CHECK(mix.warm_with_image.instances == 4 && mix.warm_with_image.ready_ms == 0);
  CHECK(mix.warm_without_image.instances == 2 && mix.warm_without_image.pull_bytes == 6 * GB);
  CHECK(mix.warm_without_image.ready_ms == 15000);
  CHECK(mix.new_hosts.instances == 2 && mix.new_hosts.pull_bytes == 3 * GB);
  CHECK(mix.new_hosts.ready_ms == 105000 && mix.new_hosts.without_figures == 0);
  tl_decisions_free(plan);
  tl_decisions_free(d);

  /* Images and figures survive a snapshot. */
  tl_buffer *snap = NULL;
  OKE(tl_scheduler_snapshot(s, &snap, &err));
  tl_scheduler *r = NULL;
  OKE(tl_scheduler_restore(tl_buffer_data(snap), tl_buffer_len(snap), &r, &err));
  tl_buffer *again = NULL;
  OKE(tl_scheduler_snapshot(r, &again, &err));
  CHECK(same_bytes(snap, again));
  images = NULL;
  OKE(tl_scheduler_host_images(r, 1, &images, &err));
  CHECK(tl_buffer_len(images) == strlen("[\"sha256:game\"]"));
  tl_buffer_free(images);
  tl_buffer_free(again);
  tl_buffer_free(snap);
  OK(tl_scheduler_free(r));
  OK(tl_scheduler_free(s));
  return finish("coldstart");
}
