# SPDX-License-Identifier: MIT
"""The S3 origin (issue 14): with `origin = s3://bucket/prefix` cfwatch
uploads exactly the changed files (checksummed, with their headers),
invalidates, then deletes removed objects, and survives a crash at any
step.  Real cfwatch processes against the stand-in's CloudFront and S3
over loopback TLS; each test says what the stand-in answers."""
import datetime
import hashlib
import json
import os
import shutil
import unittest

from tests.e2e.cfw import BucketTest, write
from tests.e2e.daemon import Daemon
from tests.standin.standin import DISTRIBUTION

BUCKET = "www-example-com"
SITE = {
    "index.html": "<h1>home</h1><link href=css/site.css>",
    "css/site.css": "body { color: black }",
    "blog/a/index.html": "<p>a</p>",
    "img/logo.svg": "<svg/>",
}


class OriginTest(BucketTest):
    BUCKET = BUCKET

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


class Sync(OriginTest):
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

    def test_header_rules_of_the_config_reach_the_objects(self):
        # Replies: 200 to every PUT.  The first [headers] rule that
        # matches a file gives all its headers; the rest get only their
        # Content-Type.
        conf = os.path.join(self.tmp, "headers.ini")
        with open(conf, "w") as f:
            f.write("[cfwatch]\n"
                    "[headers css/]\n"
                    "cache_control = public, max-age=31536000, immutable\n"
                    "[headers *.html]\n"
                    "cache_control = max-age=300\n"
                    "x-amz-meta-owner = web\n"
                    "[headers *.gz]\n"
                    "content_encoding = gzip\n"
                    "[headers index.html]\n"
                    "cache_control = never-used\n")
        self.site()
        write(self.root, "app.js.gz", "GZ")
        self.check(self.once("--all", "-c", conf))
        objs = self.objects()

        def hdr(rel, name):
            return objs["site/" + rel]["headers"].get(name)

        self.assertEqual(hdr("css/site.css", "cache-control"),
                         "public, max-age=31536000, immutable")
        self.assertEqual(hdr("index.html", "cache-control"), "max-age=300")
        self.assertEqual(objs["site/index.html"]["metadata"],
                         {"x-amz-meta-owner": "web"})
        self.assertEqual(hdr("app.js.gz", "content-encoding"), "gzip")
        self.assertIn("javascript", hdr("app.js.gz", "content-type"))
        self.assertIsNone(hdr("img/logo.svg", "cache-control"))
        self.assertEqual(hdr("img/logo.svg", "content-type"), "image/svg+xml")

    def test_same_bytes_cost_nothing_at_the_origin(self):
        self.site()
        self.check(self.once("--all"))
        since = self.cf.log()[-1]["seq"]
        for rel, data in SITE.items():
            write(self.root, rel, data)  # a rebuild: same bytes, new mtime
        self.check(self.once())
        self.assertEqual(self.s3_ops(since), [])
        self.assertEqual(len(self.cf.invalidations()), 1)

    def test_an_exclude_added_later_deletes_no_object(self):
        # Replies: 200 to every PUT, 201.  Then `exclude = img/` (another
        # tool takes img/ over): excluded keys are never touched, so the
        # file still on disk keeps its object and costs no path; lifting
        # the exclude again sends nothing, the bytes being the same.
        self.site()
        self.check(self.once("--all"))
        since = self.cf.log()[-1]["seq"]
        self.check(self.once("--exclude", "img/"))
        self.assertIn("site/img/logo.svg", self.objects())
        self.check(self.once())
        self.assertEqual(self.s3_ops(since), [])
        self.assertEqual(len(self.cf.invalidations()), 1)
        self.assertEqual(self.plan().lines, [])

    def test_no_page_upload_starts_before_the_assets_are_stored(self):
        # Replies: every PUT 200 after 0.5 s.  blog/a/index.html sorts
        # before the assets and all four fit in flight at once (4), so
        # only the asset phase keeps the pages waiting: each page's PUT
        # must arrive after every asset's PUT was answered.
        self.site()
        self.check(self.once("--all"))
        since = self.cf.log()[-1]["seq"]
        write(self.root, "blog/a/index.html", "<p>a 2</p>")
        write(self.root, "index.html", "<h1>home 2</h1>")
        write(self.root, "css/site.css", "body { color: red }")
        write(self.root, "img/new.png", "PNG")
        self.cf.inject({"fault": "delay", "seconds": 0.5, "count": 4},
                       op="s3:put")
        self.check(self.once())
        puts = [e for e in self.s3_ops(since) if e["operation"] == "s3:put"]
        self.assertEqual(len(puts), 4, puts)

        def arrived(e):
            return datetime.datetime.strptime(e["time"],
                                              "%Y-%m-%dT%H:%M:%S.%fZ")

        pages = [arrived(e) for e in puts if e["key"].endswith(".html")]
        assets = [arrived(e) for e in puts if not e["key"].endswith(".html")]
        self.assertEqual((len(pages), len(assets)), (2, 2), puts)
        gap = (min(pages) - max(assets)).total_seconds()
        self.assertGreaterEqual(gap, 0.45, [(e["key"], e["time"])
                                            for e in puts])

    def test_plan_lists_uploads_and_deletions(self):
        self.site()
        self.check(self.once("--all"))
        write(self.root, "css/site.css", "body{}")
        os.unlink(os.path.join(self.root, "img/logo.svg"))
        res = self.plan()
        self.assertEqual(res.lines, ["/css/site.css", "/img/logo.svg"])
        self.assertIn("upload css/site.css (text/css; charset=utf-8", res.err)
        self.assertIn("delete img/logo.svg", res.err)

    def test_a_dry_run_leaves_its_changes_to_the_next_run(self):
        # Replies: nothing to the dry run; then PUT 200, 201 and
        # DeleteObjects.  A dry run uploads nothing, so what it lists
        # must stay pending: recorded as told, the bucket would keep the
        # old bytes and the deleted object for good.
        self.site()
        self.check(self.once("--all"))
        since = self.cf.log()[-1]["seq"]
        write(self.root, "css/site.css", "body{}")
        os.unlink(os.path.join(self.root, "img/logo.svg"))
        res = self.check(self.once("--dry-run"))
        self.assertIn("upload css/site.css", res.err)
        self.assertIn("delete img/logo.svg", res.err)
        self.assertEqual(self.cf.log(since), [])
        self.assertEqual(self.plan().lines, ["/css/site.css", "/img/logo.svg"])
        self.check(self.once())
        objs = self.objects()
        self.assertEqual(objs["site/css/site.css"]["sha256"],
                         hashlib.sha256(b"body{}").hexdigest())
        self.assertNotIn("site/img/logo.svg", objs)
        self.assertEqual(sorted(self.cf.invalidations()[-1]["paths"]),
                         ["/css/site.css", "/img/logo.svg"])
        self.assertEqual(self.plan().lines, [])


