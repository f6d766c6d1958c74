# SPDX-License-Identifier: MIT
"""CloudFront beyond one site's invalidations, against the stand-in over
loopback TLS: cache tags in `invalidate`, the account's monthly path
count (`status --account`, `plan --account`) and the distribution's own
settings (`--discover`).

Every test states the stand-in's distributions and invalidations and the
exact requests and counts expected.  One stand-in serves a whole class;
setUp resets it."""
import datetime
import json
import unittest

from tests.e2e.cfw import TempTest, write
from tests.standin.standin import ACCESS_KEY, DISTRIBUTION, SECRET_KEY, StandIn

KEY_ENV = {"AWS_ACCESS_KEY_ID": ACCESS_KEY,
           "AWS_SECRET_ACCESS_KEY": SECRET_KEY}


class StandInTest(TempTest):
    @classmethod
    def setUpClass(cls):
        cls.cf = StandIn()

    @classmethod
    def tearDownClass(cls):
        cls.cf.stop()

    def setUp(self):
        super().setUp()
        self.cf.reset(config=True)
        self.cf.configure(completion_delay=0)
        self.env.update(KEY_ENV)

    def cf_args(self, dist=DISTRIBUTION):
        return ["-d", dist, "--endpoint", self.cf.endpoint, "--state-dir",
                self.state, "--ca-file", self.cf.ca_file]

    def ops(self, since=0):
        return [e["operation"] for e in self.cf.log(since)]


class CacheTags(StandInTest):
    """`invalidate '#tag'` (Developer Guide, invalidation-by-tags.html)."""

    def test_tags_are_sent_beside_paths_once_per_tag(self):
        res = self.check(self.cfw("invalidate", *self.cf_args(), "#Product:TV",
                                  "/a", "#product:tv"))
        self.assertIn("the same cache tag as #Product:TV", res.err)
        invs = self.cf.invalidations()
        self.assertEqual(len(invs), 1, invs)
        self.assertEqual(invs[0]["paths"], ["#Product:TV", "/a"])
        self.assertEqual(invs[0]["tag_paths"], 1)

    def test_a_tag_counts_as_one_path_in_the_ledger(self):
        self.check(self.cfw("invalidate", *self.cf_args(), "#t", "/a"))
        res = self.check(self.cfw("status", "--json", *self.cf_args(),
                                  self.root))
        doc = json.loads(res.out)
        self.assertEqual(doc["month_paths"], 2)
        self.assertEqual(doc["invalidations"][0]["paths"], 2)
        self.assertEqual(doc["invalidations"][0]["wildcards"], 0)

    def test_bad_tags_are_usage_errors_and_send_nothing(self):
        for item, why in (("#a,b", "holds no ','"),
                          ("#blog*", "takes no wildcard"),
                          ("#a b", "not byte 0x20"),
                          ("#" + "t" * 257, "at most 256 characters"),
                          # Issue 12: the one path rule, '~' included.
                          ("/a~b", "CloudFront refuses '~'"),
                          ("x.html", "a path starts with '/' (a cache tag "
                                     "with '#')")):
            res = self.check(self.cfw("invalidate", *self.cf_args(), item), 2)
            self.assertIn(why, res.err)
        self.assertEqual(self.cf.log(), [])


WWW = "EWWWEXAMPLE0001"


def month_start(days_before=0):
    """The current UTC month's first second, minus days_before days, as
    CloudFront writes a CreateTime."""
    now = datetime.datetime.now(datetime.timezone.utc)
    first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (first - datetime.timedelta(days=days_before)).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z")


class Account(StandInTest):
    """`status --account` and `plan --account`: the account's month over
    every distribution, as CloudFront bills it (PayingForInvalidation)."""

    def setUp(self):
        super().setUp()
        self.cf.configure(distributions=[DISTRIBUTION, WWW])
        # Last month's paths never count; this month's wildcard and tag
        # count one each.
        self.cf.seed(WWW, [{"paths": ["/old%d" % i for i in range(40)],
                            "create_time": month_start(1)},
                           {"paths": ["/x", "/y/*", "#t"] + [
                               "/p%d" % i for i in range(7)],
                            "create_time": month_start()}])
        self.check(self.cfw("invalidate", *self.cf_args(), "/a", "/b"))
        self.cf.complete_all()

    def status(self, *extra):
        return self.check(self.cfw("status", "--account", *self.cf_args(),
                                   *extra, self.root))

    def test_status_counts_the_whole_account_as_the_bill(self):
        res = self.status()
        self.assertEqual(self.cf.usage()["paths"], 12)
        self.assertIn("this month:   12 paths over 2 distributions (1,000 free "
                      "per account); estimated cost $0.00\n", res.out)
        self.assertIn("this site:    2 paths this month (its ledger)", res.out)
        doc = json.loads(self.status("--json").out)
        self.assertEqual(doc["month_paths"], 2)
        self.assertEqual(doc["month_paths_scope"], "site")
        acct = doc["account"]
        self.assertEqual((acct["month_paths"], acct["distributions"],
                          acct["complete"], acct["cost_usd"]),
                         (12, 2, True, 0.0))

    def test_second_status_reads_only_the_lists(self):
        self.status()
        seq = self.cf.log()[-1]["seq"]
        doc = json.loads(self.status("--json").out)
        self.assertEqual(self.ops(seq), ["list_distributions", "list", "list"])
        self.assertEqual(doc["account"]["from_cache"], 2)
        self.assertEqual(doc["account"]["month_paths"], 12)

    def test_spent_budget_says_the_count_is_a_lower_bound(self):
        res = self.status("--account-budget", "3")
        self.assertIn("this month:   at least ", res.out)
        self.assertIn("a lower bound: 2 invalidations and 0 distributions not "
                      "read (3 requests of a budget of 3: --account-budget)",
                      res.out)
        self.assertEqual(self.ops().count("get"), 0)

    def test_refused_account_count_is_reported_not_fatal(self):
        self.cf.inject("access_denied", op="list_distributions")
        res = self.status()
        self.assertIn("this month:   not counted: counting the account's "
                      "paths: ListDistributions: CloudFront: 403 AccessDenied",
                      res.out)
        self.cf.inject("access_denied", op="list_distributions")
        doc = json.loads(self.status("--json").out)
        self.assertIn("AccessDenied", doc["account"]["error"])

    def test_without_account_the_count_is_the_sites_only(self):
        res = self.check(self.cfw("status", *self.cf_args(), self.root))
        self.assertIn("this month:   2 paths, estimated $0.00 (the first "
                      "1,000 are free; this site's ledger only: --account "
                      "counts the account)", res.out)
        self.assertNotIn("list_distributions", self.ops())

    def test_plan_costs_from_the_accounts_count(self):
        self.cf.seed(WWW, [{"paths": ["/q%d" % i for i in range(988)],
                            "create_time": month_start()}])
        write(self.root, "a/index.html", "a")
        self.check(self.cfw("once", "--baseline", *self.cf_args(),
                            self.root))
        write(self.root, "a/index.html", "a, edited")
        res = self.check(self.cfw("plan", *self.cf_args(), self.root))
        self.assertIn("2 paths (0 wildcards), estimated $0.00", res.err)
        res = self.check(self.cfw("plan", "--account", *self.cf_args(),
                                  self.root))
        # 1,000 this month before the plan's 2: both are paid.
        self.assertEqual(self.cf.usage()["paths"], 1000)
        self.assertIn("--account: 1000 paths this month over 2 distributions",
                      res.err)
        self.assertIn("2 paths (0 wildcards), estimated $0.01", res.err)
        self.assertEqual(res.lines, ["/a/", "/a/index.html"])


