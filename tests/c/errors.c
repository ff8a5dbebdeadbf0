/*
 * Every error path: NULL for every pointer argument, double frees, wrong
 * lengths, invalid enum values, invalid UTF-8, malformed JSON (with the
 * JSON path named), unknown ids, time going backwards, buffers too small,
 * indexes out of range and the forced panic. Each failure returns its
 * status, names the offending argument or value, writes no out-parameter
 * and changes nothing.
 */
#include "check.h"

#define SKU_JSON                                                                               \
  "{\"id\": \"g7\", \"family\": \"g7\", \"generation\": 7, \"arch\": \"x86_64\","             \
  " \"cpu_vendor\": \"intel\", \"allocatable\": {\"cpu_millis\": 16000, \"memory_mib\": 65536}," \
  " \"perf_score\": 100, \"price_nanos_per_second\": 1000}"
#define APP_JSON                                                                                 \
  "{\"id\": \"web\", \"tenant\": \"t\", \"resources\": {\"cpu_millis\": 4000, \"memory_mib\": 8192}," \
  " \"arches\": [\"x86_64\"]}"

/* A pointer value no call may write: out-parameters keep it on failure. */
#define UNTOUCHED ((void *)0x1)

static tl_scheduler *small_region(void) {
  tl_scheduler *s = NULL;
  OKE(tl_scheduler_new(NULL, 0, &s, &err));
  OKE(tl_scheduler_add_zone(s, S("zone-a"), TL_ZONE_STATE_UP, 0, &err));
  ADD_SKU(s, SKU_JSON, 0);
  add_host(s, 1, "g7", "zone-a", 0);
  ADD_APP(s, APP_JSON, 0);
  return s;
}

