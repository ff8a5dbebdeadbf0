/*
 * tl_version() returns the library's version: non-empty, equal to the Cargo
 * version the test script passes as argv[1], and to the TL_VERSION_* macros
 * of the header this program was compiled against.
 */
#include <stdio.h>
#include <string.h>

#include "trimline.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define HEADER_VERSION STR(TL_VERSION_MAJOR) "." STR(TL_VERSION_MINOR) "." STR(TL_VERSION_PATCH)

static int failures = 0;
static int checks = 0;

static void check(int ok, const char *what) {
  checks++;
  if (!ok) {
    failures++;
    fprintf(stderr, "FAIL: %s\n", what);
  }
}

int main(int argc, char **argv) {
  const char *version = tl_version();
  const char *expected = argc > 1 ? argv[1] : NULL;

  check(expected != NULL, "the expected Cargo version is passed as argv[1]");
  check(version != NULL, "tl_version() is not NULL");
  if (version == NULL) {
    return 1;
  }
  check(version[0] != '\0', "tl_version() is not empty");
  check(expected == NULL || strcmp(version, expected) == 0,
        "tl_version() equals the Cargo version");
  check(strcmp(version, HEADER_VERSION) == 0,
        "tl_version() equals TL_VERSION_MAJOR.MINOR.PATCH");
  check(strcmp(version, TL_VERSION) == 0, "tl_version() equals TL_VERSION");
  check(tl_version() == version, "tl_version() returns one static string");

  printf("version.c: tl_version() = \"%s\" (expected \"%s\")\n", version,
         expected != NULL ? expected : "?");
  printf("%d passed, %d failed\n", checks - failures, failures);
  return failures == 0 ? 0 : 1;
}
