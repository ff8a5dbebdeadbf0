/*
 * Launch day, from C: a game runs 10 servers asking for ecs.g7.4xlarge and
 * goes to 100 (a 10x scale-out) while g7 is sold out in zone b. The dry
 * run gives exactly the decisions of the real call; the step places what
 * fits, plans new hosts where stock is left, substitutes g8i where g7 is
 * exhausted (with the reason, read from C), and the 10,000-instance batch
 * form reads back without surprises. Then the ERP instance lands whole on
 * one NUMA node, and an instance that cannot fit is pending with its
 * explanation.
 */
#include "check.h"

static const char *zones[] = {"zone-a", "zone-b", "zone-c"};

static tl_scheduler *region(void) {
  tl_scheduler *s = NULL;
  OKE(tl_scheduler_new(NULL, 0, &s, &err));
  for (int z = 0; z < 3; z++) {
    OKE(tl_scheduler_add_zone(s, zones[z], strlen(zones[z]), TL_ZONE_STATE_UP, 0, &err));
  }
  ADD_SKU(s,
          "{\"id\": \"ecs.g7.4xlarge\", \"family\": \"g7\", \"generation\": 7, \"arch\": \"x86_64\","
          " \"cpu_vendor\": \"intel\", \"allocatable\": {\"cpu_millis\": 16000, \"memory_mib\": 65536},"
          " \"perf_score\": 100, \"price_nanos_per_second\": 256000}",
          0);
  ADD_SKU(s,
          "{\"id\": \"ecs.g8i.32xlarge\", \"family\": \"g8i\", \"generation\": 8, \"arch\": \"x86_64\","
          " \"cpu_vendor\": \"intel\", \"allocatable\": {\"cpu_millis\": 128000, \"memory_mib\": 524288},"
          " \"numa_nodes\": [{\"cpu_millis\": 64000, \"memory_mib\": 262144},"
          "                  {\"cpu_millis\": 64000, \"memory_mib\": 262144}],"
          " \"perf_score\": 125, \"price_nanos_per_second\": 2048000}",
          0);
  uint64_t id = 1;
  for (int z = 0; z < 3; z++) {
    for (int k = 0; k < 4; k++) {
      add_host(s, id++, "ecs.g7.4xlarge", zones[z], 0);
    }
    add_host(s, id++, "ecs.g8i.32xlarge", zones[z], 0);
  }
  /* Stock: g7 is sold out in zone b, 20 more hosts elsewhere; g8i unknown. */
  for (int z = 0; z < 3; z++) {
    tl_decisions *d = NULL;
    uint32_t kind = z == 1 ? TL_STOCK_EXHAUSTED : TL_STOCK_KNOWN;
    uint32_t count = z == 1 ? 0 : 20;
    OKE(tl_scheduler_set_stock(s, S("ecs.g7.4xlarge"), zones[z], strlen(zones[z]), kind, count, 0,
                               TL_MODE_COMMIT, &d, &err));
    tl_decisions_free(d);
    OKE(tl_scheduler_set_stock(s, S("ecs.g8i.32xlarge"), zones[z], strlen(zones[z]),
                               TL_STOCK_UNKNOWN, 0, 0, TL_MODE_COMMIT, &d, &err));
    tl_decisions_free(d);
  }
  ADD_APP(s,
          "{\"id\": \"game-server\", \"tenant\": \"games\","
          " \"resources\": {\"cpu_millis\": 16000, \"memory_mib\": 32768},"
          " \"arches\": [\"x86_64\"], \"min_perf_score\": 100, \"sku\": \"ecs.g7.4xlarge\","
          " \"substitution\": {\"tiers\": [[\"g7\"], [\"g8i\"]]},"
          " \"spread\": {\"max_skew\": 10, \"disruption_budget\": 50}}",
          0);
  return s;
}

