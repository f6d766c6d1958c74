/* SPDX-License-Identifier: MIT */
/* ListDistributions and GetDistributionConfig (cloudfront.h), and the
 * invalidation calls that name their distribution, against the
 * stand-in over loopback TLS (tests/standin/cfdist.py). */
#include "cf_fixture.h"
#include "cloudfront.h"
#include "strlist.h"
#include "test.h"

#define WWW "EWWWEXAMPLE0001"

/* Three distributions; the second with a custom origin under /site, an
 * S3 origin, no default root object and a cache tag header. */
static const char three[] =
    "{\"completion_delay\": 0, \"distributions\": [\"" CFFX_DIST "\", "
    "{\"id\": \"" WWW "\", \"default_root_object\": \"\", "
    "\"cache_tag_header\": \"x-amz-meta-cache-tag\", "
    "\"origins\": [{\"id\": \"web\", \"domain_name\": \"example.com\", "
    "\"origin_path\": \"/site\", \"s3\": false}, {\"id\": \"media\", "
    "\"domain_name\": \"media.s3.eu-west-1.amazonaws.com\"}], "
    "\"target_origin_id\": \"web\"}, \"E3THIRDEXAMPLE\"]}";

struct page {
  struct cffx *f;
  enum cf_verdict verdict;
  int status;
  char code[64];
  struct strlist ids;
  bool truncated;
  char next[256];
};

static void on_list(struct cf_result *r, void *arg)
{
  struct page *p = arg;
  size_t i;

  p->verdict = r->verdict;
  p->status = r->status;
  (void)snprintf(p->code, sizeof(p->code), "%s", r->error.code);
  for (i = 0; i < r->dists.n; i++)
    REQUIRE(strlist_push(&p->ids, r->dists.items[i].id) == 0);
  p->truncated = r->dists.is_truncated;
  (void)snprintf(p->next, sizeof(p->next), "%s", r->dists.next_marker);
  p->f->done++;
}

static void test_distributions_are_listed_page_by_page(void)
{
  struct cfw_err err = {0};
  struct page p = {0};
  struct cffx f;

  cffx_start(&f, three, NULL);
  p.f = &f;
  strlist_init(&p.ids);
  REQUIRE(cf_list_distributions(f.c, NULL, 2, on_list, &p, &err) == 0);
  cffx_wait(&f, 1);
  CHECK_EQ_INT(p.verdict, CF_DONE);
  CHECK(p.truncated);
  CHECK_EQ_STR(p.next, WWW);
  REQUIRE(cf_list_distributions(f.c, p.next, 2, on_list, &p, &err) == 0);
  cffx_wait(&f, 2);
  CHECK(!p.truncated);
  REQUIRE(p.ids.n == 3);
  CHECK_EQ_STR(p.ids.v[0], CFFX_DIST);
  CHECK_EQ_STR(p.ids.v[1], WWW);
  CHECK_EQ_STR(p.ids.v[2], "E3THIRDEXAMPLE");
  strlist_free(&p.ids);
  cffx_stop(&f);
}

struct config {
  struct cffx *f;
  enum cf_verdict verdict;
  int status;
  char code[64];
  struct cf_distribution_config c; /* origins copied */
};

static void on_config(struct cf_result *r, void *arg)
{
  struct config *c = arg;

  c->verdict = r->verdict;
  c->status = r->status;
  (void)snprintf(c->code, sizeof(c->code), "%s", r->error.code);
  c->c = r->config;
  c->c.origins = NULL;
  if (r->config.n_origins > 0) {
    c->c.origins = calloc(r->config.n_origins, sizeof(*c->c.origins));
    REQUIRE(c->c.origins != NULL);
    memcpy(c->c.origins, r->config.origins,
           r->config.n_origins * sizeof(*c->c.origins));
  }
  c->f->done++;
}

static void test_config_names_origins_root_object_and_target(void)
{
  struct cfw_err err = {0};
  struct config c = {0};
  const struct cf_origin *o;
  struct cffx f;

  cffx_start(&f, three, NULL);
  c.f = &f;
  REQUIRE(cf_get_distribution_config(f.c, WWW, on_config, &c, &err) == 0);
  cffx_wait(&f, 1);
  CHECK_EQ_INT(c.verdict, CF_DONE);
  CHECK_EQ_STR(c.c.default_root_object, "");
  CHECK_EQ_STR(c.c.target_origin_id, "web");
  CHECK(c.c.has_cache_tags);
  CHECK_EQ_STR(c.c.cache_tag_header, "x-amz-meta-cache-tag");
  REQUIRE(c.c.n_origins == 2);
  o = cf_distribution_origin(&c.c, "web");
  REQUIRE(o != NULL);
  CHECK_EQ_STR(o->domain_name, "example.com");
  CHECK_EQ_STR(o->origin_path, "/site");
  CHECK(o->custom && !o->s3);
  o = cf_distribution_origin(&c.c, "media");
  REQUIRE(o != NULL);
  CHECK(o->s3 && !o->custom);
  CHECK_EQ_STR(o->origin_path, "");
  CHECK(cf_distribution_origin(&c.c, "none") == NULL);
  cf_distribution_config_free(&c.c);
  cffx_stop(&f);
}

