/*
 * Misuse through the C API, past what errors.c (a NULL for every pointer
 * of the core calls, double frees, a few bad values) and hostile_json.c (a
 * million levels of nesting in three documents) cover:
 * - handles of the wrong type, freed, or never returned, given to the
 *   _free functions, which refuse them with TL_STATUS_INVALID_HANDLE and
 *   leave the real handle working;
 * - NULL handles and NULL out-parameters of the cold-start, consolidation,
 *   observability and report calls;
 * - lengths: a NULL pointer with a length, and lengths larger than any
 *   object (past PTRDIFF_MAX), for every kind of string and JSON argument;
 * - every mode and enum argument out of range;
 * - invalid UTF-8 (bad bytes, overlong forms, encoded surrogates, code
 *   points past U+10FFFF, cut sequences) in every name argument and in
 *   every JSON document, and JSON escapes of lone surrogates;
 * - every JSON argument nested 100,000 deep, huge JSON numbers, huge
 *   arrays, and the largest integer arguments.
 * Each gets its documented status naming the argument, writes no
 * out-parameter and changes nothing; no crash, no leak.
 */
#include <stdint.h>

#include "check.h"

#define SKU_JSON                                                                               \
  "{\"id\": \"g7\", \"family\": \"g7\", \"generation\": 7, \"arch\": \"x86_64\","             \
  " \"cpu_vendor\": \"intel\", \"allocatable\": {\"cpu_millis\": 16000, \"memory_mib\": 65536}," \
  " \"perf_score\": 100, \"price_nanos_per_second\": 1000}"
#define APP_JSON                                                                                 \
  "{\"id\": \"web\", \"tenant\": \"t\", \"resources\": {\"cpu_millis\": 4000, \"memory_mib\": 8192}," \
  " \"arches\": [\"x86_64\"]}"
#define PRICE_JSON                                                                        \
  "{\"version\": 1, \"effective\": 0, \"cpu_nanos_per_vcpu_second\": 10000,"              \
  " \"idle_cpu_nanos_per_vcpu_second\": 2000, \"memory_nanos_per_gib_second\": 1500,"     \
  " \"accelerator_nanos_per_second\": 200000}"

/* A pointer value no call may write: out-parameters keep it on failure. */
#define UNTOUCHED ((void *)0x1)

/* A length no object can have. */
#define TOO_LONG ((size_t)PTRDIFF_MAX + 1)

/* One zone, one SKU, two hosts, an app with two instances. */
static tl_scheduler *region(void) {
  tl_scheduler *s = NULL;
  OKE(tl_scheduler_new(NULL, 0, &s, &err));
  OKE(tl_scheduler_add_zone(s, S("zone-a"), TL_ZONE_STATE_UP, 0, &err));
  ADD_SKU(s, SKU_JSON, 0);
  add_host(s, 1, "g7", "zone-a", 0);
  add_host(s, 2, "g7", "zone-a", 0);
  ADD_APP(s, APP_JSON, 0);
  tl_decisions *d = NULL;
  OKE(tl_scheduler_scale(s, S("web"), 2, 1, TL_MODE_COMMIT, &d, &err));
  tl_decisions_free(d);
  return s;
}

static tl_meter *meter(void) {
  tl_meter *m = NULL;
  OKE(tl_meter_new(NULL, 0, &m, &err));
  OKE(tl_meter_add_price_table_json(m, S(PRICE_JSON), &err));
  return m;
}

static tl_buffer *snapshot_of(const tl_scheduler *s) {
  tl_buffer *b = NULL;
  OKE(tl_scheduler_snapshot(s, &b, &err));
  return b;
}

static tl_buffer *meter_snapshot_of(const tl_meter *m) {
  tl_buffer *b = NULL;
  OKE(tl_meter_snapshot(m, &b, &err));
  return b;
}

/* Checks that `s` and `m` still hold the state in `snap` and `msnap`, and
 * frees the two snapshots. */
static void unchanged(const tl_scheduler *s, tl_buffer *snap, const tl_meter *m, tl_buffer *msnap) {
  tl_buffer *now = snapshot_of(s);
  CHECK(same_bytes(snap, now));
  tl_buffer_free(now);
  tl_buffer_free(snap);
  OKE(tl_scheduler_check_invariants(s, &err));
  tl_buffer *mnow = meter_snapshot_of(m);
  CHECK(same_bytes(msnap, mnow));
  tl_buffer_free(mnow);
  tl_buffer_free(msnap);
}

/* ------------------------------------------------------------- handles */

static void handles(void) {
  tl_scheduler *s = region();
  tl_meter *m = meter();
  tl_buffer *snap = snapshot_of(s);
  tl_buffer *msnap = meter_snapshot_of(m);

  /* A live handle of the other type is not freed as this one. */
  CHECK(tl_meter_free((tl_meter *)(void *)s) == TL_STATUS_INVALID_HANDLE);
  CHECK(tl_scheduler_free((tl_scheduler *)(void *)m) == TL_STATUS_INVALID_HANDLE);
  /* Nor an address inside a handle, nor one on the stack or the heap. */
  CHECK(tl_scheduler_free((tl_scheduler *)(void *)((char *)s + 8)) == TL_STATUS_INVALID_HANDLE);
  CHECK(tl_meter_free((tl_meter *)(void *)((char *)m + 1)) == TL_STATUS_INVALID_HANDLE);
  uint64_t on_stack[8] = {0};
  CHECK(tl_meter_free((tl_meter *)(void *)on_stack) == TL_STATUS_INVALID_HANDLE);
  void *on_heap = malloc(64);
  CHECK(on_heap != NULL);
  if (on_heap != NULL) {
    CHECK(tl_scheduler_free((tl_scheduler *)on_heap) == TL_STATUS_INVALID_HANDLE);
    free(on_heap);
  }
  /* Both handles still work and hold what they held. */
  unchanged(s, snap, m, msnap);

  /* Freed handles: a second free of either type is refused. */
  CHECK(tl_scheduler_free(s) == TL_STATUS_OK);
  CHECK(tl_meter_free((tl_meter *)(void *)s) == TL_STATUS_INVALID_HANDLE);
  CHECK(tl_scheduler_free(s) == TL_STATUS_INVALID_HANDLE);
  CHECK(tl_meter_free(m) == TL_STATUS_OK);
  CHECK(tl_scheduler_free((tl_scheduler *)(void *)m) == TL_STATUS_INVALID_HANDLE);
  CHECK(tl_meter_free(m) == TL_STATUS_INVALID_HANDLE);

  /* Restored handles are tracked like new ones. */
  tl_scheduler *s2 = region();
  tl_buffer *bytes = snapshot_of(s2);
  tl_scheduler *r = NULL;
  OKE(tl_scheduler_restore(tl_buffer_data(bytes), tl_buffer_len(bytes), &r, &err));
  tl_buffer_free(bytes);
  CHECK(tl_meter_free((tl_meter *)(void *)r) == TL_STATUS_INVALID_HANDLE);
  CHECK(tl_scheduler_free(r) == TL_STATUS_OK);
  CHECK(tl_scheduler_free(r) == TL_STATUS_INVALID_HANDLE);
  tl_meter *m2 = meter();
  tl_buffer *mbytes = meter_snapshot_of(m2);
  tl_meter *mr = NULL;
  OKE(tl_meter_restore(tl_buffer_data(mbytes), tl_buffer_len(mbytes), &mr, &err));
  tl_buffer_free(mbytes);
  CHECK(tl_scheduler_free((tl_scheduler *)(void *)mr) == TL_STATUS_INVALID_HANDLE);
  CHECK(tl_meter_free(mr) == TL_STATUS_OK);
  CHECK(tl_meter_free(m2) == TL_STATUS_OK);
  CHECK(tl_scheduler_free(s2) == TL_STATUS_OK);
}

