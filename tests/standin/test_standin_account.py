# SPDX-License-Identifier: MIT
"""Self-tests for the stand-in's account side, driven by a real botocore
client: cache tags in invalidation batches, the distributions
(ListDistributions, GetDistributionConfig) and the account's monthly
usage.  test_standin.py covers the invalidation API itself.

    python3 -m unittest -v tests.standin.test_standin_account
"""

import datetime
import unittest

from tests.standin.standin import DISTRIBUTION
from tests.standin.test_standin import StandInTestCase

TAGGED = {"id": DISTRIBUTION, "cache_tag_header": "x-amz-meta-cache-tag"}
WWW = {"id": "EWWWEXAMPLE0001", "default_root_object": "",
       "origins": [{"id": "web", "domain_name": "example.com",
                    "origin_path": "/site", "s3": False},
                   {"id": "media", "domain_name":
                    "media.s3.eu-west-1.amazonaws.com"}],
       "target_origin_id": "web"}


class TestCacheTags(StandInTestCase):
    """Developer Guide, invalidation-specifying-tags.html."""

    def setUp(self):
        super().setUp()
        self.cf.configure(distributions=[TAGGED])

    def test_tag_item_is_accepted_beside_paths(self):
        r = self.create(["#product:electronics", "/a"], "tags-1")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 201)
        inv = self.cf.invalidations()[0]
        self.assertEqual(inv["paths"], ["#product:electronics", "/a"])
        self.assertEqual((inv["file_paths"], inv["wildcard_paths"],
                          inv["tag_paths"]), (2, 0, 1))
        self.assertEqual(inv["warnings"], [])

    def test_every_visible_ascii_but_comma_and_star_is_a_tag(self):
        tag = "#" + "".join(chr(c) for c in range(33, 127) if chr(c) not in ",*")
        self.create([tag], "tags-2")
        self.assertEqual(self.cf.invalidations()[0]["paths"], [tag])

    def test_bad_tags_are_refused(self):
        bad = {"#a,b": "','", "#a*": "wildcard", "#": "names no tag",
               "#a b": "outside ASCII", "#" + "t" * 257: "longer than 256"}
        for i, (item, why) in enumerate(bad.items()):
            with self.assertRaises(Exception) as ctx:
                self.create([item], "bad-tag-%d" % i)
            self.assertCode(ctx, "InvalidArgument", 400)
            self.assertIn(why, self.cf.log()[-1]["detail"])
        self.assertEqual(self.cf.invalidations(), [])

    def test_longest_tag_has_256_characters(self):
        self.create(["#" + "t" * 256], "tags-3")
        self.assertEqual(len(self.cf.invalidations()), 1)

    def test_tags_count_with_the_file_paths_in_progress(self):
        self.cf.configure(max_file_paths_in_progress=2, completion_delay=None)
        self.create(["#a", "/b"], "tags-4")
        with self.assertRaises(Exception) as ctx:
            self.create(["#c"], "tags-5")
        self.assertCode(ctx, "TooManyInvalidationsInProgress", 400)
        self.create(["/d*"], "tags-6")       # wildcards are counted apart
        self.assertEqual(len(self.cf.invalidations(DISTRIBUTION)), 2)

    def test_tag_on_a_distribution_without_cache_tag_config_warns(self):
        self.cf.configure(distributions=[DISTRIBUTION])
        self.create(["#a", "/b"], "tags-7")
        warnings = self.cf.invalidations()[0]["warnings"]
        self.assertEqual(len(warnings), 1, warnings)
        self.assertIn("'#a': the distribution has no CacheTagConfig", warnings[0])


