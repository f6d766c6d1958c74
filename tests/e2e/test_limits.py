# SPDX-License-Identifier: MIT
"""The planner end to end: a change set larger than CloudFront allows in
progress reaches the stand-in in batches that fit, with no limit
rejection caused by cfwatch."""
import unittest

from tests.e2e.cfw import write
from tests.e2e.test_cloudfront import StandInTest


class Limits(StandInTest):
    PAGES = 2000

    def rebuild(self, n_dirs):
        """A baseline of PAGES pages (2 URLs each), then every page
        changed; returns the URLs they need."""
        rels = ["s%02d/p%04d/index.html" % (i % n_dirs, i)
                for i in range(self.PAGES)]
        for rel in rels:
            write(self.root, rel, "v1 " + rel)
        self.check(self.once("--baseline"))
        for rel in rels:
            write(self.root, rel, "v2 " + rel)
        urls = []
        for rel in rels:
            d = "/" + rel[:-len("index.html")]
            urls += [d, d + "index.html"]
        return sorted(urls)

    def rejections(self):
        return [e for e in self.cf.log()
                if e.get("error_code") == "TooManyInvalidationsInProgress"]

    def test_4000_paths_go_in_batches_that_fit_the_3000_limit(self):
        # Replies: 201s; invalidations complete 1 s after creation.
        # Expected: exact paths only, in two batches (3,000 then 1,000),
        # the second sent once the first completed; every URL covered and
        # no TooManyInvalidationsInProgress.
        self.cf.configure(completion_delay=1)
        urls = self.rebuild(n_dirs=20)
        res = self.check(self.once("--never-wildcard", "--retry-for", "120"),
                         0)
        invs = self.cf.invalidations()
        self.assertEqual(len(invs), 2, res.err)
        self.assertEqual(sorted(len(i["paths"]) for i in invs), [1000, 3000])
        sent = sorted(p for i in invs for p in i["paths"])
        self.assertEqual(sent, urls)
        self.assertEqual(self.rejections(), [])
        self.assertEqual(self.plan(), [])

    def test_site_wide_rebuild_is_a_handful_of_wildcards(self):
        # Every page of 20 sections changed: each section's wildcard
        # evicts nothing unchanged, so the planner sends wildcards.
        urls = self.rebuild(n_dirs=20)
        self.check(self.once())
        invs = self.cf.invalidations()
        paths = [p for i in invs for p in i["paths"]]
        self.assertLessEqual(len(paths), 20, paths)
        self.assertTrue(all(p.endswith("*") for p in paths), paths)
        for url in urls:
            self.assertTrue(any(url.startswith(p[:-1]) for p in paths), url)
        self.assertEqual(self.rejections(), [])
        self.assertEqual(self.plan(), [])


if __name__ == "__main__":
    unittest.main()
