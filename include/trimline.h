/*
 * trimline.h: C API of trimline, an embeddable scheduling core for rigid
 * capacity delivery.
 *
 * GENERATED FILE, DO NOT EDIT. It is generated from ffi/src by cbindgen
 * (configuration: ffi/cbindgen.toml). Regenerate with:
 *     TRIMLINE_BLESS=1 cargo test -p trimline-ffi --test header
 *
 * Conventions, for every function below:
 * - Errors. A fallible call returns a tl_status (TL_STATUS_OK is 0) and
 *   takes a last `tl_error **error_out`. On failure, when error_out is not
 *   NULL, *error_out receives a new tl_error owned by the caller (free it
 *   with tl_error_free); tl_error_message copies the core's own message,
 *   naming the offending id or value, into a caller buffer.
 * - No partial success. Every other out-parameter is written only on
 *   success; on failure nothing is written and nothing changes (but for
 *   the meter's event batches, ingested in order up to the event refused).
 * - Ownership. An object returned through a `**` out-parameter is owned
 *   by the caller and freed with its own _free function; _free(NULL) does
 *   nothing. Views (tl_str, numa_nodes) borrow from the object they were
 *   read from and stay valid until that object is freed. Static strings
 *   (tl_version, tl_status_name, component names) live forever.
 * - Arguments. A `const` handle is not changed by the call. Strings are a
 *   pointer and a length (no NUL needed), checked to be UTF-8. Enums are
 *   uint32_t, checked (TL_STATUS_INVALID_ENUM). Time is milliseconds
 *   (`now`) and never goes back. Specs with many optional fields are JSON
 *   documents in the core's serde schema (core/schema/); a bad one is
 *   TL_STATUS_BAD_JSON naming its JSON path.
 * - Misuse. A NULL handle, out-parameter, name or document is
 *   TL_STATUS_NULL_POINTER, a name even with length 0 (a document that a
 *   call says is optional may be NULL with length 0); a length past
 *   PTRDIFF_MAX, which no object has, is TL_STATUS_INVALID_INPUT. Any other
 *   length must be that of readable memory: a length past the end of the
 *   caller's buffer is undefined behaviour. tl_scheduler_free and
 *   tl_meter_free refuse with TL_STATUS_INVALID_HANDLE, touching nothing,
 *   a handle freed already, a handle of the other type and a pointer the
 *   library never returned. Any other call given a freed handle, a handle
 *   of the wrong type (cast) or a pointer the library never returned, and
 *   a second _free of a decisions, buffer, report or error object, is
 *   undefined behaviour: those calls do not look handles up, so they stay
 *   as fast as the call they forward.
 * - Threads. A handle is used by one thread at a time (const calls may run
 *   together); share it only under your own lock. Distinct handles are
 *   independent and may be used on different threads at once.
 * - Panics never unwind into the caller: a call that panics returns
 *   TL_STATUS_PANIC, and a handle it was changing answers
 *   TL_STATUS_POISONED from then on.
 */

#ifndef TRIMLINE_H
#define TRIMLINE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* The version of trimline this header belongs to; `tl_version()`
 * returns the version of the library actually loaded. */
#define TL_VERSION_MAJOR 0
#define TL_VERSION_MINOR 1
#define TL_VERSION_PATCH 0
#define TL_VERSION "0.1.0"

/* Marks calls whose returned status must be read. */
#if defined(__GNUC__) || defined(__clang__)
#define TL_MUST_USE __attribute__((warn_unused_result))
#else
#define TL_MUST_USE
#endif

/**
 * The result of a call. The numbers are stable and never reused: a code
 * that is retired stays reserved.
 *
 * Codes below 100 belong to the C layer (bad arguments, buffers, panics);
 * codes from 100 on are the core's kinds of error (`trimline::ErrorKind`).
 */
enum tl_status
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Success.
   */
  TL_STATUS_OK = 0,
  /**
   * A pointer argument that must not be NULL was NULL.
   */
  TL_STATUS_NULL_POINTER = 1,
  /**
   * A string argument is not valid UTF-8.
   */
  TL_STATUS_INVALID_UTF8 = 2,
  /**
   * An enum argument (a `uint32_t`) is not one of its values.
   */
  TL_STATUS_INVALID_ENUM = 3,
  /**
   * A JSON document is malformed or does not match the documented
   * schema; the message names the JSON path.
   */
  TL_STATUS_BAD_JSON = 4,
  /**
   * The caller's buffer is too small; nothing was written to it.
   */
  TL_STATUS_BUFFER_TOO_SMALL = 5,
  /**
   * An index is past the end of the list it reads.
   */
  TL_STATUS_INDEX_OUT_OF_RANGE = 6,
  /**
   * The library panicked (a bug). No result was written. A handle the
   * call was changing is poisoned: every later call on it returns
   * `TL_STATUS_POISONED`; free it.
   */
  TL_STATUS_PANIC = 7,
  /**
   * A `_free` was given a handle freed already (a double free that could
   * be detected), a handle of another type, or a pointer the library
   * never returned; nothing was freed.
   */
  TL_STATUS_INVALID_HANDLE = 8,
  /**
   * A call on a handle poisoned by an earlier panic.
   */
  TL_STATUS_POISONED = 9,
  /**
   * A value does not fit the C type of the out-parameter (an amount of
   * money beyond `int64_t`, say); read it from the JSON form instead.
   */
  TL_STATUS_VALUE_OUT_OF_RANGE = 10,
  /**
   * A spec, name, amount, price or argument is malformed.
   */
  TL_STATUS_INVALID_INPUT = 100,
  /**
   * The call names a SKU, zone, host, app, instance or offering that
   * does not exist.
   */
  TL_STATUS_UNKNOWN_ID = 101,
  /**
   * The call creates something whose id is taken.
   */
  TL_STATUS_ALREADY_EXISTS = 102,
  /**
   * The call contradicts the current state.
   */
  TL_STATUS_CONFLICT = 103,
  /**
   * `now` is earlier than the time of an earlier call.
   */
  TL_STATUS_TIME_WENT_BACKWARDS = 104,
  /**
   * A metering event or period arrives out of order.
   */
  TL_STATUS_OUT_OF_ORDER = 105,
  /**
   * A limit of the library is reached.
   */
  TL_STATUS_LIMIT_EXCEEDED = 106,
  /**
   * An all-or-nothing batch does not fit, so nothing was placed.
   */
  TL_STATUS_UNSCHEDULABLE = 107,
  /**
   * A snapshot could not be restored.
   */
  TL_STATUS_RESTORE = 108,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum tl_status tl_status;
#else
typedef uint32_t tl_status;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Whether a call changes the scheduler or only says what it would decide.
 */
enum tl_mode
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Apply the call.
   */
  TL_MODE_COMMIT = 0,
  /**
   * Return the decisions the call would return; change nothing.
   */
  TL_MODE_DRY_RUN = 1,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum tl_mode tl_mode;
#else
typedef uint32_t tl_mode;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Place every instance, or what fits (`tl_scheduler_place_batch`).
 */
enum tl_batch_mode
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Place what fits; the rest stay pending.
   */
  TL_BATCH_MODE_PARTIAL = 0,
  /**
   * Place all or none: if one does not fit, the call fails with
   * `TL_STATUS_UNSCHEDULABLE` and nothing changes.
   */
  TL_BATCH_MODE_ALL_OR_NOTHING = 1,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum tl_batch_mode tl_batch_mode;
#else
typedef uint32_t tl_batch_mode;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * A zone's state.
 */
enum tl_zone_state
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Accepting placements.
   */
  TL_ZONE_STATE_UP = 0,
  /**
   * Lost: no placements.
   */
  TL_ZONE_STATE_DOWN = 1,
  /**
   * Being emptied: no new placements; running instances stay.
   */
  TL_ZONE_STATE_DRAINING = 2,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum tl_zone_state tl_zone_state;
#else
typedef uint32_t tl_zone_state;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * A host's state, as the embedder sets it.
 */
enum tl_host_state
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Accepting placements.
   */
  TL_HOST_STATE_READY = 0,
  /**
   * No new placements; running instances stay.
   */
  TL_HOST_STATE_CORDONED = 1,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum tl_host_state tl_host_state;
#else
typedef uint32_t tl_host_state;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * What the provider can supply of an offering (`tl_scheduler_set_stock`).
 */
enum tl_stock
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * This many more hosts (the `count` argument) can be ordered.
   */
  TL_STOCK_KNOWN = 0,
  /**
   * Unknown: try it.
   */
  TL_STOCK_UNKNOWN = 1,
  /**
   * None left.
   */
  TL_STOCK_EXHAUSTED = 2,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum tl_stock tl_stock;
#else
typedef uint32_t tl_stock;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Why a provisioning failed (`tl_scheduler_provision_failed`).
 */
enum tl_provision_failure
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * The provider had no stock of the SKU in the zone.
   */
  TL_PROVISION_FAILURE_INSUFFICIENT_STOCK = 0,
  /**
   * Any other failure (quota, API error).
   */
  TL_PROVISION_FAILURE_OTHER = 1,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum tl_provision_failure tl_provision_failure;
#else
typedef uint32_t tl_provision_failure;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Why an instance was evicted (`tl_eviction.cause`).
 */
