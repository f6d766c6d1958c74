/* SPDX-License-Identifier: MIT */
/* remote_start (remote.h): --account and --discover for one site, against
 * the stand-in over loopback TLS; their failures are reported, never
 * the command's. */
#include <time.h>

#include "cf_fixture.h"
#include "config.h"
#include "remote.h"
#include "test.h"

/* The site's distribution: a custom origin under /site. */
static const char www[] =
    "{\"completion_delay\": 0, \"distributions\": [{\"id\": \"" CFFX_DIST
    "\", \"default_root_object\": \"index.html\", \"origins\": [{\"id\": "
    "\"web\", \"domain_name\": \"example.com\", \"origin_path\": \"/site\", "
    "\"s3\": false}]}]}";

struct fx {
  struct cffx f;
  struct config cfg;
  struct remote_report r;
};

static void on_remote(struct remote_report *r, void *arg)
{
  struct fx *x = arg;

  remote_report_take(&x->r, r);
  x->f.done++;
}

/* Starts the stand-in and makes the site's config. */
static void fx_start(struct fx *x, const char *standin_config,
                     const char *url_prefix)
{
  struct cfw_err err = {0};
  char state[320];

  cffx_start(&x->f, standin_config, NULL);
  config_init(&x->cfg);
  REQUIRE(snprintf(state, sizeof(state), "%s/state", x->f.cf.dir) > 0);
  REQUIRE(config_set_cli(&x->cfg, "root", x->f.cf.dir, &err) == 0);
  REQUIRE(config_set_cli(&x->cfg, "state_dir", state, &err) == 0);
  REQUIRE(config_set_cli(&x->cfg, "distribution_id", CFFX_DIST, &err) == 0);
  REQUIRE(config_set_cli(&x->cfg, "endpoint", x->f.cf.endpoint, &err) == 0);
  REQUIRE(config_set_cli(&x->cfg, "url_prefix", url_prefix, &err) == 0);
  REQUIRE(config_finish(&x->cfg, &err) == 0);
  remote_report_init(&x->r);
}

static void fx_ask(struct fx *x, bool account, bool discover)
{
  const struct site_config *s;
  struct remote_opts o = {0};
  struct cfw_err err = {0};
  size_t n;

  s = &config_sites(&x->cfg, &n)[0];
  o.loop = &x->f.loop;
  o.log = x->f.log;
  o.http = x->f.http;
  o.getenv = cffx_getenv;
  o.account = account;
  o.discover = discover;
  o.now_s = (int64_t)time(NULL);
  REQUIRE(remote_start(&o, s, on_remote, x, &err) == 0);
  CHECK_EQ_INT(x->f.done, 0); /* never from inside the call */
  cffx_wait(&x->f, 1);
}

static void fx_run(struct fx *x, const char *standin_config,
                   const char *url_prefix, bool account, bool discover)
{
  fx_start(x, standin_config, url_prefix);
  fx_ask(x, account, discover);
}

static void fx_done(struct fx *x)
{
  remote_report_free(&x->r);
  config_free(&x->cfg);
  cffx_stop(&x->f);
}

static void test_discover_warns_of_a_repeated_origin_path(void)
{
  struct fx x;

  fx_run(&x, www, "/site", false, true);
  CHECK(!x.r.account);
  CHECK(x.r.discover);
  CHECK_EQ_INT(x.r.discover_status, 0);
  CHECK(x.r.disc.found);
  CHECK_EQ_STR(x.r.disc.origin.id, "web");
  REQUIRE(x.r.disc.warnings.n == 1);
  CHECK_CONTAINS(x.r.disc.warnings.v[0], "repeats the origin path");
  fx_done(&x);
}

static void test_discover_is_quiet_when_the_settings_agree(void)
{
  struct fx x;

  fx_run(&x, www, "", false, true);
  CHECK_EQ_INT(x.r.discover_status, 0);
  CHECK_EQ_INT(x.r.disc.warnings.n, 0);
  CHECK_EQ_STR(x.r.disc.default_root_object, "index.html");
  fx_done(&x);
}

static void test_refused_discovery_is_reported(void)
{
  struct fx x;

  fx_start(&x, www, "");
  standin_inject(&x.f.cf, "[\"access_denied\"]", "get_config");
  fx_ask(&x, false, true);
  CHECK(x.r.discover_status < 0);
  CHECK_CONTAINS(x.r.discover_err.msg, "--discover: GetDistributionConfig");
  CHECK_CONTAINS(x.r.discover_err.msg, "403 AccessDenied");
  CHECK_CONTAINS(x.r.discover_err.msg, "cloudfront:GetDistributionConfig");
  fx_done(&x);
}

static void test_account_and_discover_run_together(void)
{
  struct fx x;

  fx_run(&x, www, "", true, true);
  CHECK(x.r.account);
  CHECK_EQ_INT(x.r.acct.status, 0);
  CHECK(x.r.acct.complete);
  CHECK_EQ_INT(x.r.acct.distributions, 1);
  CHECK_EQ_INT(x.r.acct.requests, 2); /* D, L of an empty list */
  CHECK_EQ_INT(x.r.discover_status, 0);
  fx_done(&x);
}

TEST_MAIN(TEST(test_discover_warns_of_a_repeated_origin_path),
          TEST(test_discover_is_quiet_when_the_settings_agree),
          TEST(test_refused_discovery_is_reported),
          TEST(test_account_and_discover_run_together))
