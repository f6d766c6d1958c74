# SPDX-License-Identifier: MIT
"""Several distributions per site (issue 16, s3deploy #142): one build
served by `www.` and the apex.  Each batch goes to every distribution
with one CallerReference, and the change is committed only when every
one accepted it.  Real cfwatch processes against the stand-in over
loopback TLS; each test says what the stand-in answers."""
import json
import os
import signal
import subprocess
import time
import unittest

from tests.e2e.cfw import BIN, BucketTest, StandInTest, clean_env, write
from tests.e2e.daemon import Daemon

WWW = "EWWWEXAMPLE01"
APEX = "EAPEXEXAMPLE02"
BUCKET = "www-example-com"
SITE = {
    "index.html": "<h1>home</h1>",
    "a/index.html": "<h1>a</h1>",
    "old.html": "old",
}
EDITED = ["/a/", "/a/index.html"]


class TwoDists(StandInTest):
    """A site on WWW and APEX; the stand-in serves both and answers every
    request normally unless a test queues a fault."""

    def setUp(self):
        super().setUp()
        self.cf.configure(distributions=[WWW, APEX])

    def args(self, dists=(WWW, APEX)):
        out = []
        for d in dists:
            out += ["-d", d]
        return out + ["--endpoint", self.cf.endpoint, "--ca-file",
                      self.cf.ca_file, "--state-dir", self.state]

    def once(self, *extra, dists=(WWW, APEX)):
        return self.cfw("once", *self.args(dists), *extra, self.root)

    def plan(self):
        return self.check(self.cfw("plan", *self.args(), self.root)).lines

    def status(self):
        res = self.check(self.cfw("status", "--json", *self.args(),
                                  self.root))
        return json.loads(res.out)

    def edit(self):
        for rel, data in SITE.items():
            write(self.root, rel, data)
        self.check(self.once("--baseline"))
        self.assertEqual(self.cf.log(), [])
        write(self.root, "a/index.html", "<h1>a, edited</h1>")

    def creates(self, since=0, dist=None):
        return [e for e in self.cf.log(since) if e["operation"] == "create"
                and (dist is None or e["distribution"] == dist)]

    def invs(self, dist):
        return self.cf.invalidations(distribution=dist)


