/* SPDX-License-Identifier: MIT */
/* cfdiscover_check: a distribution's origin path and default root
 * object against a site's url_prefix, index_name and S3 origin. */
#include <errno.h>
#include <string.h>

#include "cfdiscover.h"
#include "test.h"

#define BUCKET_REST "site-bucket.s3.eu-west-1.amazonaws.com"

/* A distribution of one origin (and a second, unrelated one) whose
 * default behavior targets the first. */
static void dist(struct cf_distribution_config *dc, struct cf_origin o[2],
                 const char *domain, const char *path, bool s3,
                 const char *root)
{
  memset(dc, 0, sizeof(*dc));
  memset(o, 0, 2 * sizeof(*o));
  (void)snprintf(o[0].id, sizeof(o[0].id), "site");
  (void)snprintf(o[0].domain_name, sizeof(o[0].domain_name), "%s", domain);
  (void)snprintf(o[0].origin_path, sizeof(o[0].origin_path), "%s", path);
  o[0].s3 = s3;
  o[0].custom = !s3;
  (void)snprintf(o[1].id, sizeof(o[1].id), "media");
  (void)snprintf(o[1].domain_name, sizeof(o[1].domain_name),
                 "media.s3.amazonaws.com");
  o[1].s3 = true;
  dc->origins = o;
  dc->n_origins = 2;
  (void)snprintf(dc->target_origin_id, sizeof(dc->target_origin_id), "site");
  (void)snprintf(dc->default_root_object, sizeof(dc->default_root_object), "%s",
                 root);
}

/* Checks and returns the number of warnings; the first goes to first. */
static size_t check(const struct cf_distribution_config *dc,
                    const char *url_prefix, const char *origin,
                    struct cfdiscover_report *r)
{
  struct cfdiscover_site site = {url_prefix, "index.html", origin};

  cfdiscover_report_init(r);
  CHECK_EQ_INT(cfdiscover_check(dc, &site, r), 0);
  return r->warnings.n;
}

static void test_origin_path_that_maps_the_key_prefix_is_quiet(void)
{
  struct cf_distribution_config dc;
  struct cfdiscover_report r;
  struct cf_origin o[2];

  dist(&dc, o, BUCKET_REST, "/site", true, "index.html");
  CHECK_EQ_INT(check(&dc, "", "s3://site-bucket/site", &r), 0);
  CHECK(r.found && r.by_bucket);
  CHECK_EQ_STR(r.origin.id, "site");
  cfdiscover_report_free(&r);
  /* The same site served under /docs, the prefix split between both. */
  dist(&dc, o, BUCKET_REST, "/site", true, "index.html");
  CHECK_EQ_INT(check(&dc, "/docs", "s3://site-bucket/site/docs", &r), 0);
  cfdiscover_report_free(&r);
}

/* Two origins on one bucket: the one the default behavior targets is
 * the one checked, not the first listed. */
static void test_default_target_wins_among_origins_of_the_bucket(void)
{
  struct cf_distribution_config dc;
  struct cfdiscover_report r;
  struct cf_origin o[2];

  dist(&dc, o, BUCKET_REST, "/site", true, "index.html");
  (void)snprintf(o[1].domain_name, sizeof(o[1].domain_name), "%s", BUCKET_REST);
  (void)snprintf(o[1].origin_path, sizeof(o[1].origin_path), "/old");
  o[0] = o[1];
  (void)snprintf(o[0].id, sizeof(o[0].id), "old");
  (void)snprintf(o[1].id, sizeof(o[1].id), "site");
  (void)snprintf(o[1].origin_path, sizeof(o[1].origin_path), "/site");
  CHECK_EQ_INT(check(&dc, "", "s3://site-bucket/site", &r), 0);
  CHECK_EQ_STR(r.origin.id, "site");
  cfdiscover_report_free(&r);
}

/* A default behavior that targets an origin group names no origin:
 * nothing is claimed about what serves "/". */
