/* SPDX-License-Identifier: MIT */
/* cfpath_check: CloudFront's rule for an invalidation item, a path or a
 * cache tag (Developer Guide, invalidation-specifying-tags.html). */
#include <errno.h>
#include <string.h>

#include "cflimits.h"
#include "cfpath.h"
#include "test.h"

static void check_refused(const char *item, const char *why)
{
  struct cfw_err err = {0};

  CHECK_EQ_INT(cfpath_check(item, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, why);
}

static void check_accepted(const char *item)
{
  struct cfw_err err = {0};

  CHECK_EQ_INT(cfpath_check(item, &err), 0);
  if (err.code != 0)
    TEST_FAIL_("%s: %s", item, err.msg);
}

static void test_item_without_slash_or_hash_is_refused(void)
{
  check_refused("x", "a path starts with '/' (a cache tag with '#')");
  check_refused("", "a path starts with '/'");
}

static void test_visible_ascii_tag_is_accepted(void)
{
  check_accepted("#product:electronics");
  check_accepted("#a");
  /* Every byte from 33 to 126 but ',' and '*'; '#' itself too. */
  check_accepted("#!\"#$%&'()+-./09:;<=>?@AZ[\\]^_`az{|}~");
}

static void test_tag_with_comma_is_refused(void)
{
  check_refused("#a,b", "holds no ','");
}

static void test_tag_with_wildcard_is_refused(void)
{
  check_refused("#blog*", "takes no wildcard");
  check_refused("#*", "takes no wildcard");
}

static void test_tag_with_space_or_control_or_utf8_is_refused(void)
{
  check_refused("#a b", "not byte 0x20");
  check_refused("#a\tb", "not byte 0x09");
  check_refused("#caf\xc3\xa9", "not byte 0xC3");
  check_refused("#a\x7f", "not byte 0x7F");
}

static void test_empty_tag_is_refused(void)
{
  check_refused("#", "a cache tag is '#' and a name");
}

static void test_tag_of_256_characters_is_the_longest(void)
{
  char item[CF_MAX_TAG_LEN + 3];

  item[0] = '#';
  memset(item + 1, 't', CF_MAX_TAG_LEN);
  item[CF_MAX_TAG_LEN + 1] = '\0';
  check_accepted(item);
  item[CF_MAX_TAG_LEN + 1] = 't';
  item[CF_MAX_TAG_LEN + 2] = '\0';
  check_refused(item, "at most 256 characters");
}

static void test_tags_match_without_regard_to_case(void)
{
  CHECK(cfpath_same_tag("#Product:TV", "#product:tv"));
  CHECK(!cfpath_same_tag("#a", "#b"));
  CHECK(!cfpath_same_tag("/A", "/a")); /* paths are case-sensitive */
  CHECK(!cfpath_same_tag("#a", "/a"));
}

static void test_paths_keep_their_rules(void)
{
  check_accepted("/blog/*");
  check_refused("/a*/b", "'*' may only come last");
  check_refused("/a b", "byte 2 must be written %20");
  check_refused("/a~b", "refuses '~'");
}

TEST_MAIN(TEST(test_item_without_slash_or_hash_is_refused),
          TEST(test_visible_ascii_tag_is_accepted),
          TEST(test_tag_with_comma_is_refused),
          TEST(test_tag_with_wildcard_is_refused),
          TEST(test_tag_with_space_or_control_or_utf8_is_refused),
          TEST(test_empty_tag_is_refused),
          TEST(test_tag_of_256_characters_is_the_longest),
          TEST(test_tags_match_without_regard_to_case),
          TEST(test_paths_keep_their_rules))