class Crashes(OriginTest):
    """A kill in each window of the deploy loses nothing and does nothing
    twice (issue 14, "crash safety")."""

    def edited(self):
        self.site()
        self.check(self.once("--all"))
        write(self.root, "blog/a/index.html", "<p>a, edited</p>")
        os.unlink(os.path.join(self.root, "img/logo.svg"))
        return ["/blog/a/", "/blog/a/index.html", "/img/logo.svg"]

    def run_and_kill(self, pattern):
        """once -v -v, SIGKILLed when a log line matches pattern."""
        d = Daemon(self.tmp, "once", "-v", "-v", *self.args(), self.root,
                   env=self.env)
        d.wait_for(pattern, timeout=30)
        d.kill()
        return d

    def test_kill_after_the_upload_invalidates_without_uploading_again(self):
        # Replies: the PUT 200; the invalidation hangs and the process is
        # killed.  Then: 201 and DeleteObjects, no PUT.
        paths = self.edited()
        self.cf.inject({"fault": "hang", "seconds": 20}, op="create")
        self.run_and_kill(r"> POST /2020-05-31/distribution/\S+/invalidation")
        self.assertEqual(self.objects()["site/blog/a/index.html"]["sha256"],
                         hashlib.sha256(b"<p>a, edited</p>").hexdigest())
        self.cf.clear_faults()
        since = self.cf.log()[-1]["seq"]
        self.check(self.once())
        ops = [e["operation"] for e in self.cf.log(since)
               if e["operation"] not in ("list", "get")]
        self.assertEqual(ops, ["create", "s3:delete"])
        self.assertEqual(sorted(self.cf.invalidations()[-1]["paths"]), paths)
        self.assertNotIn("site/img/logo.svg", self.objects())
        self.assertEqual(self.plan().lines, [])

    def test_kill_mid_delete_deletes_again_and_sends_nothing_twice(self):
        # Replies: PUT 200, 201, then DeleteObjects hangs and the process
        # is killed.  Then: the same invalidation replayed, the deletion.
        self.edited()
        self.cf.inject({"fault": "hang", "seconds": 20}, op="s3:delete")
        self.run_and_kill(r"> POST /\S+\?delete")
        self.assertIn("site/img/logo.svg", self.objects())
        n = len(self.cf.invalidations())
        self.cf.clear_faults()
        self.check(self.once())
        self.assertEqual(len(self.cf.invalidations()), n)  # a replay
        self.assertNotIn("site/img/logo.svg", self.objects())
        self.assertEqual(self.plan().lines, [])


