# SPDX-License-Identifier: MIT
"""A state kept in S3 (issue 15): `state_dir = s3://BUCKET/PREFIX`, the
local state dir only a cache under $XDG_CACHE_HOME.  Real `once`
processes, each with its own cache as separate machines would have,
against the stand-in's CloudFront and S3 over loopback TLS; each test
says what the stand-in answers.  No test here has an S3 origin: the
only S3 objects are the state's."""
import os
import random
import shutil
import subprocess
import sys
import tempfile
import unittest

from tests.e2e.cfw import BIN, Result, TempTest, clean_env, write
from tests.standin.standin import (ACCESS_KEY, DISTRIBUTION, SECRET_KEY,
                                   StandIn)

STATE_BUCKET = "www-example-com-state"
STATE_URL = "s3://%s/cfwatch/site" % STATE_BUCKET
SITE = {"index.html": "<h1>home</h1>", "a/index.html": "<p>a</p>",
        "a/b.html": "b", "css/site.css": "body{}"}


class Machine:
    """One runner: a copy of the site and a cache of its own."""

    def __init__(self, base, name):
        self.root = os.path.join(base, name, "public")
        self.cache = os.path.join(base, name, "cache")
        os.makedirs(self.root)

    def write(self, rel, data):
        write(self.root, rel, data)

    def site(self, files=SITE):
        for rel, data in files.items():
            self.write(rel, data)