static void test_unknown_target_claims_no_rest_endpoint(void)
{
  struct cf_distribution_config dc;
  struct cfdiscover_report r;
  struct cf_origin o[2];

  dist(&dc, o, "www.example.com", "", false, "");
  (void)snprintf(dc.target_origin_id, sizeof(dc.target_origin_id), "group");
  REQUIRE(check(&dc, "", NULL, &r) == 1);
  CHECK_CONTAINS(r.warnings.v[0], "an origin group?");
  cfdiscover_report_free(&r);
}

static void test_url_prefix_repeating_the_origin_path_warns(void)
{
  struct cf_distribution_config dc;
  struct cfdiscover_report r;
  struct cf_origin o[2];

  dist(&dc, o, BUCKET_REST, "/site", true, "index.html");
  REQUIRE(check(&dc, "/site", "s3://site-bucket/site", &r) == 1);
  CHECK_CONTAINS(r.warnings.v[0], "the object s3://site-bucket/site/x is "
                                  "served at /x while cfwatch invalidates "
                                  "/site/x");
  CHECK_CONTAINS(r.warnings.v[0], "s3_website #207");
  CHECK_CONTAINS(r.warnings.v[0], "Set url_prefix to \"\"");
  cfdiscover_report_free(&r);
}

static void test_origin_path_outside_the_key_prefix_warns(void)
{
  struct cf_distribution_config dc;
  struct cfdiscover_report r;
  struct cf_origin o[2];

  dist(&dc, o, BUCKET_REST, "/other", true, "index.html");
  REQUIRE(check(&dc, "", "s3://site-bucket/site", &r) == 1);
  CHECK_CONTAINS(r.warnings.v[0], "never serves what cfwatch uploads");
  cfdiscover_report_free(&r);
}

static void test_no_origin_naming_the_bucket_warns(void)
{
  struct cf_distribution_config dc;
  struct cfdiscover_report r;
  struct cf_origin o[2];

  dist(&dc, o, "example.com", "", false, "index.html");
  REQUIRE(check(&dc, "", "s3://site-bucket", &r) == 1);
  CHECK(!r.found);
  CHECK_CONTAINS(r.warnings.v[0], "no origin of the distribution names the "
                                  "bucket site-bucket");
  cfdiscover_report_free(&r);
}

static void test_bucket_endpoints_are_matched_exactly(void)
{
  static const char *const theirs[] = {
      "site-bucket.s3.amazonaws.com",
      "site-bucket.s3-website-us-east-1.amazonaws.com",
      "site-bucket.s3-website.eu-west-1.amazonaws.com",
      "site-bucket.s3.dualstack.eu-west-1.amazonaws.com"};
  static const char *const not_theirs[] = {
      "other-site-bucket.s3.amazonaws.com", "site-bucket.s3x.example.com",
      "site-bucketx.s3.amazonaws.com", "site-bucket.example.com"};
  struct cf_distribution_config dc;
  struct cfdiscover_report r;
  struct cf_origin o[2];
  size_t i;

  for (i = 0; i < 4; i++) {
    dist(&dc, o, theirs[i], "", true, "index.html");
    CHECK_EQ_INT(check(&dc, "", "s3://site-bucket", &r), 0);
    CHECK(r.found);
    cfdiscover_report_free(&r);
    dist(&dc, o, not_theirs[i], "", true, "index.html");
    CHECK_EQ_INT(check(&dc, "", "s3://site-bucket", &r), 1);
    CHECK(!r.found);
    cfdiscover_report_free(&r);
  }
}

