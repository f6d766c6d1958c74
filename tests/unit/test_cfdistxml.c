/* SPDX-License-Identifier: MIT */
/* The distribution documents' parsers (cfdistxml.h) on hostile and odd
 * input; the stand-in's real documents are read in test_cfdist. */
#include <errno.h>
#include <string.h>

#include "cfdistxml.h"
#include "test.h"

#define NS "xmlns=\"http://cloudfront.amazonaws.com/doc/2020-05-31/\""

static int parse_list(const char *doc, struct cf_distribution_list *l,
                      struct cfw_err *err)
{
  return cfdistxml_parse_list(doc, strlen(doc), l, err);
}

static int parse_config(const char *doc, struct cf_distribution_config *c,
                        struct cfw_err *err)
{
  return cfdistxml_parse_config(doc, strlen(doc), c, err);
}

static void test_list_without_namespace_reads_the_same(void)
{
  struct cf_distribution_list l;
  struct cfw_err err = {0};

  cf_distribution_list_init(&l);
  CHECK_EQ_INT(parse_list("<DistributionList><Marker/><MaxItems>1</MaxItems>"
                          "<IsTruncated>true</IsTruncated><NextMarker>EA"
                          "</NextMarker><Quantity>1</Quantity><Items>"
                          "<DistributionSummary><Origins><Items><Origin><Id>"
                          "not-this</Id></Origin></Items></Origins><Id>EA</Id>"
                          "<Status>Deployed</Status></DistributionSummary>"
                          "</Items></DistributionList>",
                          &l, &err),
               0);
  REQUIRE(l.n == 1);
  CHECK_EQ_STR(l.items[0].id, "EA"); /* not the origin's Id */
  CHECK_EQ_STR(l.next_marker, "EA");
  CHECK(l.is_truncated);
  cf_distribution_list_free(&l);
}

static void check_list_refused(const char *doc, const char *why)
{
  struct cf_distribution_list l;
  struct cfw_err err = {0};

  cf_distribution_list_init(&l);
  CHECK_EQ_INT(parse_list(doc, &l, &err), -EBADMSG);
  CHECK_CONTAINS(err.msg, why);
  CHECK_EQ_INT(l.n, 0);
  CHECK(l.items == NULL);
}

static void test_list_quantity_must_match(void)
{
  check_list_refused("<DistributionList " NS "><IsTruncated>false"
                     "</IsTruncated><Quantity>2</Quantity><Items>"
                     "<DistributionSummary><Id>EA</Id></DistributionSummary>"
                     "</Items></DistributionList>",
                     "<Quantity> is 2 but 1 <DistributionSummary>");
}

static void test_truncated_list_needs_a_marker(void)
{
  check_list_refused("<DistributionList " NS "><IsTruncated>true"
                     "</IsTruncated><Quantity>0</Quantity></DistributionList>",
                     "<IsTruncated> without <NextMarker>");
}

static void test_summary_needs_an_id(void)
{
  check_list_refused("<DistributionList><IsTruncated>false</IsTruncated>"
                     "<Quantity>1</Quantity><Items><DistributionSummary>"
                     "<Status>Deployed</Status></DistributionSummary></Items>"
                     "</DistributionList>",
                     "without <Id>");
}

static void test_doctype_is_refused(void)
{
  check_list_refused("<!DOCTYPE x [<!ENTITY a \"b\">]><DistributionList/>",
                     "DOCTYPE refused");
}

static const char config_head[] =
    "<DistributionConfig " NS "><DefaultRootObject>index.html"
    "</DefaultRootObject>";

static void check_config_refused(const char *body, const char *why)
{
  struct cf_distribution_config c;
  struct cfw_err err = {0};
  char doc[2048];

  REQUIRE(snprintf(doc, sizeof(doc), "%s%s</DistributionConfig>", config_head,
                   body) < (int)sizeof(doc));
  cf_distribution_config_init(&c);
  CHECK_EQ_INT(parse_config(doc, &c, &err), -EBADMSG);
  CHECK_CONTAINS(err.msg, why);
  CHECK(c.origins == NULL);
}

static void test_config_needs_a_target_origin(void)
{
  check_config_refused("<Origins><Quantity>1</Quantity><Items><Origin><Id>o"
                       "</Id><DomainName>d</DomainName></Origin></Items>"
                       "</Origins><DefaultCacheBehavior/>",
                       "<DefaultCacheBehavior> without <TargetOriginId>");
}

static void test_config_origin_count_must_match(void)
{
  check_config_refused("<Origins><Quantity>2</Quantity><Items><Origin><Id>o"
                       "</Id><DomainName>d</DomainName></Origin></Items>"
                       "</Origins><DefaultCacheBehavior><TargetOriginId>o"
                       "</TargetOriginId></DefaultCacheBehavior>",
                       "<Quantity> is 2 but 1 <Origin>");
}

static void test_config_needs_an_origin(void)
{
  check_config_refused("<Origins><Quantity>0</Quantity><Items/></Origins>"
                       "<DefaultCacheBehavior><TargetOriginId>o"
                       "</TargetOriginId></DefaultCacheBehavior>",
                       "<Origins> without <Origin>");
}

static void test_config_refuses_a_second_root_object(void)
{
  check_config_refused("<DefaultRootObject>x</DefaultRootObject>",
                       "duplicate <DefaultRootObject>");
}

static void test_config_refuses_an_overlong_origin_path(void)
{
  char body[1024];
  char path[300];

  memset(path, 'p', sizeof(path) - 1);
  path[0] = '/';
  path[sizeof(path) - 1] = '\0';
  REQUIRE(snprintf(body, sizeof(body),
                   "<Origins><Quantity>1</Quantity><Items><Origin><Id>o</Id>"
                   "<DomainName>d</DomainName><OriginPath>%s</OriginPath>"
                   "</Origin></Items></Origins>",
                   path) < (int)sizeof(body));
  check_config_refused(body, "<OriginPath> longer than 255 bytes");
}

TEST_MAIN(TEST(test_list_without_namespace_reads_the_same),
          TEST(test_list_quantity_must_match),
          TEST(test_truncated_list_needs_a_marker),
          TEST(test_summary_needs_an_id), TEST(test_doctype_is_refused),
          TEST(test_config_needs_a_target_origin),
          TEST(test_config_origin_count_must_match),
          TEST(test_config_needs_an_origin),
          TEST(test_config_refuses_a_second_root_object),
          TEST(test_config_refuses_an_overlong_origin_path))