class S3StateTest(TempTest):
    @classmethod
    def setUpClass(cls):
        cls.cf = StandIn(config={"completion_delay": 0})

    @classmethod
    def tearDownClass(cls):
        cls.cf.stop()

    def setUp(self):
        super().setUp()
        self.cf.reset(config=True)
        self.cf.create_bucket(STATE_BUCKET, region="eu-west-1")
        self.env.update({"AWS_ACCESS_KEY_ID": ACCESS_KEY,
                         "AWS_SECRET_ACCESS_KEY": SECRET_KEY})

    def machine(self, name):
        return Machine(self.tmp, name)

    def args(self, m, *extra):
        return ["-d", DISTRIBUTION, "--endpoint", self.cf.endpoint,
                "--ca-file", self.cf.ca_file, "--state-dir", STATE_URL,
                "--region", "eu-west-1", "--s3-endpoint", self.cf.endpoint,
                "-v"] + list(extra) + [m.root]

    def env_of(self, m):
        env = dict(self.env)
        env["XDG_CACHE_HOME"] = m.cache
        return env

    def once(self, m, *extra):
        return self.cfw("once", *self.args(m, *extra), env=self.env_of(m))

    def popen(self, m, *extra):
        return subprocess.Popen([BIN, "once"] + self.args(m, *extra),
                                env=clean_env(self.env_of(m)),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def sent(self):
        """Every invalidation created: [(CallerReference, paths)]."""
        return [(i["caller_reference"], sorted(i["paths"]))
                for i in self.cf.invalidations()]

    def paths_sent(self, since=0):
        return sorted(p for _, ps in self.sent()[since:] for p in ps)

    def state_objects(self):
        return sorted(o["key"] for o in self.cf.objects(STATE_BUCKET))

    def state_requests(self, since=0):
        return [e for e in self.cf.log(since, service="s3")
                if e.get("bucket") == STATE_BUCKET]

    def seq(self):
        log = self.cf.log()
        return log[-1]["seq"] if log else 0

    def assert_nothing_twice(self):
        refs = [r for r, _ in self.sent()]
        self.assertEqual(len(refs), len(set(refs)), self.sent())


class TwoMachines(S3StateTest):
    def test_second_machine_sends_only_what_changed_since_the_first(self):
        # Replies: 200 to every state PUT/GET/LIST, 201 to invalidations.
        a, b = self.machine("a"), self.machine("b")
        a.site()
        b.site()
        self.check(self.once(a, "--baseline"))
        self.assertIn("cfwatch/site/manifest", self.state_objects())
        # b's cache is empty: the state comes from S3, not a new baseline.
        res = self.check(self.once(b))
        self.assertIn("nothing to invalidate", res.err)
        self.assertEqual(self.sent(), [])
        a.write("a/b.html", "b2")
        b.write("a/b.html", "b2")
        self.check(self.once(a))
        self.assertEqual(self.paths_sent(), ["/a/b.html"])
        # b has the same edit and one more: only the one more is sent.
        b.write("css/site.css", "body{color:red}")
        a.write("css/site.css", "body{color:red}")
        self.check(self.once(b))
        self.assertEqual(self.paths_sent(1), ["/css/site.css"])
        # a sees b's batch: nothing left.
        res = self.check(self.once(a))
        self.assertIn("nothing to invalidate", res.err)
        self.assertEqual(len(self.sent()), 2)
        self.assert_nothing_twice()

    def test_requests_per_run(self):
        # Replies: 200s and 201s.  The counts the README gives.
        a = self.machine("a")
        a.site()
        self.check(self.once(a, "--baseline"))
        since = self.seq()
        self.check(self.once(a))
        idle = self.state_requests(since)
        self.assertEqual([e["action"] for e in idle], ["ListObjectsV2"])
        a.write("a/b.html", "b2")
        since = self.seq()
        self.check(self.once(a))
        batch = [e["action"] for e in self.state_requests(since)]
        # The list, the intent, the commit.
        self.assertEqual(batch, ["ListObjectsV2", "PutObject", "PutObject"])
        # A new machine reads the snapshot and the two records too.
        b = self.machine("b")
        b.site({"index.html": "<h1>home</h1>", "a/index.html": "<p>a</p>",
                "a/b.html": "b2", "css/site.css": "body{}"})
        since = self.seq()
        self.check(self.once(b))
        fresh = [e["action"] for e in self.state_requests(since)]
        self.assertEqual(fresh, ["ListObjectsV2", "GetObject", "GetObject",
                                 "GetObject"])
        self.assertEqual(len(self.sent()), 1)


class StateLost(S3StateTest):
    def test_deleted_cache_loses_no_change_and_sends_nothing_twice(self):
        # Replies: 200s and 201s; between runs the cache is removed.
        a = self.machine("a")
        a.site()
        self.check(self.once(a, "--baseline"))
        a.write("a/b.html", "b2")
        self.check(self.once(a))
        shutil.rmtree(a.cache)
        a.write("css/site.css", "body{color:red}")
        self.check(self.once(a))
        self.assertEqual(self.sent()[1][1], ["/css/site.css"])
        shutil.rmtree(a.cache)
        res = self.check(self.once(a))
        self.assertIn("nothing to invalidate", res.err)
        self.assertEqual(len(self.sent()), 2)
        self.assert_nothing_twice()

    def test_deleted_remote_state_exits_7_as_a_lost_state_does(self):
        # Replies: 200s; then every state object is deleted.
        a = self.machine("a")
        a.site()
        self.check(self.once(a, "--baseline"))
        a.write("a/b.html", "b2")
        self.check(self.once(a))
        for key in self.state_objects():
            self.cf.delete_object(key, bucket=STATE_BUCKET)
        a.write("css/site.css", "body{color:red}")
        for _ in range(2):  # the cache does not stand in for the state
            res = self.once(a)
            self.assertEqual(res.status, 7, repr(res))
            self.assertIn("--baseline", res.err)
            self.assertIn("--all", res.err)
        self.assertEqual(len(self.sent()), 1)
        self.assertEqual(self.state_objects(), [])
        res = self.check(self.once(a, "--all"))
        self.assertEqual(len(self.sent()), 2)
        self.assertIn("/css/site.css", self.sent()[1][1])


class Faults(S3StateTest):
    """Faults on the state's objects: one edit, one invalidation."""

    def edited(self):
        a = self.machine("a")
        a.site()
        self.check(self.once(a, "--baseline"))
        a.write("a/b.html", "b2")
        return a

    def assert_sent_once_and_recorded(self, a):
        self.assertEqual(self.sent()[0][1], ["/a/b.html"])
        self.assertEqual(len(self.sent()), 1)
        shutil.rmtree(a.cache)  # what S3 holds, not the cache
        res = self.check(self.once(a))
        self.assertIn("nothing to invalidate", res.err)
        self.assertEqual(len(self.sent()), 1)

    def test_503_reset_and_lost_replies_on_each_write(self):
        # Replies: on the intent's PUT (then on the commit's) a 503, a
        # reset, or a reply lost after the write was made; then 200s.
        for fault in ("503", "reset", "lost"):
            for skip in (0, 1):
                with self.subTest(fault=fault, write=skip):
                    self.cf.reset()
                    self.cf.create_bucket(STATE_BUCKET, region="eu-west-1")
                    a = self.edited()
                    holds = [{"fault": "hold", "seconds": 0}] * skip
                    self.cf.inject(*holds, {"fault": fault}, op="s3:put")
                    self.check(self.once(a))
                    self.assertEqual(self.cf.faults(), [])
                    self.assert_sent_once_and_recorded(a)
                    shutil.rmtree(os.path.dirname(a.root))

    def test_faults_on_reads_are_retried(self):
        # Replies: a 503 on the list, a reset on the snapshot's GET.
        a = self.edited()
        shutil.rmtree(a.cache)
        self.cf.inject("503", op="s3:list")
        self.cf.inject("reset", op="s3:get")
        self.check(self.once(a))
        self.assertEqual(self.cf.faults(), [])
        self.assert_sent_once_and_recorded(a)

    def test_commit_never_written_is_sent_again_with_its_reference(self):
        # Replies: 503 to every state PUT after the intent's, until the
        # run gives up; then 200s.
        a = self.edited()
        self.cf.inject({"fault": "hold", "seconds": 0},
                       {"fault": "503", "count": 1000}, op="s3:put")
        res = self.once(a, "--retry-for", "2")
        self.assertEqual(res.status, 1, repr(res))
        self.cf.clear_faults()
        self.assertEqual(len(self.sent()), 1)
        self.check(self.once(a))
        creates = [e for e in self.cf.log(service="cloudfront")
                   if e["operation"] == "create"]
        self.assertEqual(len(creates), 2)
        self.assertTrue(creates[1]["replay"], creates[1])
        self.assert_sent_once_and_recorded(a)


if __name__ == "__main__":
    unittest.main()