static void launch(void) {
  tl_scheduler *s = region();
  tl_decisions *d = NULL;

  OKE(tl_scheduler_scale(s, S("game-server"), 10, 1000, TL_MODE_COMMIT, &d, &err));
  CHECK(tl_decisions_placements_len(d) == 10);
  tl_decisions_free(d);

  /* The dry run of the 10x step equals the real call, and changes nothing. */
  tl_decisions *dry = NULL;
  OKE(tl_scheduler_scale(s, S("game-server"), 100, 2000, TL_MODE_DRY_RUN, &dry, &err));
  uint64_t now = 1;
  OKE(tl_scheduler_now(s, &now, &err));
  CHECK(now == 1000);
  size_t pending_before = 99;
  OKE(tl_scheduler_pending(s, NULL, 0, &pending_before, &err));
  CHECK(pending_before == 0);

  tl_decisions *real = NULL;
  OKE(tl_scheduler_scale(s, S("game-server"), 100, 2000, TL_MODE_COMMIT, &real, &err));
  tl_buffer *dry_json = json_of(dry);
  tl_buffer *real_json = json_of(real);
  CHECK(dry_json != NULL && real_json != NULL);
  CHECK(same_bytes(dry_json, real_json));
  tl_buffer_free(dry_json);
  tl_buffer_free(real_json);
  tl_decisions_free(dry);

  /* Ninety new instances: placed now, or tentatively on hosts to provision. */
  size_t placed = tl_decisions_placements_len(real);
  size_t tentative = tl_decisions_tentative_len(real);
  size_t pending = tl_decisions_pending_len(real);
  printf("launch: %zu placed, %zu tentative, %zu pending, %zu provisions\n", placed, tentative,
         pending, tl_decisions_provisions_len(real));
  CHECK(placed + tentative + pending == 90);
  CHECK(tentative > 0);

  /* No g7 is provisioned in zone b (sold out); g8i stands in there, with
   * the reason. */
  int substituted_provisions = 0;
  int g7_in_b = 0;
  uint32_t planned_hosts = 0;
  for (size_t i = 0; i < tl_decisions_provisions_len(real); i++) {
    tl_provision p;
    OKE(tl_decisions_provision(real, i, &p, &err));
    planned_hosts += p.count;
    if (str_eq(p.sku, "ecs.g7.4xlarge") && str_eq(p.zone, "zone-b")) {
      g7_in_b++;
    }
    if (p.substituted) {
      substituted_provisions++;
      CHECK(str_eq(p.sku, "ecs.g8i.32xlarge"));
      CHECK(str_eq(p.substitutes_for, "ecs.g7.4xlarge"));
      CHECK(p.tier == 1);
      size_t need = 0;
      OKE(tl_decisions_substitution_note(real, TL_NOTE_LIST_PROVISIONS, i, NULL, 0, &need, &err));
      char *note = malloc(need + 1);
      size_t got = 0;
      OKE(tl_decisions_substitution_note(real, TL_NOTE_LIST_PROVISIONS, i, note, need + 1, &got, &err));
      CHECK(got == need && strlen(note) == need);
      if (str_eq(p.zone, "zone-b")) {
        CHECK(strstr(note, "exhausted") != NULL);
        printf("launch: zone-b provision note: %s\n", note);
      }
      free(note);
    }
  }
  CHECK(g7_in_b == 0);
  CHECK(substituted_provisions > 0);

  /* The same decisions as text for people: the core's rendering, with the
   * substitution and readable planned host ids. */
  tl_buffer *text = NULL;
  OKE(tl_decisions_to_text(real, &text, &err));
  char *t = malloc(tl_buffer_len(text) + 1);
  memcpy(t, tl_buffer_data(text), tl_buffer_len(text));
  t[tl_buffer_len(text)] = '\0';
  CHECK(strstr(t, "(tier 1) instead of ecs.g7.4xlarge") != NULL);
  CHECK(strstr(t, "planned-1") != NULL);
  CHECK(strstr(t, "host-9223372036854775") == NULL);
  free(t);
  tl_buffer_free(text);

  /* Every tentative placement is on a planned host of these provisions. */
  for (size_t i = 0; i < tentative; i++) {
    tl_placement p;
    OKE(tl_decisions_tentative(real, i, &p, &err));
    CHECK((p.host >> 63) == 1);
    CHECK(str_eq(p.app, "game-server"));
    CHECK(p.numa_node_count == 1);
  }
  CHECK(planned_hosts > 0);
  tl_decisions_free(real);

  uint32_t skew = 99;
  OKE(tl_scheduler_skew(s, S("game-server"), &skew, &err));
  CHECK(skew <= 10);
  OKE(tl_scheduler_check_invariants(s, &err));
  CHECK(tl_scheduler_free(s) == TL_STATUS_OK);
}

/* 10,000 instances in one call, read back record by record. */
static void big_batch(void) {
  tl_scheduler *s = NULL;
  OKE(tl_scheduler_new(S("{\"max_batch\": 20000}"), &s, &err));
  OKE(tl_scheduler_add_zone(s, S("zone-a"), TL_ZONE_STATE_UP, 0, &err));
  ADD_SKU(s,
          "{\"id\": \"big\", \"family\": \"big\", \"generation\": 1, \"arch\": \"x86_64\","
          " \"cpu_vendor\": \"intel\", \"allocatable\": {\"cpu_millis\": 128000, \"memory_mib\": 262144},"
          " \"perf_score\": 100, \"price_nanos_per_second\": 1000}",
          0);
  for (uint64_t h = 1; h <= 320; h++) {
    add_host(s, h, "big", "zone-a", 0);
  }
  ADD_APP(s,
          "{\"id\": \"web\", \"tenant\": \"t\", \"resources\": {\"cpu_millis\": 4000, \"memory_mib\": 8192},"
          " \"arches\": [\"x86_64\"]}",
          0);
  tl_decisions *d = NULL;
  OKE(tl_scheduler_place_batch(s, S("web"), 10000, TL_BATCH_MODE_ALL_OR_NOTHING, 1, TL_MODE_COMMIT,
                               &d, &err));
  size_t n = tl_decisions_placements_len(d);
  CHECK(n == 10000);
  uint64_t last = 0;
  int in_order = 1;
  for (size_t i = 0; i < n; i++) {
    tl_placement p;
    OKE(tl_decisions_placement(d, i, &p, &err));
    in_order &= p.instance > last;
    last = p.instance;
  }
  CHECK(in_order);
  tl_decisions_free(d);

  /* All or nothing: 300 more do not fit (320 hosts hold 10,240), so
   * nothing changes. */
  d = NULL;
  FAILS(TL_STATUS_UNSCHEDULABLE, "",
        tl_scheduler_place_batch(s, S("web"), 300, TL_BATCH_MODE_ALL_OR_NOTHING, 2, TL_MODE_COMMIT,
                                 &d, &err));
  CHECK(d == NULL);
  size_t pending = 9;
  OKE(tl_scheduler_pending(s, NULL, 0, &pending, &err));
  CHECK(pending == 0);
  CHECK(tl_scheduler_free(s) == TL_STATUS_OK);
}