enum tl_eviction_cause
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * A cause newer than this header; read it from the JSON form.
   */
  TL_EVICTION_CAUSE_OTHER = 0,
  /**
   * A best-effort instance preempted by a rigid one (`preempted_by`).
   */
  TL_EVICTION_CAUSE_PREEMPTED = 1,
  /**
   * The host was removed.
   */
  TL_EVICTION_CAUSE_HOST_REMOVED = 2,
  /**
   * Its planned host could not be provisioned.
   */
  TL_EVICTION_CAUSE_PROVISION_FAILED = 3,
  /**
   * Its zone was lost.
   */
  TL_EVICTION_CAUSE_ZONE_DOWN = 4,
  /**
   * Its host failed.
   */
  TL_EVICTION_CAUSE_HOST_FAILED = 5,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum tl_eviction_cause tl_eviction_cause;
#else
typedef uint32_t tl_eviction_cause;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Why an instance is pending (`tl_pending.reason`).
 */
enum tl_pending_reason
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * A reason newer than this header; its text and JSON still say it.
   */
  TL_PENDING_REASON_OTHER = 0,
  /**
   * No host fits: the explanation counts what ruled each host out.
   */
  TL_PENDING_REASON_NO_FIT = 1,
  /**
   * Preempted by a rigid instance, not retried yet.
   */
  TL_PENDING_REASON_PREEMPTED = 2,
  /**
   * Its host was removed, not retried yet.
   */
  TL_PENDING_REASON_HOST_REMOVED = 3,
  /**
   * Its planned host could not be provisioned, not retried yet.
   */
  TL_PENDING_REASON_PROVISION_FAILED = 4,
  /**
   * Its zone was lost, not retried yet.
   */
  TL_PENDING_REASON_ZONE_DOWN = 5,
  /**
   * Its host failed, not retried yet.
   */
  TL_PENDING_REASON_HOST_FAILED = 6,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum tl_pending_reason tl_pending_reason;
#else
typedef uint32_t tl_pending_reason;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Why a move was planned (`tl_move.reason`).
 */
enum tl_move_reason
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * A reason newer than this header; read it from the JSON form.
   */
  TL_MOVE_REASON_OTHER = 0,
  /**
   * Back to a more preferred SKU (`tl_scheduler_plan_return`).
   */
  TL_MOVE_REASON_RETURN_TO_PREFERRED = 1,
  /**
   * Into another zone to restore the app's skew (`tl_scheduler_rebalance`).
   */
  TL_MOVE_REASON_REBALANCE = 2,
  /**
   * Off a host being emptied (`tl_scheduler_start_consolidation`).
   */
  TL_MOVE_REASON_CONSOLIDATE = 3,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum tl_move_reason tl_move_reason;
#else
typedef uint32_t tl_move_reason;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Why planned hosts were cancelled (`tl_cancellation.cause`).
 */
enum tl_cancellation_cause
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * A cause newer than this header; read it from the JSON form.
   */
  TL_CANCELLATION_CAUSE_OTHER = 0,
  /**
   * No instance waits on the hosts any more.
   */
  TL_CANCELLATION_CAUSE_UNNEEDED = 1,
  /**
   * Their offering failed to provision.
   */
  TL_CANCELLATION_CAUSE_PROVISION_FAILED = 2,
  /**
   * Their zone was lost.
   */
  TL_CANCELLATION_CAUSE_ZONE_DOWN = 3,
  /**
   * The embedder removed them.
   */
  TL_CANCELLATION_CAUSE_HOST_REMOVED = 4,
  /**
   * The embedder reported them failed.
   */
  TL_CANCELLATION_CAUSE_HOST_FAILED = 5,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum tl_cancellation_cause tl_cancellation_cause;
#else
typedef uint32_t tl_cancellation_cause;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * The lists of a `tl_decisions` that carry a substitution note.
 */
enum tl_note_list
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * `placements`.
   */
  TL_NOTE_LIST_PLACEMENTS = 0,
  /**
   * `tentative`.
   */
  TL_NOTE_LIST_TENTATIVE = 1,
  /**
   * `provisions`.
   */
  TL_NOTE_LIST_PROVISIONS = 2,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum tl_note_list tl_note_list;
#else
typedef uint32_t tl_note_list;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * How a placement concerns a standby instance (`tl_placement.standby`).
 */
enum tl_standby_mark
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Not a standby: a running instance to create.
   */
  TL_STANDBY_MARK_NONE = 0,
  /**
   * A standby that starts in place: start the stopped instance (nothing
   * to create or pull).
   */
  TL_STANDBY_MARK_STARTED = 1,
  /**
   * A standby: create the instance and leave it stopped (it holds its
   * capacity).
   */
  TL_STANDBY_MARK_STOPPED = 2,
  /**
   * A mark newer than this header; read it from the JSON form.
   */
  TL_STANDBY_MARK_OTHER = 3,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum tl_standby_mark tl_standby_mark;
#else
typedef uint32_t tl_standby_mark;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Why a provision asks for hosts (`tl_provision.reason`).
 */
enum tl_provision_reason
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * A reason newer than this header; read it from the JSON form.
   */
  TL_PROVISION_REASON_OTHER = 0,
  /**
   * An app's instances need the hosts (`app`, `instances`).
   */
  TL_PROVISION_REASON_INSTANCES = 1,
  /**
   * To keep an offering's warm pool at its target (`app` empty).
   */
  TL_PROVISION_REASON_WARM_POOL = 2,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum tl_provision_reason tl_provision_reason;
#else
typedef uint32_t tl_provision_reason;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Bytes owned by the caller: a JSON document (UTF-8, not NUL-terminated)
 * or a snapshot. Read with `tl_buffer_data` and `tl_buffer_len`; free
 * with `tl_buffer_free`.
 */
typedef struct tl_buffer tl_buffer;

/**
 * Everything one call decided. Owned by the caller; free it with
 * `tl_decisions_free`. Read each list with its `_len` function and its
 * record accessor (no allocation per record), or all of it as JSON with
 * `tl_decisions_to_json`. Every view in a record (`tl_str` fields,
 * `numa_nodes`) borrows from this object: it stays valid, unchanged,
 * until the object is freed, whatever calls are made in between. The
 * object does not borrow from the scheduler, which may be freed first.
 */
typedef struct tl_decisions tl_decisions;

/**
 * An error: a status and a message. Owned by the caller; free it with
 * `tl_error_free`.
 */
typedef struct tl_error tl_error;

/**
 * A meter: lifecycle events in, usage and invoices out. Create it with
 * `tl_meter_new` or `tl_meter_restore`, free it with `tl_meter_free`. The
 * same threading rules as `tl_scheduler` apply.
 */
typedef struct tl_meter tl_meter;

/**
 * What one closed period billed: usage per app, adjustments and one
 * invoice per tenant. Owned by the caller; free it with
 * `tl_report_free`. Views borrowed from it live until it is freed.
 */
typedef struct tl_report tl_report;

/**
 * A scheduler. Create it with `tl_scheduler_new` or `tl_scheduler_restore`,
 * free it with `tl_scheduler_free`.
 *
 * Not thread-safe: a handle must not be used by two threads at once
 * without the caller's lock (a `const` call may run alongside other
 * `const` calls on the same handle). Distinct handles are independent and
 * may be used on different threads at the same time.
 */
typedef struct tl_scheduler tl_scheduler;

/**
 * Instances of one kind of start in a `tl_cold_start_mix`.
 */
typedef struct tl_start_bucket {
  /**
   * Instances.
   */
  uint32_t instances;
  /**
   * Instances whose offering has no figures (their time is not known).
   */
  uint32_t without_figures;
  /**
   * Bytes they expect to pull, summed.
   */
  uint64_t pull_bytes;
  /**
   * The longest expected time to ready among those with figures, in
   * milliseconds (0 when none has figures).
   */
  uint64_t ready_ms;
} tl_start_bucket;

/**
 * How the instances of a call's decisions start.
 */
typedef struct tl_cold_start_mix {
  /**
   * On running hosts with nothing to pull (the host holds the image,
   * or the app names none).
   */
  struct tl_start_bucket warm_with_image;
  /**
   * On running hosts that pull the image first.
   */
  struct tl_start_bucket warm_without_image;
  /**
   * On planned hosts: provisioning, then the pull.
   */
  struct tl_start_bucket new_hosts;
  /**
   * Standby instances started in place: nothing to pull, no
   * provisioning (`ready_ms` 0).
   */
  struct tl_start_bucket standby;
} tl_cold_start_mix;

/**
 * A borrowed UTF-8 string view: `len` bytes at `ptr`, not NUL-terminated.
 * Print it with `printf("%.*s", (int)s.len, s.ptr)`. An empty view may
 * have a NULL `ptr`. Its lifetime is stated where it is returned.
 */
typedef struct tl_str {
  /**
   * The first byte.
   */
  const char *ptr;
  /**
   * The length in bytes.
   */
  size_t len;
} tl_str;

/**
 * An instance placed on a host (`placements`: start it) or tentatively on
 * a planned host (`tentative`: it starts when the host is ready).
 */
