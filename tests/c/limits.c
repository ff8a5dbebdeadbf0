/*
 * The library's limits from C: the zone past MAX_ZONES and a batch past
 * MAX_BATCH (whatever max_batch the configuration asks for) fail with
 * TL_STATUS_LIMIT_EXCEEDED and a message naming the number, and change
 * nothing; a snapshot listing too many zones fails to restore.
 */
#include "check.h"

#define APP_JSON                                                                                 \
  "{\"id\": \"web\", \"tenant\": \"t\", \"resources\": {\"cpu_millis\": 1000, \"memory_mib\": 1024}," \
  " \"arches\": [\"x86_64\"]}"

static void zones(void) {
  tl_scheduler *s = NULL;
  OKE(tl_scheduler_new(NULL, 0, &s, &err));
  char name[32];
  for (int z = 0; z < 1024; z++) {
    int n = snprintf(name, sizeof name, "z%d", z);
    OKE(tl_scheduler_add_zone(s, name, (size_t)n, TL_ZONE_STATE_UP, 0, &err));
  }
  tl_buffer *before = NULL;
  OKE(tl_scheduler_snapshot(s, &before, &err));
  FAILS(TL_STATUS_LIMIT_EXCEEDED, "already holds 1,024 zones, the most it can hold",
        tl_scheduler_add_zone(s, S("one-more"), TL_ZONE_STATE_UP, 1, &err));
  tl_buffer *after = NULL;
  OKE(tl_scheduler_snapshot(s, &after, &err));
  CHECK(same_bytes(before, after));
  tl_buffer_free(before);
  tl_buffer_free(after);
  CHECK(tl_scheduler_free(s) == TL_STATUS_OK);
}

static void batch(void) {
  tl_scheduler *s = NULL;
  OKE(tl_scheduler_new(S("{\"max_batch\": 4294967295}"), &s, &err));
  OKE(tl_scheduler_add_zone(s, S("a"), TL_ZONE_STATE_UP, 0, &err));
  ADD_APP(s, APP_JSON, 0);
  tl_decisions *d = NULL;
  FAILS(TL_STATUS_LIMIT_EXCEEDED, "the maximum is 16777216",
        tl_scheduler_place_batch(s, S("web"), UINT32_MAX, TL_BATCH_MODE_PARTIAL, 1, TL_MODE_COMMIT,
                                 &d, &err));
  CHECK(d == NULL);
  CHECK(tl_scheduler_free(s) == TL_STATUS_OK);
}

static void restore(void) {
  /* A snapshot of an empty scheduler with 1,025 zones. */
  tl_scheduler *s = NULL;
  OKE(tl_scheduler_new(NULL, 0, &s, &err));
  tl_buffer *snap = NULL;
  OKE(tl_scheduler_snapshot(s, &snap, &err));
  CHECK(tl_scheduler_free(s) == TL_STATUS_OK);
  const char *json = (const char *)tl_buffer_data(snap);
  size_t len = tl_buffer_len(snap);
  const char *key = strstr(json, "\"zones\":[]");
  CHECK(key != NULL);
  if (key != NULL) {
    size_t head = (size_t)(key - json) + strlen("\"zones\":[");
    size_t cap = len + 1025 * 40;
    char *edited = malloc(cap);
    CHECK(edited != NULL);
    if (edited != NULL) {
      memcpy(edited, json, head);
      size_t at = head;
      for (int z = 0; z < 1025; z++) {
        at += (size_t)snprintf(edited + at, cap - at, "%s{\"id\":\"z%d\",\"state\":\"up\"}",
                               z == 0 ? "" : ",", z);
      }
      memcpy(edited + at, json + head, len - head);
      at += len - head;
      tl_scheduler *out = NULL;
      FAILS(TL_STATUS_RESTORE, "snapshot lists 1,025 zones; a scheduler holds at most 1,024",
            tl_scheduler_restore((const uint8_t *)edited, at, &out, &err));
      CHECK(out == NULL);
      free(edited);
    }
  }
  tl_buffer_free(snap);
}

int main(void) {
  zones();
  batch();
  restore();
  return finish("limits.c");
}