class Overlap(OriginTest):
    """Two recorded batches that name the same file (the chaos test's
    origin mode, seed 10): the older one removed it, the newer one
    brought it back."""

    def test_older_batch_deleting_a_file_spares_the_newer_upload(self):
        # Replies: the first run's invalidation 403 AccessDenied, so its
        # batch (removing img/logo.svg) stays recorded; the file comes
        # back.  The next run sends that batch (201, DeleteObjects) and
        # a newer one adding the file (PUT, 201): the bucket must end
        # with the file, since the tree and the manifest have it.
        self.site()
        self.check(self.once("--all"))
        os.unlink(os.path.join(self.root, "img/logo.svg"))
        self.cf.inject("access_denied", op="create")
        self.assertEqual(self.once().status, 4)
        write(self.root, "img/logo.svg", "<svg>2</svg>")
        self.check(self.once())
        self.assertEqual(self.plan().lines, [])
        objs = self.objects()
        self.assertIn("site/img/logo.svg", objs)
        self.assertEqual(objs["site/img/logo.svg"]["sha256"],
                         hashlib.sha256(b"<svg>2</svg>").hexdigest())


class StaleUpload(OriginTest):
    """An upload S3 refuses as changed since the scan, in a batch an
    earlier run recorded, while the file now hashes as recorded (the
    chaos test's origin mode, seed 16: a scan read a file rewritten
    under it, so its intent holds the new bytes' hash with the old
    size).  The same pass's diff finds the file TOUCHED against that
    intent; recording that must not undo the commit's TREE_STALE."""

    MISMATCH = {"fault": "error", "status": 400,
                "code": "XAmzContentSHA256Mismatch",
                "message": "The provided 'x-amz-content-sha256' header "
                "does not match what was computed."}
    SHA = hashlib.sha256(b"body{}").hexdigest()

    def recorded_then_touched(self):
        """A batch recorded, its PUT refused (403); then the file is
        rewritten with the same bytes; the next PUT answers 400
        XAmzContentSHA256Mismatch (as for a file rewritten between the
        hash and the send)."""
        self.site()
        self.check(self.once("--all"))
        write(self.root, "css/site.css", "body{}")
        self.cf.inject("access_denied", op="s3:put")
        self.assertEqual(self.once().status, 4)
        path = write(self.root, "css/site.css", "body{}")  # same bytes
        st = os.stat(path)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
        self.cf.inject(self.MISMATCH, op="s3:put")

    def test_refused_upload_stays_pending_after_a_same_bytes_rewrite(self):
        # Replies: the recorded batch's PUT 400 (refused as changed),
        # its invalidation 201.  The file must stay pending, and the
        # next run must upload it.
        self.recorded_then_touched()
        res = self.check(self.once())
        self.assertIn("changed since it was hashed", res.err)
        self.assertNotEqual(self.objects()["site/css/site.css"]["sha256"],
                            self.SHA)
        self.assertEqual(self.plan().lines, ["/css/site.css"])
        self.check(self.once())
        self.assertEqual(self.objects()["site/css/site.css"]["sha256"],
                         self.SHA)
        self.assertEqual(self.plan().lines, [])

    def test_daemon_sends_a_refused_upload_again_by_itself(self):
        # Replies as above; then 200s.  No file changes after the
        # daemon starts: it must pass again by itself.
        self.recorded_then_touched()
        n0 = len(self.cf.invalidations())
        d = Daemon(self.tmp, "--quiet-ms", "100", *self.args(), self.root,
                   env=self.env)
        try:
            d.wait_for("changed since it was hashed", timeout=30)
            d.wait_until(lambda: self.objects()["site/css/site.css"][
                "sha256"] == self.SHA, "the upload sent again", timeout=20)
            # The second pass invalidates after its upload; stopped
            # before CloudFront accepted that, the file rightly stays
            # pending (a slow build, TSan, saw it).
            d.wait_until(lambda: len(self.cf.invalidations()) >= n0 + 2,
                         "the second pass's invalidation", timeout=20)
        finally:
            self.assertEqual(d.stop(), 0)
        self.assertEqual(self.plan().lines, [])


