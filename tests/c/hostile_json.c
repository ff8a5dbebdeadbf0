/*
 * Hostile JSON through the C API: documents nested a million levels deep
 * (in a spec, a snapshot and a config) and a huge document of a million
 * unknown fields each fail with TL_STATUS_BAD_JSON naming the JSON path
 * where they go wrong, without a crash, a stack overflow or a leak, and
 * change nothing.
 */
#include "check.h"

/* `depth` opening brackets then as many closing ones, after `prefix`. */
static char *nested(const char *prefix, size_t depth, size_t *len) {
  size_t p = strlen(prefix);
  char *doc = malloc(p + 2 * depth + 2);
  if (doc == NULL) return NULL;
  memcpy(doc, prefix, p);
  memset(doc + p, '[', depth);
  memset(doc + p + depth, ']', depth);
  doc[p + 2 * depth] = '}';
  *len = p + 2 * depth + 1;
  return doc;
}

int main(void) {
  const size_t depth = 1000000;
  size_t len = 0;
  tl_scheduler *s = NULL;
  OKE(tl_scheduler_new(NULL, 0, &s, &err));
  OKE(tl_scheduler_add_zone(s, S("a"), TL_ZONE_STATE_UP, 0, &err));
  tl_buffer *before = NULL;
  OKE(tl_scheduler_snapshot(s, &before, &err));

  char *doc = nested("{\"id\": \"web\", \"tenant\": \"t\", \"arches\": ", depth, &len);
  CHECK(doc != NULL);
  if (doc != NULL) {
    /* Refused where the nesting starts, at its JSON path. */
    FAILS(TL_STATUS_BAD_JSON, "app: arches[0]: expected value at line 1 column 41",
          tl_scheduler_add_app_json(s, doc, len, 1, &err));
    free(doc);
  }
  doc = nested("{\"skus\": ", depth, &len);
  CHECK(doc != NULL);
  if (doc != NULL) {
    tl_scheduler *out = NULL;
    FAILS(TL_STATUS_BAD_JSON, "snapshot: skus[0]",
          tl_scheduler_restore((const uint8_t *)doc, len, &out, &err));
    CHECK(out == NULL);
    free(doc);
  }
  doc = nested("{\"max_batch\": ", depth, &len);
  CHECK(doc != NULL);
  if (doc != NULL) {
    tl_scheduler *out = NULL;
    FAILS(TL_STATUS_BAD_JSON, "config: max_batch", tl_scheduler_new(doc, len, &out, &err));
    CHECK(out == NULL);
    free(doc);
  }

  /* A million unknown fields: refused at the first one. */
  const size_t fields = 1000000;
  size_t cap = 16 + fields * 16;
  char *huge = malloc(cap);
  CHECK(huge != NULL);
  if (huge != NULL) {
    size_t at = 0;
    huge[at++] = '{';
    for (size_t i = 0; i < fields; i++) {
      at += (size_t)snprintf(huge + at, cap - at, "%s\"f%zu\": 1", i == 0 ? "" : ",", i);
    }
    huge[at++] = '}';
    FAILS(TL_STATUS_BAD_JSON, "unknown field", tl_scheduler_add_app_json(s, huge, at, 1, &err));
    free(huge);
  }

  tl_buffer *after = NULL;
  OKE(tl_scheduler_snapshot(s, &after, &err));
  CHECK(same_bytes(before, after));
  tl_buffer_free(before);
  tl_buffer_free(after);
  CHECK(tl_scheduler_free(s) == TL_STATUS_OK);
  return finish("hostile_json.c");
}
