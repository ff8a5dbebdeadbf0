/*
 * Dedicated tenants, from C: an app whose spec says "isolation":
 * "dedicated_hosts" never shares a host with another tenant's instance, a
 * shared app keeps off its hosts, the pending reason names tenant
 * isolation, and an unknown policy is refused with its JSON path.
 */
#include "check.h"

static int contains(const tl_buffer *b, const char *needle) {
  size_t n = strlen(needle);
  size_t len = tl_buffer_len(b);
  const uint8_t *p = tl_buffer_data(b);
  for (size_t i = 0; i + n <= len; i++) {
    if (memcmp(p + i, needle, n) == 0) {
      return 1;
    }
  }
  return 0;
}

int main(void) {
  tl_scheduler *s = NULL;
  OKE(tl_scheduler_new(NULL, 0, &s, &err));
  OKE(tl_scheduler_add_zone(s, S("zone-a"), TL_ZONE_STATE_UP, 0, &err));
  ADD_SKU(s,
          "{\"id\": \"g7\", \"family\": \"g7\", \"generation\": 7, \"arch\": \"x86_64\","
          " \"cpu_vendor\": \"intel\", \"allocatable\": {\"cpu_millis\": 8000, \"memory_mib\": 8192},"
          " \"perf_score\": 100, \"price_nanos_per_second\": 1000}",
          0);
  add_host(s, 1, "g7", "zone-a", 0);
  add_host(s, 2, "g7", "zone-a", 0);
  ADD_APP(s,
          "{\"id\": \"web\", \"tenant\": \"shop\", \"resources\": {\"cpu_millis\": 1000, \"memory_mib\": 1024},"
          " \"arches\": [\"x86_64\"]}",
          0);
  ADD_APP(s,
          "{\"id\": \"vault\", \"tenant\": \"bank\", \"resources\": {\"cpu_millis\": 4000, \"memory_mib\": 1024},"
          " \"arches\": [\"x86_64\"], \"isolation\": \"dedicated_hosts\"}",
          0);
  FAILS(TL_STATUS_BAD_JSON, "isolation",
        tl_scheduler_add_app_json(s,
                                  S("{\"id\": \"x\", \"tenant\": \"t\", \"resources\": {\"cpu_millis\": 1000,"
                                    " \"memory_mib\": 1024}, \"arches\": [\"x86_64\"], \"isolation\": \"private\"}"),
                                  0, &err));

  tl_decisions *d = NULL;
  OKE(tl_scheduler_scale(s, S("web"), 1, 1000, TL_MODE_COMMIT, &d, &err));
  tl_placement p;
  OKE(tl_decisions_placement(d, 0, &p, &err));
  uint64_t web_host = p.host;
  tl_decisions_free(d);

  /* Three vault instances: two fit, on the empty host; the third waits,
   * though web's host has room. */
  OKE(tl_scheduler_scale(s, S("vault"), 3, 2000, TL_MODE_COMMIT, &d, &err));
  CHECK(tl_decisions_placements_len(d) == 2);
  CHECK(tl_decisions_pending_len(d) == 1);
  OKE(tl_decisions_placement(d, 0, &p, &err));
  CHECK(p.host != web_host);
  tl_buffer *json = json_of(d);
  CHECK(json != NULL && contains(json, "\"isolation\""));
  tl_buffer_free(json);
  tl_decisions_free(d);

  OKE(tl_scheduler_scale(s, S("vault"), 1, 2500, TL_MODE_COMMIT, &d, &err));
  tl_decisions_free(d);

  /* web does not join the vault's half-empty host. */
  OKE(tl_scheduler_scale(s, S("web"), 9, 3000, TL_MODE_COMMIT, &d, &err));
  CHECK(tl_decisions_placements_len(d) == 7);
  for (size_t i = 0; i < tl_decisions_placements_len(d); i++) {
    OKE(tl_decisions_placement(d, i, &p, &err));
    CHECK(p.host == web_host);
  }
  tl_decisions_free(d);
  OKE(tl_scheduler_check_invariants(s, &err));
  tl_scheduler_free(s);
  return finish("isolation");
}