class Faults(OriginTest):
    def test_slowdown_and_resets_are_retried(self):
        # Replies: 503 SlowDown, a reset, then 200 to the PUT.
        self.site()
        self.check(self.once())  # baseline
        write(self.root, "css/site.css", "body{}")
        self.cf.inject({"fault": "error", "status": 503, "code": "SlowDown",
                        "message": "Please reduce your request rate."},
                       "reset", op="s3:put")
        res = self.check(self.once())
        self.assertIn("SlowDown", res.err)
        self.assertEqual(self.objects()["site/css/site.css"]["sha256"],
                         hashlib.sha256(b"body{}").hexdigest())

    def test_file_changed_during_the_upload_is_sent_again(self):
        # Replies: the first PUT 400 XAmzContentSHA256Mismatch (as for a
        # file rewritten between hashing and sending), then 200s.
        self.site()
        self.check(self.once())
        write(self.root, "css/site.css", "body{}")
        self.cf.inject({"fault": "error", "status": 400,
                        "code": "XAmzContentSHA256Mismatch",
                        "message": "The provided 'x-amz-content-sha256' "
                        "header does not match what was computed."},
                       op="s3:put")
        res = self.check(self.once())
        self.assertIn("changed since it was hashed", res.err)
        self.assertEqual(self.plan().lines, ["/css/site.css"])
        self.check(self.once())
        self.assertEqual(self.objects()["site/css/site.css"]["sha256"],
                         hashlib.sha256(b"body{}").hexdigest())
        self.assertEqual(self.plan().lines, [])

    def test_access_denied_stops_with_exit_4_and_a_hint(self):
        self.site()
        self.check(self.once())
        write(self.root, "css/site.css", "body{}")
        n = len(self.cf.invalidations())
        self.cf.create_bucket(BUCKET, region="eu-west-1", refuse=True)
        res = self.once()
        self.assertEqual(res.status, 4, repr(res))
        self.assertIn("AccessDenied", res.err)
        self.assertEqual(len(self.cf.invalidations()), n)
        self.assertEqual(self.plan().lines, ["/css/site.css"])

    def test_no_such_bucket_stops_with_exit_4(self):
        self.site()
        self.check(self.once())
        write(self.root, "css/site.css", "body{}")
        res = self.cfw("once", *[a if a != "s3://%s/site" % BUCKET
                                 else "s3://no-such-bucket-here"
                                 for a in self.args()], self.root,
                       env=self.env)
        self.assertEqual(res.status, 4, repr(res))
        self.assertIn("NoSuchBucket", res.err)

    def test_mass_deletion_leaves_the_bucket_alone(self):
        self.site()
        for i in range(300):
            write(self.root, "p/%d.html" % i, "page %d" % i)
        self.check(self.once("--all"))
        for i in range(300):
            os.unlink(os.path.join(self.root, "p/%d.html" % i))
        since = self.cf.log()[-1]["seq"]
        res = self.once()
        self.assertEqual(res.status, 6, repr(res))
        self.assertEqual(self.s3_ops(since), [])
        self.assertEqual(len(self.objects()), 304)
        self.check(self.once("--allow-delete"))
        self.assertEqual(len(self.objects()), 4)