typedef struct tl_placement {
  /**
   * The instance.
   */
  uint64_t instance;
  /**
   * Its app.
   */
  struct tl_str app;
  /**
   * The host (a planned host's id for a tentative placement).
   */
  uint64_t host;
  /**
   * The host's zone.
   */
  struct tl_str zone;
  /**
   * The host's SKU.
   */
  struct tl_str sku;
  /**
   * The NUMA nodes given to the instance (`numa_node_count` of them).
   */
  const uint8_t *numa_nodes;
  /**
   * How many NUMA nodes (one unless the app allows spanning nodes).
   */
  size_t numa_node_count;
  /**
   * Whether this SKU stands in for the app's preferred one; the reason
   * is read with `tl_decisions_substitution_note`.
   */
  bool substituted;
  /**
   * The SKU the app asked for, when substituted and it asked for one
   * (empty otherwise).
   */
  struct tl_str requested_sku;
  /**
   * The SKU's preference tier for the app, when substituted (0 is the
   * most preferred).
   */
  uint32_t tier;
  /**
   * Bytes the host is expected to pull before the instance starts: 0
   * on a host holding the app's image (or for an app that names none).
   */
  uint64_t pull_bytes;
  /**
   * How it concerns a standby instance: a `tl_standby_mark`
   * (`TL_STANDBY_MARK_NONE` for a running instance to create).
   */
  uint32_t standby;
} tl_placement;

/**
 * A request to provision `count` hosts of `sku` in `zone`; the planned
 * hosts' ids are read with `tl_decisions_provision_host`.
 */
typedef struct tl_provision {
  /**
   * The request's id.
   */
  uint64_t id;
  /**
   * The zone.
   */
  struct tl_str zone;
  /**
   * The SKU to provision.
   */
  struct tl_str sku;
  /**
   * How many hosts (as many planned host ids).
   */
  uint32_t count;
  /**
   * The SKU the app asked for, when this one stands in for it (empty
   * otherwise).
   */
  struct tl_str substitutes_for;
  /**
   * The app's preference tier of this SKU (0 is the most preferred).
   */
  uint32_t tier;
  /**
   * The app whose instances need the hosts (empty for a warm pool).
   */
  struct tl_str app;
  /**
   * How many of its instances the hosts are planned for (0 for a warm
   * pool).
   */
  uint32_t instances;
  /**
   * Whether it is a substitution; the reason is read with
   * `tl_decisions_substitution_note`.
   */
  bool substituted;
  /**
   * Why the hosts are wanted: a `tl_provision_reason`.
   */
  uint32_t reason;
} tl_provision;

/**
 * An instance taken off its host; pending again unless a placement in the
 * same decisions puts it elsewhere.
 */
typedef struct tl_eviction {
  /**
   * The instance.
   */
  uint64_t instance;
  /**
   * Its app.
   */
  struct tl_str app;
  /**
   * The host it left.
   */
  uint64_t host;
  /**
   * Why: a `tl_eviction_cause`.
   */
  uint32_t cause;
  /**
   * For `TL_EVICTION_CAUSE_PREEMPTED`, the rigid instance that needed
   * the room; 0 otherwise.
   */
  uint64_t preempted_by;
} tl_eviction;

/**
 * An instance that could not be placed and stays pending. Its
 * explanation, as text, is read with `tl_decisions_pending_reason`.
 */
typedef struct tl_pending {
  /**
   * The instance.
   */
  uint64_t instance;
  /**
   * Its app.
   */
  struct tl_str app;
  /**
   * Why: a `tl_pending_reason`.
   */
  uint32_t reason;
  /**
   * For `TL_PENDING_REASON_NO_FIT`, the hosts considered (none fit); 0
   * otherwise.
   */
  uint32_t hosts;
} tl_pending;

/**
 * An instance deleted.
 */
typedef struct tl_removal {
  /**
   * The instance.
   */
  uint64_t instance;
  /**
   * Its app.
   */
  struct tl_str app;
  /**
   * Whether it was placed (then `host` is its host).
   */
  bool has_host;
  /**
   * The host it was on, when `has_host`.
   */
  uint64_t host;
} tl_removal;

/**
 * Resource totals that may exceed one host's.
 */
typedef struct tl_resource_totals {
  /**
   * CPU millicores.
   */
  uint64_t cpu_millis;
  /**
   * Memory MiB.
   */
  uint64_t memory_mib;
  /**
   * Network Mbit/s.
   */
  uint64_t network_mbps;
  /**
   * Accelerators.
   */
  uint64_t accelerators;
} tl_resource_totals;

/**
 * Instances of an app that neither fit nor could be provisioned for, in
 * one zone's share.
 */
typedef struct tl_shortfall {
  /**
   * The app.
   */
  struct tl_str app;
  /**
   * The zone whose share could not be met.
   */
  struct tl_str zone;
  /**
   * Instances short.
   */
  uint32_t instances;
  /**
   * Their resources, summed.
   */
  struct tl_resource_totals resources;
} tl_shortfall;

/**
 * A planned move: start `to` on `to_host`, then confirm with
 * `tl_scheduler_complete_move` (which removes `from`) or give up with
 * `tl_scheduler_abort_move`.
 */
typedef struct tl_move {
  /**
   * The app.
   */
  struct tl_str app;
  /**
   * The instance that moves.
   */
  uint64_t from;
  /**
   * Its host.
   */
  uint64_t from_host;
  /**
   * The replacement instance.
   */
  uint64_t to;
  /**
   * The replacement's host.
   */
  uint64_t to_host;
  /**
   * The preference tier of the replacement's SKU.
   */
  uint32_t to_tier;
  /**
   * Why: a `tl_move_reason`.
   */
  uint32_t reason;
} tl_move;

/**
 * Instances of an app placed outside its spread policy, which it allows.
 */
typedef struct tl_skew_violation {
  /**
   * The app.
   */
  struct tl_str app;
  /**
   * Instances placed in violation in this call.
   */
  uint32_t instances;
  /**
   * The app's skew after the last of them.
   */
  uint32_t skew;
  /**
   * Whether the app has a skew limit (false when only its minimum of
   * zones was broken).
   */
  bool has_max_skew;
  /**
   * The limit, when `has_max_skew`.
   */
  uint32_t max_skew;
} tl_skew_violation;

/**
 * Evacuated instances of an app that could not be re-placed.
 */
typedef struct tl_unplaced {
  /**
   * The app.
   */
  struct tl_str app;
  /**
   * Instances not re-placed.
   */
  uint32_t instances;
  /**
   * What the surviving hosts lacked for them.
   */
  struct tl_resource_totals resources;
} tl_unplaced;

/**
 * Planned hosts of an earlier provision that are dropped: stop
 * provisioning them. Their ids are read with
 * `tl_decisions_cancellation_host`.
 */
typedef struct tl_cancellation {
  /**
   * The provision request the hosts were part of.
   */
  uint64_t provision;
  /**
   * Its zone.
   */
  struct tl_str zone;
  /**
   * Its SKU.
   */
  struct tl_str sku;
  /**
   * How many planned hosts are cancelled.
   */
  size_t host_count;
  /**
   * Why: a `tl_cancellation_cause`.
   */
  uint32_t cause;
} tl_cancellation;

/**
 * One tenant's invoice for a period; its lines are read with
 * `tl_report_invoice_line`.
 */
typedef struct tl_invoice {
  /**
   * The tenant.
   */
  struct tl_str tenant;
  /**
   * The period's number.
   */
  uint64_t period;
  /**
   * How many lines.
   */
  size_t line_count;
  /**
   * The total, rounded once by the invoice rule, in nano-units; the sum
   * of the lines' amounts.
   */
  int64_t total_nanos;
} tl_invoice;

/**
 * One line of an invoice.
 */
typedef struct tl_invoice_line {
  /**
   * The app.
   */
  struct tl_str app;
  /**
   * The component's name: `cpu`, `idle_cpu`, `memory`, `idle_memory`,
   * `accelerators`, `idle_accelerators` or `standby_memory` (a static
   * string).
   */
  struct tl_str component;
  /**
   * The price table version that prices it.
   */
  uint64_t price_version;
  /**
   * Whether it corrects a closed period (then `corrects` is its number).
   */
  bool is_adjustment;
  /**
   * The corrected period, when `is_adjustment`.
   */
  uint64_t corrects;
  /**
   * The quantity in the component's unit (millicore-ms, MiB-ms,
   * accelerator-ms); negative for a credit.
   */
  int64_t quantity;
  /**
   * The rate, in nano-units per unit (vCPU, GiB or accelerator) and per
   * `rate_per_seconds` seconds, as the price table quotes it.
   */
  int64_t rate_nanos;
  /**
   * The time unit of the rate, in seconds: 1, 60 or 3,600 (the table's
   * `rates_per`: second, minute or hour).
   */
  uint32_t rate_per_seconds;
  /**
   * The line's share of the rounded total, in nano-units.
   */
  int64_t amount_nanos;
  /**
   * The delivered SKU the line prices, when its price table has
   * `sku_rates` (each delivered SKU is then billed on lines of its own);
   * empty otherwise.
   */
  struct tl_str sku;
  /**
   * Whether a volume tier of the price table prices the line (then
   * `tier` is its index in the table's `tiers`); false below the first
   * tier and without tiers.
   */
  bool has_tier;
  /**
   * The index of the tier, when `has_tier`; 0 otherwise.
   */
  uint32_t tier;
  /**
   * Whether the line is usage within the table's free quota for its
   * component, at rate 0.
   */
  bool free_quota;
} tl_invoice_line;

/**
 * How a call's decisions draw the warm pools down.
 */
typedef struct tl_warm_pool_draw {
  /**
   * Idle pool hosts the call places instances on.
   */
  uint32_t hosts_used;
  /**
   * Instances placed on them.
   */
  uint32_t instances;
  /**
   * Hosts the call orders for the pools.
   */
  uint32_t refill_hosts;
} tl_warm_pool_draw;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/**
 * Returns the version of libtrimline as a static, NUL-terminated string,
 * for example `"0.1.0"`.
 *
 * The string is owned by the library and valid for the life of the process;
 * do not free it. The result equals `TL_VERSION_MAJOR.TL_VERSION_MINOR.TL_VERSION_PATCH`
 * of the header the program was compiled against, unless the library was
 * swapped underneath it. Returns NULL only if the library panicked.
 */