/* The ERP instance whole on one NUMA node, and a pending one explained. */
static void erp(void) {
  tl_scheduler *s = NULL;
  OKE(tl_scheduler_new(NULL, 0, &s, &err));
  OKE(tl_scheduler_add_zone(s, S("zone-a"), TL_ZONE_STATE_UP, 0, &err));
  ADD_SKU(s,
          "{\"id\": \"ecs.g8i.32xlarge\", \"family\": \"g8i\", \"generation\": 8, \"arch\": \"x86_64\","
          " \"cpu_vendor\": \"intel\", \"allocatable\": {\"cpu_millis\": 128000, \"memory_mib\": 524288},"
          " \"numa_nodes\": [{\"cpu_millis\": 64000, \"memory_mib\": 262144},"
          "                  {\"cpu_millis\": 64000, \"memory_mib\": 262144}],"
          " \"perf_score\": 125, \"price_nanos_per_second\": 2048000}",
          0);
  add_host(s, 1, "ecs.g8i.32xlarge", "zone-a", 0);
  ADD_APP(s,
          "{\"id\": \"erp\", \"tenant\": \"corp\","
          " \"resources\": {\"cpu_millis\": 64000, \"memory_mib\": 262144},"
          " \"arches\": [\"x86_64\"], \"numa\": \"single_node\", \"min_perf_score\": 120}",
          0);
  tl_decisions *d = NULL;
  OKE(tl_scheduler_scale(s, S("erp"), 3, 10, TL_MODE_COMMIT, &d, &err));
  CHECK(tl_decisions_placements_len(d) == 2);
  for (size_t i = 0; i < tl_decisions_placements_len(d); i++) {
    tl_placement p;
    OKE(tl_decisions_placement(d, i, &p, &err));
    CHECK(p.numa_node_count == 1);
    CHECK(p.numa_node_count == 1 && p.numa_nodes[0] == i);
    CHECK(str_eq(p.sku, "ecs.g8i.32xlarge") && str_eq(p.zone, "zone-a") && p.host == 1);
    CHECK(!p.substituted && p.requested_sku.len == 0);
  }
  /* The third does not fit: pending, and the explanation counts the host. */
  CHECK(tl_decisions_pending_len(d) == 1);
  tl_pending p;
  OKE(tl_decisions_pending(d, 0, &p, &err));
  CHECK(p.reason == TL_PENDING_REASON_NO_FIT);
  CHECK(p.hosts == 1);
  CHECK(str_eq(p.app, "erp"));
  char why[256];
  size_t n = 0;
  OKE(tl_decisions_pending_reason(d, 0, why, sizeof why, &n, &err));
  printf("erp: pending because: %s\n", why);
  CHECK(strcmp(why, "0/1 hosts fit: cpu: 1 host") == 0);
  CHECK(n == strlen(why));
  /* A buffer one byte short is refused and left alone. */
  char small[64];
  memset(small, 'x', sizeof small);
  size_t m = 0;
  FAILS(TL_STATUS_BUFFER_TOO_SMALL, "needs",
        tl_decisions_pending_reason(d, 0, small, n, &m, &err));
  CHECK(small[0] == 'x' && m == 0);

  /* The same explanation from the instance query, as JSON. */
  tl_buffer *json = NULL;
  OKE(tl_scheduler_instance_json(s, p.instance, &json, &err));
  const char *text = (const char *)tl_buffer_data(json);
  size_t len = tl_buffer_len(json);
  char *copy = malloc(len + 1);
  memcpy(copy, text, len);
  copy[len] = '\0';
  CHECK(strstr(copy, "\"pending\"") != NULL && strstr(copy, "\"no_fit\"") != NULL);
  free(copy);
  tl_buffer_free(json);
  tl_decisions_free(d);
  CHECK(tl_scheduler_free(s) == TL_STATUS_OK);
}

int main(void) {
  launch();
  big_batch();
  erp();
  return finish("launch.c");
}