class Live(OriginTest):
    """The daemon deploys as the build writes: upload, invalidate, delete."""

    def test_daemon_uploads_invalidates_then_deletes_each_batch(self):
        self.site()
        self.check(self.once("--all"))
        since = self.cf.log()[-1]["seq"]
        d = Daemon(self.tmp, "-v", *self.args("--quiet-ms", "200"), self.root,
                   env=self.env)
        try:
            d.wait_for(r"watching \d+ directories")
            write(self.root, "blog/a/index.html", "<p>a, live</p>")
            os.unlink(os.path.join(self.root, "img/logo.svg"))
            d.wait_for(r"batch: 2 files, 3 paths, invalidation")
            write(self.root, "css/site.css", "body { color: blue }")
            d.wait_for(r"batch: 1 files, 1 paths, invalidation")
        finally:
            self.assertEqual(d.stop(), 0, repr(d))
        ops = [(e.get("service"), e["operation"]) for e in self.cf.log(since)
               if e["operation"] not in ("list", "get")]
        self.assertEqual(ops, [("s3", "s3:put"), ("cloudfront", "create"),
                               ("s3", "s3:delete"), ("s3", "s3:put"),
                               ("cloudfront", "create")], ops)
        objs = self.objects()
        self.assertNotIn("site/img/logo.svg", objs)
        for rel, data in [("blog/a/index.html", b"<p>a, live</p>"),
                          ("css/site.css", b"body { color: blue }")]:
            self.assertEqual(objs["site/" + rel]["sha256"],
                             hashlib.sha256(data).hexdigest())
        self.assertEqual(self.plan().lines, [])


    def test_dry_run_daemon_leaves_its_changes_pending(self):
        # Replies: none (the daemon runs dry).  It prints the upload and
        # records nothing: the next once uploads and invalidates it.
        self.site()
        self.check(self.once("--all"))
        since = self.cf.log()[-1]["seq"]
        d = Daemon(self.tmp, "--dry-run", *self.args("--quiet-ms", "200"),
                   self.root, env=self.env)
        try:
            d.wait_for(r"watching \d+ directories")
            write(self.root, "css/site.css", "body { color: teal }")
            d.wait_for(r"upload css/site.css")
        finally:
            self.assertEqual(d.stop(), 0, repr(d))
        self.assertEqual(self.cf.log(since), [])
        self.assertEqual(self.plan().lines, ["/css/site.css"])
        self.check(self.once())
        self.assertEqual(self.objects()["site/css/site.css"]["sha256"],
                         hashlib.sha256(b"body { color: teal }").hexdigest())
        self.assertEqual(self.plan().lines, [])

    def test_daemon_keeps_a_refused_upload_pending(self):
        # Replies: every PUT 403 AccessDenied (the bucket refuses);
        # then, the bucket fixed, 200s and 201s.  The refused change,
        # recorded, must go out at the next change (its own batch first),
        # each invalidated only after its upload.
        self.site()
        self.check(self.once("--all"))
        n = len(self.cf.invalidations())
        self.cf.create_bucket(BUCKET, region="eu-west-1", refuse=True)
        d = Daemon(self.tmp, *self.args("--quiet-ms", "200"), self.root,
                   env=self.env)
        try:
            d.wait_for(r"watching \d+ directories")
            write(self.root, "css/site.css", "body { color: green }")
            d.wait_for("AccessDenied")
            self.assertEqual(len(self.cf.invalidations()), n)
            self.cf.create_bucket(BUCKET, region="eu-west-1", refuse=False)
            since = self.cf.log()[-1]["seq"]
            write(self.root, "new.html", "<p>new</p>")
            d.wait_until(lambda: len(self.cf.invalidations()) >= n + 2,
                         "both invalidations")
        finally:
            self.assertEqual(d.stop(), 0, repr(d))
        self.assertEqual([i["paths"] for i in self.cf.invalidations()[n:]],
                         [["/css/site.css"], ["/new.html"]])
        ops = [e["key"] if e["operation"] == "s3:put" else "create"
               for e in self.cf.log(since)
               if e["operation"] in ("s3:put", "create")]
        creates = [i for i, op in enumerate(ops) if op == "create"]
        self.assertEqual(len(creates), 2, ops)
        self.assertLess(ops.index("site/css/site.css"), creates[0], ops)
        self.assertLess(ops.index("site/new.html"), creates[1], ops)
        self.assertEqual(self.objects()["site/css/site.css"]["sha256"],
                         hashlib.sha256(b"body { color: green }").hexdigest())
        self.assertEqual(self.plan().lines, [])


