# SPDX-License-Identifier: MIT
"""Cache tags on an S3 origin (issue 16): with cache_tag_header each
uploaded object carries a tag of its own key as S3 metadata, and a
changed or deleted file whose copies at the edges all carry it goes as
one '#tag' item, once the distribution's CacheTagConfig names that
header.  Real cfwatch processes against the stand-in's CloudFront and S3
over loopback TLS; each test says what the stand-in answers."""
import base64
import hashlib
import os
import signal
import unittest

from tests.e2e.cfw import BucketTest, write
from tests.e2e.daemon import Daemon
from tests.standin.standin import DISTRIBUTION

BUCKET = "www-example-com"
HEADER = "x-amz-meta-cache-tag"
SITE = {
    "index.html": "<h1>home</h1>",
    "css/site.css": "body { color: black }",
    "blog/a/index.html": "<p>a</p>",
}


def tag(key):
    """cachetag.h: "cfw-" and base32 of SHA-256's first 10 bytes."""
    digest = hashlib.sha256(key.encode()).digest()[:10]
    return "cfw-" + base64.b32encode(digest).decode().lower()


class CacheTagTest(BucketTest):
    BUCKET = BUCKET

    def setUp(self):
        super().setUp()
        self.use(cache_tag_header=HEADER)

    def use(self, **dist):
        dist.setdefault("id", DISTRIBUTION)
        self.cf.configure(distributions=[dist])

    def args(self, *extra, header=HEADER):
        a = ["-d", DISTRIBUTION, "--endpoint", self.cf.endpoint,
             "--ca-file", self.cf.ca_file, "--state-dir", self.state,
             "--origin", "s3://%s/site" % BUCKET, "--region", "eu-west-1",
             "--s3-endpoint", self.cf.endpoint]
        if header:
            a += ["--cache-tag-header", header]
        return a + list(extra)

    def once(self, *extra, header=HEADER, status=0):
        return self.check(self.cfw("once", *self.args(*extra, header=header),
                                   self.root, env=self.env), status)

    def site(self):
        for rel, data in SITE.items():
            write(self.root, rel, data)

    def last_paths(self):
        return sorted(self.cf.invalidations()[-1]["paths"])


class Tagging(CacheTagTest):
    def test_uploads_carry_their_tag_as_metadata(self):
        # Replies: 200 to each PUT, 201 to the invalidation.
        self.site()
        self.once("--all")
        objs = {o["key"]: o for o in self.cf.objects(BUCKET)}
        for rel in SITE:
            key = "site/" + rel
            self.assertEqual(objs[key]["metadata"], {HEADER: tag(key)}, key)

    def test_first_upload_by_path_then_the_next_change_by_tag(self):
        # The edges may hold untagged copies from before the first
        # tagged upload: paths.  Then one '#tag' item per change.
        self.site()
        self.once("--all")
        self.assertEqual(self.last_paths(), [
            "/", "/blog/a/", "/blog/a/index.html", "/css/site.css",
            "/index.html"])
        write(self.root, "blog/a/index.html", "<p>a, edited</p>")
        res = self.once()
        self.assertEqual(self.last_paths(),
                         ["#" + tag("site/blog/a/index.html")])
        self.assertIn("1 file by tag, 0 by path; 1 path saved", res.err)

    def test_new_file_goes_by_path_deleted_one_by_tag(self):
        # A new file may be cached as an error page, which carries no tag.
        self.site()
        self.once("--all")
        write(self.root, "new.html", "<p>new</p>")
        os.unlink(os.path.join(self.root, "css/site.css"))
        self.once()
        self.assertEqual(self.last_paths(),
                         ["#" + tag("site/css/site.css"), "/new.html"])
        write(self.root, "new.html", "<p>new, edited</p>")
        self.once()
        self.assertEqual(self.last_paths(), ["#" + tag("site/new.html")])

    def test_rebuild_with_the_same_bytes_keeps_the_tags(self):
        # A generator rewrites every file: same bytes, new stat (TOUCHED).
        self.site()
        self.once("--all")
        self.site()
        self.once()
        write(self.root, "css/site.css", "body { color: red }")
        self.once()
        self.assertEqual(self.last_paths(), ["#" + tag("site/css/site.css")])

    def test_state_from_before_the_header_goes_by_path_once(self):
        # Objects uploaded without the tag: their first tagged upload is
        # invalidated by path, the next by tag.
        self.site()
        self.once("--all", header=None)
        write(self.root, "index.html", "<h1>home 2</h1>")
        self.once()
        self.assertEqual(self.last_paths(), ["/", "/index.html"])
        write(self.root, "index.html", "<h1>home 3</h1>")
        self.once()
        self.assertEqual(self.last_paths(), ["#" + tag("site/index.html")])

    def test_dropping_the_header_goes_back_to_paths(self):
        self.site()
        self.once("--all")
        write(self.root, "index.html", "<h1>home 2</h1>")
        self.once(header=None)
        self.assertEqual(self.last_paths(), ["/", "/index.html"])
        obj = [o for o in self.cf.objects(BUCKET)
               if o["key"] == "site/index.html"][0]
        self.assertEqual(obj["metadata"], {})
        write(self.root, "index.html", "<h1>home 3</h1>")
        self.once()  # uploaded without the tag last time: by path
        self.assertEqual(self.last_paths(), ["/", "/index.html"])

    def test_plan_counts_files_by_tag(self):
        self.site()
        self.once("--all")
        write(self.root, "blog/a/index.html", "<p>a, edited</p>")
        write(self.root, "b.html", "<p>b</p>")
        res = self.check(self.cfw("plan", *self.args(), self.root,
                                  env=self.env))
        self.assertEqual(sorted(res.lines),
                         ["#" + tag("site/blog/a/index.html"), "/b.html"])
        self.assertIn("1 file by tag, 1 by path; 1 path saved", res.err)