class Discover(StandInTest):
    """`--discover`: the distribution's origin path and default root object
    against the site's settings (s3_website #207), read-only."""

    def use(self, **dist):
        dist.setdefault("id", DISTRIBUTION)
        self.cf.configure(distributions=[dist])

    def test_status_warns_of_a_url_prefix_that_repeats_the_origin_path(self):
        self.use(origins=[{"id": "web", "domain_name": "example.com",
                           "origin_path": "/site", "s3": False}])
        res = self.check(self.cfw("status", "--discover", "--url-prefix",
                                  "/site", *self.cf_args(), self.root))
        warning = ('url_prefix "/site" repeats the origin path "/site" of '
                   'origin web')
        self.assertIn("distribution %s: %s" % (DISTRIBUTION, warning), res.err)
        self.assertIn("warning:      " + warning, res.out)
        self.assertIn('origin:       web (example.com, origin path "/site", '
                      'custom; found by the default cache behavior)', res.out)
        doc = json.loads(self.check(self.cfw(
            "status", "--json", "--discover", "--url-prefix", "/site",
            *self.cf_args(), self.root)).out)
        disc = doc["discover"]
        self.assertEqual(disc["origin"]["origin_path"], "/site")
        self.assertEqual(len(disc["warnings"]), 1)
        self.assertIn(warning, disc["warnings"][0])
        # Read-only: nothing but GETs of the distribution's config.
        self.assertEqual(self.ops(), ["get_config", "get_config"])
        self.assertTrue(all(e["method"] == "GET" for e in self.cf.log()))

    def test_plan_finds_the_bucket_origin_and_its_key_prefix(self):
        self.use(origins=[{"id": "other", "domain_name": "example.com"},
                          {"id": "bucket", "origin_path": "/site",
                           "domain_name": "amzn-s3-demo-bucket.s3.us-east-1."
                                          "amazonaws.com"}],
                 target_origin_id="other")
        write(self.root, "index.html", "home")
        res = self.check(self.cfw(
            "plan", "--discover", *self.cf_args(), "--url-prefix", "/site",
            "--origin", "s3://amzn-s3-demo-bucket/site", "--region",
            "us-east-1", "--s3-endpoint", self.cf.endpoint, self.root))
        self.assertIn("origin bucket has the origin path \"/site\" and "
                      "url_prefix is \"/site\", so the object "
                      "s3://amzn-s3-demo-bucket/site/x is served at /x while "
                      "cfwatch invalidates /site/x: every invalidation misses "
                      "(s3_website #207). Set url_prefix to \"\"", res.err)

    def test_once_warns_of_another_root_object_and_goes_on(self):
        self.use(default_root_object="home.html")
        write(self.root, "index.html", "home")
        res = self.check(self.cfw("once", "--discover", "--baseline",
                                  *self.cf_args(), self.root))
        self.assertIn('the default root object is "home.html" but index_name '
                      'is "index.html"', res.err)
        self.assertIn("baseline", res.err)

    def test_refused_discovery_is_reported_not_fatal(self):
        self.cf.inject("access_denied", op="get_config")
        res = self.check(self.cfw("status", "--discover", *self.cf_args(),
                                  self.root))
        self.assertIn("discover:     --discover: GetDistributionConfig: "
                      "CloudFront: 403 AccessDenied", res.out)

    def test_tag_header_is_shown(self):
        self.use(cache_tag_header="x-amz-meta-cache-tag")
        res = self.check(self.cfw("status", "--discover", *self.cf_args(),
                                  self.root))
        self.assertIn("cache tags:   header x-amz-meta-cache-tag", res.out)
        self.assertIn("root object:  index.html", res.out)


if __name__ == "__main__":
    unittest.main()
