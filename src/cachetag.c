/* SPDX-License-Identifier: MIT */
#include "cachetag.h"

#include <openssl/sha.h>
#include <string.h>
#include <strings.h>

#include "s3xml.h"

void cachetag_of_key(const char *key, char out[CACHETAG_LEN + 1])
{
  static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
  unsigned char md[SHA256_DIGEST_LENGTH];
  size_t at = sizeof(CACHETAG_PREFIX) - 1;
  unsigned bits = 0;
  unsigned acc = 0;
  size_t i;

  (void)SHA256((const unsigned char *)key, strlen(key), md); /* cannot fail */
  memcpy(out, CACHETAG_PREFIX, at);
  /* Ten bytes are 80 bits: sixteen 5-bit digits, no padding. */
  for (i = 0; i < CACHETAG_HASH_BYTES; i++) {
    acc = (acc << 8) | md[i];
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out[at++] = b32[(acc >> bits) & 31u];
    }
  }
  out[at] = '\0';
}

int cachetag_item(const struct s3url *o, const char *rel,
                  char out[CACHETAG_ITEM_SIZE])
{
  char key[S3_KEY_MAX + 1];
  int rc;

  rc = s3url_key(o, rel, key, sizeof(key));
  if (rc < 0)
    return rc;
  out[0] = '#';
  cachetag_of_key(key, out + 1);
  return 0;
}

bool cachetag_header_ok(const char *h)
{
  size_t pre = sizeof(CACHETAG_META) - 1;
  size_t n;
  size_t i;

  if (strncasecmp(h, CACHETAG_META, pre) != 0)
    return false;
  n = strlen(h + pre);
  if (n == 0 || n > CACHETAG_NAME_MAX)
    return false;
  for (i = pre; h[i] != '\0'; i++)
    if (!(h[i] >= 'a' && h[i] <= 'z') && !(h[i] >= 'A' && h[i] <= 'Z') &&
        !(h[i] >= '0' && h[i] <= '9') && h[i] != '-' && h[i] != '_')
      return false;
  return true;
}

const char *cachetag_meta_name(const char *h)
{
  return h + sizeof(CACHETAG_META) - 1;
}