class Watching(CacheTagTest):
    def test_daemon_checks_once_and_sends_tags(self):
        # Replies: GetDistributionConfig with CacheTagConfig (read once at
        # start), 200 to each PUT, 201 to each invalidation.
        self.site()
        self.once("--all")
        since = self.cf.log()[-1]["seq"]
        d = Daemon(self.tmp, "--quiet-ms", "100", *self.args(), self.root,
                   env=self.env)
        try:
            d.wait_for("watching", timeout=30)
            write(self.root, "index.html", "<h1>home 2</h1>")
            d.wait_until(lambda: len(self.cf.invalidations()) == 2,
                         "the first edit sent", timeout=20)
            write(self.root, "css/site.css", "body { color: red }")
            d.wait_until(lambda: len(self.cf.invalidations()) == 3,
                         "the second edit sent", timeout=20)
        finally:
            self.assertEqual(d.stop(), 0)
        invs = self.cf.invalidations()
        self.assertEqual(sorted(invs[1]["paths"]),
                         ["#" + tag("site/index.html")])
        self.assertEqual(sorted(invs[2]["paths"]),
                         ["#" + tag("site/css/site.css")])
        reads = [e for e in self.cf.log(since)
                 if e["operation"] == "get_config"]
        self.assertEqual(len(reads), 1, reads)


    def test_sighup_reads_the_cache_tag_config_again(self):
        # Replies: no CacheTagConfig at start (a warning, paths), one
        # naming the header after the reload (a tag).
        self.use()
        self.site()
        self.once("--all")
        self.edited_by_daemon_then_reloaded()

    def edited_by_daemon_then_reloaded(self):
        d = Daemon(self.tmp, "--quiet-ms", "100", *self.args(), self.root,
                   env=self.env)
        try:
            d.wait_for("watching", timeout=30)
            write(self.root, "index.html", "<h1>home 2</h1>")
            d.wait_until(lambda: len(self.cf.invalidations()) == 2,
                         "the first edit sent", timeout=20)
            d.wait_for("no CacheTagConfig")
            self.use(cache_tag_header=HEADER)
            d.send(signal.SIGHUP)
            d.wait_for("configuration reloaded")
            d.wait_for("watching", count=2, timeout=30)
            write(self.root, "index.html", "<h1>home 3</h1>")
            d.wait_until(lambda: len(self.cf.invalidations()) == 3,
                         "the second edit sent", timeout=20)
        finally:
            self.assertEqual(d.stop(), 0)
        invs = self.cf.invalidations()
        self.assertEqual(sorted(invs[1]["paths"]), ["/", "/index.html"])
        self.assertEqual(sorted(invs[2]["paths"]),
                         ["#" + tag("site/index.html")])