static void test_custom_origin_path_repeated_in_url_prefix_warns(void)
{
  struct cf_distribution_config dc;
  struct cfdiscover_report r;
  struct cf_origin o[2];

  dist(&dc, o, "example.com", "/site", false, "index.html");
  REQUIRE(check(&dc, "/site/docs", NULL, &r) == 1);
  CHECK(r.found && !r.by_bucket);
  CHECK_CONTAINS(r.warnings.v[0], "url_prefix \"/site/docs\" repeats the "
                                  "origin path \"/site\" of origin site");
  CHECK_CONTAINS(r.warnings.v[0], "Set url_prefix to \"/docs\"");
  cfdiscover_report_free(&r);
  /* /sitemap is not under /site. */
  dist(&dc, o, "example.com", "/site", false, "index.html");
  CHECK_EQ_INT(check(&dc, "/sitemap", NULL, &r), 0);
  cfdiscover_report_free(&r);
}

static void test_root_object_other_than_the_index_warns(void)
{
  struct cf_distribution_config dc;
  struct cfdiscover_report r;
  struct cf_origin o[2];

  dist(&dc, o, "example.com", "", false, "home.html");
  REQUIRE(check(&dc, "", NULL, &r) == 1);
  CHECK_CONTAINS(r.warnings.v[0], "a change to home.html leaves / stale");
  cfdiscover_report_free(&r);
  /* Under a prefix, / is not the site's. */
  CHECK_EQ_INT(check(&dc, "/blog", NULL, &r), 0);
  cfdiscover_report_free(&r);
}

static void test_missing_root_object_warns_for_an_s3_rest_origin_only(void)
{
  struct cf_distribution_config dc;
  struct cfdiscover_report r;
  struct cf_origin o[2];

  dist(&dc, o, BUCKET_REST, "", true, "");
  REQUIRE(check(&dc, "", NULL, &r) == 1);
  CHECK_CONTAINS(r.warnings.v[0], "no default root object");
  cfdiscover_report_free(&r);
  dist(&dc, o, "site-bucket.s3-website-eu-west-1.amazonaws.com", "", false, "");
  CHECK_EQ_INT(check(&dc, "", NULL, &r), 0);
  cfdiscover_report_free(&r);
}

static void test_cache_tag_header_is_reported(void)
{
  struct cf_distribution_config dc;
  struct cfdiscover_report r;
  struct cf_origin o[2];

  dist(&dc, o, "example.com", "", false, "index.html");
  dc.has_cache_tags = true;
  (void)snprintf(dc.cache_tag_header, sizeof(dc.cache_tag_header),
                 "x-amz-meta-cache-tag");
  CHECK_EQ_INT(check(&dc, "", NULL, &r), 0);
  CHECK(r.has_cache_tags);
  CHECK_EQ_STR(r.cache_tag_header, "x-amz-meta-cache-tag");
  cfdiscover_report_free(&r);
}

static void test_bad_origin_is_refused(void)
{
  struct cfdiscover_site site = {"", "index.html", "http://x"};
  struct cf_distribution_config dc;
  struct cfdiscover_report r;
  struct cf_origin o[2];

  dist(&dc, o, "example.com", "", false, "index.html");
  cfdiscover_report_init(&r);
  CHECK_EQ_INT(cfdiscover_check(&dc, &site, &r), -EINVAL);
  cfdiscover_report_free(&r);
}

TEST_MAIN(TEST(test_origin_path_that_maps_the_key_prefix_is_quiet),
          TEST(test_default_target_wins_among_origins_of_the_bucket),
          TEST(test_unknown_target_claims_no_rest_endpoint),
          TEST(test_url_prefix_repeating_the_origin_path_warns),
          TEST(test_origin_path_outside_the_key_prefix_warns),
          TEST(test_no_origin_naming_the_bucket_warns),
          TEST(test_bucket_endpoints_are_matched_exactly),
          TEST(test_custom_origin_path_repeated_in_url_prefix_warns),
          TEST(test_root_object_other_than_the_index_warns),
          TEST(test_missing_root_object_warns_for_an_s3_rest_origin_only),
          TEST(test_cache_tag_header_is_reported),
          TEST(test_bad_origin_is_refused))
