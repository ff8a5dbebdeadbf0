// The header from C++: it compiles with -Wall -Wextra -Wpedantic -Werror,
// its declarations link, and a call works. Compiled and run by
// tests/run-all.sh next to the C tests.
#include "trimline.h"

#include <cstdio>
#include <cstring>

int main() {
  tl_scheduler *s = nullptr;
  tl_error *err = nullptr;
  if (tl_scheduler_new(nullptr, 0, &s, &err) != TL_STATUS_OK) {
    tl_error_free(err);
    return 1;
  }
  const char zone[] = "zone-a";
  tl_status st = tl_scheduler_add_zone(s, zone, sizeof zone - 1, TL_ZONE_STATE_UP, 0, &err);
  tl_str view{zone, sizeof zone - 1};
  const bool ok = st == TL_STATUS_OK && view.len == 6 &&
                  std::strcmp(tl_version(), TL_VERSION) == 0 &&
                  tl_scheduler_free(s) == TL_STATUS_OK;
  std::printf("header.cpp: %s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}