class Fallback(CacheTagTest):
    def edited(self):
        self.site()
        self.once("--all")
        write(self.root, "index.html", "<h1>home 2</h1>")

    def test_distribution_without_cache_tag_config_goes_by_path(self):
        self.use()  # GetDistributionConfig: no CacheTagConfig
        self.edited()
        res = self.once()
        self.assertEqual(self.last_paths(), ["/", "/index.html"])
        self.assertIn("no CacheTagConfig", res.err)
        self.assertEqual(res.err.count("not by cache tag"), 1, res.err)
        obj = [o for o in self.cf.objects(BUCKET)
               if o["key"] == "site/index.html"][0]
        self.assertEqual(obj["metadata"], {HEADER: tag("site/index.html")})

    def test_another_header_goes_by_path(self):
        self.use(cache_tag_header="x-amz-meta-other")
        self.edited()
        res = self.once()
        self.assertEqual(self.last_paths(), ["/", "/index.html"])
        self.assertIn("names x-amz-meta-other, not cache_tag_header " + HEADER,
                      res.err)

    def test_header_name_case_does_not_matter(self):
        self.use(cache_tag_header="X-Amz-Meta-Cache-Tag")
        self.edited()
        self.once()
        self.assertEqual(self.last_paths(), ["#" + tag("site/index.html")])

    def test_refused_get_distribution_config_goes_by_path(self):
        self.edited()
        self.cf.inject("access_denied", op="get_config")
        res = self.once()
        self.assertEqual(self.last_paths(), ["/", "/index.html"])
        self.assertIn("cloudfront:GetDistributionConfig", res.err)


class TwoDistributions(CacheTagTest):
    """One plan goes to every distribution: by tag only if each one's
    CacheTagConfig names the header, since a tag one of them does not
    store drops nothing there."""
    WWW = "EWWWEXAMPLE0001"

    def two(self, www):
        www["id"] = self.WWW
        self.cf.configure(distributions=[
            {"id": DISTRIBUTION, "cache_tag_header": HEADER}, www])

    def edited_on_both(self):
        self.site()
        self.once("--all", "-d", self.WWW)
        write(self.root, "index.html", "<h1>home 2</h1>")
        return self.once("-d", self.WWW)

    def paths_at(self, dist):
        return sorted(self.cf.invalidations(distribution=dist)[-1]["paths"])

    def test_both_naming_the_header_go_by_tag(self):
        self.two({"cache_tag_header": HEADER})
        self.edited_on_both()
        for dist in (DISTRIBUTION, self.WWW):
            self.assertEqual(self.paths_at(dist),
                             ["#" + tag("site/index.html")], dist)

    def test_one_without_cache_tag_config_sends_both_paths(self):
        self.two({})
        res = self.edited_on_both()
        for dist in (DISTRIBUTION, self.WWW):
            self.assertEqual(self.paths_at(dist), ["/", "/index.html"], dist)
        self.assertIn("distribution %s: no CacheTagConfig" % self.WWW,
                      res.err)


class Config(CacheTagTest):
    def test_header_without_origin_is_a_config_error(self):
        res = self.cfw("plan", "--cache-tag-header", HEADER, self.root,
                       env=self.env)
        self.assertEqual(res.status, 2, res)
        self.assertIn("cache_tag_header without an S3 origin", res.err)

    def test_header_must_be_amz_meta(self):
        res = self.cfw("plan", *self.args(header="cache-tag"), self.root,
                       env=self.env)
        self.assertEqual(res.status, 2, res)
        self.assertIn("x-amz-meta-NAME", res.err)


if __name__ == "__main__":
    unittest.main()