const char *tl_version(void);

/**
 * The buffer's bytes, valid until the buffer is freed; NULL when `buffer`
 * is NULL. A buffer of length 0 may return any non-NULL pointer.
 */
const uint8_t *tl_buffer_data(const struct tl_buffer *buffer);

/**
 * The buffer's length in bytes; 0 when `buffer` is NULL.
 */
size_t tl_buffer_len(const struct tl_buffer *buffer);

/**
 * Frees a buffer. `tl_buffer_free(NULL)` does nothing.
 */
void tl_buffer_free(struct tl_buffer *buffer);

/**
 * Declares the images host `host` holds, replacing what it held before.
 * `images_json` is a JSON array of digests (for example
 * `["sha256:4f1c"]`; `[]` for none). Fails on an unknown or planned host
 * or more than 4,096 images. Returns no decisions: it places nothing.
 */
TL_MUST_USE
tl_status tl_scheduler_set_host_images(struct tl_scheduler *scheduler,
                                       uint64_t host,
                                       const char *images_json,
                                       size_t images_len,
                                       uint64_t now,
                                       struct tl_error **error_out);

/**
 * The images host `host` holds, as a JSON array of digests, sorted
 * (empty for an unknown host). On success `*json_out` is a new buffer
 * owned by the caller.
 */
TL_MUST_USE
tl_status tl_scheduler_host_images(const struct tl_scheduler *scheduler,
                                   uint64_t host,
                                   struct tl_buffer **json_out,
                                   struct tl_error **error_out);

/**
 * Declares (or replaces) an offering's figures for the expected time to
 * ready: `figures_json` is a JSON object with `sku`, `zone`,
 * `provision_seconds` and `pull_mb_per_second` (at least 1, in 10^6
 * bytes per second).
 */
TL_MUST_USE
tl_status tl_scheduler_set_offering_figures(struct tl_scheduler *scheduler,
                                            const char *figures_json,
                                            size_t figures_len,
                                            uint64_t now,
                                            struct tl_error **error_out);

/**
 * How the instances `decisions` placed start: on warm hosts holding their
 * image, warm hosts pulling it, or new hosts, with the bytes pulled and
 * the expected time to ready from the scheduler's offering figures. Use
 * it on a dry run's decisions to plan a scale-out: the committed call
 * decides the same, so its mix is the same. `*mix_out` is written on
 * success.
 */
TL_MUST_USE
tl_status tl_scheduler_cold_start_mix(const struct tl_scheduler *scheduler,
                                      const struct tl_decisions *decisions_in,
                                      struct tl_cold_start_mix *mix_out,
                                      struct tl_error **error_out);

/**
 * Plans which hosts to empty and the ordered moves that empty them (a
 * query: nothing changes). `options_json` is a JSON object with the
 * optional fields `max_hosts` and `max_moves` (integers or null) and
 * `replace` (an object with the optional `skus`, a list of SKU ids, and
 * `max_new_hosts`, an integer or null: also replace hosts with fewer or
 * cheaper new ones), or NULL with `options_len` 0 for no limits.
 * `*plan_out` receives the plan as JSON (`core/schema/consolidation-plan.schema.json`):
 * `moves` (each `instance`, `app`, `from`, `to`, `numa_node`, `frees`, in
 * the order to start them), `freed`, `hosts_freed`, `instances_moved`,
 * `hosts_before`, `hosts_after`, `cost_saved_nanos_per_second`,
 * `cost_before_nanos_per_second`, `cost_after_nanos_per_second`,
 * `provisions` (new hosts: `host`, the planned id moves' `to` name,
 * `sku`, `zone`, `price_nanos_per_second`, `replaces`), `replacement`
 * (with `replace`: `candidates`, `skus_considered` and `ruled_out`, each
 * `sku` and `reason`) and `options`.
 */
TL_MUST_USE
tl_status tl_scheduler_plan_consolidation(const struct tl_scheduler *scheduler,
                                          const char *options_json,
                                          size_t options_len,
                                          struct tl_buffer **plan_out,
                                          struct tl_error **error_out);

/**
 * Starts the moves of a consolidation plan that can start now, in plan
 * order, each within its app's disruption budget. `plan_json` is a plan
 * as `tl_scheduler_plan_consolidation` wrote it (or a `replan` from an
 * earlier step). A new host of the plan is planned when its first move
 * starts (a provision in the step's `decisions`, the replacement placed
 * on it tentatively): report it with `tl_scheduler_host_ready`, then
 * complete its moves. In `mode` (a `tl_mode`). `*step_out` receives the step
 * as JSON: `decisions` (the moves started, with their replacements in
 * `placements`, in the shape `core/schema/decisions.schema.json`),
 * `in_flight`, `done`, `waiting`, `stale` (instances whose move can no
 * longer be carried out; nothing of their host's group started) and
 * `replan` (a fresh plan when a move was stale, else null). Call it
 * again after completing or aborting moves until `in_flight`, `waiting`
 * and `stale` are all empty.
 */
TL_MUST_USE
tl_status tl_scheduler_start_consolidation(struct tl_scheduler *scheduler,
                                           const char *plan_json,
                                           size_t plan_len,
                                           uint64_t now,
                                           uint32_t mode,
                                           struct tl_buffer **step_out,
                                           struct tl_error **error_out);

/**
 * Frees decisions (and every view borrowed from them).
 * `tl_decisions_free(NULL)` does nothing.
 */
void tl_decisions_free(struct tl_decisions *decisions);

/**
 * Whether the call decided nothing (true when `decisions` is NULL).
 */
bool tl_decisions_is_empty(const struct tl_decisions *decisions);

/**
 * The decisions as one JSON document, in the documented schema
 * (`core/schema/decisions.schema.json`). On success `*json_out` is a new
 * buffer owned by the caller.
 */
TL_MUST_USE
tl_status tl_decisions_to_json(const struct tl_decisions *decisions,
                               struct tl_buffer **json_out,
                               struct tl_error **error_out);

/**
 * The decisions as text for people: the core's own rendering, one line
 * per item grouped under headings ("nothing decided" when empty), each
 * reason as the core states it. UTF-8, not NUL-terminated. On success
 * `*text_out` is a new buffer owned by the caller.
 */
TL_MUST_USE
tl_status tl_decisions_to_text(const struct tl_decisions *decisions,
                               struct tl_buffer **text_out,
                               struct tl_error **error_out);

/**
 * Instances placed on running hosts.
 */
size_t tl_decisions_placements_len(const struct tl_decisions *decisions);

/**
 * Placement `i` (below `tl_decisions_placements_len`).
 */
TL_MUST_USE
tl_status tl_decisions_placement(const struct tl_decisions *decisions,
                                 size_t i,
                                 struct tl_placement *out,
                                 struct tl_error **error_out);

/**
 * Instances placed tentatively on planned hosts.
 */
size_t tl_decisions_tentative_len(const struct tl_decisions *decisions);

/**
 * Tentative placement `i`.
 */
TL_MUST_USE
tl_status tl_decisions_tentative(const struct tl_decisions *decisions,
                                 size_t i,
                                 struct tl_placement *out,
                                 struct tl_error **error_out);

/**
 * New hosts to provision.
 */
size_t tl_decisions_provisions_len(const struct tl_decisions *decisions);

/**
 * Provision request `i`.
 */
TL_MUST_USE
tl_status tl_decisions_provision(const struct tl_decisions *decisions,
                                 size_t i,
                                 struct tl_provision *out,
                                 struct tl_error **error_out);

/**
 * The id of planned host `j` (below the provision's `count`) of provision
 * request `i`: name it in `tl_scheduler_host_ready`.
 */
TL_MUST_USE
tl_status tl_decisions_provision_host(const struct tl_decisions *decisions,
                                      size_t i,
                                      size_t j,
                                      uint64_t *out,
                                      struct tl_error **error_out);

/**
 * Copies the substitution note of record `i` of a list (a
 * `tl_note_list`: placements, tentative placements or provisions) as text
 * into `buf`, with a terminating NUL: why the app is served on this SKU
 * rather than its preferred one. Pass `buf` NULL and `len` 0 to learn the
 * length needed. A record that is no substitution is `TL_STATUS_CONFLICT`.
 */
TL_MUST_USE
tl_status tl_decisions_substitution_note(const struct tl_decisions *decisions,
                                         uint32_t list,
                                         size_t i,
                                         char *buf,
                                         size_t len,
                                         size_t *out_len,
                                         struct tl_error **error_out);

/**
 * Instances taken off their hosts.
 */
size_t tl_decisions_evictions_len(const struct tl_decisions *decisions);

/**
 * Eviction `i`.
 */
TL_MUST_USE
tl_status tl_decisions_eviction(const struct tl_decisions *decisions,
                                size_t i,
                                struct tl_eviction *out,
                                struct tl_error **error_out);

/**
 * Instances that could not be placed and stay pending.
 */
size_t tl_decisions_pending_len(const struct tl_decisions *decisions);

/**
 * Pending instance `i`.
 */
