/* SPDX-License-Identifier: MIT */
/* cachetag: the tag of an uploaded object, from its key alone. */
#include <stdio.h>
#include <string.h>

#include "cachetag.h"
#include "cfpath.h"
#include "test.h"

static void test_golden_values_match_base32_of_sha256(void)
{
  char t[CACHETAG_LEN + 1];

  /* Python: "cfw-" + b32encode(sha256(key).digest()[:10]).lower(). */
  cachetag_of_key("index.html", t);
  CHECK_EQ_STR(t, "cfw-b22uomcglcafvlly");
  cachetag_of_key("site/index.html", t);
  CHECK_EQ_STR(t, "cfw-v3446hrholzygwzs");
  cachetag_of_key("blog/a b.html", t);
  CHECK_EQ_STR(t, "cfw-ea2c4w2ef7xpap4r");
}

static void test_tag_is_stable_across_calls(void)
{
  char a[CACHETAG_LEN + 1];
  char b[CACHETAG_LEN + 1];

  cachetag_of_key("x/y.css", a);
  cachetag_of_key("x/y.css", b);
  CHECK_EQ_STR(a, b);
  CHECK_EQ_INT((int)strlen(a), (int)CACHETAG_LEN);
}

static void test_tag_is_a_valid_cloudfront_tag(void)
{
  char item[CACHETAG_ITEM_SIZE];
  struct cfw_err err = {0};
  char key[32];
  int i;

  for (i = 0; i < 200; i++) {
    (void)snprintf(key, sizeof(key), "dir%d/file%d.html", i % 7, i);
    item[0] = '#';
    cachetag_of_key(key, item + 1);
    CHECK_EQ_INT(cfpath_check(item, &err), 0);
    CHECK(cfpath_is_tag(item));
  }
}

static void test_distinct_keys_get_distinct_tags(void)
{
  char seen[500][CACHETAG_LEN + 1];
  char key[32];
  int i;
  int j;

  for (i = 0; i < 500; i++) {
    (void)snprintf(key, sizeof(key), "p/%d.html", i);
    cachetag_of_key(key, seen[i]);
    for (j = 0; j < i; j++)
      if (strcmp(seen[i], seen[j]) == 0)
        TEST_FAIL_("keys %d and %d share tag %s", i, j, seen[i]);
  }
}

static void test_item_uses_the_object_key_with_its_prefix(void)
{
  struct s3url o;
  char item[CACHETAG_ITEM_SIZE];
  char t[CACHETAG_LEN + 1];

  memset(&o, 0, sizeof(o));
  (void)snprintf(o.bucket, sizeof(o.bucket), "b");
  (void)snprintf(o.prefix, sizeof(o.prefix), "site");
  CHECK_EQ_INT(cachetag_item(&o, "index.html", item), 0);
  cachetag_of_key("site/index.html", t);
  CHECK_EQ_STR(item + 1, t);
  CHECK(item[0] == '#');
}

static void test_header_must_be_amz_meta_with_a_name(void)
{
  CHECK(cachetag_header_ok("x-amz-meta-cache-tag"));
  CHECK(cachetag_header_ok("X-Amz-Meta-Cache_Tag2"));
  CHECK(!cachetag_header_ok("x-amz-meta-"));
  CHECK(!cachetag_header_ok("cache-tag"));
  CHECK(!cachetag_header_ok("x-amz-meta-a b"));
  CHECK(!cachetag_header_ok("x-amz-meta-a:b"));
  CHECK_EQ_STR(cachetag_meta_name("x-amz-meta-cache-tag"), "cache-tag");
}

TEST_MAIN(TEST(test_golden_values_match_base32_of_sha256),
          TEST(test_tag_is_stable_across_calls),
          TEST(test_tag_is_a_valid_cloudfront_tag),
          TEST(test_distinct_keys_get_distinct_tags),
          TEST(test_item_uses_the_object_key_with_its_prefix),
          TEST(test_header_must_be_amz_meta_with_a_name))
