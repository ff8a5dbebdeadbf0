/*
 * Shared helpers of the C tests: counted checks, status checks that print
 * the library's message, and small region builders. Header-only, so each
 * test stays one translation unit.
 */
#ifndef TRIMLINE_TEST_CHECK_H
#define TRIMLINE_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trimline.h"

static int failures = 0;
static int checks = 0;

/* Records one check; prints what failed. */
static inline void check_at(int ok, const char *what, const char *file, int line) {
  checks++;
  if (!ok) {
    failures++;
    fprintf(stderr, "%s:%d: FAIL: %s\n", file, line, what);
  }
}
#define CHECK(cond) check_at((cond) ? 1 : 0, #cond, __FILE__, __LINE__)

/* The message of an error as a NUL-terminated string in `buf`. */
static inline const char *message_of(const tl_error *err, char *buf, size_t len) {
  size_t n = 0;
  if (err == NULL || tl_error_message(err, buf, len, &n) != TL_STATUS_OK) {
    snprintf(buf, len, "(no message)");
  }
  return buf;
}

/* Checks that a call succeeded; on failure prints its status and message
 * and frees the error. */
static inline int ok_at(tl_status status, tl_error *err, const char *what, const char *file, int line) {
  char msg[512];
  int ok = status == TL_STATUS_OK && err == NULL;
  if (!ok) {
    fprintf(stderr, "%s:%d: %s -> %s: %s\n", file, line, what, tl_status_name(status),
            message_of(err, msg, sizeof msg));
  }
  check_at(ok, what, file, line);
  tl_error_free(err);
  return ok;
}
#define OK(call)                                      \
  do {                                                \
    tl_error *err_ = NULL;                            \
    tl_status st_ = (call);                           \
    (void)ok_at(st_, err_, #call, __FILE__, __LINE__); \
  } while (0)

/* Calls whose last argument is `&err`: check success. */
#define OKE(call_with_err)                                          \
  do {                                                              \
    tl_error *err = NULL;                                           \
    tl_status st_ = (call_with_err);                                \
    (void)ok_at(st_, err, #call_with_err, __FILE__, __LINE__);      \
  } while (0)

/* Checks that a call (whose last argument is `&err`) fails with `expected`
 * and an error whose message contains `needle`; frees the error. */
#define FAILS(expected, needle, call_with_err)                                         \
  do {                                                                                 \
    tl_error *err = NULL;                                                              \
    char msg_[512];                                                                    \
    tl_status st_ = (call_with_err);                                                   \
    message_of(err, msg_, sizeof msg_);                                                \
    check_at(st_ == (expected) && err != NULL && tl_error_status(err) == (expected) && \
                 strstr(msg_, (needle)) != NULL,                                       \
             #call_with_err " fails with " #expected " naming " needle, __FILE__,      \
             __LINE__);                                                                \
    if (st_ != (expected) || strstr(msg_, (needle)) == NULL) {                         \
      fprintf(stderr, "   got %s: %s\n", tl_status_name(st_), msg_);                   \
    }                                                                                  \
    tl_error_free(err);                                                                \
  } while (0)

/* A string literal as pointer and length. */
#define S(lit) (lit), (sizeof(lit) - 1)

/* Whether a view equals a C string. */
static inline int str_eq(tl_str s, const char *c) {
  size_t n = strlen(c);
  return s.len == n && (n == 0 || memcmp(s.ptr, c, n) == 0);
}

/* Whether two buffers hold the same bytes. */
static inline int same_bytes(const tl_buffer *a, const tl_buffer *b) {
  return tl_buffer_len(a) == tl_buffer_len(b) &&
         memcmp(tl_buffer_data(a), tl_buffer_data(b), tl_buffer_len(a)) == 0;
}

/* Decisions as JSON (a new buffer), or NULL. */
static inline tl_buffer *json_of(const tl_decisions *d) {
  tl_buffer *json = NULL;
  tl_error *err = NULL;
  if (tl_decisions_to_json(d, &json, &err) != TL_STATUS_OK) {
    tl_error_free(err);
    return NULL;
  }
  return json;
}

/* Declares a SKU given as a JSON literal. */
#define ADD_SKU(s, json, now) OKE(tl_scheduler_add_sku_json((s), S(json), (now), &err))
#define ADD_APP(s, json, now) OKE(tl_scheduler_add_app_json((s), S(json), (now), &err))

/* Adds a host and frees the (empty or not) decisions. */
static inline void add_host(tl_scheduler *s, uint64_t id, const char *sku, const char *zone, uint64_t now) {
  tl_decisions *d = NULL;
  OKE(tl_scheduler_add_host(s, id, sku, strlen(sku), zone, strlen(zone), now, TL_MODE_COMMIT, &d, &err));
  tl_decisions_free(d);
}

/* Prints the tally and returns the exit code. */
static inline int finish(const char *name) {
  printf("%s: %d passed, %d failed\n", name, checks - failures, failures);
  return failures == 0 ? 0 : 1;
}

#endif /* TRIMLINE_TEST_CHECK_H */