class TestDistributions(StandInTestCase):
    """ListDistributions and GetDistributionConfig, as botocore reads them."""

    def setUp(self):
        super().setUp()
        self.cf.configure(distributions=[DISTRIBUTION, WWW, "E3THIRDEXAMPLE"])

    def test_list_pages_by_marker_in_config_order(self):
        p1 = self.c.list_distributions(MaxItems="2")["DistributionList"]
        self.assertEqual([d["Id"] for d in p1["Items"]], [DISTRIBUTION, WWW["id"]])
        self.assertTrue(p1["IsTruncated"])
        self.assertEqual(p1["NextMarker"], WWW["id"])
        p2 = self.c.list_distributions(Marker=p1["NextMarker"],
                                       MaxItems="2")["DistributionList"]
        self.assertEqual([d["Id"] for d in p2["Items"]], ["E3THIRDEXAMPLE"])
        self.assertFalse(p2["IsTruncated"])
        self.assertNotIn("NextMarker", p2)
        summary = p1["Items"][1]
        self.assertEqual(summary["Origins"]["Items"][0]["OriginPath"], "/site")
        self.assertEqual(summary["DefaultCacheBehavior"]["TargetOriginId"], "web")

    def test_list_refuses_max_items_over_100(self):
        with self.assertRaises(Exception) as ctx:
            self.c.list_distributions(MaxItems="101")
        self.assertCode(ctx, "InvalidArgument", 400)

    def test_config_holds_origins_root_object_and_target(self):
        r = self.c.get_distribution_config(Id=WWW["id"])
        self.assertEqual(r["ETag"], "E2QWRUHAEXAMPLE")
        cfg = r["DistributionConfig"]
        self.assertEqual(cfg["DefaultRootObject"], "")
        self.assertEqual(cfg["DefaultCacheBehavior"]["TargetOriginId"], "web")
        web, media = cfg["Origins"]["Items"]
        self.assertEqual((web["DomainName"], web["OriginPath"]), ("example.com", "/site"))
        self.assertIn("CustomOriginConfig", web)
        self.assertIn("S3OriginConfig", media)
        self.assertEqual(media["OriginPath"], "")

    def test_default_distribution_serves_the_default_bucket(self):
        cfg = self.c.get_distribution_config(Id=DISTRIBUTION)["DistributionConfig"]
        self.assertEqual(cfg["DefaultRootObject"], "index.html")
        origin = cfg["Origins"]["Items"][0]
        self.assertEqual(origin["DomainName"],
                         "amzn-s3-demo-bucket.s3.us-east-1.amazonaws.com")
        self.assertNotIn("CacheTagConfig", cfg)

    def test_cache_tag_config_is_in_the_config(self):
        self.cf.configure(distributions=[TAGGED])
        cfg = self.c.get_distribution_config(Id=DISTRIBUTION)["DistributionConfig"]
        if "CacheTagConfig" in cfg:      # older botocore models skip it
            self.assertEqual(cfg["CacheTagConfig"]["HeaderName"],
                             "x-amz-meta-cache-tag")
        status, _, body = self.raw("GET", "/2020-05-31/distribution/%s/config"
                                   % DISTRIBUTION)
        self.assertEqual(status, 200)
        self.assertIn(b"<CacheTagConfig><HeaderName>x-amz-meta-cache-tag"
                      b"</HeaderName></CacheTagConfig>", body)

    def test_unknown_distribution_config_is_404(self):
        with self.assertRaises(Exception) as ctx:
            self.c.get_distribution_config(Id="ENOSUCHEXAMPLE")
        self.assertCode(ctx, "NoSuchDistribution", 404)

    def test_bad_distribution_configs_are_refused(self):
        for bad in ([{"id": "lower"}], [{"id": "EX", "target_origin_id": "none"}],
                    [{"id": "EX", "origins": [{"domain_name": "a",
                                               "origin_path": "x/"}]}],
                    ["EDUP", "EDUP"]):
            with self.assertRaises(Exception):
                self.cf.configure(distributions=bad)


class TestUsage(StandInTestCase):
    """The account's monthly paths: every item counts one path."""

    def test_usage_counts_this_months_items_over_all_distributions(self):
        self.cf.configure(distributions=[DISTRIBUTION, WWW], completion_delay=0)
        now = datetime.datetime.now(datetime.timezone.utc)
        this_month = now.strftime("%Y-%m-01T00:00:00.000Z")
        ids = self.cf.seed(WWW["id"], [
            {"paths": ["/old"], "create_time": "2001-01-31T23:59:59.999Z"},
            {"paths": ["/x", "/y*", "#t"], "create_time": this_month}])
        self.create(["/a", "/b"], "usage-1")
        self.create(["/a", "/b"], "usage-1")        # a replay costs nothing
        u = self.cf.usage()
        self.assertEqual((u["paths"], u["invalidations"]), (5, 2))
        self.assertEqual(u["by_distribution"], {DISTRIBUTION: 2, WWW["id"]: 3})
        self.assertEqual(self.cf.usage("2001-01")["paths"], 1)
        listed = self.c.list_invalidations(DistributionId=WWW["id"])
        self.assertEqual([i["Id"] for i in listed["InvalidationList"]["Items"]],
                         ids[::-1])           # newest first
        got = self.c.get_invalidation(DistributionId=WWW["id"], Id=ids[0])
        self.assertEqual(got["Invalidation"]["Status"], "Completed")
        self.assertEqual(got["Invalidation"]["CreateTime"].year, 2001)


if __name__ == "__main__":
    unittest.main()