TL_MUST_USE
tl_status tl_decisions_pending(const struct tl_decisions *decisions,
                               size_t i,
                               struct tl_pending *out,
                               struct tl_error **error_out);

/**
 * Copies pending instance `i`'s explanation as text (for example
 * `"0/2 hosts fit: cpu: 2 hosts"`) into `buf`, with a terminating NUL.
 * Pass `buf` NULL and `len` 0 to learn the length needed.
 */
TL_MUST_USE
tl_status tl_decisions_pending_reason(const struct tl_decisions *decisions,
                                      size_t i,
                                      char *buf,
                                      size_t len,
                                      size_t *out_len,
                                      struct tl_error **error_out);

/**
 * Instances deleted.
 */
size_t tl_decisions_removals_len(const struct tl_decisions *decisions);

/**
 * Removal `i`.
 */
TL_MUST_USE
tl_status tl_decisions_removal(const struct tl_decisions *decisions,
                               size_t i,
                               struct tl_removal *out,
                               struct tl_error **error_out);

/**
 * What could be neither placed nor provisioned, per app and zone.
 */
size_t tl_decisions_shortfalls_len(const struct tl_decisions *decisions);

/**
 * Shortfall `i`.
 */
TL_MUST_USE
tl_status tl_decisions_shortfall(const struct tl_decisions *decisions,
                                 size_t i,
                                 struct tl_shortfall *out,
                                 struct tl_error **error_out);

/**
 * Moves for the embedder to carry out.
 */
size_t tl_decisions_moves_len(const struct tl_decisions *decisions);

/**
 * Move `i`.
 */
TL_MUST_USE
tl_status tl_decisions_move(const struct tl_decisions *decisions,
                            size_t i,
                            struct tl_move *out,
                            struct tl_error **error_out);

/**
 * Apps placed outside their spread policy, which they allow.
 */
size_t tl_decisions_skew_violations_len(const struct tl_decisions *decisions);

/**
 * Skew violation `i`.
 */
TL_MUST_USE
tl_status tl_decisions_skew_violation(const struct tl_decisions *decisions,
                                      size_t i,
                                      struct tl_skew_violation *out,
                                      struct tl_error **error_out);

/**
 * Evacuated instances that could not be re-placed, per app.
 */
size_t tl_decisions_unplaced_len(const struct tl_decisions *decisions);

/**
 * Unplaced record `i`.
 */
TL_MUST_USE
tl_status tl_decisions_unplaced(const struct tl_decisions *decisions,
                                size_t i,
                                struct tl_unplaced *out,
                                struct tl_error **error_out);

/**
 * Planned hosts of earlier provisions that are dropped.
 */
size_t tl_decisions_cancellations_len(const struct tl_decisions *decisions);

/**
 * Cancellation `i`.
 */
TL_MUST_USE
tl_status tl_decisions_cancellation(const struct tl_decisions *decisions,
                                    size_t i,
                                    struct tl_cancellation *out,
                                    struct tl_error **error_out);

/**
 * The id of cancelled planned host `j` of cancellation `i`.
 */
TL_MUST_USE
tl_status tl_decisions_cancellation_host(const struct tl_decisions *decisions,
                                         size_t i,
                                         size_t j,
                                         uint64_t *out,
                                         struct tl_error **error_out);

/**
 * The status of an error, or `TL_STATUS_NULL_POINTER` when `error` is
 * NULL.
 */
tl_status tl_error_status(const struct tl_error *error);

/**
 * Copies an error's message (the core error's own text, naming the
 * offending id or value) and a terminating NUL into `buf`, of `len`
 * bytes, and writes the message's length without the NUL to `*out_len`.
 *
 * Pass `buf` NULL and `len` 0 to learn the length needed. A `buf` too
 * small returns `TL_STATUS_BUFFER_TOO_SMALL` and writes nothing. This call
 * reports its own failure only by its status (it writes no `tl_error`).
 */
TL_MUST_USE
tl_status tl_error_message(const struct tl_error *error,
                           char *buf,
                           size_t len,
                           size_t *out_len);

/**
 * Frees an error. `tl_error_free(NULL)` does nothing.
 */
void tl_error_free(struct tl_error *error);

/**
 * The stable snake_case name of a status (`"unknown_id"`), as a static,
 * NUL-terminated string; `"unknown"` for a number that is no status.
 */
const char *tl_status_name(uint32_t status);

/**
 * Forces a panic inside the library, for binding test suites: it always
 * returns `TL_STATUS_PANIC` (and a `tl_error` saying so), proving that a
 * panic never unwinds into the caller.
 */
TL_MUST_USE tl_status tl_test_panic(struct tl_error **error_out);

/**
 * The report of closed period `period`, as `tl_meter_close_period`
 * returned it: on success `*report_out` is a copy owned by the caller
 * (free it with `tl_report_free`). The meter keeps the reports of its
 * last `history_periods` closed periods (a `MeterConfig` field, default
 * 12; the oldest is dropped first); a period it does not keep (dropped,
 * not closed yet, or the open one) is `TL_STATUS_UNKNOWN_ID`. A late
 * correction never changes a kept report: it is an adjustment line of
 * the report of the period open when it arrived.
 */
TL_MUST_USE
tl_status tl_meter_closed_report(const struct tl_meter *meter,
                                 uint64_t period,
                                 struct tl_report **report_out,
                                 struct tl_error **error_out);

/**
 * The meter's history as JSON: an array of the reports it keeps, oldest
 * first, each in the schema `core/schema/period-report.schema.json`.
 */
TL_MUST_USE
tl_status tl_meter_history_json(const struct tl_meter *meter,
                                struct tl_buffer **json_out,
                                struct tl_error **error_out);

/**
 * The usage of `[from, to)`, an interval of the open period, without
 * closing or pricing it, as JSON (the schema
 * `core/schema/meter-usage.schema.json`): an array of records `{tenant,
 * app, instance, sku, zone, component, quantity, top_up, from, to}`, one
 * per group and component with usage, quantities exact integers in the
 * component's unit (millicore-ms, MiB-ms, accelerator-ms), sorted by
 * tenant, app, source, instance, SKU, zone (absent first), then
 * component. `group_by_json` is a JSON object of flags, `{"tenant": true,
 * "app": true, "source": true, "instance": true, "sku": true, "zone":
 * true}` (a flag omitted is
 * false: summed over; the record's field is then null), or NULL (with
 * `group_by_len` 0) for every key. The quantities are those the period's
 * close bills over the interval, top-ups of runs that stop in it
 * included. An interval not within the open period, or empty, is
 * `TL_STATUS_INVALID_INPUT`.
 */
TL_MUST_USE
tl_status tl_meter_usage_json(const struct tl_meter *meter,
                              uint64_t from,
                              uint64_t to,
                              const char *group_by_json,
                              size_t group_by_len,
                              struct tl_buffer **json_out,
                              struct tl_error **error_out);

/**
 * Creates a meter from a configuration: a JSON document in the schema of
 * the core's `MeterConfig` (origin, allowed_lateness_ms,
 * max_clock_skew_ms, adjustment_window_ms, invoice, history_periods),
 * or `config_json` NULL (with `config_len` 0) for the defaults.
 */
TL_MUST_USE
tl_status tl_meter_new(const char *config_json,
                       size_t config_len,
                       struct tl_meter **meter_out,
                       struct tl_error **error_out);

/**
 * Frees a meter. `tl_meter_free(NULL)` does nothing and returns
 * `TL_STATUS_OK`; a second free of the same handle is detected and returns
 * `TL_STATUS_INVALID_HANDLE` (as for `tl_scheduler_free`), and so is a
 * pointer that is not a live meter (a scheduler, say), left as it was.
 */
tl_status tl_meter_free(struct tl_meter *meter);

/**
 * Adds a price table from a JSON document in the schema of the core's
 * `PriceTable` (version, effective, cpu_nanos_per_vcpu_second,
 * idle_cpu_nanos_per_vcpu_second, memory_nanos_per_gib_second,
 * accelerator_nanos_per_second and, optional,
 * idle_memory_nanos_per_gib_second, idle_accelerator_nanos_per_second,
 * standby_memory_nanos_per_gib_second (memory of standby instances, which
 * pay no CPU and whose accelerators are billed as idle; without it, the
 * memory rate on the memory line), minimum_run_seconds, sub_second,
 * rates_per, billing_increment_seconds and plans). With `"rates_per": "hour"`
 * (or `"minute"`) the rates are read per vCPU-hour, GiB-hour and
 * accelerator-hour, exactly as a price book publishes them. `plans` lists
 * per-tenant discounts, `{"tenant", "app" (optional),
 * "discount_basis_points"}`: a line is priced by the plan naming its
 * tenant and app, else the one naming its tenant alone, else at list
 * prices; a discounted rate that is not a whole nano-unit is refused.
 * `sku_rates` lists rates by what was delivered, `{"sku", "family",
 * "accelerator_model", "arch", "zone"` (each optional, at least one),
 * then the rates as above`}`, for the SKUs the selector matches
 * (described with `tl_meter_describe_skus_json`); the most specific
 * matching selector wins, comparing sku, family, accelerator_model, arch,
 * zone in that order.
 */
TL_MUST_USE
tl_status tl_meter_add_price_table_json(struct tl_meter *meter,
                                        const char *json,
                                        size_t json_len,
                                        struct tl_error **error_out);

