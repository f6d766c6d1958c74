# SPDX-License-Identifier: MIT
"""`once` against the CloudFront stand-in over loopback TLS: what is sent,
which faults are survived, what stops cfwatch, and where credentials come
from.

Every test states the stand-in's replies (the faults queued, its config) and
the exact requests and invalidations expected.  One stand-in serves a whole
class; setUp resets it (invalidations, log, faults, config, clock)."""
import datetime
import os
import signal
import sys
import time
import unittest

from tests.e2e.cfw import TempTest, write
from tests.e2e.daemon import Daemon
from tests.standin.standin import ACCESS_KEY, DISTRIBUTION, SECRET_KEY, StandIn

KEY_ENV = {"AWS_ACCESS_KEY_ID": ACCESS_KEY,
           "AWS_SECRET_ACCESS_KEY": SECRET_KEY}

# Credentials the stand-in is told to accept in the credential tests.  The
# secrets and tokens are distinctive so that a leak into any output shows.
TOKEN_KEY = "ASIATOKENEXAMPLE0001"
TOKEN_SECRET = "tokSecretQ9x/Zf4LKm2+example0000000000001"
TOKEN = "FwoGZXIvYXdzEXAMPLEsessionTOKEN/abc+def==0001"
PROFILE_KEY = "AKIAPROFILEEXAMPLE02"
PROFILE_SECRET = "profSecretR7w/Yh3NBn5+example0000000000002"
PROC_KEY = "ASIAPROCESSEXAMPLE03"
PROC_SECRET = "procSecretT2v/Xg8PCq1+example0000000000003"
PROC_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLEprocessTOKEN/xyz+uvw==0003"

# The site every test starts from, and its baseline.
SITE = {
    "index.html": "<h1>home</h1>",
    "a/index.html": "<h1>a</h1>",
    "a/b.html": "b",
    "css/site.css": "body{}",
    "old.html": "old",
}