class Status(OriginTest):
    def status(self):
        res = self.check(self.cfw("status", "--json", *self.args(), self.root,
                                  env=self.env))
        return json.loads(res.out)

    def test_status_counts_uploads_and_deletions_pending(self):
        self.site()
        self.check(self.once("--all"))
        st = self.status()
        self.assertEqual(st["origin"], "s3://%s/site" % BUCKET)
        self.assertEqual((st["pending_uploads"], st["pending_deletions"]),
                         (0, 0))
        write(self.root, "css/site.css", "body{}")
        write(self.root, "new.html", "new")
        os.unlink(os.path.join(self.root, "img/logo.svg"))
        st = self.status()
        self.assertEqual((st["pending_uploads"], st["pending_deletions"]),
                         (2, 1))
        text = self.check(self.cfw("status", *self.args(), self.root,
                                   env=self.env)).out
        self.assertIn("origin:       s3://%s/site: 2 uploads, 1 deletion "
                      "pending" % BUCKET, text)

    def test_status_shows_the_deletions_the_guard_holds(self):
        # Replies: 200s and 201 for the deploy; nothing after it.  300
        # deletions are more than max_delete (256): once holds them
        # (exit 6) and status must say so until they are let through.
        self.site()
        for i in range(300):
            write(self.root, "p/%d.html" % i, "page %d" % i)
        self.check(self.once("--all"))
        for i in range(300):
            os.unlink(os.path.join(self.root, "p/%d.html" % i))
        self.assertEqual(self.once().status, 6)
        st = self.status()
        self.assertEqual((st["held_deletions"], st["pending_deletions"]),
                         (300, 300))
        text = self.check(self.cfw("status", *self.args(), self.root,
                                   env=self.env)).out
        self.assertIn("held:         300 deletions, more than max_delete",
                      text)
        self.check(self.once("--allow-delete"))
        self.assertEqual(self.status()["held_deletions"], 0)

    def test_status_after_a_kill_past_the_upload_counts_only_the_deletion(self):
        # The batch's files are in the bucket (UPLOADED recorded); its
        # invalidation and deletion are still to come.
        self.site()
        self.check(self.once("--all"))
        write(self.root, "css/site.css", "body{}")
        os.unlink(os.path.join(self.root, "img/logo.svg"))
        self.cf.inject({"fault": "hang", "seconds": 20}, op="create")
        d = Daemon(self.tmp, "once", "-v", "-v", *self.args(), self.root,
                   env=self.env)
        d.wait_for(r"> POST /2020-05-31/distribution/\S+/invalidation",
                   timeout=30)
        d.kill()
        st = self.status()
        self.assertEqual(st["unacknowledged"], 1)
        self.assertEqual((st["pending_uploads"], st["pending_deletions"]),
                         (0, 1))