/**
 * Ingests a JSON array of events in the schema of the core's `Event` (id,
 * tenant, app, instance, at, kind and, optional, `source`: the scheduler
 * or region that emitted it, which keys instances and event ids apart
 * from other sources'; `started` and `resized` kinds may name the `zone`
 * they were delivered in, which zone rates then select on; the kinds are
 * `started`, `stopped`, `idle`, `active`, `resized` and `standby`, the
 * last for an instance created stopped, holding its capacity, after its
 * `started` event) at `now`. On success
 * `*ingested_out` is the number of events: all were ingested. A batch
 * stops at the first event refused: the error names its index; the events
 * before it were ingested, it and those after it were not, and sending the
 * batch again is safe (ingested events are recognised as duplicates).
 */
TL_MUST_USE
tl_status tl_meter_ingest_json(struct tl_meter *meter,
                               const char *events_json,
                               size_t events_len,
                               uint64_t now,
                               size_t *ingested_out,
                               struct tl_error **error_out);

/**
 * Ingests the starts and stops a scheduler call decided: pass the
 * scheduler right after the call that returned `decisions`, and the same
 * `now`. A new standby instance starts a run in standby; a standby that
 * starts becomes active in the same run. `*ingested_out` receives the number of events. A refusal stops
 * the batch as in `tl_meter_ingest_json`.
 */
TL_MUST_USE
tl_status tl_meter_ingest_decisions(struct tl_meter *meter,
                                    const struct tl_scheduler *scheduler,
                                    const struct tl_decisions *decisions,
                                    uint64_t now,
                                    size_t *ingested_out,
                                    struct tl_error **error_out);

/**
 * Closes the open period at `end` (at time `now`): on success
 * `*report_out` is the period's report, owned by the caller.
 */
TL_MUST_USE
tl_status tl_meter_close_period(struct tl_meter *meter,
                                uint64_t end,
                                uint64_t now,
                                struct tl_report **report_out,
                                struct tl_error **error_out);

/**
 * Writes the meter's state to `*snapshot_out` (a new buffer, JSON in the
 * schema `core/schema/meter-snapshot.schema.json`).
 */
TL_MUST_USE
tl_status tl_meter_snapshot(const struct tl_meter *meter,
                            struct tl_buffer **snapshot_out,
                            struct tl_error **error_out);

/**
 * Creates a meter from snapshot bytes (as `tl_meter_snapshot` wrote them).
 */
TL_MUST_USE
tl_status tl_meter_restore(const uint8_t *snapshot,
                           size_t snapshot_len,
                           struct tl_meter **meter_out,
                           struct tl_error **error_out);

/**
 * Frees a report. `tl_report_free(NULL)` does nothing.
 */
void tl_report_free(struct tl_report *report);

/**
 * The report as JSON (the schema `core/schema/period-report.schema.json`),
 * every amount whole.
 */
TL_MUST_USE
tl_status tl_report_to_json(const struct tl_report *report,
                            struct tl_buffer **json_out,
                            struct tl_error **error_out);

/**
 * The number of invoices (one per tenant billed); 0 when `report` is NULL.
 */
size_t tl_report_invoices_len(const struct tl_report *report);

/**
 * Invoice `i`.
 */
TL_MUST_USE
tl_status tl_report_invoice(const struct tl_report *report,
                            size_t i,
                            struct tl_invoice *out,
                            struct tl_error **error_out);

/**
 * Line `j` of invoice `i`.
 */
TL_MUST_USE
tl_status tl_report_invoice_line(const struct tl_report *report,
                                 size_t i,
                                 size_t j,
                                 struct tl_invoice_line *out,
                                 struct tl_error **error_out);

/**
 * Describes delivered SKUs to the meter: a JSON array in the schema of
 * the core's `SkuInfo` (`sku` and, optional, `family`, `arch`
 * (`"x86_64"` or `"aarch64"`), `accelerator_model`, `zone`), which price
 * tables' `sku_rates` select on. A SKU's description is fixed once given:
 * the same again changes nothing, another is `TL_STATUS_CONFLICT`. The
 * SKUs are described in order; on an error the ones before it are
 * described (describing them again is harmless) and the error names the
 * one refused.
 */
TL_MUST_USE
tl_status tl_meter_describe_skus_json(struct tl_meter *meter,
                                      const char *json,
                                      size_t json_len,
                                      struct tl_error **error_out);

/**
 * Ingests the starts and stops a scheduler call decided, as events of
 * `source` (the scheduler's or region's name, `source_len` bytes; NULL
 * with length 0 is the default source, as `tl_meter_ingest_decisions`).
 * Several schedulers that each count instances from 1 may so share one
 * meter: their instances, runs and event ids are kept apart and their
 * invoice lines name the source. Otherwise as
 * `tl_meter_ingest_decisions`.
 */
TL_MUST_USE
tl_status tl_meter_ingest_decisions_from(struct tl_meter *meter,
                                         const char *source,
                                         size_t source_len,
                                         const struct tl_scheduler *scheduler,
                                         const struct tl_decisions *decisions,
                                         uint64_t now,
                                         size_t *ingested_out,
                                         struct tl_error **error_out);

/**
 * Whether `instance` of `source` (NULL with length 0: the default source)
 * is running after every event ingested: `*running_out` is written on
 * success.
 */
TL_MUST_USE
tl_status tl_meter_is_running(const struct tl_meter *meter,
                              const char *source,
                              size_t source_len,
                              uint64_t instance,
                              bool *running_out,
                              struct tl_error **error_out);

/**
 * The sources other than the default that the meter's events named, as a
 * JSON array of names in byte order (`[]` when every event came from the
 * default source). The buffer is the caller's: free it with
 * `tl_buffer_free`.
 */
TL_MUST_USE
tl_status tl_meter_sources(const struct tl_meter *meter,
                           struct tl_buffer **json_out,
                           struct tl_error **error_out);

/**
 * Hands over the audit log's records, oldest first, leaving the log
 * empty. `*batch_out` receives `{format, dropped, records}` as JSON:
 * `dropped` counts the records lost at the log's bound since the
 * scheduler was created or restored, and each record carries its
 * sequence number, the `now` of its call and the decision. A call in
 * `TL_MODE_DRY_RUN` decides on a copy that does not carry the log's
 * records, and appends nothing to it.
 */
TL_MUST_USE
tl_status tl_scheduler_drain_audit(struct tl_scheduler *scheduler,
                                   struct tl_buffer **batch_out,
                                   struct tl_error **error_out);

/**
 * Bounds the audit log to `capacity` records (default 65,536). At the
 * bound the oldest record is dropped and counted; records beyond a
 * smaller bound are dropped now. 0 turns the log off (the counters are
 * kept either way).
 */
TL_MUST_USE
tl_status tl_scheduler_set_audit_capacity(struct tl_scheduler *scheduler,
                                          size_t capacity,
                                          struct tl_error **error_out);

/**
 * The decision totals since the scheduler was created or restored, as
 * JSON in `*counters_out`. Replaying every drained audit record gives the
 * same totals.
 */
TL_MUST_USE
tl_status tl_scheduler_counters(const struct tl_scheduler *scheduler,
                                struct tl_buffer **counters_out,
                                struct tl_error **error_out);

/**
 * Counts one placement call's latency, measured by the caller, in
 * nanoseconds, in the `trimline_placement_latency_seconds` histogram.
 */
TL_MUST_USE
tl_status tl_scheduler_record_placement_latency(struct tl_scheduler *scheduler,
                                                uint64_t nanos,
                                                struct tl_error **error_out);

/**
 * The metrics as OpenMetrics text exposition (`# HELP`, `# TYPE`, the
 * samples, `# EOF`) in `*text_out`, ready to serve to a scraper.
 */
TL_MUST_USE
tl_status tl_scheduler_metrics_text(const struct tl_scheduler *scheduler,
                                    struct tl_buffer **text_out,
                                    struct tl_error **error_out);

/**
 * Promise versus delivery for one app at `now`, as JSON in
 * `*delivery_out`: what it was promised, where its instances run and at
 * what per-vCPU performance, NUMA locality, waits (p50/p99), substitutions
 * in force, skew against its limit. An app not declared is
 * `TL_STATUS_UNKNOWN_ID`.
 */
TL_MUST_USE
tl_status tl_scheduler_delivery(const struct tl_scheduler *scheduler,
                                const char *app,
                                size_t app_len,
                                uint64_t now,
                                struct tl_buffer **delivery_out,
                                struct tl_error **error_out);

/**
 * Promise versus delivery for every app at `now`, in declaration order,
 * as a JSON array in `*deliveries_out`.
 */
TL_MUST_USE
tl_status tl_scheduler_deliveries(const struct tl_scheduler *scheduler,
                                  uint64_t now,
                                  struct tl_buffer **deliveries_out,
                                  struct tl_error **error_out);

/**
 * Packs as many items as fit into a list of bins (no scheduler needed).
 * `spec_json` is a JSON object: `bins` (an array of capacity vectors, each
 * an array of unsigned integers), `items` (size vectors of the same
 * length), and the optional `budget` (work units of the improvement
 * phase, the default when null or absent) and `seed`. `*packing_out`
 * receives JSON: `bins` (the items of each listed bin), `bin_of` (each
 * item's bin, or null for an item left over), `bins_used`, `unplaced`
 * (the items left over, in increasing order; empty when all fit) and
 * `work`. An invalid problem (no bins, 0 or more than 16 dimensions,
 * vectors of different lengths) is `TL_STATUS_INVALID_INPUT`; bins too few
 * for the items are not an error.
 */