def parse_time(s):
    """The stand-in's log time ("2026-11-25T08:09:45.099Z") in seconds."""
    return datetime.datetime.strptime(
        s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()


class StandInTest(TempTest):
    """A site root, a state dir and a reset stand-in for every test."""

    plain_http = False

    @classmethod
    def setUpClass(cls):
        cls.cf = StandIn(plain_http=cls.plain_http)

    @classmethod
    def tearDownClass(cls):
        cls.cf.stop()

    def setUp(self):
        super().setUp()
        self.cf.reset(config=True)
        self.env.update(KEY_ENV)

    def cf_args(self, dist=DISTRIBUTION, endpoint=None):
        args = ["-d", dist, "--endpoint", endpoint or self.cf.endpoint,
                "--state-dir", self.state]
        if self.cf.ca_file:
            args += ["--ca-file", self.cf.ca_file]
        return args

    def once(self, *extra, env=None, dist=DISTRIBUTION, endpoint=None):
        return self.cfw("once", *self.cf_args(dist, endpoint), *extra,
                        self.root, env=env or self.env)

    def plan(self, *extra):
        """The paths still pending, as `plan` prints them (sends nothing)."""
        return self.check(self.cfw("plan", *self.cf_args(), *extra,
                                   self.root)).lines

    def baseline(self):
        """Writes SITE and records its baseline: nothing may be sent."""
        for rel, data in SITE.items():
            write(self.root, rel, data)
        res = self.check(self.once("--baseline"))
        self.assertIn("baseline", res.err)
        self.assertEqual(self.cf.log(), [])

    def edit(self):
        """Baseline, then one edit; returns the paths it must invalidate."""
        self.baseline()
        write(self.root, "a/index.html", "<h1>a, edited</h1>")
        return ["/a/", "/a/index.html"]

    def requests(self, since=0, op="create"):
        return [e for e in self.cf.log(since) if e["operation"] == op]

    def last_seq(self):
        log = self.cf.log()
        return log[-1]["seq"] if log else 0

    def assert_no_secrets(self, res, *secrets):
        for s in secrets:
            self.assertNotIn(s, res.out, "secret on stdout")
            self.assertNotIn(s, res.err, "secret on stderr")
        self.assertNotIn("Signature=", res.out + res.err)

    def assert_traced_quietly(self, res, *secrets):
        """-v -v logged libcurl's trace of the request, without secrets."""
        self.assertIn("> POST /2020-05-31/distribution/", res.err)
        self.assertIn("Authorization", res.err)
        self.assert_no_secrets(res, *secrets)

    def assert_sent_once(self, paths, key=ACCESS_KEY, plan_args=()):
        """Exactly one create request, signed with key, and one
        invalidation with exactly paths; nothing left pending (for
        `plan` with plan_args)."""
        reqs = self.requests()
        self.assertEqual(len(reqs), 1, reqs)
        self.assertEqual(reqs[0]["access_key"], key)
        self.assertIs(reqs[0]["signature_ok"], True, reqs[0])
        self.assertEqual(reqs[0]["status"], 201, reqs[0])
        invs = self.cf.invalidations()
        self.assertEqual(len(invs), 1, invs)
        self.assertEqual(sorted(invs[0]["paths"]), sorted(paths))
        self.assertEqual(invs[0]["warnings"], [])
        self.assertEqual(self.plan(*plan_args), [])


class Send(StandInTest):
    """The stand-in answers every request normally unless a test queues a
    fault."""

    def test_changed_files_give_one_exact_invalidation(self):
        # Replies: 201.  Expected: one ListInvalidations (what is in
        # progress shapes the batches), then one signed POST with exactly
        # the URLs of two edits, one deletion and one new file; no
        # GetInvalidation.
        self.baseline()
        write(self.root, "a/index.html", "<h1>a, edited</h1>")
        write(self.root, "css/site.css", "body{color:red}")
        os.unlink(os.path.join(self.root, "old.html"))
        write(self.root, "new/page.html", "new")
        write(self.root, "a/b.html", "b")  # same bytes: not a change
        expected = ["/a/", "/a/index.html", "/css/site.css",
                    "/new/page.html", "/old.html"]
        self.assertEqual(self.plan(), expected)
        res = self.check(self.once())
        ops = [r["operation"] for r in self.cf.log()]
        self.assertEqual(ops, ["list", "create"], self.cf.log())
        self.assert_sent_once(expected)
        inv = self.cf.invalidations()[0]
        self.assertIn(inv["id"], res.err)
        self.assertTrue(inv["caller_reference"])
        # A second run finds nothing and sends nothing.
        self.check(self.once())
        self.assertEqual(len(self.cf.log()), 2, self.cf.log())

    def test_query_strings_send_one_wildcard_per_file(self):
        # Config: --query-strings (the distribution caches by query
        # string).  Expected: each changed file is one wildcard that
        # covers its query-string variants and its other URL forms, and
        # `plan` counts them as wildcards.
        self.baseline()
        write(self.root, "a/index.html", "<h1>a, edited</h1>")
        write(self.root, "css/site.css", "body{color:red}")
        res = self.check(self.cfw("plan", "--query-strings",
                                  *self.cf_args(), self.root))
        self.assertEqual(res.lines, ["/a/*", "/css/site.css*"])
        self.assertIn("2 paths (2 wildcards)", res.err)
        self.check(self.once("--query-strings"))
        # Turning query_strings on only adds URLs: no flush (test_remap).
        self.assert_sent_once(["/a/*", "/css/site.css*"],
                              plan_args=("--query-strings",))

    def test_lost_201_is_replayed_into_the_same_invalidation(self):
        # Replies: the first POST creates the invalidation but its 201 is
        # lost (TCP RST); then 201.  Expected: two POSTs with the same
        # CallerReference, one invalidation, replays 1, manifest updated.
        paths = self.edit()
        self.cf.inject("lost201", op="create")
        self.check(self.once())
        reqs = self.requests()
        self.assertEqual([r["fault"] for r in reqs], ["lost201", None])
        self.assertEqual([r["created"] for r in reqs], [True, False])
        self.assertEqual([r["replay"] for r in reqs], [False, True])
        self.assertEqual(reqs[0]["invalidation"], reqs[1]["invalidation"])
        invs = self.cf.invalidations()
        self.assertEqual(len(invs), 1, invs)
        self.assertEqual(invs[0]["replays"], 1)
        self.assertEqual(sorted(invs[0]["paths"]), paths)
        self.assertEqual(self.plan(), [])

    # Issue 11, item 10: a 201 naming another CallerReference and other
    # paths committed the change though nothing was invalidated.
    # Replies: two 201s for another batch (nothing created), then a real
    # 201.  Expected: the wrong answers are retried, never recorded.
    def test_201_for_another_batch_is_not_recorded(self):
        paths = self.edit()
        self.cf.inject("other201", "other201", op="create")
        res = self.check(self.once())
        self.assertEqual(res.err.count("answered 201 for another batch"), 2,
                         repr(res))
        invs = self.cf.invalidations()
        self.assertEqual(len(invs), 1, invs)
        self.assertEqual(sorted(invs[0]["paths"]), paths)
        self.assertEqual(self.plan(), [])
        # And with only wrong answers, nothing is recorded and once gives
        # up with the change pending.
        write(self.root, "a/index.html", "<h1>a, again</h1>")
        self.cf.inject({"fault": "other201", "count": 1000}, op="create")
        res = self.once("--retry-for", "2")
        self.assertEqual(res.status, 1, repr(res))
        self.assertEqual(len(self.cf.invalidations()), 1)
        self.cf.clear_faults()
        self.assertEqual(self.plan(), paths)

    def test_batch_lost_by_a_failed_run_is_replayed_by_the_next(self):
        # Replies to the first run: the POST creates the invalidation but
        # its 201 is lost, then 503 until it gives up (exit 1, manifest
        # unchanged).  To the second run: 201.  Expected: the second run
        # sends the same CallerReference and paths, which replays the
        # invalidation instead of creating another.
        paths = self.edit()
        self.cf.inject("lost201", {"fault": "503", "count": 1000},
                       op="create")
        res = self.once("--retry-for", "2")
        self.assertEqual(res.status, 1, repr(res))
        self.assertEqual(len(self.cf.invalidations()), 1)
        self.assertEqual(self.plan(), paths)
        self.cf.clear_faults()
        first = self.requests()
        since = self.last_seq()
        self.check(self.once())
        reqs = self.requests(since)
        self.assertEqual(len(reqs), 1, reqs)
        self.assertIs(reqs[0]["replay"], True, reqs[0])
        self.assertEqual(reqs[0]["invalidation"], first[0]["invalidation"])
        invs = self.cf.invalidations()
        self.assertEqual(len(invs), 1, invs)
        self.assertEqual(invs[0]["replays"], 1)
        self.assertEqual(sorted(invs[0]["paths"]), paths)
        self.assertEqual(self.plan(), [])

    def test_each_transient_fault_is_survived(self):
        # One run per fault, in a row on one state dir.  Replies: the fault,
        # then 201.  Expected for each: exit 0, exactly two POSTs, one new
        # invalidation with the new file's path; a replay where the faulty
        # request was processed (bad_length).
        self.baseline()
        faults = [("503", "503"), ("500", "500"), ("throttle", "throttle"),
                  ("reset", "reset"),
                  ("hang", {"fault": "hang", "seconds": 3}),
                  ("bad_length", "bad_length"), ("garbage", "garbage")]
        figures = []
        for i, (name, spec) in enumerate(faults):
            with self.subTest(fault=name):
                rel = "f%d-%s.html" % (i, name)
                write(self.root, rel, name)
                since = self.last_seq()
                self.cf.inject(spec, op="create")
                t0 = time.monotonic()
                self.check(self.once())
                took = time.monotonic() - t0
                reqs = self.requests(since)
                figures.append("%s=%d (%.1f s)" % (name, len(reqs), took))
                self.assertEqual([r["fault"] for r in reqs], [name, None])
                self.assertEqual(reqs[-1]["status"], 201, reqs)
                invs = self.cf.invalidations()
                self.assertEqual(len(invs), i + 1, invs)
                self.assertEqual(invs[-1]["paths"], ["/" + rel])
                self.assertEqual(invs[-1]["replays"],
                                 1 if name == "bad_length" else 0)
                self.assertEqual(self.plan(), [])
        print("\nrequests per invalidation: " + ", ".join(figures),
              file=sys.stderr)

    def test_consecutive_faults_back_off_from_half_a_second(self):
        # Replies: 503, throttle, garbage, then 201, all on one kept-alive
        # connection.  (Not a reset: libcurl itself re-sends a request at
        # once when a reused connection dies before any answer, so that
        # retry has no backoff.)  Expected: four POSTs in one run, each
        # wait at least the 0.5 s base and at most its doubling cap (plus
        # slack), then one invalidation.
        paths = self.edit()
        self.cf.inject("503", "throttle", "garbage", op="create")
        self.check(self.once())
        reqs = self.requests()
        self.assertEqual([r["fault"] for r in reqs],
                         ["503", "throttle", "garbage", None])
        starts = [parse_time(r["time"]) for r in reqs]
        gaps = [b - a for a, b in zip(starts, starts[1:])]
        for k, gap in enumerate(gaps):
            self.assertGreaterEqual(gap, 0.45, gaps)
            self.assertLessEqual(gap, 0.5 * 2 ** k + 1.5, gaps)
        invs = self.cf.invalidations()
        self.assertEqual(len(invs), 1, invs)
        self.assertEqual(sorted(invs[0]["paths"]), paths)
        self.assertEqual(self.plan(), [])

    def test_gives_up_after_retry_for_and_keeps_changes_pending(self):
        # Replies: 503 to every POST.  Expected: retries for about 3 s,
        # exit 1 saying it gave up, nothing created, the paths still
        # planned; a later run with the stand-in healthy sends them.
        paths = self.edit()
        self.cf.inject({"fault": "503", "count": 1000}, op="create")
        t0 = time.monotonic()
        res = self.once("--retry-for", "3")
        took = time.monotonic() - t0
        self.assertEqual(res.status, 1, repr(res))
        self.assertIn("gave up", res.err)
        self.assertLess(took, 10, repr(res))
        reqs = self.requests()
        self.assertGreaterEqual(len(reqs), 2, reqs)
        self.assertTrue(all(r["fault"] == "503" for r in reqs), reqs)
        self.assertEqual(self.cf.invalidations(), [])
        self.assertEqual(self.plan(), paths)
        self.cf.clear_faults()
        since = self.last_seq()
        self.check(self.once())
        self.assertEqual(len(self.requests(since)), 1)
        invs = self.cf.invalidations()
        self.assertEqual(len(invs), 1, invs)
        self.assertEqual(sorted(invs[0]["paths"]), paths)
        self.assertEqual(self.plan(), [])

    def test_too_many_in_progress_waits_for_completion(self):
        # Config: at most 3 file paths in progress, completion after 4 s.
        # Replies: 201 to a first batch of 3 paths; 400
        # TooManyInvalidationsInProgress to the next batch while it runs;
        # 201 once it completed.  Expected: the second run waits (about
        # 20 s) and succeeds with exactly two POSTs.
        self.cf.configure(max_file_paths_in_progress=3, completion_delay=4)
        self.baseline()
        write(self.root, "a/index.html", "<h1>a, edited</h1>")
        write(self.root, "a/b.html", "b, edited")
        self.check(self.once())
        self.assertEqual(len(self.cf.invalidations()), 1)
        write(self.root, "css/site.css", "body{color:red}")
        since = self.last_seq()
        t0 = time.monotonic()
        res = self.check(self.once())
        took = time.monotonic() - t0
        self.assertIn("too many invalidations in progress", res.err)
        reqs = self.requests(since)
        self.assertEqual([r["error_code"] for r in reqs],
                         ["TooManyInvalidationsInProgress", None], reqs)
        self.assertEqual(reqs[-1]["status"], 201, reqs)
        self.assertGreater(took, 4, repr(res))
        invs = self.cf.invalidations()
        self.assertEqual(len(invs), 2, invs)
        self.assertEqual(invs[0]["status"], "Completed")
        self.assertEqual(invs[1]["paths"], ["/css/site.css"])
        self.assertEqual(self.plan(), [])

    def test_wait_follows_the_invalidation_to_completed(self):
        # Config: completion 1.5 s after creation.  Replies: 201
        # InProgress, then GetInvalidation answers until Completed.
        # Expected: one POST, then GETs of that invalidation, the last one
        # after completion; exit 0.
        self.cf.configure(completion_delay=1.5)
        paths = self.edit()
        res = self.check(self.once("--wait"))
        self.assertIn("Completed", res.err)
        self.assertEqual(len(self.requests()), 1)
        inv = self.cf.invalidations()[0]
        self.assertEqual(inv["status"], "Completed")
        self.assertEqual(sorted(inv["paths"]), paths)
        gets = self.requests(op="get")
        self.assertGreaterEqual(len(gets), 1)
        for g in gets:
            self.assertEqual(g["requested_invalidation"], inv["id"])
            self.assertEqual(g["status"], 200, g)
            self.assertIs(g["signature_ok"], True, g)
        # The stand-in completes an invalidation when a request looks at it
        # after the delay: the last GET did, and cfwatch saw it.
        last_end = parse_time(gets[-1]["time"]) + gets[-1]["duration_ms"] / 1e3
        self.assertLessEqual(parse_time(inv["completed_time"]),
                             last_end + 0.01, (inv, gets))
        self.assertIn("invalidation %s (Completed)" % inv["id"], res.err)
        self.assertEqual(self.plan(), [])

    def test_wait_survives_faults_while_polling(self):
        # Config: completion 1 s after creation.  Replies: 201; then 503
        # and a reset to the first two GETs, then 200.  Expected: one
        # POST, GETs retried until one reports Completed; exit 0.
        self.cf.configure(completion_delay=1)
        self.edit()
        self.cf.inject("503", "reset", op="get")
        res = self.check(self.once("--wait"))
        self.assertEqual(len(self.requests()), 1)
        gets = self.requests(op="get")
        self.assertEqual([g["fault"] for g in gets][:3],
                         ["503", "reset", None], gets)
        self.assertEqual(gets[-1]["status"], 200, gets)
        inv = self.cf.invalidations()[0]
        self.assertIn("invalidation %s (Completed)" % inv["id"], res.err)
        self.assertEqual(self.plan(), [])

    def test_special_names_are_escaped_and_encoded(self):
        # Replies: 201.  Expected: one POST whose XML carries "&" escaped
        # and the paths encoded as a browser requests them, accepted by the
        # stand-in (strict paths) without warnings for "&" and "é".
        self.baseline()
        for rel in ("a&b.html", "café.html", "q?.html"):
            write(self.root, rel, "x")
        expected = ["/a&b.html", "/caf%C3%A9.html", "/q%3F.html"]
        self.check(self.once())
        reqs = self.requests()
        self.assertEqual(len(reqs), 1, reqs)
        self.assertEqual(reqs[0]["status"], 201, reqs[0])
        self.assertIs(reqs[0]["signature_ok"], True, reqs[0])
        invs = self.cf.invalidations()
        self.assertEqual(len(invs), 1, invs)
        self.assertEqual(sorted(invs[0]["paths"]), expected)
        for w in invs[0]["warnings"]:
            self.assertNotIn("/a&b.html", w)
            self.assertNotIn("/caf%C3%A9.html", w)
        self.assertEqual(self.plan(), [])

    # A literal "?" would start a query string, so "/q%3F.html" is the
    # only path that names the object a browser fetches for "q?.html".
    def test_encoded_question_mark_draws_no_warning(self):
        # Replies: 201.  Expected: the path /q%3F.html, with no warning.
        self.baseline()
        write(self.root, "q?.html", "x")
        self.check(self.once())
        self.assert_sent_once(["/q%3F.html"])

    def test_plain_http_to_a_remote_host_is_refused(self):
        # No request may leave: exit 2 before anything is sent, and the
        # change stays pending.
        paths = self.edit()
        res = self.once(endpoint="http://example.com")
        self.assertEqual(res.status, 2, repr(res))
        self.assertIn("http://example.com", res.err)
        self.assertIn("127.0.0.0/8", res.err)
        self.assertEqual(self.cf.log(), [])
        self.assertEqual(self.plan(), paths)


class FirstRun(StandInTest):
    """Without an S3 origin there is nothing to compare a tree with, and a
    lost state dir (an evicted CI cache) looks just like a first run:
    `once` records a baseline only when asked (issue 15)."""

    def site(self):
        for rel, data in SITE.items():
            write(self.root, rel, data)

    def test_no_state_fails_instead_of_a_silent_baseline(self):
        self.site()
        res = self.once()
        self.assertEqual(res.status, 7, repr(res))
        self.assertIn("no state in", res.err)
        self.assertIn("--baseline", res.err)
        self.assertIn("--all", res.err)
        self.assertEqual(self.cf.log(), [])
        self.assertFalse(os.path.exists(os.path.join(self.state, "manifest")))
        self.assertEqual(self.once().status, 7)  # still nothing recorded

    def test_baseline_records_and_the_next_run_sends_edits(self):
        self.site()
        res = self.check(self.once("--baseline"))
        self.assertIn("recording a baseline of %d files" % len(SITE), res.err)
        self.assertEqual(self.cf.log(), [])
        write(self.root, "a/index.html", "<h1>a, edited</h1>")
        self.check(self.once())
        self.assert_sent_once(["/a/", "/a/index.html"])

    def test_all_invalidates_every_file_instead(self):
        self.site()
        self.check(self.once("--all"))
        self.assertEqual(len(self.cf.invalidations()), 1)

    def test_all_and_baseline_together_is_a_usage_error(self):
        self.site()
        res = self.once("--all", "--baseline")
        self.assertEqual(res.status, 2, repr(res))
        self.assertEqual(self.cf.log(), [])

    def test_a_dry_run_still_records_its_baseline(self):
        self.site()
        res = self.check(self.once("--dry-run"))
        self.assertIn("baseline", res.err)


class Reload(StandInTest):
    # Issue 11, item 13: a second SIGHUP during a reload was dropped
    # without a word, so an edit to the config made meanwhile (here the
    # URL prefix) never took effect.  Replies: the first create is held
    # 3 s (the reload waits for it), then 201s.
    def test_sighup_during_a_reload_reloads_again(self):
        conf = os.path.join(self.tmp, "cfwatch.ini")

        def config(prefix):
            # Renamed into place: a reload never reads half a file.
            write(self.tmp, "cfwatch.ini.new",
                  "[cfwatch]\nroot = public\nquiet_ms = 200\n"
                  "url_prefix = %s\n" % prefix)
            os.replace(conf + ".new", conf)

        for rel, data in SITE.items():
            write(self.root, rel, data)
        config("/a")
        d = Daemon(self.tmp, "-v", "-v", "-c", conf, *self.cf_args(),
                   env=self.env)
        self.addCleanup(d.kill)
        d.wait_for("baseline")
        self.cf.inject({"fault": "delay", "seconds": 3}, op="create")
        write(self.root, "b.html", "b, edited")
        d.wait_for(r"trace: http #\d+: > \d+ bytes of body", timeout=10)
        config("/b")
        d.send(signal.SIGHUP)
        d.wait_for("SIGHUP: reloading the configuration")
        config("/c")
        d.send(signal.SIGHUP)
        d.wait_for("SIGHUP during a reload: reloading again")
        d.wait_for("configuration reloaded", count=2, timeout=20)
        # A changed url_prefix flushes the old one's URLs at once
        # (test_remap.py): once `plan` under /c is empty, that is done.
        deadline = time.monotonic() + 20
        while self.check(self.cfw("plan", "-c", conf,
                                  *self.cf_args())).lines:
            self.assertLess(time.monotonic(), deadline, repr(d))
            time.sleep(0.1)
        self.assertIn(["/a/*"], [i["paths"] for i in self.cf.invalidations()])
        n = len(self.cf.invalidations())
        write(self.root, "b.html", "b, edited again")
        deadline = time.monotonic() + 20
        while len(self.cf.invalidations()) <= n:
            self.assertLess(time.monotonic(), deadline, repr(d))
            time.sleep(0.05)
        self.assertEqual(self.cf.invalidations()[-1]["paths"], ["/c/b.html"])
        self.assertEqual(d.stop(), 0, repr(d))


class Refused(StandInTest):
    """Answers retrying cannot fix: one request, exit 4, one line that says
    what to check, and the change stays pending."""

    def assert_refused(self, res, hint):
        self.assertEqual(res.status, 4, repr(res))
        errors = [ln for ln in res.err.splitlines() if "error" in ln]
        self.assertEqual(len(errors), 1, repr(res))
        self.assertIn(hint, errors[0])
        for ln in res.err.splitlines():
            self.assertTrue(ln.startswith("cfwatch: "), repr(res))
        self.assertEqual(len(self.requests()), 1, self.requests())
        self.assertEqual(self.cf.invalidations(), [])

    def test_access_denied_stops(self):
        # Replies: 403 AccessDenied.
        paths = self.edit()
        self.cf.inject("access_denied", op="create")
        res = self.once()
        self.assert_refused(res, "cloudfront:CreateInvalidation")
        self.assertIn("AccessDenied", res.err)
        self.assertEqual(self.plan(), paths)

    def test_unknown_distribution_stops(self):
        # Replies: 404 NoSuchDistribution (EUNKNOWN1 is not configured).
        # The state dir is EUNKNOWN1's own: a state serves one
        # distribution (test_state_of_another_distribution_is_refused).
        for rel, data in SITE.items():
            write(self.root, rel, data)
        self.check(self.once("--dry-run", dist="EUNKNOWN1"))
        write(self.root, "a/index.html", "<h1>a, edited</h1>")
        res = self.once(dist="EUNKNOWN1")
        self.assert_refused(res, "check the distribution id")
        self.assertIn("NoSuchDistribution", res.err)
        self.assertEqual(self.requests()[0]["distribution"], "EUNKNOWN1")
        res = self.check(self.cfw("plan", *self.cf_args("EUNKNOWN1"),
                                  self.root))
        self.assertEqual(res.lines, ["/a/", "/a/index.html"])

    def test_state_of_another_distribution_is_refused(self):
        # Issue 11, item 5: a state dir used for staging and then for
        # production sent nothing to production and exited 0.  Replies:
        # none; nothing may be sent.
        self.edit()
        res = self.once(dist="E2QWRUHAPOMQZL")
        self.assertEqual(res.status, 3, repr(res))
        self.assertIn("belongs to distribution " + DISTRIBUTION, res.err)
        self.assertIn("nothing was sent", res.err)
        self.assertIn("its own --state-dir, or remove it to start over",
                      res.err)
        self.assertEqual(self.cf.log(), [])

    def test_state_of_another_root_is_refused(self):
        # Issue 11, item 5: another site's manifest in the state dir sent
        # that site's paths.  Replies: none.
        self.edit()
        other = os.path.join(self.tmp, "other")
        write(other, "x.html", "x")
        res = self.cfw("once", *self.cf_args(), other, env=self.env)
        self.assertEqual(res.status, 3, repr(res))
        self.assertIn("belongs to the root " + self.root, res.err)
        self.assertIn("its own --state-dir, or remove it to start over",
                      res.err)
        self.assertEqual(self.cf.log(), [])

    def test_wrong_secret_stops(self):
        # Replies: 403 SignatureDoesNotMatch, whose message holds the
        # canonical request on several lines: only its first line shows.
        paths = self.edit()
        bad = "WRONGsecretWRONGsecretWRONGsecret0000000"
        env = dict(self.env, AWS_SECRET_ACCESS_KEY=bad)
        res = self.once(env=env)
        self.assert_refused(res, "check the secret access key")
        self.assertIn("SignatureDoesNotMatch", res.err)
        self.assertIs(self.requests()[0]["signature_ok"], False)
        self.assert_no_secrets(res, bad, SECRET_KEY)
        self.assertEqual(self.plan(), paths)

    def test_unknown_access_key_stops(self):
        # Replies: 403 InvalidClientTokenId.
        paths = self.edit()
        env = dict(self.env, AWS_ACCESS_KEY_ID="AKIDUNKNOWNEXAMPLE99")
        res = self.once(env=env)
        self.assert_refused(res, "check the access key id")
        self.assertIn("InvalidClientTokenId", res.err)
        self.assertEqual(self.plan(), paths)

    def test_clock_skew_stops(self):
        # Replies: 403 SignatureDoesNotMatch "Signature expired" (server
        # clock 1 h ahead) or "not yet current" (1 h behind).
        paths = self.edit()
        for offset in (3600, -3600):
            with self.subTest(offset=offset):
                self.cf.reset()
                self.cf.set_clock(offset=offset)
                res = self.once()
                self.assert_refused(res, "clock")
                self.assertIn("SignatureDoesNotMatch", res.err)
                self.assertEqual(self.requests()[0]["auth_error"],
                                 "SignatureDoesNotMatch")
                self.assertEqual(self.plan(), paths)


    def test_untrusted_certificate_stops(self):
        # No --ca-file: the stand-in's certificate is not trusted, the
        # handshake fails and no request is made.
        paths = self.edit()
        res = self.cfw("once", "-d", DISTRIBUTION, "--endpoint",
                       self.cf.endpoint, "--state-dir", self.state,
                       self.root)
        self.assertEqual(res.status, 4, repr(res))
        self.assertIn("--ca-file", res.err)
        self.assertEqual(self.cf.log(), [])
        self.assertGreaterEqual(len(self.cf.tls_errors()), 1)
        self.assertEqual(self.plan(), paths)


class Credentials(StandInTest):
    """Where the keys come from.  The stand-in accepts exactly the keys a
    test configures; every run is at -v -v (libcurl trace on) and no
    secret or token may appear in its output."""

    def setUp(self):
        super().setUp()
        for k in KEY_ENV:
            del self.env[k]

    def accept(self, key, secret, token=None):
        self.cf.configure(credentials={key: {"secret": secret,
                                             "token": token}})

    def test_session_token_from_env_is_sent_and_signed(self):
        # Config: the key needs a session token (unsent: InvalidClientTokenId;
        # unsigned: SignatureDoesNotMatch).  Replies: 201.
        self.accept(TOKEN_KEY, TOKEN_SECRET, TOKEN)
        paths = self.edit()
        env = dict(self.env, AWS_ACCESS_KEY_ID=TOKEN_KEY,
                   AWS_SECRET_ACCESS_KEY=TOKEN_SECRET,
                   AWS_SESSION_TOKEN=TOKEN)
        res = self.check(self.once("-v", "-v", env=env))
        self.assert_sent_once(paths, key=TOKEN_KEY)
        self.assert_traced_quietly(res, TOKEN_SECRET, TOKEN)

    def test_profile_from_shared_credentials_file(self):
        # [default] holds keys the stand-in does not know; --profile site
        # picks the right ones.  Replies: 201.
        self.accept(PROFILE_KEY, PROFILE_SECRET)
        path = write(self.tmp, "aws/credentials",
                     "[default]\naws_access_key_id = AKIDWRONGDEFAULT0000\n"
                     "aws_secret_access_key = wrong\n\n"
                     "[site]\naws_access_key_id = %s\n"
                     "aws_secret_access_key = %s\n"
                     % (PROFILE_KEY, PROFILE_SECRET))
        paths = self.edit()
        env = dict(self.env, AWS_SHARED_CREDENTIALS_FILE=path)
        res = self.check(self.once("--profile", "site", "-v", "-v", env=env))
        self.assert_sent_once(paths, key=PROFILE_KEY)
        self.assert_traced_quietly(res, PROFILE_SECRET)

    def test_profile_section_in_config_file(self):
        # AWS_PROFILE=site names [profile site] in AWS_CONFIG_FILE; there
        # is no credentials file.  Replies: 201.
        self.accept(PROFILE_KEY, PROFILE_SECRET)
        path = write(self.tmp, "aws/config",
                     "[default]\nregion = eu-west-1\n\n"
                     "[profile site]\nregion = us-east-1\n"
                     "aws_access_key_id = %s\naws_secret_access_key = %s\n"
                     % (PROFILE_KEY, PROFILE_SECRET))
        paths = self.edit()
        env = dict(self.env, AWS_CONFIG_FILE=path, AWS_PROFILE="site",
                   AWS_SHARED_CREDENTIALS_FILE=os.path.join(self.tmp, "no"))
        res = self.check(self.once("-v", "-v", env=env))
        self.assert_sent_once(paths, key=PROFILE_KEY)
        self.assert_traced_quietly(res, PROFILE_SECRET)

    def credential_process(self, script):
        """A config file whose [profile proc] runs script."""
        exe = write(self.tmp, "bin/creds.sh", "#!/bin/sh\n" + script)
        os.chmod(exe, 0o755)
        path = write(self.tmp, "aws/config",
                     "[profile proc]\ncredential_process = %s --flag\n" % exe)
        return dict(self.env, AWS_CONFIG_FILE=path,
                    AWS_SHARED_CREDENTIALS_FILE=os.path.join(self.tmp, "no"))

    def test_credential_process_supplies_keys_and_token(self):
        # The script prints keys, a token and an expiry an hour away.
        # Replies: 201 to a request signed with them.
        self.accept(PROC_KEY, PROC_SECRET, PROC_TOKEN)
        exp = (datetime.datetime.now(datetime.timezone.utc)
               + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        env = self.credential_process(
            'test "$1" = --flag || exit 9\n'
            "cat <<EOF\n"
            '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s",\n'
            ' "SessionToken": "%s", "Expiration": "%s"}\nEOF\n'
            % (PROC_KEY, PROC_SECRET, PROC_TOKEN, exp))
        paths = self.edit()
        res = self.check(self.once("--profile", "proc", "-v", "-v", env=env))
        self.assert_sent_once(paths, key=PROC_KEY)
        self.assert_traced_quietly(res, PROC_SECRET, PROC_TOKEN)

    def test_expired_token_runs_credential_process_again(self):
        # Replies: 400 ExpiredToken, then 201.  The script counts its runs.
        # Expected: two POSTs, the process run twice, exit 0.
        self.accept(PROC_KEY, PROC_SECRET, PROC_TOKEN)
        runs = os.path.join(self.tmp, "runs")
        env = self.credential_process(
            "echo run >> %s\n"
            "cat <<EOF\n"
            '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s",\n'
            ' "SessionToken": "%s"}\nEOF\n'
            % (runs, PROC_KEY, PROC_SECRET, PROC_TOKEN))
        paths = self.edit()
        self.cf.inject({"fault": "error", "status": 400,
                        "code": "ExpiredToken",
                        "message": "The security token included in the "
                                   "request is expired"}, op="create")
        res = self.check(self.once("--profile", "proc", env=env))
        reqs = self.requests()
        self.assertEqual([r["error_code"] for r in reqs],
                         ["ExpiredToken", None], reqs)
        with open(runs) as f:
            self.assertEqual(f.read().split(), ["run", "run"])
        invs = self.cf.invalidations()
        self.assertEqual(len(invs), 1, invs)
        self.assertEqual(sorted(invs[0]["paths"]), paths)
        self.assert_no_secrets(res, PROC_SECRET, PROC_TOKEN)

    def test_missing_profile_sends_nothing(self):
        # --profile names a profile in neither file.  Expected: exit 4 with
        # an error naming it and the files searched; no request.
        path = write(self.tmp, "aws/credentials",
                     "[site]\naws_access_key_id = %s\n"
                     "aws_secret_access_key = %s\n"
                     % (PROFILE_KEY, PROFILE_SECRET))
        paths = self.edit()
        env = dict(self.env, AWS_SHARED_CREDENTIALS_FILE=path)
        res = self.once("--profile", "nope", env=env)
        self.assertEqual(res.status, 4, repr(res))
        self.assertIn("profile nope not found", res.err)
        self.assertIn(path, res.err)
        self.assertEqual(self.cf.log(), [])
        self.assert_no_secrets(res, PROFILE_SECRET)
        self.assertEqual(self.plan(), paths)

    def test_failing_credential_process_sends_nothing(self):
        # The script fails (exit 3, a reason on stderr).  Expected: exit 4
        # with an error naming credential_process and the reason; no request
        # at all; the change stays pending.
        env = self.credential_process(
            'echo "sso session expired; run aws sso login" >&2\nexit 3\n')
        paths = self.edit()
        res = self.once("--profile", "proc", "-v", "-v", env=env)
        self.assertEqual(res.status, 4, repr(res))
        self.assertIn("credential_process", res.err)
        self.assertIn("sso session expired", res.err)
        self.assertEqual(self.cf.log(), [])
        self.assertEqual(self.plan(), paths)


class PlainHttp(StandInTest):
    """The stand-in serves plain http on 127.0.0.1."""

    plain_http = True

    def test_plain_http_to_loopback_works(self):
        # Replies: 201.  Expected: one signed POST over http://127.0.0.1.
        self.assertTrue(self.cf.endpoint.startswith("http://127.0.0.1:"))
        paths = self.edit()
        self.check(self.once())
        self.assert_sent_once(paths)


if __name__ == "__main__":
    unittest.main()
