/*
 * Partial packing from C: three GPU hosts (vCPU, GiB, accelerators) and
 * thirty 1-accelerator pods plus a 16-accelerator job that fits no host.
 * tl_pack_partial places 24 pods, names the 7 items left over, and writes
 * null as their bin. Bad specs are refused (by JSON path, or as invalid
 * input naming what is wrong) and leave the out-parameter untouched.
 */
#include "check.h"

/* Whether the buffer's bytes contain `needle`. */
static int contains(const tl_buffer *b, const char *needle) {
  size_t n = strlen(needle), len = tl_buffer_len(b);
  const uint8_t *data = tl_buffer_data(b);
  for (size_t i = 0; n <= len && i <= len - n; i++) {
    if (memcmp(data + i, needle, n) == 0) {
      return 1;
    }
  }
  return 0;
}

int main(void) {
  /* The spec, built in a buffer: 3 hosts, 30 pods, one job. */
  char spec[4096];
  size_t len = 0;
  len += (size_t)snprintf(spec + len, sizeof spec - len,
                          "{\"bins\":[[96,384,8],[96,384,8],[96,384,8]],\"items\":[");
  for (int i = 0; i < 30; i++) {
    len += (size_t)snprintf(spec + len, sizeof spec - len, "[12,48,1],");
  }
  len += (size_t)snprintf(spec + len, sizeof spec - len, "[8,32,16]],\"budget\":10000}");
  CHECK(len < sizeof spec);

  tl_buffer *packing = NULL;
  OKE(tl_pack_partial(spec, len, &packing, &err));
  CHECK(packing != NULL);
  if (packing != NULL) {
    CHECK(contains(packing, "\"unplaced\":[24,25,26,27,28,29,30]"));
    CHECK(contains(packing, "\"bins_used\":3"));
    CHECK(contains(packing, "null"));
    tl_buffer_free(packing);
  }

  /* Everything fits: nothing left over. */
  tl_buffer *all = NULL;
  OKE(tl_pack_partial(S("{\"bins\":[[8],[8]],\"items\":[[6],[5],[2]]}"), &all, &err));
  CHECK(all != NULL && contains(all, "\"unplaced\":[]"));
  tl_buffer_free(all);

  /* Bad specs. */
  tl_buffer *untouched = NULL;
  FAILS(TL_STATUS_BAD_JSON, "items", tl_pack_partial(S("{\"bins\":[[8]],\"items\":[[-1]]}"), &untouched, &err));
  FAILS(TL_STATUS_BAD_JSON, "pack spec", tl_pack_partial(S("{\"bins\":[[8]]}"), &untouched, &err));
  FAILS(TL_STATUS_INVALID_INPUT, "no bins", tl_pack_partial(S("{\"bins\":[],\"items\":[[1]]}"), &untouched, &err));
  FAILS(TL_STATUS_INVALID_INPUT, "item 1 has 1 dimensions, expected 2",
        tl_pack_partial(S("{\"bins\":[[8,8]],\"items\":[[1,1],[1]]}"), &untouched, &err));
  FAILS(TL_STATUS_NULL_POINTER, "spec_json", tl_pack_partial(NULL, 3, &untouched, &err));
  FAILS(TL_STATUS_NULL_POINTER, "packing_out", tl_pack_partial(S("{}"), NULL, &err));
  CHECK(untouched == NULL);
  return finish("pack");
}