TL_MUST_USE
tl_status tl_pack_partial(const char *spec_json,
                          size_t spec_len,
                          struct tl_buffer **packing_out,
                          struct tl_error **error_out);

/**
 * Creates a scheduler from a configuration: a JSON document in the
 * schema of the core's `Config` (every field optional, for example
 * `{"candidates_per_class": 4}`), or `config_json` NULL (with
 * `config_len` 0) for the defaults. On success `*scheduler_out` is a new
 * handle owned by the caller.
 */
TL_MUST_USE
tl_status tl_scheduler_new(const char *config_json,
                           size_t config_len,
                           struct tl_scheduler **scheduler_out,
                           struct tl_error **error_out);

/**
 * Frees a scheduler. `tl_scheduler_free(NULL)` does nothing and returns
 * `TL_STATUS_OK`. Freeing a handle a second time is detected and returns
 * `TL_STATUS_INVALID_HANDLE` without touching it (unless its address was
 * reused by a newer scheduler in between, which cannot be told apart); so
 * is a pointer that is not a live scheduler (a meter, say), which is left
 * as it was.
 */
tl_status tl_scheduler_free(struct tl_scheduler *scheduler);

/**
 * Writes the scheduler's whole state to `*snapshot_out`: a new buffer,
 * owned by the caller, holding the snapshot as JSON (the documented
 * schema `core/schema/snapshot.schema.json`). The same calls give the
 * same bytes.
 */
TL_MUST_USE
tl_status tl_scheduler_snapshot(const struct tl_scheduler *scheduler,
                                struct tl_buffer **snapshot_out,
                                struct tl_error **error_out);

/**
 * Creates a scheduler from snapshot bytes (as `tl_scheduler_snapshot`
 * wrote them). It decides exactly as the scheduler that was snapshotted.
 * On success `*scheduler_out` is a new handle owned by the caller.
 */
TL_MUST_USE
tl_status tl_scheduler_restore(const uint8_t *snapshot,
                               size_t snapshot_len,
                               struct tl_scheduler **scheduler_out,
                               struct tl_error **error_out);

/**
 * The latest time any call was made at, in milliseconds.
 */
TL_MUST_USE
tl_status tl_scheduler_now(const struct tl_scheduler *scheduler,
                           uint64_t *now_out,
                           struct tl_error **error_out);

/**
 * Declares a SKU from a JSON document in the schema of the core's
 * `SkuSpec` (id, family, generation, arch, cpu_vendor, allocatable,
 * perf_score, numa_nodes, features, accelerator_model, local_disk,
 * price_nanos_per_second). A bad document names the JSON path.
 */
TL_MUST_USE
tl_status tl_scheduler_add_sku_json(struct tl_scheduler *scheduler,
                                    const char *json,
                                    size_t json_len,
                                    uint64_t now,
                                    struct tl_error **error_out);

/**
 * Declares a zone in a state (a `tl_zone_state`).
 */
TL_MUST_USE
tl_status tl_scheduler_add_zone(struct tl_scheduler *scheduler,
                                const char *zone,
                                size_t zone_len,
                                uint32_t state,
                                uint64_t now,
                                struct tl_error **error_out);

/**
 * Sets a zone's state (a `tl_zone_state`); becoming up retries pending
 * instances. For a lost zone's evacuation use `tl_scheduler_zone_down`.
 */
TL_MUST_USE
tl_status tl_scheduler_set_zone_state(struct tl_scheduler *scheduler,
                                      const char *zone,
                                      size_t zone_len,
                                      uint32_t state,
                                      uint64_t now,
                                      uint32_t mode,
                                      struct tl_decisions **decisions_out,
                                      struct tl_error **error_out);

/**
 * Adds a host (the embedder's machine, id without bit 63) of a SKU in a
 * zone; pending instances that fit are placed on it.
 */
TL_MUST_USE
tl_status tl_scheduler_add_host(struct tl_scheduler *scheduler,
                                uint64_t host,
                                const char *sku,
                                size_t sku_len,
                                const char *zone,
                                size_t zone_len,
                                uint64_t now,
                                uint32_t mode,
                                struct tl_decisions **decisions_out,
                                struct tl_error **error_out);

/**
 * Removes a host; its instances are evicted and re-placed where they fit.
 */
TL_MUST_USE
tl_status tl_scheduler_remove_host(struct tl_scheduler *scheduler,
                                   uint64_t host,
                                   uint64_t now,
                                   uint32_t mode,
                                   struct tl_decisions **decisions_out,
                                   struct tl_error **error_out);

/**
 * Cordons or uncordons a host (a `tl_host_state`).
 */
TL_MUST_USE
tl_status tl_scheduler_set_host_state(struct tl_scheduler *scheduler,
                                      uint64_t host,
                                      uint32_t state,
                                      uint64_t now,
                                      uint32_t mode,
                                      struct tl_decisions **decisions_out,
                                      struct tl_error **error_out);

/**
 * Declares an app from a JSON document in the schema of the core's
 * `AppSpec`: id, tenant, resources, arches and, all optional, features,
 * min_perf_score, qos (`"rigid"`, `"best_effort"`), numa (`"any"`,
 * `"single_node"`), spread (zones, weights, max_skew, min_zones,
 * when_unsatisfiable, disruption_budget), priority, sku,
 * accelerator_model, local_disk and substitution (tiers, price cap,
 * exhaustion, memory ratio). A bad document names the JSON path.
 */
TL_MUST_USE
tl_status tl_scheduler_add_app_json(struct tl_scheduler *scheduler,
                                    const char *json,
                                    size_t json_len,
                                    uint64_t now,
                                    struct tl_error **error_out);

/**
 * Removes an app that has no instances left.
 */
TL_MUST_USE
tl_status tl_scheduler_remove_app(struct tl_scheduler *scheduler,
                                  const char *app,
                                  size_t app_len,
                                  uint64_t now,
                                  struct tl_error **error_out);

/**
 * Places one new instance of an app: on a running host, tentatively on a
 * host to provision, or pending with its explanation.
 */
TL_MUST_USE
tl_status tl_scheduler_place(struct tl_scheduler *scheduler,
                             const char *app,
                             size_t app_len,
                             uint64_t now,
                             uint32_t mode,
                             struct tl_decisions **decisions_out,
                             struct tl_error **error_out);

/**
 * Places `count` new instances of an app in one call, in a batch mode (a
 * `tl_batch_mode`).
 */
TL_MUST_USE
tl_status tl_scheduler_place_batch(struct tl_scheduler *scheduler,
                                   const char *app,
                                   size_t app_len,
                                   uint32_t count,
                                   uint32_t batch_mode,
                                   uint64_t now,
                                   uint32_t mode,
                                   struct tl_decisions **decisions_out,
                                   struct tl_error **error_out);

/**
 * Scales an app to `target` instances: places the new ones (10,000 in one
 * call) or removes the newest.
 */
TL_MUST_USE
tl_status tl_scheduler_scale(struct tl_scheduler *scheduler,
                             const char *app,
                             size_t app_len,
                             uint32_t target,
                             uint64_t now,
                             uint32_t mode,
                             struct tl_decisions **decisions_out,
                             struct tl_error **error_out);

/**
 * Removes one instance (a scale-down of that very instance).
 */
TL_MUST_USE
tl_status tl_scheduler_remove_instance(struct tl_scheduler *scheduler,
                                       uint64_t instance,
                                       uint64_t now,
                                       uint32_t mode,
                                       struct tl_decisions **decisions_out,
                                       struct tl_error **error_out);

/**
 * Reports a host failed: its instances are evacuated in one plan.
 */
TL_MUST_USE
tl_status tl_scheduler_host_failed(struct tl_scheduler *scheduler,
                                   uint64_t host,
                                   uint64_t now,
                                   uint32_t mode,
                                   struct tl_decisions **decisions_out,
                                   struct tl_error **error_out);

/**
 * Confirms a move: the replacement `to` runs, the original is removed.
 */
TL_MUST_USE
tl_status tl_scheduler_complete_move(struct tl_scheduler *scheduler,
                                     uint64_t to,
                                     uint64_t now,
                                     uint32_t mode,
                                     struct tl_decisions **decisions_out,
                                     struct tl_error **error_out);

/**
 * Gives up a move: the replacement `to` is removed, the original stays.
 */
TL_MUST_USE
tl_status tl_scheduler_abort_move(struct tl_scheduler *scheduler,
                                  uint64_t to,
                                  uint64_t now,
                                  uint32_t mode,
                                  struct tl_decisions **decisions_out,
                                  struct tl_error **error_out);

/**
 * Retries pending instances and expired back-offs at `now`.
 */
TL_MUST_USE
tl_status tl_scheduler_reconcile(struct tl_scheduler *scheduler,
                                 uint64_t now,
                                 uint32_t mode,
                                 struct tl_decisions **decisions_out,
                                 struct tl_error **error_out);

/**
 * Plans moves that bring apps within their skew limits again.
 */
TL_MUST_USE
tl_status tl_scheduler_rebalance(struct tl_scheduler *scheduler,
                                 uint64_t now,
                                 uint32_t mode,
                                 struct tl_decisions **decisions_out,
                                 struct tl_error **error_out);

/**
 * Plans moves of substituted instances back to preferred SKUs.
 */
TL_MUST_USE
tl_status tl_scheduler_plan_return(struct tl_scheduler *scheduler,
                                   uint64_t now,
                                   uint32_t mode,
                                   struct tl_decisions **decisions_out,
                                   struct tl_error **error_out);