class FirstRun(OriginTest):
    """No state anywhere: the bucket is the ground truth (issue 15), so a
    lost state dir (an evicted CI cache) never hides a change."""

    def deployed_then_state_lost(self):
        """A deploy, then edits made while the state dir is gone."""
        self.site()
        self.check(self.once("--all"))
        shutil.rmtree(self.state)
        write(self.root, "css/site.css", "body { color: red }")
        write(self.root, "new.html", "<p>new</p>")
        os.unlink(os.path.join(self.root, "img/logo.svg"))
        return ["/css/site.css", "/img/logo.svg", "/new.html"]

    def test_lost_state_sends_exactly_what_differs_from_the_bucket(self):
        # Replies: ListObjectsV2, 2 PUTs, 201.  The two unchanged files
        # cost no request and no path.  The object without a file is
        # kept (its bytes were never cfwatch's to know: another tool may
        # own it) until deletions are allowed: then DeleteObjects.
        self.deployed_then_state_lost()
        n = len(self.cf.invalidations())
        since = self.cf.log()[-1]["seq"]
        res = self.check(self.once(), status=6)
        self.assertIn("2 files already in the bucket with their bytes, 1 "
                      "with other bytes, 1 not there, 1 objects without a "
                      "file", res.err)
        self.assertIn("1 objects without a file were kept in the bucket",
                      res.err)
        puts = sorted(e["path"].split("/site/", 1)[1] for e in self.s3_ops(
            since) if e["operation"] == "s3:put")
        self.assertEqual(puts, ["css/site.css", "new.html"])
        self.assertEqual(len(self.cf.invalidations()), n + 1)
        self.assertEqual(sorted(self.cf.invalidations()[-1]["paths"]),
                         ["/css/site.css", "/new.html"])
        self.assertIn("site/img/logo.svg", self.objects())
        self.check(self.once(), status=6)  # kept again, nothing sent
        self.assertEqual(len(self.cf.invalidations()), n + 1)
        self.check(self.once("--allow-delete"))
        self.assertEqual(self.cf.invalidations()[-1]["paths"],
                         ["/img/logo.svg"])
        self.assertEqual(sorted(self.objects()), sorted(
            "site/" + k for k in ["blog/a/index.html", "css/site.css",
                                  "index.html", "new.html"]))
        self.assertEqual(self.plan().lines, [])

    def test_a_dry_run_records_no_baseline(self):
        # A dry run lists no bucket: a baseline it recorded would be
        # trusted by the next real run, which would then never compare
        # the tree with the bucket (a lost state's edits stay stale).
        paths = self.deployed_then_state_lost()
        n = len(self.cf.invalidations())
        res = self.check(self.once("--dry-run"))
        self.assertIn("would record a baseline", res.err)
        self.assertFalse(os.path.exists(os.path.join(self.state,
                                                     "manifest")))
        self.check(self.once("--allow-delete"))
        invs = self.cf.invalidations()[n:]
        self.assertEqual(sorted(p for i in invs for p in i["paths"]), paths,
                         invs)

    def test_first_run_on_an_empty_bucket_deploys_everything(self):
        self.site()
        self.check(self.once())
        self.assertEqual(sorted(self.objects()),
                         sorted("site/" + k for k in SITE))
        self.assertEqual(len(self.cf.invalidations()), 1)
        self.assertEqual(self.plan().lines, [])

    def test_kill_after_the_baseline_loses_no_deletion(self):
        # The bucket's baseline is on disk before anything is sent: a kill
        # right after it leaves a state that still says what the bucket
        # holds, so the next run sends the same differences.
        paths = self.deployed_then_state_lost()
        n = len(self.cf.invalidations())
        d = Daemon(self.tmp, "once", "-v", *self.args(), self.root,
                   env=self.env)
        d.wait_for(r"ListObjectsV2 requests", timeout=30)
        d.kill()
        self.check(self.once("--allow-delete"))
        invs = self.cf.invalidations()[n:]
        self.assertEqual(sorted(p for i in invs for p in i["paths"]), paths,
                         invs)
        self.assertNotIn("site/img/logo.svg", self.objects())
        self.assertEqual(self.plan().lines, [])

    def test_keys_that_name_no_file_are_left_alone(self):
        # A folder marker, a key beside the prefix, a key that is no path
        # and an excluded name: none is a file of the site, none deleted.
        for key in ["site/dir/", "site2/x.html", "site/a//b.html",
                    "site/.DS_Store", "other.html"]:
            self.cf.put_object(key, "x", bucket=BUCKET)
        self.site()
        self.check(self.once())
        objs = self.objects()
        for key in ["site/dir/", "site2/x.html", "site/a//b.html",
                    "site/.DS_Store", "other.html"]:
            self.assertIn(key, objs)
        # Only the keys under "site/" were listed (and paid for).
        lists = [e["path"] for e in self.s3_ops() if "list-type=2" in
                 e["path"]]
        self.assertTrue(lists, self.s3_ops())
        for p in lists:
            self.assertIn("prefix=site%2F", p)
        self.assertEqual(sorted(self.cf.invalidations()[-1]["paths"]),
                         sorted(["/", "/index.html", "/css/site.css",
                                 "/blog/a/", "/blog/a/index.html",
                                 "/img/logo.svg"]))

    def test_multipart_etag_counts_as_other_bytes(self):
        # An object stored by a multipart upload has an ETag that is not
        # its MD5: its file is uploaded and invalidated again (a cost, never
        # a miss).
        self.site()
        self.cf.configure(s3_min_part_size=1)
        s3 = self.cf.s3_client(region="eu-west-1")
        key = "site/css/site.css"
        up = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        part = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=up,
                              PartNumber=1,
                              Body=SITE["css/site.css"].encode())
        s3.complete_multipart_upload(
            Bucket=BUCKET, Key=key, UploadId=up, MultipartUpload={
                "Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
        self.assertIn("-", self.objects()[key]["etag"])
        res = self.check(self.once())
        self.assertIn("0 files already in the bucket with their bytes, 1 "
                      "with other bytes", res.err)
        self.assertNotIn("-", self.objects()[key]["etag"])


if __name__ == "__main__":
    unittest.main()
