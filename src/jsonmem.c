/* SPDX-License-Identifier: MIT */
#include "jsonmem.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* Each block carries its size in a header as large as malloc's
 * alignment, so the pointer jansson gets is aligned as malloc's are. */
#define JSONMEM_HDR _Alignof(max_align_t)

_Static_assert(JSONMEM_HDR >= sizeof(size_t), "header holds a size_t");

static void *jsonmem_malloc(size_t n)
{
  unsigned char *p;

  if (n > SIZE_MAX - JSONMEM_HDR)
    return NULL;
  p = malloc(n + JSONMEM_HDR);
  if (p == NULL)
    return NULL;
  memcpy(p, &n, sizeof(n));
  return p + JSONMEM_HDR;
}

static void jsonmem_free(void *ptr)
{
  unsigned char *p;
  size_t n;

  if (ptr == NULL)
    return;
  p = (unsigned char *)ptr - JSONMEM_HDR;
  memcpy(&n, p, sizeof(n));
  OPENSSL_cleanse(p, n + JSONMEM_HDR);
  free(p);
}

static void jsonmem_install(void)
{
  json_set_alloc_funcs(jsonmem_malloc, jsonmem_free);
}

void jsonmem_init(void)
{
  /* The one piece of process-wide state: jansson's allocator is global,
   * so the guard that installs it once has to be too. */
  static uv_once_t once = UV_ONCE_INIT;

  uv_once(&once, jsonmem_install);
}