static void test_default_distribution_serves_the_default_bucket(void)
{
  struct cfw_err err = {0};
  struct config c = {0};
  struct cffx f;

  cffx_start(&f, NULL, CFFX_DIST);
  c.f = &f;
  REQUIRE(cf_get_distribution_config(f.c, CFFX_DIST, on_config, &c, &err) == 0);
  cffx_wait(&f, 1);
  CHECK_EQ_STR(c.c.default_root_object, "index.html");
  REQUIRE(c.c.n_origins == 1);
  CHECK_EQ_STR(c.c.origins[0].domain_name,
               "amzn-s3-demo-bucket.s3.us-east-1.amazonaws.com");
  CHECK_EQ_STR(c.c.target_origin_id, c.c.origins[0].id);
  CHECK(!c.c.has_cache_tags);
  cf_distribution_config_free(&c.c);
  cffx_stop(&f);
}

static void test_unknown_distribution_is_fatal(void)
{
  struct cfw_err err = {0};
  struct config c = {0};
  struct cffx f;

  cffx_start(&f, NULL, NULL);
  c.f = &f;
  REQUIRE(cf_get_distribution_config(f.c, "ENOSUCHEXAMPLE", on_config, &c,
                                     &err) == 0);
  cffx_wait(&f, 1);
  CHECK_EQ_INT(c.verdict, CF_FATAL);
  CHECK_EQ_INT(c.status, 404);
  CHECK_EQ_STR(c.code, "NoSuchDistribution");
  cf_distribution_config_free(&c.c);
  cffx_stop(&f);
}

static void test_bad_ids_are_refused_before_sending(void)
{
  struct cfw_err err = {0};
  struct cffx f;

  cffx_start(&f, NULL, NULL);
  CHECK_EQ_INT(cf_get_distribution_config(f.c, "e/x", on_config, NULL, &err),
               -EINVAL);
  CHECK_EQ_INT(cf_get_distribution_config(f.c, NULL, on_config, NULL, &err),
               -EINVAL);
  CHECK_EQ_INT(cf_list_distributions(f.c, "a&b", 10, on_list, NULL, &err),
               -EINVAL);
  /* A client without a distribution cannot create an invalidation. */
  CHECK_EQ_INT(cf_create_invalidation(f.c, "r", (const char *[]){"/a"}, 1, NULL,
                                      NULL, &err),
               -EINVAL);
  CHECK_CONTAINS(err.msg, "no distribution id");
  cffx_stop(&f);
}

struct invs {
  struct cffx *f;
  enum cf_verdict verdict;
  size_t listed;
  char first[64];
  size_t quantity;
};

static void on_invs(struct cf_result *r, void *arg)
{
  struct invs *v = arg;

  v->verdict = r->verdict;
  if (r->op == CF_OP_LIST) {
    v->listed = r->list.n;
    if (r->list.n > 0)
      (void)snprintf(v->first, sizeof(v->first), "%s", r->list.items[0].id);
  } else {
    v->quantity = r->inv.quantity;
  }
  v->f->done++;
}

static void test_invalidations_of_a_named_distribution(void)
{
  struct cfw_err err = {0};
  struct invs v = {0};
  struct buf ids;
  struct cffx f;

  cffx_start(&f, three, NULL);
  v.f = &f;
  buf_init(&ids, 4096);
  REQUIRE(standin_call(&f.cf, "POST", "seed",
                       "{\"distribution\": \"" WWW "\", \"invalidations\": "
                       "[{\"paths\": [\"/a\", \"/b*\", \"#t\"], "
                       "\"create_time\": \"2026-05-02T10:00:00.000Z\"}]}",
                       &ids) == 200);
  REQUIRE(cf_list_invalidations_of(f.c, WWW, NULL, 10, on_invs, &v, &err) == 0);
  cffx_wait(&f, 1);
  CHECK_EQ_INT(v.verdict, CF_DONE);
  CHECK_EQ_INT(v.listed, 1);
  CHECK_CONTAINS(buf_str(&ids), v.first);
  REQUIRE(cf_get_invalidation_of(f.c, WWW, v.first, on_invs, &v, &err) == 0);
  cffx_wait(&f, 2);
  CHECK_EQ_INT(v.verdict, CF_DONE);
  CHECK_EQ_INT(v.quantity, 3);
  buf_free(&ids);
  cffx_stop(&f);
}

TEST_MAIN(TEST(test_distributions_are_listed_page_by_page),
          TEST(test_config_names_origins_root_object_and_target),
          TEST(test_default_distribution_serves_the_default_bucket),
          TEST(test_unknown_distribution_is_fatal),
          TEST(test_bad_ids_are_refused_before_sending),
          TEST(test_invalidations_of_a_named_distribution))