/**
 * Reports planned host `planned` (from a provision) ready as the
 * embedder's host `host`: its tentative instances become placements.
 */
TL_MUST_USE
tl_status tl_scheduler_host_ready(struct tl_scheduler *scheduler,
                                  uint64_t planned,
                                  uint64_t host,
                                  uint64_t now,
                                  uint32_t mode,
                                  struct tl_decisions **decisions_out,
                                  struct tl_error **error_out);

/**
 * Reports that provisioning an offering (SKU in zone) failed (a
 * `tl_provision_failure`): its planned hosts are cancelled, it backs off,
 * and their instances are re-placed elsewhere.
 */
TL_MUST_USE
tl_status tl_scheduler_provision_failed(struct tl_scheduler *scheduler,
                                        const char *sku,
                                        size_t sku_len,
                                        const char *zone,
                                        size_t zone_len,
                                        uint32_t failure,
                                        uint64_t now,
                                        uint32_t mode,
                                        struct tl_decisions **decisions_out,
                                        struct tl_error **error_out);

/**
 * Declares what the provider can supply of a SKU in a zone: `stock` is a
 * `tl_stock`; `count` is the number of hosts for `TL_STOCK_KNOWN` and must
 * be 0 otherwise.
 */
TL_MUST_USE
tl_status tl_scheduler_set_stock(struct tl_scheduler *scheduler,
                                 const char *sku,
                                 size_t sku_len,
                                 const char *zone,
                                 size_t zone_len,
                                 uint32_t stock,
                                 uint32_t count,
                                 uint64_t now,
                                 uint32_t mode,
                                 struct tl_decisions **decisions_out,
                                 struct tl_error **error_out);

/**
 * Reports a zone lost: one evacuation plan re-places its instances
 * (provisioning where needed) and says what cannot be re-placed.
 */
TL_MUST_USE
tl_status tl_scheduler_zone_down(struct tl_scheduler *scheduler,
                                 const char *zone,
                                 size_t zone_len,
                                 uint64_t now,
                                 uint32_t mode,
                                 struct tl_decisions **decisions_out,
                                 struct tl_error **error_out);

/**
 * Reports a lost zone back: pending instances are retried and apps
 * outside their skew limit are rebalanced.
 */
TL_MUST_USE
tl_status tl_scheduler_zone_up(struct tl_scheduler *scheduler,
                               const char *zone,
                               size_t zone_len,
                               uint64_t now,
                               uint32_t mode,
                               struct tl_decisions **decisions_out,
                               struct tl_error **error_out);

/**
 * Plans how few hosts could carry the running instances (a query: nothing
 * changes). `budget` is the engine's work budget (0: greedy only);
 * `tie_break` picks among equally good packings (the same value gives the
 * same plan). `*plan_out` receives the plan as JSON (moves,
 * pools, hosts before and after, freed hosts).
 */
TL_MUST_USE
tl_status tl_scheduler_plan_repack(const struct tl_scheduler *scheduler,
                                   uint64_t budget,
                                   uint64_t tie_break,
                                   struct tl_buffer **plan_out,
                                   struct tl_error **error_out);

/**
 * Explains, per SKU, whether it may serve an app in a zone and why not
 * (a query). `*verdicts_out` receives the verdicts as JSON (the schema
 * `core/schema/sku-verdicts.schema.json`).
 */
TL_MUST_USE
tl_status tl_scheduler_explain_substitution(const struct tl_scheduler *scheduler,
                                            const char *app,
                                            size_t app_len,
                                            const char *zone,
                                            size_t zone_len,
                                            struct tl_buffer **verdicts_out,
                                            struct tl_error **error_out);

/**
 * For each zone, what losing it now would leave unplaced (a query).
 * `*reports_out` receives a JSON array of `{zone, unplaced}`; the region
 * survives the loss of a zone when its `unplaced` is empty.
 */
TL_MUST_USE
tl_status tl_scheduler_survive_zone_loss(const struct tl_scheduler *scheduler,
                                         struct tl_buffer **reports_out,
                                         struct tl_error **error_out);

/**
 * When the scheduler next wants to be called (`tl_scheduler_reconcile`),
 * for a back-off that expires: `*has_deadline_out` is false when nothing
 * is due, else `*deadline_out` is the time in milliseconds.
 */
TL_MUST_USE
tl_status tl_scheduler_next_deadline(const struct tl_scheduler *scheduler,
                                     bool *has_deadline_out,
                                     uint64_t *deadline_out,
                                     struct tl_error **error_out);

/**
 * An instance as the scheduler sees it, as JSON: `{id, app, status}`
 * where status is `placed` (host, NUMA parts), `tentative` (planned host)
 * or `pending` (since, reason). An unknown id is `TL_STATUS_UNKNOWN_ID`.
 */
TL_MUST_USE
tl_status tl_scheduler_instance_json(const struct tl_scheduler *scheduler,
                                     uint64_t instance,
                                     struct tl_buffer **json_out_,
                                     struct tl_error **error_out);

/**
 * A host as the scheduler sees it, as JSON: id, sku, zone, state,
 * capacity, free, per-NUMA-node use and its instances. An unknown id is
 * `TL_STATUS_UNKNOWN_ID`.
 */
TL_MUST_USE
tl_status tl_scheduler_host_json(const struct tl_scheduler *scheduler,
                                 uint64_t host,
                                 struct tl_buffer **json_out_,
                                 struct tl_error **error_out);

/**
 * The pending instances' ids, in retry order, copied into `ids` (room for
 * `capacity` of them); `*count_out` receives how many there are. Pass
 * `ids` NULL and `capacity` 0 to learn the count only; a smaller
 * non-zero room is `TL_STATUS_BUFFER_TOO_SMALL`.
 */
TL_MUST_USE
tl_status tl_scheduler_pending(const struct tl_scheduler *scheduler,
                               uint64_t *ids,
                               size_t capacity,
                               size_t *count_out,
                               struct tl_error **error_out);

/**
 * An app's current skew: the largest difference between its instance
 * counts in its zones (measured against weighted targets when it has
 * weights).
 */
TL_MUST_USE
tl_status tl_scheduler_skew(const struct tl_scheduler *scheduler,
                            const char *app,
                            size_t app_len,
                            uint32_t *skew_out,
                            struct tl_error **error_out);

/**
 * Audits the invariants (no node over capacity in any dimension, every
 * derived count equal to its recount). A violation, which would be a bug,
 * is `TL_STATUS_CONFLICT` with its description.
 */
TL_MUST_USE
tl_status tl_scheduler_check_invariants(const struct tl_scheduler *scheduler,
                                        struct tl_error **error_out);

/**
 * Keeps `count` standby instances of an app: raising the target places
 * new standbys (marked `TL_STANDBY_MARK_STOPPED`), lowering it removes
 * standbys, pending ones first, then the newest. A scale-out then starts
 * standbys first and refills the target. Fails on an unknown app or a
 * `count` above the configuration's `max_batch`. `mode` is a `tl_mode`
 * (a dry run changes nothing).
 */
TL_MUST_USE
tl_status tl_scheduler_set_standby(struct tl_scheduler *scheduler,
                                   const char *app,
                                   size_t app_len,
                                   uint32_t count,
                                   uint64_t now,
                                   uint32_t mode,
                                   struct tl_decisions **decisions_out,
                                   struct tl_error **error_out);

/**
 * An app's standbys as JSON: `{"target": n, "instances": [ids]}` (ids
 * ascending; placed or pending; target 0 and no instances for an unknown
 * app). On success `*json_out` is a new buffer owned by the caller.
 */
TL_MUST_USE
tl_status tl_scheduler_standby(const struct tl_scheduler *scheduler,
                               const char *app,
                               size_t app_len,
                               struct tl_buffer **json_out,
                               struct tl_error **error_out);

/**
 * Keeps `target` idle hosts of `sku` in `zone` (0 removes the pool); the
 * offering must be declared with `tl_scheduler_set_stock`. The decisions
 * order what the pool lacks (provisions with reason
 * `TL_PROVISION_REASON_WARM_POOL`) or cancel idle planned hosts beyond a
 * lowered target. `mode` is a `tl_mode`.
 */
TL_MUST_USE
tl_status tl_scheduler_set_warm_pool(struct tl_scheduler *scheduler,
                                     const char *sku,
                                     size_t sku_len,
                                     const char *zone,
                                     size_t zone_len,
                                     uint32_t target,
                                     uint64_t now,
                                     uint32_t mode,
                                     struct tl_decisions **decisions_out,
                                     struct tl_error **error_out);

/**
 * Every warm pool, as a JSON array of objects with `sku`, `zone`,
 * `target`, `idle_ready` and `idle_planned`, in declaration order. On
 * success `*json_out` is a new buffer owned by the caller.
 */
TL_MUST_USE
tl_status tl_scheduler_warm_pools(const struct tl_scheduler *scheduler,
                                  struct tl_buffer **json_out,
                                  struct tl_error **error_out);

/**
 * How `decisions_in`, made by a call from the scheduler's current state,
 * draw the warm pools down: use it on a dry run's decisions, before the
 * committed call. `*draw_out` is written on success.
 */
TL_MUST_USE
tl_status tl_scheduler_warm_pool_draw(const struct tl_scheduler *scheduler,
                                      const struct tl_decisions *decisions_in,
                                      struct tl_warm_pool_draw *draw_out,
                                      struct tl_error **error_out);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* TRIMLINE_H */
