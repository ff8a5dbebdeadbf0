/*
 * trimline.h: C API of trimline, an embeddable scheduling core for rigid
 * capacity delivery.
 *
 * GENERATED FILE, DO NOT EDIT. It is generated from ffi/src by cbindgen
 * (configuration: ffi/cbindgen.toml). Regenerate with:
 *     TRIMLINE_BLESS=1 cargo test -p trimline-ffi --test header
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

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* TRIMLINE_H */
