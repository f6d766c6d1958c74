/* SPDX-License-Identifier: MIT */
#include "batch.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

void batch_init(struct batch *b)
{
  strlist_init(&b->paths);
  b->n_files = 0;
  b->n_wildcards = 0;
}

void batch_free(struct batch *b)
{
  if (b == NULL)
    return;
  strlist_free(&b->paths);
  batch_init(b);
}

int batch_add_changes(struct batch *b, const struct change *v, size_t n,
                      const struct urlmap *m, struct cfw_err *err)
{
  size_t i;
  int rc;

  for (i = 0; i < n; i++) {
    if (change_kind(&v[i]) == CHANGE_TOUCHED)
      continue;
    rc = urlmap_paths(m, v[i].entry.path, &b->paths, err);
    if (rc < 0)
      return cfw_err_wrap(err, rc, "%s", v[i].entry.path);
    b->n_files++;
  }
  strlist_sort_unique(&b->paths);
  b->n_wildcards = 0;
  for (i = 0; i < b->paths.n; i++)
    if (urlmap_is_wildcard(b->paths.v[i]))
      b->n_wildcards++;
  return 0;
}

static int batch_digest_change(EVP_MD_CTX *md, const struct change *c)
{
  static const char kinds[] = "AMDT";
  char kind = kinds[change_kind(c) & 3];

  /* The NUL after the path keeps "a" + hash apart from "a\xNN..." */
  return EVP_DigestUpdate(md, &kind, 1) &&
         EVP_DigestUpdate(md, c->entry.path, strlen(c->entry.path) + 1) &&
         EVP_DigestUpdate(md, c->entry.hash, sizeof(c->entry.hash));
}

int batch_caller_ref(const char *distribution_id, const unsigned char *state_id,
                     size_t id_len, uint64_t seq, const struct change *v,
                     size_t n, char out[BATCH_REF_LEN], struct cfw_err *err)
{
  unsigned char digest[EVP_MAX_MD_SIZE];
  char head[128];
  EVP_MD_CTX *md;
  size_t i;
  int ok;
  int len;

  len = snprintf(head, sizeof(head), "cfwatch-ref-v2\n%s\n%" PRIu64 "\n",
                 distribution_id ? distribution_id : "", seq);
  if (len < 0 || (size_t)len >= sizeof(head))
    return cfw_err_set(err, -EINVAL, "distribution id too long");
  md = EVP_MD_CTX_new();
  if (md == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
       EVP_DigestUpdate(md, state_id, id_len) &&
       EVP_DigestUpdate(md, head, (size_t)len);
  for (i = 0; ok && i < n; i++)
    if (change_kind(&v[i]) != CHANGE_TOUCHED)
      ok = batch_digest_change(md, &v[i]);
  ok = ok && EVP_DigestFinal_ex(md, digest, NULL);
  EVP_MD_CTX_free(md);
  if (!ok)
    return cfw_err_set(err, -EIO, "SHA-256 failed");
  out[0] = 'c';
  out[1] = 'f';
  out[2] = 'w';
  out[3] = '-';
  hex_encode(digest, 20, out + 4); /* 40 digits and the NUL */
  return 0;
}
