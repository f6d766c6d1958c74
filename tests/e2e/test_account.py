# SPDX-License-Identifier: MIT
"""CloudFront beyond one site's invalidations, against the stand-in over
loopback TLS: cache tags in `invalidate`, the account's monthly path
count (`status --account`, `plan --account`) and the distribution's own
settings (`--discover`).

Every test states the stand-in's distributions and invalidations and the
exact requests and counts expected.  One stand-in serves a whole class;
setUp resets it."""
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
                          ("x.html", "a path starts with '/' (a cache tag "
                                     "with '#')")):
            res = self.check(self.cfw("invalidate", *self.cf_args(), item), 2)
            self.assertIn(why, res.err)
        self.assertEqual(self.cf.log(), [])


if __name__ == "__main__":
    unittest.main()