class Send(TwoDists):
    def test_each_distribution_gets_one_invalidation_with_the_same_paths(self):
        # Replies: 201 at each.  Expected: one POST to each distribution,
        # the same paths and CallerReference, the change committed.
        self.edit()
        self.assertEqual(self.plan(), EDITED)
        res = self.check(self.once())
        self.assertEqual([e["distribution"] for e in self.creates()],
                         [WWW, APEX])
        www, apex = self.invs(WWW), self.invs(APEX)
        self.assertEqual(len(www), 1, www)
        self.assertEqual(len(apex), 1, apex)
        self.assertEqual(sorted(www[0]["paths"]), EDITED)
        self.assertEqual(sorted(apex[0]["paths"]), EDITED)
        self.assertEqual(www[0]["caller_reference"],
                         apex[0]["caller_reference"])
        self.assertIn("at distribution " + WWW, res.err)
        self.assertIn("at distribution " + APEX, res.err)
        self.assertEqual(self.plan(), [])
        st = self.status()
        # Two distributions bill the paths twice.
        self.assertEqual(st["month_paths"], 4)
        self.assertEqual(sorted(i["distribution"] for i in st["invalidations"]),
                         sorted([WWW, APEX]))
        self.assertEqual(st["distributions"],
                         [{"id": WWW, "unaccepted": []},
                          {"id": APEX, "unaccepted": []}])
        # And a second run sends nothing.
        since = self.cf.log()[-1]["seq"]
        self.check(self.once())
        self.assertEqual(self.creates(since), [])

    def test_plan_prices_each_distribution(self):
        self.edit()
        res = self.check(self.cfw("plan", "--monthly-free-paths", "0",
                                  *self.args(), self.root))
        # 2 paths, at $0.005 each, at 2 distributions.
        self.assertIn("estimated $0.02", res.err)

    def test_failing_distribution_keeps_the_change_pending(self):
        # Replies: 201 at WWW, AccessDenied at APEX.  Expected: exit 4
        # naming APEX, the change not committed, status shows it pending
        # at APEX only; the next run sends it to APEX only.
        self.edit()
        self.cf.inject({"fault": "access_denied", "distribution": APEX},
                       op="create")
        res = self.once()
        self.assertNotEqual(res.status, 0, repr(res))
        self.assertIn("distribution " + APEX, res.err)
        self.assertEqual(len(self.invs(WWW)), 1)
        self.assertEqual(self.invs(APEX), [])
        # plan shows the recorded batch: the next run sends it again.
        self.assertEqual(self.plan(), EDITED)
        st = self.status()
        self.assertEqual(st["unacknowledged"], 1)
        self.assertEqual(st["distributions"][0], {"id": WWW,
                                                  "unaccepted": []})
        self.assertEqual(st["distributions"][1]["id"], APEX)
        self.assertEqual(len(st["distributions"][1]["unaccepted"]), 1)
        text = self.check(self.cfw("status", *self.args(), self.root)).out
        self.assertIn("distribution: %s, %s" % (WWW, APEX), text)
        self.assertIn("%s: 1 batch recorded and not accepted by it" % APEX,
                      text)
        since = self.cf.log()[-1]["seq"]
        self.check(self.once())
        self.assertEqual(self.creates(since, WWW), [])
        self.assertEqual(len(self.creates(since, APEX)), 1)
        self.assertEqual(len(self.invs(WWW)), 1)
        self.assertEqual(len(self.invs(APEX)), 1)
        self.assertEqual(self.invs(WWW)[0]["caller_reference"],
                         self.invs(APEX)[0]["caller_reference"])
        self.assertEqual(self.status()["unacknowledged"], 0)

    def test_kill_between_the_acceptances_loses_nothing(self):
        # Replies: 201 at WWW; 503 at APEX, again and again.  The run is
        # killed (-9) once APEX answered a 503: WWW accepted, APEX not.
        # The next run: 201.
        # Expected: one invalidation in each distribution, the change
        # committed, WWW not asked again.
        self.edit()
        self.cf.inject({"fault": "503", "count": 1000,
                        "distribution": APEX}, op="create")
        proc = subprocess.Popen([BIN, "once", *self.args(), self.root],
                                env=clean_env(self.env),
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        self.addCleanup(proc.wait)
        deadline = time.monotonic() + 60
        while not self.creates(dist=APEX) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(len(self.invs(WWW)), 1)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.assertEqual(self.invs(APEX), [])
        self.cf.clear_faults()
        since = self.cf.log()[-1]["seq"]
        self.check(self.once())
        self.assertEqual(self.creates(since, WWW), [])
        self.assertEqual(len(self.creates(since, APEX)), 1)
        for d in (WWW, APEX):
            invs = self.invs(d)
            self.assertEqual(len(invs), 1, invs)
            self.assertEqual(sorted(invs[0]["paths"]), EDITED)
        self.assertEqual(self.plan(), [])

    def test_daemon_killed_between_the_acceptances_loses_nothing(self):
        # The daemon: 201 at WWW, then 503 at APEX again and again; kill
        # -9 once APEX answered a 503.  A new daemon: 201.  Expected: it
        # sends the batch to APEX only, one invalidation each.
        self.edit()
        self.cf.inject({"fault": "503", "count": 1000,
                        "distribution": APEX}, op="create")
        d = Daemon(self.tmp, "--quiet-ms", "100", *self.args(), self.root,
                   env=self.env)
        try:
            d.wait_until(lambda: self.creates(dist=APEX), "a 503 at APEX")
        finally:
            d.kill()
        self.assertEqual(len(self.invs(WWW)), 1)
        self.assertEqual(self.invs(APEX), [])
        self.cf.clear_faults()
        since = self.cf.log()[-1]["seq"]
        d = Daemon(self.tmp, "--quiet-ms", "100", *self.args(), self.root,
                   env=self.env)
        try:
            d.wait_until(lambda: self.invs(APEX), "APEX's invalidation")
            d.wait_for(r"batch: 1 files, 2 paths, invalidation \S+ "
                       r"\(\w+\) at distribution " + APEX)
        finally:
            self.assertEqual(d.stop(), 0, repr(d))
        self.assertEqual(self.creates(since, WWW), [])
        for dist in (WWW, APEX):
            invs = self.invs(dist)
            self.assertEqual(len(invs), 1, invs)
            self.assertEqual(sorted(invs[0]["paths"]), EDITED)
        self.assertEqual(self.plan(), [])

    def test_sigterm_while_the_last_distribution_answers_still_commits(self):
        # The daemon: 201 at WWW; APEX answers 201 after 2 s.  SIGTERM
        # while APEX's request is in flight.  Expected: the request ends,
        # and the batch every distribution accepted is committed before
        # the daemon exits 0, as with one distribution.
        self.edit()
        self.cf.inject({"fault": "delay", "seconds": 2, "distribution": APEX},
                       op="create")
        d = Daemon(self.tmp, "-v", "-v", "--quiet-ms", "100", *self.args(),
                   self.root, env=self.env)
        try:
            d.wait_for(r"trace: http #\d+: > \d+ bytes of body", count=2)
        finally:
            self.assertEqual(d.stop(), 0, repr(d))
        for dist in (WWW, APEX):
            self.assertEqual(len(self.invs(dist)), 1)
        self.assertEqual(self.plan(), [])
        self.assertEqual(self.status()["unacknowledged"], 0)

    def test_replayed_batch_after_a_compaction_is_no_second_invalidation(self):
        # A state whose journal was compacted forgets the acceptances: the
        # batch is sent to both again, and CloudFront's answer at WWW is
        # a replay of the invalidation it made.
        self.edit()
        self.cf.inject({"fault": "access_denied", "distribution": APEX},
                       op="create")
        self.assertNotEqual(self.once().status, 0)
        journal = os.path.join(self.state, "journal")
        self.assertTrue(os.path.exists(journal))
        env = dict(self.env, CFWATCH_TEST_COMPACT_BYTES="1")
        since = self.cf.log()[-1]["seq"]
        res = self.cfw("once", *self.args(), self.root, env=env)
        self.check(res)
        www = self.creates(since, WWW)
        self.assertTrue(all(e["replay"] for e in www), www)
        self.assertEqual(len(self.invs(WWW)), 1)
        self.assertEqual(len(self.invs(APEX)), 1)


class Identity(TwoDists):
    def test_another_set_of_distributions_is_refused(self):
        # Replies: none; nothing may be sent.
        self.edit()
        for dists in ((WWW,), (WWW, APEX, "ENEWEXAMPLE03")):
            res = self.cfw("once", *self.args(dists), "--state-dir",
                           self.state, self.root)
            self.assertEqual(res.status, 3, repr(res))
            self.assertIn("belongs to the distributions %s,%s"
                          % (APEX, WWW), res.err)
            self.assertIn("cfwatch invalidate --distribution-id ID '/*'",
                          res.err)
        self.assertEqual(self.cf.log(), [])

    def test_same_distribution_twice_is_a_usage_error(self):
        res = self.once(dists=(WWW, WWW))
        self.assertEqual(res.status, 2, repr(res))
        self.assertIn("--distribution-id: %s is given twice" % WWW, res.err)

    def test_config_file_lists_each_distribution_on_its_own_line(self):
        cfg = os.path.join(self.tmp, "cfwatch.ini")
        with open(cfg, "w") as f:
            f.write("[cfwatch]\nroot = %s\ndistribution_id = %s\n"
                    "distribution_id = %s\nendpoint = %s\nca_file = %s\n"
                    "state_dir = %s\n" % (self.root, WWW, APEX,
                                          self.cf.endpoint, self.cf.ca_file,
                                          self.state))
        for rel, data in SITE.items():
            write(self.root, rel, data)
        self.check(self.cfw("once", "-c", cfg, "--baseline"))
        write(self.root, "old.html", "new")
        self.check(self.cfw("once", "-c", cfg))
        self.assertEqual(len(self.invs(WWW)), 1)
        self.assertEqual(len(self.invs(APEX)), 1)


class Remote(TwoDists):
    def test_discover_reads_each_distribution(self):
        # Config: WWW's origin has the origin path /site, APEX's none.
        # Expected: one GetDistributionConfig each; the warning names WWW.
        self.cf.configure(distributions=[
            {"id": WWW, "origins": [{"id": "web", "domain_name": "example.com",
                                     "origin_path": "/site", "s3": False}]},
            APEX])
        res = self.check(self.cfw("status", "--json", "--discover",
                                  "--url-prefix", "/site", *self.args(),
                                  self.root))
        gets = [e["distribution"] for e in self.cf.log()
                if e["operation"] == "get_config"]
        self.assertEqual(gets, [WWW, APEX])
        warnings = json.loads(res.out)["discover"]["warnings"]
        self.assertTrue(warnings, res.out)
        self.assertTrue(all(w.startswith("distribution %s: " % WWW)
                            for w in warnings), warnings)

    def test_invalidate_sends_to_each_distribution(self):
        for rel, data in SITE.items():
            write(self.root, rel, data)
        self.check(self.cfw("invalidate", *self.args(), "/x.html"))
        www, apex = self.invs(WWW), self.invs(APEX)
        self.assertEqual([i["paths"] for i in www + apex],
                         [["/x.html"], ["/x.html"]])
        self.assertEqual(www[0]["caller_reference"],
                         apex[0]["caller_reference"])
        self.cf.inject({"fault": "access_denied", "distribution": APEX},
                       op="create")
        res = self.cfw("invalidate", *self.args(), "/y.html")
        self.assertNotEqual(res.status, 0, repr(res))
        self.assertIn("distribution " + APEX, res.err)


class Origin(BucketTest):
    """With an S3 origin: a removed file's object goes only once both
    distributions accepted the batch."""
    BUCKET = BUCKET

    def setUp(self):
        super().setUp()
        self.cf.configure(distributions=[WWW, APEX])

    def once(self, *extra):
        return self.cfw("once", "-d", WWW, "-d", APEX, "--endpoint",
                        self.cf.endpoint, "--ca-file", self.cf.ca_file,
                        "--state-dir", self.state, "--origin",
                        "s3://%s/site" % BUCKET, "--region", "eu-west-1",
                        "--s3-endpoint", self.cf.endpoint, *extra, self.root)

    def keys(self):
        return sorted(o["key"] for o in self.cf.objects(BUCKET))

    def test_deletion_waits_for_every_distribution(self):
        for rel, data in SITE.items():
            write(self.root, rel, data)
        self.check(self.once("--all"))
        self.assertIn("site/old.html", self.keys())
        os.unlink(os.path.join(self.root, "old.html"))
        self.cf.inject({"fault": "access_denied", "distribution": APEX},
                       op="create")
        res = self.once()
        self.assertNotEqual(res.status, 0, repr(res))
        self.assertIn("site/old.html", self.keys())  # APEX still serves it
        self.check(self.once())
        self.assertNotIn("site/old.html", self.keys())
        log = self.cf.log()
        creates = [e["seq"] for e in log if e.get("operation") == "create"
                   and e.get("distribution") == APEX and e.get("status") == 201]
        deletes = [e["seq"] for e in log if e.get("service") == "s3"
                   and e.get("action") == "DeleteObjects"]
        self.assertTrue(deletes and creates, log)
        self.assertLess(max(creates), min(deletes))


if __name__ == "__main__":
    unittest.main()