/* ------------------------------------------------- NULL handles and outs */

static void nulls(void) {
  tl_scheduler *s = region();
  tl_meter *m = meter();
  tl_buffer *snap = snapshot_of(s);
  tl_buffer *msnap = meter_snapshot_of(m);
  tl_buffer *b = UNTOUCHED;
  tl_decisions *d = UNTOUCHED;
  tl_cold_start_mix mix;
  memset(&mix, 0xab, sizeof mix);

  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL", tl_scheduler_set_host_images(NULL, 1, S("[]"), 2, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL", tl_scheduler_host_images(NULL, 1, &b, &err));
  FAILS(TL_STATUS_NULL_POINTER, "json_out is NULL", tl_scheduler_host_images(s, 1, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL",
        tl_scheduler_set_offering_figures(NULL,
                                          S("{\"sku\": \"g7\", \"zone\": \"zone-a\", \"provision_seconds\": 1,"
                                            " \"pull_mb_per_second\": 1}"),
                                          2, &err));
  tl_decisions *real = NULL;
  OKE(tl_scheduler_reconcile(s, 2, TL_MODE_DRY_RUN, &real, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL", tl_scheduler_cold_start_mix(NULL, real, &mix, &err));
  FAILS(TL_STATUS_NULL_POINTER, "mix_out is NULL", tl_scheduler_cold_start_mix(s, real, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL", tl_scheduler_plan_consolidation(NULL, NULL, 0, &b, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL",
        tl_scheduler_start_consolidation(NULL, S("{\"moves\": []}"), 2, TL_MODE_COMMIT, &b, &err));
  FAILS(TL_STATUS_NULL_POINTER, "step_out is NULL",
        tl_scheduler_start_consolidation(s, S("{\"moves\": []}"), 2, TL_MODE_COMMIT, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "batch_out is NULL", tl_scheduler_drain_audit(s, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL", tl_scheduler_set_audit_capacity(NULL, 1, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL", tl_scheduler_counters(NULL, &b, &err));
  FAILS(TL_STATUS_NULL_POINTER, "counters_out is NULL", tl_scheduler_counters(s, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL", tl_scheduler_record_placement_latency(NULL, 1, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL", tl_scheduler_metrics_text(NULL, &b, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL", tl_scheduler_delivery(NULL, S("web"), 2, &b, &err));
  FAILS(TL_STATUS_NULL_POINTER, "delivery_out is NULL", tl_scheduler_delivery(s, S("web"), 2, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "app is NULL", tl_scheduler_delivery(s, NULL, 0, 2, &b, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL", tl_scheduler_deliveries(NULL, 2, &b, &err));
  FAILS(TL_STATUS_NULL_POINTER, "deliveries_out is NULL", tl_scheduler_deliveries(s, 2, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "meter is NULL", tl_meter_describe_skus_json(NULL, S("[]"), &err));
  FAILS(TL_STATUS_NULL_POINTER, "json is NULL", tl_meter_describe_skus_json(m, NULL, 2, &err));
  FAILS(TL_STATUS_NULL_POINTER, "images_json is NULL", tl_scheduler_set_host_images(s, 1, NULL, 2, 2, &err));
  FAILS(TL_STATUS_NULL_POINTER, "figures_json is NULL", tl_scheduler_set_offering_figures(s, NULL, 2, 2, &err));
  FAILS(TL_STATUS_NULL_POINTER, "options_json is NULL", tl_scheduler_plan_consolidation(s, NULL, 2, &b, &err));
  FAILS(TL_STATUS_NULL_POINTER, "plan_json is NULL",
        tl_scheduler_start_consolidation(s, NULL, 2, 2, TL_MODE_COMMIT, &b, &err));
  /* A NULL name is refused even with length 0 (an empty name is not
   * NULL). */
  FAILS(TL_STATUS_NULL_POINTER, "zone is NULL", tl_scheduler_add_zone(s, NULL, 0, TL_ZONE_STATE_UP, 2, &err));
  FAILS(TL_STATUS_NULL_POINTER, "app is NULL", tl_scheduler_skew(s, NULL, 0, (uint32_t *)&mix, &err));

  /* The meter's reports. */
  tl_report *r = NULL;
  OKE(tl_meter_close_period(m, 1000, 1000, &r, &err));
  tl_invoice inv;
  tl_invoice_line line;
  FAILS(TL_STATUS_NULL_POINTER, "json_out is NULL", tl_report_to_json(r, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "out is NULL", tl_report_invoice(r, 0, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "out is NULL", tl_report_invoice_line(r, 0, 0, NULL, &err));
  FAILS(TL_STATUS_INDEX_OUT_OF_RANGE, "index", tl_report_invoice(r, SIZE_MAX, &inv, &err));
  FAILS(TL_STATUS_INDEX_OUT_OF_RANGE, "index", tl_report_invoice_line(r, SIZE_MAX, SIZE_MAX, &line, &err));
  CHECK(tl_report_invoices_len(NULL) == 0);
  tl_report_free(r);
  tl_buffer_free(msnap);
  msnap = meter_snapshot_of(m);

  /* Every length accessor of NULL decisions is 0. */
  CHECK(tl_decisions_tentative_len(NULL) == 0 && tl_decisions_provisions_len(NULL) == 0 &&
        tl_decisions_evictions_len(NULL) == 0 && tl_decisions_pending_len(NULL) == 0 &&
        tl_decisions_removals_len(NULL) == 0 && tl_decisions_shortfalls_len(NULL) == 0 &&
        tl_decisions_moves_len(NULL) == 0 && tl_decisions_skew_violations_len(NULL) == 0 &&
        tl_decisions_unplaced_len(NULL) == 0 && tl_decisions_cancellations_len(NULL) == 0);
  /* Indexes far past the end. */
  tl_placement p;
  uint64_t u64 = 7;
  FAILS(TL_STATUS_INDEX_OUT_OF_RANGE, "index", tl_decisions_placement(real, SIZE_MAX, &p, &err));
  FAILS(TL_STATUS_INDEX_OUT_OF_RANGE, "index", tl_decisions_provision_host(real, SIZE_MAX, SIZE_MAX, &u64, &err));
  FAILS(TL_STATUS_INDEX_OUT_OF_RANGE, "index", tl_decisions_cancellation_host(real, SIZE_MAX, 0, &u64, &err));
  tl_decisions_free(real);

  CHECK(b == UNTOUCHED && d == UNTOUCHED && u64 == 7);
  CHECK(mix.new_hosts.instances == 0xababababu);
  unchanged(s, snap, m, msnap);
  CHECK(tl_meter_free(m) == TL_STATUS_OK);
  CHECK(tl_scheduler_free(s) == TL_STATUS_OK);
}

/* ---------------------------------------------------- the JSON arguments */

/* Every call that takes a JSON document (or snapshot bytes). */
enum { J_CONFIG, J_SNAPSHOT, J_SKU, J_APP, J_METER_CONFIG, J_PRICE_TABLE, J_EVENTS, J_METER_SNAPSHOT,
       J_SKU_DESCRIPTIONS, J_PACK_SPEC, J_CONSOLIDATION_OPTIONS, J_CONSOLIDATION_PLAN,
       J_OFFERING_FIGURES, J_IMAGE_DIGESTS, J_COUNT };

/* How each names its document in messages. */
static const char *const JSON_WHAT[J_COUNT] = {
    "config", "snapshot", "sku", "app", "meter config", "price table", "events", "meter snapshot",
    "SKU descriptions", "pack spec", "consolidation options", "consolidation plan", "offering figures",
    "image digests"};

/* How each names its pointer argument. */
static const char *const JSON_ARG[J_COUNT] = {
    "config_json", "snapshot", "json", "json", "config_json", "json", "events_json", "snapshot",
    "json", "spec_json", "options_json", "plan_json", "figures_json", "images_json"};

/* Calls JSON entry `which` with the document; a result it creates is
 * freed. `out_written` says whether an out-parameter was written. */
static tl_status json_call(int which, tl_scheduler *s, tl_meter *m, const char *doc, size_t len,
                           int *out_written, tl_error **err) {
  tl_scheduler *so = UNTOUCHED;
  tl_meter *mo = UNTOUCHED;
  tl_buffer *b = UNTOUCHED;
  size_t n = 7;
  tl_status st = TL_STATUS_OK;
  switch (which) {
    case J_CONFIG: st = tl_scheduler_new(doc, len, &so, err); break;
    case J_SNAPSHOT: st = tl_scheduler_restore((const uint8_t *)doc, len, &so, err); break;
    case J_SKU: st = tl_scheduler_add_sku_json(s, doc, len, 5, err); break;
    case J_APP: st = tl_scheduler_add_app_json(s, doc, len, 5, err); break;
    case J_METER_CONFIG: st = tl_meter_new(doc, len, &mo, err); break;
    case J_PRICE_TABLE: st = tl_meter_add_price_table_json(m, doc, len, err); break;
    case J_EVENTS: st = tl_meter_ingest_json(m, doc, len, 5, &n, err); break;
    case J_METER_SNAPSHOT: st = tl_meter_restore((const uint8_t *)doc, len, &mo, err); break;
    case J_SKU_DESCRIPTIONS: st = tl_meter_describe_skus_json(m, doc, len, err); break;
    case J_PACK_SPEC: st = tl_pack_partial(doc, len, &b, err); break;
    case J_CONSOLIDATION_OPTIONS: st = tl_scheduler_plan_consolidation(s, doc, len, &b, err); break;
    case J_CONSOLIDATION_PLAN: st = tl_scheduler_start_consolidation(s, doc, len, 5, TL_MODE_COMMIT, &b, err); break;
    case J_OFFERING_FIGURES: st = tl_scheduler_set_offering_figures(s, doc, len, 5, err); break;
    case J_IMAGE_DIGESTS: st = tl_scheduler_set_host_images(s, 1, doc, len, 5, err); break;
    default: break;
  }
  *out_written = so != UNTOUCHED || mo != UNTOUCHED || b != UNTOUCHED || n != 7;
  if (so != UNTOUCHED) (void)tl_scheduler_free(so);
  if (mo != UNTOUCHED) (void)tl_meter_free(mo);
  if (b != UNTOUCHED) tl_buffer_free(b);
  return st;
}

/* Checks that every JSON entry refuses `doc` with `expected`, a message
 * starting with its name (its argument's name when `by_arg`) and holding
 * `needle`, writing nothing and changing nothing. */
static void every_json_refuses(tl_status expected, int by_arg, const char *needle, const char *doc, size_t len,
                               const char *label) {
  tl_scheduler *s = region();
  tl_meter *m = meter();
  tl_buffer *snap = snapshot_of(s);
  tl_buffer *msnap = meter_snapshot_of(m);
  for (int which = 0; which < J_COUNT; which++) {
    tl_error *err = NULL;
    int written = 0;
    tl_status st = json_call(which, s, m, doc, len, &written, &err);
    char msg[512];
    message_of(err, msg, sizeof msg);
    const char *prefix = by_arg ? JSON_ARG[which] : JSON_WHAT[which];
    int ok = st == expected && err != NULL && tl_error_status(err) == expected &&
             strncmp(msg, prefix, strlen(prefix)) == 0 && strstr(msg, needle) != NULL && !written;
    check_at(ok, label, __FILE__, __LINE__);
    if (!ok) {
      fprintf(stderr, "   %s: got %s%s: %s\n", JSON_WHAT[which], tl_status_name(st),
              written ? " (out-parameter written)" : "", msg);
    }
    tl_error_free(err);
  }
  unchanged(s, snap, m, msnap);
  CHECK(tl_meter_free(m) == TL_STATUS_OK);
  CHECK(tl_scheduler_free(s) == TL_STATUS_OK);
}

/* `n` copies of `open` then `n` copies of `close`, in a new string. */
static char *nested(const char *open, const char *close, size_t n, size_t *len) {
  size_t a = strlen(open), b = strlen(close);
  char *doc = malloc(n * (a + b) + 1);
  if (doc == NULL) return NULL;
  for (size_t i = 0; i < n; i++) memcpy(doc + i * a, open, a);
  for (size_t i = 0; i < n; i++) memcpy(doc + n * a + i * b, close, b);
  *len = n * (a + b);
  doc[*len] = '\0';
  return doc;
}

/* `head`, then `n` copies of `item` separated by commas, then `tail`. */
static char *repeated(const char *head, const char *item, size_t n, const char *tail, size_t *len) {
  size_t h = strlen(head), i = strlen(item), t = strlen(tail);
  char *doc = malloc(h + n * (i + 1) + t + 1);
  if (doc == NULL) return NULL;
  size_t at = 0;
  memcpy(doc, head, h);
  at += h;
  for (size_t k = 0; k < n; k++) {
    if (k > 0) doc[at++] = ',';
    memcpy(doc + at, item, i);
    at += i;
  }
  memcpy(doc + at, tail, t);
  at += t;
  doc[at] = '\0';
  *len = at;
  return doc;
}

/* A JSON list of `n` distinct image digests, in a new string. */
static char *distinct_digests(size_t n, size_t *len) {
  size_t cap = 2 + n * 32;
  char *doc = malloc(cap);
  if (doc == NULL) return NULL;
  size_t at = 0;
  doc[at++] = '[';
  for (size_t k = 0; k < n; k++) {
    at += (size_t)snprintf(doc + at, cap - at, "%s\"sha256:%zu\"", k == 0 ? "" : ",", k);
  }
  doc[at++] = ']';
  doc[at] = '\0';
  *len = at;
  return doc;
}

static void json_lengths_and_nesting(void) {
  /* A NULL document with a length. */
  every_json_refuses(TL_STATUS_NULL_POINTER, 1, "is NULL", NULL, 2, "NULL document with a length");
  /* Lengths past any object: refused before a byte is read. */
  every_json_refuses(TL_STATUS_INVALID_INPUT, 1, "larger than any object", "{}", SIZE_MAX,
                     "a length of SIZE_MAX");
  every_json_refuses(TL_STATUS_INVALID_INPUT, 1, "larger than any object", "{}", TOO_LONG,
                     "a length of PTRDIFF_MAX + 1");
  /* A length cut short, or taking in the NUL. */
  every_json_refuses(TL_STATUS_BAD_JSON, 0, "EOF", "\"abc\"", 2, "a length cut short");
  every_json_refuses(TL_STATUS_BAD_JSON, 0, "", "[]", 3, "a length taking in the NUL");

  /* Nested 100,000 deep, in arrays and in objects. */
  size_t len = 0;
  char *doc = nested("[", "]", 100000, &len);
  CHECK(doc != NULL);
  if (doc != NULL) {
    every_json_refuses(TL_STATUS_BAD_JSON, 0, "", doc, len, "arrays nested 100,000 deep");
    free(doc);
  }
  doc = nested("{\"a\":", "}", 100000, &len);
  CHECK(doc != NULL);
  if (doc != NULL) {
    every_json_refuses(TL_STATUS_BAD_JSON, 0, "", doc, len, "objects nested 100,000 deep");
    free(doc);
  }
  doc = nested("[{\"id\":", "}]", 100000, &len);
  CHECK(doc != NULL);
  if (doc != NULL) {
    every_json_refuses(TL_STATUS_BAD_JSON, 0, "", doc, len, "arrays of objects nested 100,000 deep");
    free(doc);
  }
}

/* Invalid UTF-8: a bad byte, a bad continuation, an overlong '/', an
 * encoded surrogate, a code point past U+10FFFF, a cut sequence. */
static const char *const BAD_UTF8[] = {"\xff", "a\xc3\x28", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                       "ok\xe2\x82"};
#define N_BAD_UTF8 (sizeof BAD_UTF8 / sizeof BAD_UTF8[0])

static void json_utf8(void) {
  char doc[128];
  for (size_t k = 0; k < N_BAD_UTF8; k++) {
    /* Inside a string, as a key, and outside any string. */
    int n = snprintf(doc, sizeof doc, "\"%s\"", BAD_UTF8[k]);
    every_json_refuses(TL_STATUS_BAD_JSON, 0, "", doc, (size_t)n, "invalid UTF-8 in a JSON string");
    n = snprintf(doc, sizeof doc, "{\"%s\": 1}", BAD_UTF8[k]);
    every_json_refuses(TL_STATUS_BAD_JSON, 0, "", doc, (size_t)n, "invalid UTF-8 in a JSON key");
    n = snprintf(doc, sizeof doc, "[%s]", BAD_UTF8[k]);
    every_json_refuses(TL_STATUS_BAD_JSON, 0, "", doc, (size_t)n, "invalid UTF-8 outside a JSON string");
  }
  /* Escapes of lone surrogates, which no UTF-8 string can hold. */
  every_json_refuses(TL_STATUS_BAD_JSON, 0, "", S("\"\\ud800\""), "a lone leading surrogate escape");
  every_json_refuses(TL_STATUS_BAD_JSON, 0, "", S("{\"\\udc00\": 1}"), "a lone trailing surrogate escape");

  /* Where a name is expected, in a document that is otherwise right. */
  tl_scheduler *s = region();
  tl_meter *m = meter();
  tl_buffer *snap = snapshot_of(s);
  tl_buffer *msnap = meter_snapshot_of(m);
  FAILS(TL_STATUS_BAD_JSON, "app: id: invalid unicode code point",
        tl_scheduler_add_app_json(s,
                                  S("{\"id\": \"w\xed\xa0\x80\", \"tenant\": \"t\", \"resources\": {\"cpu_millis\": 1,"
                                    " \"memory_mib\": 1}, \"arches\": [\"x86_64\"]}"),
                                  5, &err));
  FAILS(TL_STATUS_BAD_JSON, "app: tenant: ",
        tl_scheduler_add_app_json(s,
                                  S("{\"id\": \"w2\", \"tenant\": \"t\\ud83d\", \"resources\": {\"cpu_millis\": 1,"
                                    " \"memory_mib\": 1}, \"arches\": [\"x86_64\"]}"),
                                  5, &err));
  FAILS(TL_STATUS_BAD_JSON, "sku: id: invalid unicode code point",
        tl_scheduler_add_sku_json(s,
                                  S("{\"id\": \"g\xff\", \"family\": \"g7\", \"generation\": 7, \"arch\": \"x86_64\","
                                    " \"cpu_vendor\": \"intel\", \"allocatable\": {\"cpu_millis\": 1, \"memory_mib\": 1},"
                                    " \"perf_score\": 100, \"price_nanos_per_second\": 1}"),
                                  5, &err));
  FAILS(TL_STATUS_BAD_JSON, "events: [0].app: invalid unicode code point",
        tl_meter_ingest_json(m, S("[{\"app\": \"w\xc0\xaf\"}]"), 5, (size_t *)&snap, &err));
  FAILS(TL_STATUS_BAD_JSON, "offering figures: zone: invalid unicode code point",
        tl_scheduler_set_offering_figures(
            s, S("{\"sku\": \"g7\", \"zone\": \"zone-\xf4\x90\x80\x80\", \"provision_seconds\": 1, \"pull_mb_per_second\": 1}"),
            5, &err));
  unchanged(s, snap, m, msnap);
  CHECK(tl_meter_free(m) == TL_STATUS_OK);
  CHECK(tl_scheduler_free(s) == TL_STATUS_OK);
}

static void json_numbers_and_arrays(void) {
  tl_scheduler *s = region();
  tl_meter *m = meter();
  tl_buffer *snap = snapshot_of(s);
  tl_buffer *msnap = meter_snapshot_of(m);
  tl_scheduler *so = UNTOUCHED;
  tl_meter *mo = UNTOUCHED;
  tl_buffer *b = UNTOUCHED;

  /* Numbers too large, negative, fractional or not numbers where a count
   * is expected: refused at their path. */
  static const char *const BAD_COUNTS[] = {"1e400", "-1e400", "18446744073709551616",
                                           "340282366920938463463374607431768211456", "-1", "1.5", "NaN",
                                           "Infinity", "-0.0"};
  char doc[512];
  for (size_t k = 0; k < sizeof BAD_COUNTS / sizeof BAD_COUNTS[0]; k++) {
    int n = snprintf(doc, sizeof doc,
                     "{\"id\": \"w2\", \"tenant\": \"t\", \"resources\": {\"cpu_millis\": %s,"
                     " \"memory_mib\": 1}, \"arches\": [\"x86_64\"]}",
                     BAD_COUNTS[k]);
    FAILS(TL_STATUS_BAD_JSON, "app: resources.cpu_millis: ", tl_scheduler_add_app_json(s, doc, (size_t)n, 5, &err));
    n = snprintf(doc, sizeof doc, "{\"max_batch\": %s}", BAD_COUNTS[k]);
    FAILS(TL_STATUS_BAD_JSON, "config: max_batch: ", tl_scheduler_new(doc, (size_t)n, &so, &err));
    n = snprintf(doc, sizeof doc, "{\"max_hosts\": %s}", BAD_COUNTS[k]);
    FAILS(TL_STATUS_BAD_JSON, "consolidation options: max_hosts: ",
          tl_scheduler_plan_consolidation(s, doc, (size_t)n, &b, &err));
    n = snprintf(doc, sizeof doc, "{\"bins\": [[%s]], \"items\": [[1]]}", BAD_COUNTS[k]);
    FAILS(TL_STATUS_BAD_JSON, "pack spec: bins[0][0]: ", tl_pack_partial(doc, (size_t)n, &b, &err));
  }
  /* A number of 100,000 digits. */
  size_t len = 0;
  char *digits = repeated("{\"max_batch\": 1", "0000000000", 10000, "}", &len);
  CHECK(digits != NULL);
  if (digits != NULL) {
    for (size_t k = 0; k < len; k++) {
      if (digits[k] == ',') digits[k] = '0';
    }
    FAILS(TL_STATUS_BAD_JSON, "config: max_batch: ", tl_scheduler_new(digits, len, &so, &err));
    FAILS(TL_STATUS_BAD_JSON, "meter config: ", tl_meter_new(digits, len, &mo, &err));
    free(digits);
  }
  /* Integers that fit their type but no machine: refused at their path. */
  FAILS(TL_STATUS_BAD_JSON, "sku: allocatable: cpu = 18446744073709551615 millicores is larger than the maximum",
        tl_scheduler_add_sku_json(s,
                                  S("{\"id\": \"big\", \"family\": \"big\", \"generation\": 4294967295,"
                                    " \"arch\": \"x86_64\", \"cpu_vendor\": \"intel\", \"allocatable\":"
                                    " {\"cpu_millis\": 18446744073709551615, \"memory_mib\": 18446744073709551615},"
                                    " \"numa_nodes\": [{\"cpu_millis\": 18446744073709551615,"
                                    " \"memory_mib\": 18446744073709551615}, {\"cpu_millis\": 18446744073709551615,"
                                    " \"memory_mib\": 18446744073709551615}],"
                                    " \"perf_score\": 4294967295, \"price_nanos_per_second\": 18446744073709551615}"),
                                  5, &err));

  /* Huge arrays: more NUMA nodes, tiers, images or dimensions than the
   * limits allow are refused naming the limit; a huge list of events is
   * refused at its first bad one, ingesting nothing. */
  char *nodes = repeated("{\"id\": \"g9\", \"family\": \"g9\", \"generation\": 9, \"arch\": \"x86_64\","
                         " \"cpu_vendor\": \"intel\", \"allocatable\": {\"cpu_millis\": 100000, \"memory_mib\": 100000},"
                         " \"numa_nodes\": [",
                         "{\"cpu_millis\": 1, \"memory_mib\": 1}", 100000,
                         "], \"perf_score\": 100, \"price_nanos_per_second\": 1}", &len);
  CHECK(nodes != NULL);
  if (nodes != NULL) {
    FAILS(TL_STATUS_INVALID_INPUT, "100000 NUMA nodes; the maximum is 16",
          tl_scheduler_add_sku_json(s, nodes, len, 5, &err));
    free(nodes);
  }
  char *tiers = repeated("{\"id\": \"w3\", \"tenant\": \"t\", \"resources\": {\"cpu_millis\": 1, \"memory_mib\": 1},"
                         " \"arches\": [\"x86_64\"], \"substitution\": {\"tiers\": [",
                         "[]", 100000, "]}}", &len);
  CHECK(tiers != NULL);
  if (tiers != NULL) {
    FAILS(TL_STATUS_INVALID_INPUT, "substitution.tiers lists 100000 tiers; the maximum is 64",
          tl_scheduler_add_app_json(s, tiers, len, 5, &err));
    free(tiers);
  }
  char *images = distinct_digests(100000, &len);
  CHECK(images != NULL);
  if (images != NULL) {
    FAILS(TL_STATUS_INVALID_INPUT, "hold 100000 images; the maximum is 4096", tl_scheduler_set_host_images(s, 1, images, len, 5, &err));
    free(images);
  }
  char *dims = repeated("{\"bins\": [[", "1", 100000, "]], \"items\": [[1]]}", &len);
  CHECK(dims != NULL);
  if (dims != NULL) {
    FAILS(TL_STATUS_INVALID_INPUT, "16", tl_pack_partial(dims, len, &b, &err));
    free(dims);
  }
  char *events = repeated("[", "{}", 1000000, "]", &len);
  CHECK(events != NULL);
  if (events != NULL) {
    size_t n = 7;
    FAILS(TL_STATUS_BAD_JSON, "events: [0]", tl_meter_ingest_json(m, events, len, 5, &n, &err));
    CHECK(n == 7);
    free(events);
  }
  CHECK(so == UNTOUCHED && mo == UNTOUCHED && b == UNTOUCHED);
  unchanged(s, snap, m, msnap);
  CHECK(tl_meter_free(m) == TL_STATUS_OK);
  CHECK(tl_scheduler_free(s) == TL_STATUS_OK);
}

/* ------------------------------------------------------- name arguments */

/* Every call that takes a name, with `name`/`len` in the named slot. */
enum { N_ZONE_ADD, N_ZONE_STATE, N_ZONE_DOWN, N_ZONE_UP, N_HOST_SKU, N_HOST_ZONE, N_STOCK_SKU, N_STOCK_ZONE,
       N_FAILED_SKU, N_FAILED_ZONE, N_REMOVE_APP, N_PLACE, N_BATCH, N_SCALE, N_SKEW, N_EXPLAIN_APP,
       N_EXPLAIN_ZONE, N_DELIVERY, N_COUNT };

static const char *const NAME_ARG[N_COUNT] = {
    "zone", "zone", "zone", "zone", "sku", "zone", "sku", "zone", "sku", "zone",
    "app",  "app",  "app",  "app",  "app", "app",  "zone", "app"};

static tl_status name_call(int which, tl_scheduler *s, const char *name, size_t len, int *written,
                           tl_error **err) {
  tl_decisions *d = UNTOUCHED;
  tl_buffer *b = UNTOUCHED;
  uint32_t u32 = 7;
  tl_status st = TL_STATUS_OK;
  const uint64_t now = 5;
  switch (which) {
    case N_ZONE_ADD: st = tl_scheduler_add_zone(s, name, len, TL_ZONE_STATE_UP, now, err); break;
    case N_ZONE_STATE:
      st = tl_scheduler_set_zone_state(s, name, len, TL_ZONE_STATE_DOWN, now, TL_MODE_COMMIT, &d, err);
      break;
    case N_ZONE_DOWN: st = tl_scheduler_zone_down(s, name, len, now, TL_MODE_COMMIT, &d, err); break;
    case N_ZONE_UP: st = tl_scheduler_zone_up(s, name, len, now, TL_MODE_COMMIT, &d, err); break;
    case N_HOST_SKU: st = tl_scheduler_add_host(s, 9, name, len, S("zone-a"), now, TL_MODE_COMMIT, &d, err); break;
    case N_HOST_ZONE: st = tl_scheduler_add_host(s, 9, S("g7"), name, len, now, TL_MODE_COMMIT, &d, err); break;
    case N_STOCK_SKU:
      st = tl_scheduler_set_stock(s, name, len, S("zone-a"), TL_STOCK_UNKNOWN, 0, now, TL_MODE_COMMIT, &d, err);
      break;
    case N_STOCK_ZONE:
      st = tl_scheduler_set_stock(s, S("g7"), name, len, TL_STOCK_UNKNOWN, 0, now, TL_MODE_COMMIT, &d, err);
      break;
    case N_FAILED_SKU:
      st = tl_scheduler_provision_failed(s, name, len, S("zone-a"), TL_PROVISION_FAILURE_OTHER, now,
                                         TL_MODE_COMMIT, &d, err);
      break;
    case N_FAILED_ZONE:
      st = tl_scheduler_provision_failed(s, S("g7"), name, len, TL_PROVISION_FAILURE_OTHER, now,
                                         TL_MODE_COMMIT, &d, err);
      break;
    case N_REMOVE_APP: st = tl_scheduler_remove_app(s, name, len, now, err); break;
    case N_PLACE: st = tl_scheduler_place(s, name, len, now, TL_MODE_COMMIT, &d, err); break;
    case N_BATCH:
      st = tl_scheduler_place_batch(s, name, len, 1, TL_BATCH_MODE_PARTIAL, now, TL_MODE_COMMIT, &d, err);
      break;
    case N_SCALE: st = tl_scheduler_scale(s, name, len, 3, now, TL_MODE_COMMIT, &d, err); break;
    case N_SKEW: st = tl_scheduler_skew(s, name, len, &u32, err); break;
    case N_EXPLAIN_APP: st = tl_scheduler_explain_substitution(s, name, len, S("zone-a"), &b, err); break;
    case N_EXPLAIN_ZONE: st = tl_scheduler_explain_substitution(s, S("web"), name, len, &b, err); break;
    case N_DELIVERY: st = tl_scheduler_delivery(s, name, len, now, &b, err); break;
    default: break;
  }
  *written = d != UNTOUCHED || b != UNTOUCHED || u32 != 7;
  if (d != UNTOUCHED) tl_decisions_free(d);
  if (b != UNTOUCHED) tl_buffer_free(b);
  return st;
}

/* Checks that every name argument refuses `name` with `expected` and a
 * message starting with the argument's name and holding `needle`. */
static void every_name_refuses(tl_status expected, const char *needle, const char *name, size_t len,
                               const char *label) {
  tl_scheduler *s = region();
  tl_meter *m = meter();
  tl_buffer *snap = snapshot_of(s);
  tl_buffer *msnap = meter_snapshot_of(m);
  for (int which = 0; which < N_COUNT; which++) {
    tl_error *err = NULL;
    int written = 0;
    tl_status st = name_call(which, s, name, len, &written, &err);
    char msg[512];
    message_of(err, msg, sizeof msg);
    int ok = st == expected && err != NULL && tl_error_status(err) == expected &&
             strncmp(msg, NAME_ARG[which], strlen(NAME_ARG[which])) == 0 && strstr(msg, needle) != NULL &&
             !written;
    check_at(ok, label, __FILE__, __LINE__);
    if (!ok) {
      fprintf(stderr, "   name call %d: got %s%s: %s\n", which, tl_status_name(st),
              written ? " (out-parameter written)" : "", msg);
    }
    tl_error_free(err);
  }
  unchanged(s, snap, m, msnap);
  CHECK(tl_meter_free(m) == TL_STATUS_OK);
  CHECK(tl_scheduler_free(s) == TL_STATUS_OK);
}

static void names(void) {
  every_name_refuses(TL_STATUS_NULL_POINTER, "is NULL", NULL, 3, "a NULL name");
  every_name_refuses(TL_STATUS_INVALID_INPUT, "larger than any object", "web", SIZE_MAX,
                     "a name of length SIZE_MAX");
  every_name_refuses(TL_STATUS_INVALID_INPUT, "larger than any object", "web", TOO_LONG,
                     "a name of length PTRDIFF_MAX + 1");
  for (size_t k = 0; k < N_BAD_UTF8; k++) {
    every_name_refuses(TL_STATUS_INVALID_UTF8, "is not valid UTF-8", BAD_UTF8[k], strlen(BAD_UTF8[k]),
                       "a name that is not UTF-8");
  }
}

/* --------------------------------------------------- enums and integers */

static void enums_and_integers(void) {
  tl_scheduler *s = region();
  tl_meter *m = meter();
  tl_buffer *snap = snapshot_of(s);
  tl_buffer *msnap = meter_snapshot_of(m);
  tl_decisions *d = UNTOUCHED;
  tl_buffer *b = UNTOUCHED;
  static const uint32_t BAD_MODES[] = {2, 0x80000000u, UINT32_MAX};
  for (size_t k = 0; k < sizeof BAD_MODES / sizeof BAD_MODES[0]; k++) {
    uint32_t mode = BAD_MODES[k];
    FAILS(TL_STATUS_INVALID_ENUM, "mode = ",
          tl_scheduler_set_zone_state(s, S("zone-a"), TL_ZONE_STATE_UP, 5, mode, &d, &err));
    FAILS(TL_STATUS_INVALID_ENUM, "mode = ", tl_scheduler_add_host(s, 9, S("g7"), S("zone-a"), 5, mode, &d, &err));
    FAILS(TL_STATUS_INVALID_ENUM, "mode = ", tl_scheduler_remove_host(s, 1, 5, mode, &d, &err));
    FAILS(TL_STATUS_INVALID_ENUM, "mode = ",
          tl_scheduler_set_host_state(s, 1, TL_HOST_STATE_CORDONED, 5, mode, &d, &err));
    FAILS(TL_STATUS_INVALID_ENUM, "mode = ", tl_scheduler_place(s, S("web"), 5, mode, &d, &err));
    FAILS(TL_STATUS_INVALID_ENUM, "mode = ",
          tl_scheduler_place_batch(s, S("web"), 1, TL_BATCH_MODE_PARTIAL, 5, mode, &d, &err));
    FAILS(TL_STATUS_INVALID_ENUM, "mode = ", tl_scheduler_remove_instance(s, 1, 5, mode, &d, &err));
    FAILS(TL_STATUS_INVALID_ENUM, "mode = ", tl_scheduler_host_failed(s, 1, 5, mode, &d, &err));
    FAILS(TL_STATUS_INVALID_ENUM, "mode = ", tl_scheduler_complete_move(s, 1, 5, mode, &d, &err));
    FAILS(TL_STATUS_INVALID_ENUM, "mode = ", tl_scheduler_abort_move(s, 1, 5, mode, &d, &err));
    FAILS(TL_STATUS_INVALID_ENUM, "mode = ", tl_scheduler_reconcile(s, 5, mode, &d, &err));
    FAILS(TL_STATUS_INVALID_ENUM, "mode = ", tl_scheduler_rebalance(s, 5, mode, &d, &err));
    FAILS(TL_STATUS_INVALID_ENUM, "mode = ", tl_scheduler_plan_return(s, 5, mode, &d, &err));
    FAILS(TL_STATUS_INVALID_ENUM, "mode = ", tl_scheduler_host_ready(s, 1, 2, 5, mode, &d, &err));
    FAILS(TL_STATUS_INVALID_ENUM, "mode = ",
          tl_scheduler_provision_failed(s, S("g7"), S("zone-a"), TL_PROVISION_FAILURE_OTHER, 5, mode, &d, &err));
    FAILS(TL_STATUS_INVALID_ENUM, "mode = ",
          tl_scheduler_set_stock(s, S("g7"), S("zone-a"), TL_STOCK_UNKNOWN, 0, 5, mode, &d, &err));
    FAILS(TL_STATUS_INVALID_ENUM, "mode = ", tl_scheduler_zone_down(s, S("zone-a"), 5, mode, &d, &err));
    FAILS(TL_STATUS_INVALID_ENUM, "mode = ", tl_scheduler_zone_up(s, S("zone-a"), 5, mode, &d, &err));
    FAILS(TL_STATUS_INVALID_ENUM, "mode = ",
          tl_scheduler_start_consolidation(s, S("{\"moves\": []}"), 5, mode, &b, &err));
  }
  /* The other enums, whose largest value is 2. */
  static const uint32_t BAD_VALUES[] = {3, 0x80000000u, UINT32_MAX};
  for (size_t k = 0; k < sizeof BAD_VALUES / sizeof BAD_VALUES[0]; k++) {
    uint32_t mode = BAD_VALUES[k];
    FAILS(TL_STATUS_INVALID_ENUM, "state = ", tl_scheduler_add_zone(s, S("zone-b"), mode, 5, &err));
    FAILS(TL_STATUS_INVALID_ENUM, "state = ",
          tl_scheduler_set_zone_state(s, S("zone-a"), mode, 5, TL_MODE_COMMIT, &d, &err));
    FAILS(TL_STATUS_INVALID_ENUM, "state = ", tl_scheduler_set_host_state(s, 1, mode, 5, TL_MODE_COMMIT, &d, &err));
    FAILS(TL_STATUS_INVALID_ENUM, "batch_mode = ",
          tl_scheduler_place_batch(s, S("web"), 1, mode, 5, TL_MODE_COMMIT, &d, &err));
    FAILS(TL_STATUS_INVALID_ENUM, "stock = ",
          tl_scheduler_set_stock(s, S("g7"), S("zone-a"), mode, 0, 5, TL_MODE_COMMIT, &d, &err));
    FAILS(TL_STATUS_INVALID_ENUM, "failure = ",
          tl_scheduler_provision_failed(s, S("g7"), S("zone-a"), mode, 5, TL_MODE_COMMIT, &d, &err));
  }
  tl_decisions *real = NULL;
  OKE(tl_scheduler_reconcile(s, 5, TL_MODE_DRY_RUN, &real, &err));
  size_t n = 7;
  FAILS(TL_STATUS_INVALID_ENUM, "list = 4294967295",
        tl_decisions_substitution_note(real, UINT32_MAX, 0, NULL, 0, &n, &err));
  CHECK(n == 7);
  tl_decisions_free(real);

  /* The largest ids: unknown, or reserved for planned hosts. */
  FAILS(TL_STATUS_UNKNOWN_ID, "unknown instance", tl_scheduler_remove_instance(s, UINT64_MAX, 5, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_UNKNOWN_ID, "unknown host", tl_scheduler_host_json(s, UINT64_MAX, &b, &err));
  FAILS(TL_STATUS_INVALID_INPUT, "reserved for planned hosts",
        tl_scheduler_add_host(s, UINT64_MAX, S("g7"), S("zone-a"), 5, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_LIMIT_EXCEEDED, "", tl_scheduler_scale(s, S("web"), UINT32_MAX, 5, TL_MODE_COMMIT, &d, &err));
  CHECK(d == UNTOUCHED && b == UNTOUCHED);
  unchanged(s, snap, m, msnap);

  /* The largest times and counts are taken, with no overflow: a scale-out
   * that orders hosts at the last millisecond, its deadlines, and the
   * period that ends there. */
  OKE(tl_scheduler_set_audit_capacity(s, SIZE_MAX, &err));
  OKE(tl_scheduler_record_placement_latency(s, UINT64_MAX, &err));
  tl_decisions *out = NULL;
  OKE(tl_scheduler_set_stock(s, S("g7"), S("zone-a"), TL_STOCK_KNOWN, UINT32_MAX, UINT64_MAX - 1, TL_MODE_COMMIT,
                             &out, &err));
  tl_decisions_free(out);
  out = NULL;
  OKE(tl_scheduler_scale(s, S("web"), 12, UINT64_MAX - 1, TL_MODE_COMMIT, &out, &err));
  /* The meter's event ids encode times below 2^48 ms (8,900 years): past
   * that its limit is named. */
  size_t ingested = 7;
  FAILS(TL_STATUS_LIMIT_EXCEEDED, "cannot derive an event id for time t=18446744073709551614ms",
        tl_meter_ingest_decisions(m, s, out, UINT64_MAX - 1, &ingested, &err));
  CHECK(ingested == 7);
  tl_decisions_free(out);
  out = NULL;
  OKE(tl_scheduler_reconcile(s, UINT64_MAX, TL_MODE_COMMIT, &out, &err));
  tl_decisions_free(out);
  bool has = false;
  uint64_t at = 0;
  OKE(tl_scheduler_next_deadline(s, &has, &at, &err));
  OKE(tl_scheduler_plan_repack(s, UINT64_MAX, UINT64_MAX, &b, &err));
  tl_buffer_free(b);
  b = NULL;
  OKE(tl_scheduler_metrics_text(s, &b, &err));
  tl_buffer_free(b);
  OKE(tl_scheduler_check_invariants(s, &err));
  tl_report *r = NULL;
  OKE(tl_meter_close_period(m, UINT64_MAX, UINT64_MAX, &r, &err));
  tl_report_free(r);
  r = UNTOUCHED;
  FAILS(TL_STATUS_INVALID_INPUT, "period would be empty", tl_meter_close_period(m, UINT64_MAX, UINT64_MAX, &r, &err));
  CHECK(r == UNTOUCHED);
  FAILS(TL_STATUS_TIME_WENT_BACKWARDS, "", tl_scheduler_reconcile(s, 0, TL_MODE_COMMIT, &d, &err));
  CHECK(tl_meter_free(m) == TL_STATUS_OK);
  CHECK(tl_scheduler_free(s) == TL_STATUS_OK);
}

int main(void) {
  handles();
  nulls();
  json_lengths_and_nesting();
  json_utf8();
  json_numbers_and_arrays();
  names();
  enums_and_integers();
  return finish("misuse.c");
}
