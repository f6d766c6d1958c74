# SPDX-License-Identifier: MIT
"""Self-tests for the stand-in's account side, driven by a real botocore
client: cache tags in invalidation batches, the distributions
(ListDistributions, GetDistributionConfig) and the account's monthly
usage.  test_standin.py covers the invalidation API itself.

    python3 -m unittest -v tests.standin.test_standin_account
"""

import unittest

from tests.standin.standin import DISTRIBUTION
from tests.standin.test_standin import StandInTestCase


class TestCacheTags(StandInTestCase):
    """Developer Guide, invalidation-specifying-tags.html."""

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


if __name__ == "__main__":
    unittest.main()
