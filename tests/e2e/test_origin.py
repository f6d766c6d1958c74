# SPDX-License-Identifier: MIT
"""The S3 origin (issue 14): with `origin = s3://bucket/prefix` cfwatch
uploads exactly the changed files (checksummed, with their headers),
invalidates, then deletes removed objects, and survives a crash at any
step.  Real cfwatch processes against the stand-in's CloudFront and S3
over loopback TLS; each test says what the stand-in answers."""
import hashlib
import os
import unittest

from tests.e2e.cfw import TempTest, write
from tests.standin.standin import (ACCESS_KEY, DISTRIBUTION, SECRET_KEY,
                                   StandIn)

BUCKET = "www-example-com"
SITE = {
    "index.html": "<h1>home</h1><link href=css/site.css>",
    "css/site.css": "body { color: black }",
    "blog/a/index.html": "<p>a</p>",
    "img/logo.svg": "<svg/>",
}


class OriginTest(TempTest):
    @classmethod
    def setUpClass(cls):
        cls.cf = StandIn(config={"completion_delay": 0})

    @classmethod
    def tearDownClass(cls):
        cls.cf.stop()

    def setUp(self):
        super().setUp()
        self.cf.reset(config=True)
        self.cf.create_bucket(BUCKET, region="eu-west-1")
        self.env.update({"AWS_ACCESS_KEY_ID": ACCESS_KEY,
                         "AWS_SECRET_ACCESS_KEY": SECRET_KEY})

    def args(self, *extra):
        return ["-d", DISTRIBUTION, "--endpoint", self.cf.endpoint,
                "--ca-file", self.cf.ca_file, "--state-dir", self.state,
                "--origin", "s3://%s/site" % BUCKET, "--region", "eu-west-1",
                "--s3-endpoint", self.cf.endpoint] + list(extra)

    def once(self, *extra):
        return self.cfw("once", *self.args(*extra), self.root, env=self.env)

    def plan(self):
        return self.check(self.cfw("plan", *self.args(), self.root,
                                   env=self.env))

    def site(self):
        for rel, data in SITE.items():
            write(self.root, rel, data)

    def objects(self):
        return {o["key"]: o for o in self.cf.objects(BUCKET)}

    def s3_ops(self, since=0):
        return [e for e in self.cf.log(since) if e.get("service") == "s3"]

    def test_all_on_a_first_run_uploads_everything_then_invalidates(self):
        # Replies: 200 to every PUT, 201 to the invalidation.
        self.site()
        res = self.check(self.once("--all"))
        objs = self.objects()
        self.assertEqual(sorted(objs), sorted("site/" + k for k in SITE))
        for rel, data in SITE.items():
            o = objs["site/" + rel]
            self.assertEqual(o["sha256"], hashlib.sha256(data.encode())
                             .hexdigest())
            self.assertTrue(o["checksum"], o)  # x-amz-checksum-sha256 kept
        self.assertTrue(objs["site/index.html"]["headers"]["content-type"]
                        .startswith("text/html; charset=utf-8"))
        self.assertEqual(objs["site/css/site.css"]["headers"]["content-type"],
                         "text/css; charset=utf-8")
        self.assertEqual(len(self.cf.invalidations()), 1, res.err)

    def test_one_edit_uploads_one_file_then_deletes_after_the_201(self):
        # Replies: 200, 201, then DeleteObjects 200.  Expected order:
        # upload, invalidation, deletion; nothing else touched.
        self.site()
        self.check(self.once("--all"))
        since = self.cf.log()[-1]["seq"]
        write(self.root, "blog/a/index.html", "<p>a, edited</p>")
        os.unlink(os.path.join(self.root, "img/logo.svg"))
        self.check(self.once())
        log = self.cf.log(since)
        ops = [(e.get("service"), e["operation"]) for e in log
               if e["operation"] not in ("list", "get")]
        self.assertEqual(ops, [("s3", "s3:put"), ("cloudfront", "create"),
                               ("s3", "s3:delete")], log)
        objs = self.objects()
        self.assertNotIn("site/img/logo.svg", objs)
        self.assertEqual(objs["site/blog/a/index.html"]["sha256"],
                         hashlib.sha256(b"<p>a, edited</p>").hexdigest())
        inv = self.cf.invalidations()[-1]
        self.assertEqual(sorted(inv["paths"]),
                         ["/blog/a/", "/blog/a/index.html", "/img/logo.svg"])
        self.assertEqual(self.plan().lines, [])

    def test_same_bytes_cost_nothing_at_the_origin(self):
        self.site()
        self.check(self.once("--all"))
        since = self.cf.log()[-1]["seq"]
        for rel, data in SITE.items():
            write(self.root, rel, data)  # a rebuild: same bytes, new mtime
        self.check(self.once())
        self.assertEqual(self.s3_ops(since), [])
        self.assertEqual(len(self.cf.invalidations()), 1)

    def test_assets_go_before_html(self):
        self.site()
        self.check(self.once("--all"))
        since = self.cf.log()[-1]["seq"]
        write(self.root, "index.html", "<h1>home 2</h1>")
        write(self.root, "css/site.css", "body { color: red }")
        write(self.root, "img/new.png", "PNG")
        self.check(self.once())
        puts = [e["path"] for e in self.s3_ops(since)
                if e["operation"] == "s3:put"]
        self.assertEqual(len(puts), 3, puts)
        self.assertTrue(puts[-1].endswith("/site/index.html"), puts)

    def test_plan_lists_uploads_and_deletions(self):
        self.site()
        self.check(self.once("--all"))
        write(self.root, "css/site.css", "body{}")
        os.unlink(os.path.join(self.root, "img/logo.svg"))
        res = self.plan()
        self.assertEqual(res.lines, ["/css/site.css", "/img/logo.svg"])
        self.assertIn("upload css/site.css (text/css; charset=utf-8", res.err)
        self.assertIn("delete img/logo.svg", res.err)


if __name__ == "__main__":
    unittest.main()