static void null_pointers(tl_scheduler *s) {
  tl_decisions *d = UNTOUCHED;
  tl_buffer *b = UNTOUCHED;
  tl_scheduler *out = UNTOUCHED;
  uint64_t u64 = 7;
  uint32_t u32 = 7;
  size_t n = 7;
  bool has = true;

  /* The handle. */
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL",
        tl_scheduler_scale(NULL, S("web"), 1, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL",
        tl_scheduler_place(NULL, S("web"), 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL",
        tl_scheduler_place_batch(NULL, S("web"), 1, TL_BATCH_MODE_PARTIAL, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL",
        tl_scheduler_reconcile(NULL, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL",
        tl_scheduler_rebalance(NULL, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL",
        tl_scheduler_plan_return(NULL, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL",
        tl_scheduler_remove_instance(NULL, 1, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL",
        tl_scheduler_host_failed(NULL, 1, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL",
        tl_scheduler_complete_move(NULL, 1, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL",
        tl_scheduler_abort_move(NULL, 1, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL",
        tl_scheduler_zone_down(NULL, S("zone-a"), 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL",
        tl_scheduler_zone_up(NULL, S("zone-a"), 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL",
        tl_scheduler_host_ready(NULL, 1, 2, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL",
        tl_scheduler_set_stock(NULL, S("g7"), S("zone-a"), TL_STOCK_UNKNOWN, 0, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL",
        tl_scheduler_provision_failed(NULL, S("g7"), S("zone-a"), TL_PROVISION_FAILURE_OTHER, 1,
                                      TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL",
        tl_scheduler_add_host(NULL, 9, S("g7"), S("zone-a"), 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL",
        tl_scheduler_remove_host(NULL, 1, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL",
        tl_scheduler_set_host_state(NULL, 1, TL_HOST_STATE_CORDONED, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL",
        tl_scheduler_set_zone_state(NULL, S("zone-a"), TL_ZONE_STATE_UP, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL", tl_scheduler_add_sku_json(NULL, S(SKU_JSON), 1, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL", tl_scheduler_add_app_json(NULL, S(APP_JSON), 1, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL",
        tl_scheduler_add_zone(NULL, S("zone-b"), TL_ZONE_STATE_UP, 1, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL", tl_scheduler_remove_app(NULL, S("web"), 1, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL", tl_scheduler_snapshot(NULL, &b, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL", tl_scheduler_now(NULL, &u64, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL", tl_scheduler_plan_repack(NULL, 0, 0, &b, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL",
        tl_scheduler_explain_substitution(NULL, S("web"), S("zone-a"), &b, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL", tl_scheduler_survive_zone_loss(NULL, &b, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL", tl_scheduler_next_deadline(NULL, &has, &u64, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL", tl_scheduler_instance_json(NULL, 1, &b, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL", tl_scheduler_host_json(NULL, 1, &b, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL", tl_scheduler_pending(NULL, NULL, 0, &n, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL", tl_scheduler_skew(NULL, S("web"), &u32, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler is NULL", tl_scheduler_check_invariants(NULL, &err));

  /* Out-parameters. */
  FAILS(TL_STATUS_NULL_POINTER, "decisions_out is NULL",
        tl_scheduler_scale(s, S("web"), 1, 1, TL_MODE_COMMIT, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "decisions_out is NULL",
        tl_scheduler_reconcile(s, 1, TL_MODE_DRY_RUN, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler_out is NULL", tl_scheduler_new(NULL, 0, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "scheduler_out is NULL", tl_scheduler_restore((const uint8_t *)"{}", 2, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "snapshot_out is NULL", tl_scheduler_snapshot(s, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "now_out is NULL", tl_scheduler_now(s, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "plan_out is NULL", tl_scheduler_plan_repack(s, 0, 0, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "verdicts_out is NULL",
        tl_scheduler_explain_substitution(s, S("web"), S("zone-a"), NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "reports_out is NULL", tl_scheduler_survive_zone_loss(s, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "has_deadline_out is NULL", tl_scheduler_next_deadline(s, NULL, &u64, &err));
  FAILS(TL_STATUS_NULL_POINTER, "deadline_out is NULL", tl_scheduler_next_deadline(s, &has, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "json_out is NULL", tl_scheduler_instance_json(s, 1, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "json_out is NULL", tl_scheduler_host_json(s, 1, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "count_out is NULL", tl_scheduler_pending(s, NULL, 0, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "ids is NULL", tl_scheduler_pending(s, NULL, 4, &n, &err));
  FAILS(TL_STATUS_NULL_POINTER, "skew_out is NULL", tl_scheduler_skew(s, S("web"), NULL, &err));

  /* String and JSON arguments. */
  FAILS(TL_STATUS_NULL_POINTER, "app is NULL",
        tl_scheduler_scale(s, NULL, 3, 1, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_NULL_POINTER, "app is NULL", tl_scheduler_place(s, NULL, 0, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_NULL_POINTER, "zone is NULL",
        tl_scheduler_zone_down(s, NULL, 6, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_NULL_POINTER, "sku is NULL",
        tl_scheduler_add_host(s, 9, NULL, 2, S("zone-a"), 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_NULL_POINTER, "zone is NULL",
        tl_scheduler_add_host(s, 9, S("g7"), NULL, 6, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_NULL_POINTER, "json is NULL", tl_scheduler_add_sku_json(s, NULL, 10, 1, &err));
  FAILS(TL_STATUS_NULL_POINTER, "json is NULL", tl_scheduler_add_app_json(s, NULL, 10, 1, &err));
  FAILS(TL_STATUS_NULL_POINTER, "config_json is NULL", tl_scheduler_new(NULL, 5, &out, &err));
  FAILS(TL_STATUS_NULL_POINTER, "snapshot is NULL", tl_scheduler_restore(NULL, 5, &out, &err));

  /* Nothing was written through any out-parameter. */
  CHECK(d == UNTOUCHED && b == UNTOUCHED && out == UNTOUCHED);
  CHECK(u64 == 7 && u32 == 7 && n == 7 && has);

  /* error_out may be NULL: the status alone says what happened. */
  CHECK(tl_scheduler_scale(NULL, S("web"), 1, 1, TL_MODE_COMMIT, &d, NULL) == TL_STATUS_NULL_POINTER);

  /* Accessors of NULL objects. */
  CHECK(tl_decisions_placements_len(NULL) == 0);
  CHECK(tl_decisions_is_empty(NULL));
  CHECK(tl_buffer_len(NULL) == 0 && tl_buffer_data(NULL) == NULL);
  CHECK(tl_error_status(NULL) == TL_STATUS_NULL_POINTER);
  tl_placement p;
  FAILS(TL_STATUS_NULL_POINTER, "decisions is NULL", tl_decisions_placement(NULL, 0, &p, &err));
  FAILS(TL_STATUS_NULL_POINTER, "decisions is NULL", tl_decisions_to_json(NULL, &b, &err));
  char buf[8];
  CHECK(tl_error_message(NULL, buf, sizeof buf, &n) == TL_STATUS_NULL_POINTER);

  /* Every record accessor: NULL decisions, then a NULL out-parameter. */
  tl_decisions *real = NULL;
  OKE(tl_scheduler_reconcile(s, 1, TL_MODE_DRY_RUN, &real, &err));
  tl_provision pr;
  tl_eviction ev;
  tl_pending pe;
  tl_removal re;
  tl_shortfall sh;
  tl_move mo;
  tl_skew_violation sk;
  tl_unplaced un;
  tl_cancellation ca;
  FAILS(TL_STATUS_NULL_POINTER, "decisions is NULL", tl_decisions_placement(NULL, 0, &p, &err));
  FAILS(TL_STATUS_NULL_POINTER, "out is NULL", tl_decisions_placement(real, 0, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "decisions is NULL", tl_decisions_tentative(NULL, 0, &p, &err));
  FAILS(TL_STATUS_NULL_POINTER, "out is NULL", tl_decisions_tentative(real, 0, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "decisions is NULL", tl_decisions_provision(NULL, 0, &pr, &err));
  FAILS(TL_STATUS_NULL_POINTER, "out is NULL", tl_decisions_provision(real, 0, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "decisions is NULL", tl_decisions_provision_host(NULL, 0, 0, &u64, &err));
  FAILS(TL_STATUS_NULL_POINTER, "out is NULL", tl_decisions_provision_host(real, 0, 0, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "decisions is NULL", tl_decisions_eviction(NULL, 0, &ev, &err));
  FAILS(TL_STATUS_NULL_POINTER, "out is NULL", tl_decisions_eviction(real, 0, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "decisions is NULL", tl_decisions_pending(NULL, 0, &pe, &err));
  FAILS(TL_STATUS_NULL_POINTER, "out is NULL", tl_decisions_pending(real, 0, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "decisions is NULL", tl_decisions_removal(NULL, 0, &re, &err));
  FAILS(TL_STATUS_NULL_POINTER, "out is NULL", tl_decisions_removal(real, 0, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "decisions is NULL", tl_decisions_shortfall(NULL, 0, &sh, &err));
  FAILS(TL_STATUS_NULL_POINTER, "out is NULL", tl_decisions_shortfall(real, 0, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "decisions is NULL", tl_decisions_move(NULL, 0, &mo, &err));
  FAILS(TL_STATUS_NULL_POINTER, "out is NULL", tl_decisions_move(real, 0, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "decisions is NULL", tl_decisions_skew_violation(NULL, 0, &sk, &err));
  FAILS(TL_STATUS_NULL_POINTER, "out is NULL", tl_decisions_skew_violation(real, 0, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "decisions is NULL", tl_decisions_unplaced(NULL, 0, &un, &err));
  FAILS(TL_STATUS_NULL_POINTER, "out is NULL", tl_decisions_unplaced(real, 0, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "decisions is NULL", tl_decisions_cancellation(NULL, 0, &ca, &err));
  FAILS(TL_STATUS_NULL_POINTER, "out is NULL", tl_decisions_cancellation(real, 0, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "decisions is NULL", tl_decisions_cancellation_host(NULL, 0, 0, &u64, &err));
  FAILS(TL_STATUS_NULL_POINTER, "out is NULL", tl_decisions_cancellation_host(real, 0, 0, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "decisions is NULL", tl_decisions_pending_reason(NULL, 0, buf, sizeof buf, &n, &err));
  FAILS(TL_STATUS_NULL_POINTER, "decisions is NULL",
        tl_decisions_substitution_note(NULL, TL_NOTE_LIST_PLACEMENTS, 0, buf, sizeof buf, &n, &err));
  FAILS(TL_STATUS_NULL_POINTER, "json_out is NULL", tl_decisions_to_json(real, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "text_out is NULL", tl_decisions_to_text(real, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "decisions is NULL", tl_decisions_to_text(NULL, &b, &err));
  tl_decisions_free(real);

  /* The meter and its reports. */
  tl_meter *m = NULL;
  OKE(tl_meter_new(NULL, 0, &m, &err));
  tl_meter *m_out = UNTOUCHED;
  tl_report *r_out = UNTOUCHED;
  tl_invoice inv;
  tl_invoice_line line;
  FAILS(TL_STATUS_NULL_POINTER, "meter_out is NULL", tl_meter_new(NULL, 0, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "config_json is NULL", tl_meter_new(NULL, 3, &m_out, &err));
  FAILS(TL_STATUS_NULL_POINTER, "meter is NULL", tl_meter_add_price_table_json(NULL, S("{}"), &err));
  FAILS(TL_STATUS_NULL_POINTER, "json is NULL", tl_meter_add_price_table_json(m, NULL, 2, &err));
  FAILS(TL_STATUS_NULL_POINTER, "events_json is NULL", tl_meter_ingest_json(m, NULL, 2, 0, &n, &err));
  FAILS(TL_STATUS_NULL_POINTER, "meter is NULL", tl_meter_ingest_decisions(NULL, s, NULL, 0, &n, &err));
  FAILS(TL_STATUS_NULL_POINTER, "meter is NULL", tl_meter_close_period(NULL, 1, 1, &r_out, &err));
  FAILS(TL_STATUS_NULL_POINTER, "report_out is NULL", tl_meter_close_period(m, 1, 1, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "meter is NULL", tl_meter_snapshot(NULL, &b, &err));
  FAILS(TL_STATUS_NULL_POINTER, "snapshot_out is NULL", tl_meter_snapshot(m, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "snapshot is NULL", tl_meter_restore(NULL, 2, &m_out, &err));
  FAILS(TL_STATUS_NULL_POINTER, "meter_out is NULL", tl_meter_restore((const uint8_t *)"{}", 2, NULL, &err));
  FAILS(TL_STATUS_NULL_POINTER, "report is NULL", tl_report_invoice(NULL, 0, &inv, &err));
  FAILS(TL_STATUS_NULL_POINTER, "report is NULL", tl_report_invoice_line(NULL, 0, 0, &line, &err));
  FAILS(TL_STATUS_BAD_JSON, "meter config: origin: invalid type", tl_meter_new(S("{\"origin\": \"x\"}"), &m_out, &err));
  FAILS(TL_STATUS_BAD_JSON, "price table: version",
        tl_meter_add_price_table_json(m, S("{\"version\": -1}"), &err));
  CHECK(m_out == UNTOUCHED && r_out == UNTOUCHED && b == UNTOUCHED);
  CHECK(tl_meter_free(m) == TL_STATUS_OK);

  /* Every _free accepts NULL. */
  CHECK(tl_scheduler_free(NULL) == TL_STATUS_OK);
  CHECK(tl_meter_free(NULL) == TL_STATUS_OK);
  tl_decisions_free(NULL);
  tl_buffer_free(NULL);
  tl_error_free(NULL);
  tl_report_free(NULL);
}

static void bad_values(tl_scheduler *s) {
  tl_decisions *d = UNTOUCHED;
  /* Invalid enum values. */
  FAILS(TL_STATUS_INVALID_ENUM, "mode = 2", tl_scheduler_scale(s, S("web"), 1, 1, 2, &d, &err));
  FAILS(TL_STATUS_INVALID_ENUM, "state = 7",
        tl_scheduler_add_zone(s, S("zone-b"), 7, 1, &err));
  FAILS(TL_STATUS_INVALID_ENUM, "state = 3",
        tl_scheduler_set_zone_state(s, S("zone-a"), 3, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_INVALID_ENUM, "batch_mode = 9",
        tl_scheduler_place_batch(s, S("web"), 1, 9, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_INVALID_ENUM, "stock = 3",
        tl_scheduler_set_stock(s, S("g7"), S("zone-a"), 3, 0, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_INVALID_ENUM, "failure = 4294967295",
        tl_scheduler_provision_failed(s, S("g7"), S("zone-a"), 0xffffffffu, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_INVALID_ENUM, "state = 2",
        tl_scheduler_set_host_state(s, 1, 2, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_INVALID_INPUT, "only known stock has a count",
        tl_scheduler_set_stock(s, S("g7"), S("zone-a"), TL_STOCK_EXHAUSTED, 5, 1, TL_MODE_COMMIT, &d, &err));

  /* Invalid UTF-8, and the offset of the bad byte. */
  FAILS(TL_STATUS_INVALID_UTF8, "app is not valid UTF-8: invalid byte at offset 2",
        tl_scheduler_scale(s, "we\xff", 3, 1, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_INVALID_UTF8, "zone is not valid UTF-8",
        tl_scheduler_add_zone(s, "\xc3\x28", 2, TL_ZONE_STATE_UP, 1, &err));

  /* Wrong lengths: a name cut short is another (unknown) name; a length
   * reaching past the name takes in its NUL, which no name may hold; an
   * empty name is refused. */
  FAILS(TL_STATUS_UNKNOWN_ID, "unknown app we",
        tl_scheduler_scale(s, "web", 2, 1, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_INVALID_INPUT, "app", tl_scheduler_scale(s, "web", 4, 1, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_INVALID_INPUT, "empty", tl_scheduler_scale(s, "web", 0, 1, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_BAD_JSON, "EOF", tl_scheduler_add_sku_json(s, SKU_JSON, 20, 1, &err));

  /* Malformed JSON, and JSON that does not match the schema: the path. */
  FAILS(TL_STATUS_BAD_JSON, "app: id: EOF while parsing", tl_scheduler_add_app_json(s, S("{\"id\": "), 1, &err));
  FAILS(TL_STATUS_BAD_JSON, "app: resources.cpu_millis: invalid type",
        tl_scheduler_add_app_json(s,
                                  S("{\"id\": \"w2\", \"tenant\": \"t\", \"resources\": {\"cpu_millis\": \"x\","
                                    " \"memory_mib\": 1}, \"arches\": [\"x86_64\"]}"),
                                  1, &err));
  FAILS(TL_STATUS_BAD_JSON, "app: spread.max_skw: unknown field",
        tl_scheduler_add_app_json(s,
                                  S("{\"id\": \"w2\", \"tenant\": \"t\", \"resources\": {\"cpu_millis\": 1,"
                                    " \"memory_mib\": 1}, \"arches\": [\"x86_64\"], \"spread\": {\"max_skw\": 1}}"),
                                  1, &err));
  FAILS(TL_STATUS_BAD_JSON, "sku: numa_nodes[1].memory_mib: invalid value: integer `-1`",
        tl_scheduler_add_sku_json(s,
                                  S("{\"id\": \"g8\", \"family\": \"g8\", \"generation\": 8, \"arch\": \"x86_64\","
                                    " \"cpu_vendor\": \"intel\", \"allocatable\": {\"cpu_millis\": 2, \"memory_mib\": 2},"
                                    " \"numa_nodes\": [{\"cpu_millis\": 1, \"memory_mib\": 1}, {\"cpu_millis\": 1, \"memory_mib\": -1}],"
                                    " \"perf_score\": 100, \"price_nanos_per_second\": 1}"),
                                  1, &err));
  FAILS(TL_STATUS_BAD_JSON, "trailing", tl_scheduler_add_sku_json(s, S(SKU_JSON " {}"), 1, &err));
  tl_scheduler *t = UNTOUCHED;
  FAILS(TL_STATUS_BAD_JSON, "config: max_batch: invalid type",
        tl_scheduler_new(S("{\"max_batch\": true}"), &t, &err));
  FAILS(TL_STATUS_BAD_JSON, "snapshot", tl_scheduler_restore((const uint8_t *)"[1,", 3, &t, &err));
  CHECK(t == UNTOUCHED);

  /* The core's own errors, with the offending id or value. */
  FAILS(TL_STATUS_UNKNOWN_ID, "unknown app nope",
        tl_scheduler_scale(s, S("nope"), 1, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_UNKNOWN_ID, "unknown zone zone-x",
        tl_scheduler_zone_down(s, S("zone-x"), 1, TL_MODE_DRY_RUN, &d, &err));
  FAILS(TL_STATUS_UNKNOWN_ID, "unknown instance i-42",
        tl_scheduler_remove_instance(s, 42, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_UNKNOWN_ID, "unknown host host-77", tl_scheduler_host_json(s, 77, (tl_buffer **)&d, &err));
  FAILS(TL_STATUS_UNKNOWN_ID, "no offering of sku g7 in zone zone-a",
        tl_scheduler_provision_failed(s, S("g7"), S("zone-a"), TL_PROVISION_FAILURE_OTHER, 1,
                                      TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_ALREADY_EXISTS, "host host-1 exists already",
        tl_scheduler_add_host(s, 1, S("g7"), S("zone-a"), 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_ALREADY_EXISTS, "app web exists already", tl_scheduler_add_app_json(s, S(APP_JSON), 1, &err));
  FAILS(TL_STATUS_CONFLICT, "instance i-1 is not the replacement",
        tl_scheduler_complete_move(s, 1, 1, TL_MODE_COMMIT, &d, &err));
  FAILS(TL_STATUS_INVALID_INPUT, "reserved for planned hosts",
        tl_scheduler_add_host(s, (uint64_t)1 << 63, S("g7"), S("zone-a"), 1, TL_MODE_COMMIT, &d, &err));

  /* Time never goes back. */
  tl_decisions *ok = NULL;
  OKE(tl_scheduler_reconcile(s, 100, TL_MODE_COMMIT, &ok, &err));
  tl_decisions_free(ok);
  FAILS(TL_STATUS_TIME_WENT_BACKWARDS, "time went backwards",
        tl_scheduler_scale(s, S("web"), 1, 99, TL_MODE_COMMIT, &d, &err));
  CHECK(d == UNTOUCHED);

  /* None of it changed anything. */
  size_t pending = 9;
  OKE(tl_scheduler_pending(s, NULL, 0, &pending, &err));
  CHECK(pending == 0);
  OKE(tl_scheduler_check_invariants(s, &err));
}

static void buffers_and_indexes(tl_scheduler *s) {
  tl_decisions *d = NULL;
  OKE(tl_scheduler_scale(s, S("web"), 6, 200, TL_MODE_COMMIT, &d, &err));
  CHECK(tl_decisions_placements_len(d) == 4);
  CHECK(tl_decisions_pending_len(d) == 2);

  tl_placement p;
  memset(&p, 0xab, sizeof p);
  FAILS(TL_STATUS_INDEX_OUT_OF_RANGE, "index 4 is past the end of a list of 4",
        tl_decisions_placement(d, 4, &p, &err));
  CHECK(p.instance == 0xababababababababull);
  FAILS(TL_STATUS_NULL_POINTER, "out is NULL", tl_decisions_placement(d, 0, NULL, &err));
  FAILS(TL_STATUS_INDEX_OUT_OF_RANGE, "index 0", tl_decisions_eviction(d, 0, (tl_eviction *)&p, &err));
  FAILS(TL_STATUS_INVALID_ENUM, "list = 3",
        tl_decisions_substitution_note(d, 3, 0, NULL, 0, (size_t *)&p, &err));
  size_t n = 0;
  FAILS(TL_STATUS_CONFLICT, "record 0 is not a substitution",
        tl_decisions_substitution_note(d, TL_NOTE_LIST_PLACEMENTS, 0, NULL, 0, &n, &err));
  FAILS(TL_STATUS_NULL_POINTER, "buf is NULL", tl_decisions_pending_reason(d, 0, NULL, 5, &n, &err));
  FAILS(TL_STATUS_NULL_POINTER, "out_len is NULL", tl_decisions_pending_reason(d, 0, NULL, 0, NULL, &err));

  uint64_t ids[2] = {0, 0};
  n = 0;
  FAILS(TL_STATUS_BUFFER_TOO_SMALL, "room for 1 ids; 2 are pending", tl_scheduler_pending(s, ids, 1, &n, &err));
  CHECK(n == 0 && ids[0] == 0);
  OKE(tl_scheduler_pending(s, ids, 2, &n, &err));
  CHECK(n == 2 && ids[0] != 0 && ids[1] != 0);
  tl_decisions_free(d);

  /* An error message into a buffer: the length query, then too small. */
  tl_error *e = NULL;
  CHECK(tl_scheduler_scale(s, S("nope"), 1, 300, TL_MODE_COMMIT, &d, &e) == TL_STATUS_UNKNOWN_ID);
  size_t need = 0;
  CHECK(tl_error_message(e, NULL, 0, &need) == TL_STATUS_OK);
  CHECK(need == strlen("unknown app nope"));
  char tiny[4] = {'x', 'x', 'x', 'x'};
  size_t got = 99;
  CHECK(tl_error_message(e, tiny, sizeof tiny, &got) == TL_STATUS_BUFFER_TOO_SMALL);
  CHECK(tiny[0] == 'x' && got == 99);
  char exact[17];
  CHECK(tl_error_message(e, exact, sizeof exact, &got) == TL_STATUS_OK);
  CHECK(got == 16 && strcmp(exact, "unknown app nope") == 0);
  tl_error_free(e);
}

static void status_names(void) {
  CHECK(strcmp(tl_status_name(TL_STATUS_OK), "ok") == 0);
  CHECK(strcmp(tl_status_name(TL_STATUS_UNKNOWN_ID), "unknown_id") == 0);
  CHECK(strcmp(tl_status_name(TL_STATUS_PANIC), "panic") == 0);
  CHECK(strcmp(tl_status_name(11), "unknown") == 0);
}

static void forced_panic(void) {
  tl_error *e = NULL;
  tl_status st = tl_test_panic(&e);
  CHECK(st == TL_STATUS_PANIC);
  CHECK(tl_error_status(e) == TL_STATUS_PANIC);
  char msg[128];
  size_t n = 0;
  CHECK(tl_error_message(e, msg, sizeof msg, &n) == TL_STATUS_OK);
  CHECK(strstr(msg, "deliberate panic") != NULL);
  tl_error_free(e);
  /* The library is still usable after a panic. */
  CHECK(tl_test_panic(NULL) == TL_STATUS_PANIC);
  tl_scheduler *s = NULL;
  OKE(tl_scheduler_new(NULL, 0, &s, &err));
  CHECK(tl_scheduler_free(s) == TL_STATUS_OK);
}

static void double_free(void) {
  tl_scheduler *s = NULL;
  OKE(tl_scheduler_new(NULL, 0, &s, &err));
  CHECK(tl_scheduler_free(s) == TL_STATUS_OK);
  CHECK(tl_scheduler_free(s) == TL_STATUS_INVALID_HANDLE);
  tl_meter *m = NULL;
  OKE(tl_meter_new(NULL, 0, &m, &err));
  CHECK(tl_meter_free(m) == TL_STATUS_OK);
  CHECK(tl_meter_free(m) == TL_STATUS_INVALID_HANDLE);
  /* A pointer the library never returned is refused, not freed. */
  int not_a_handle = 0;
  CHECK(tl_scheduler_free((tl_scheduler *)(void *)&not_a_handle) == TL_STATUS_INVALID_HANDLE);
}

int main(void) {
  tl_scheduler *s = small_region();
  null_pointers(s);
  bad_values(s);
  buffers_and_indexes(s);
  CHECK(tl_scheduler_free(s) == TL_STATUS_OK);
  status_names();
  forced_panic();
  double_free();
  return finish("errors.c");
}
