# SPDX-License-Identifier: MIT
""""Never blocks", checked on the real daemon: cfwatch runs under strace
(tests/e2e/strace_loop.py) through a start on a fresh state, a one-file
edit sent to the stand-in's CloudFront, a delete, a SIGHUP (the config
file read again), a SIGTERM, then a
start on the state it left and a SIGTERM.  After uv_run began, the loop
thread (the main thread) must not list a directory, sync a file or open
a file of the site or the state dir: that work belongs to the
threadpool.  Nor may it open any other file: libcurl's CA bundle, the
C library's time zone file and the config file at SIGHUP were read
there, once per client, per process and per reload (strace_survey.py
found them).  So that the check cannot pass
for want of a trace, the worker threads' own opens and fsyncs of those
files must be in it.  The survey of every flow (a burst, an S3 origin,
a state in S3, SIGHUP) is `python3 -m tests.e2e.strace_survey`."""
import os
import shutil
import signal
import tempfile
import unittest

from tests.e2e import cfw
from tests.e2e import strace_loop as sl
from tests.standin.standin import (ACCESS_KEY, DISTRIBUTION, SECRET_KEY,
                                   StandIn)

SITE = {"index.html": "<h1>home</h1>", "a/index.html": "<p>a</p>",
        "a/b.html": "b", "css/site.css": "body{}", "img/logo.svg": "<svg/>"}
PASS = r": scanned \d+ files"
WHY_NOT = sl.strace_usable()


def show(calls, limit=20):
    return "\n".join(repr(c) for c in calls[:limit])


@unittest.skipIf(WHY_NOT, WHY_NOT)
class LoopSyscalls(unittest.TestCase):
    """One traced daemon for the class: the cases read its traces."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cfwloopsys.")
        cls.root = os.path.join(cls.tmp, "public")
        cls.state = os.path.join(cls.tmp, "state")
        for rel, data in SITE.items():
            cfw.write(cls.root, rel, data)
        cls.cf = StandIn(config={"completion_delay": 0})
        try:
            cls.traces = [sl.Trace(cls.run_daemon(i)) for i in range(2)]
        finally:
            cls.cf.stop()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def run_daemon(cls, n):
        """Run n: 0 on a fresh state (baseline, edit, delete, SIGHUP),
        1 on the state run 0 left.  Returns the trace's path."""
        out = os.path.join(cls.tmp, "run%d.strace" % n)
        env = {"HOME": cls.tmp, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
               "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
        conf = cfw.write(cls.tmp, "cfwatch.ini", "[cfwatch]\nquiet_ms = 100\n")
        d = sl.Traced(cls.tmp, out, "-v", "-c", conf, "-d",
                      DISTRIBUTION, "--endpoint", cls.cf.endpoint,
                      "--ca-file", cls.cf.ca_file, "--state-dir", cls.state,
                      cls.root, env=env)
        try:
            d.wait_for(PASS, timeout=60)
            if n == 0:
                mark = d.mark()
                cfw.write(cls.root, "a/b.html", "b, edited")
                d.wait_for(r"batch: 1 files, 1 paths, invalidation",
                           start=mark)
                mark = d.mark()
                os.unlink(os.path.join(cls.root, "img/logo.svg"))
                d.wait_for(r"batch: 1 files, 1 paths, invalidation",
                           start=mark)
                mark = d.mark()
                d.send(signal.SIGHUP)
                d.wait_for(r"configuration reloaded", start=mark)
                d.wait_for(PASS, start=mark)
            d.send(signal.SIGTERM)
            status = d.wait(60)
        finally:
            d.kill()
        if status != 0:
            raise AssertionError("exit %d:\n%r" % (status, d))
        return out

    def site_or_state(self, c):
        return sl.under(c.path, [self.root, self.state])

    def test_trace_holds_the_workers_disk_io(self):
        # Not vacuous: the loop started, the parser follows the threads,
        # and the workers' opens of the site's files (hashing) and the
        # state's (journal, snapshot), and their fsyncs, are seen.
        for i, tr in enumerate(self.traces):
            self.assertIsNotNone(tr.loop_t, "run %d: no epoll_wait" % i)
            self.assertGreater(len(tr.threads), 1, "run %d" % i)
            work = tr.workers()
            opened = [c for c in work if c.name == "openat"]
            self.assertTrue(any(sl.under(c.path, [self.root])
                                for c in opened), "run %d" % i)
            self.assertTrue(any(sl.under(c.path, [self.state])
                                for c in opened), "run %d" % i)
        synced = [c for c in self.traces[0].workers()
                  if c.name in ("fsync", "fdatasync") and
                  sl.under(c.path, [self.state])]
        self.assertTrue(synced, show(self.traces[0].workers()))

    def test_loop_thread_never_lists_syncs_or_opens_site_files(self):
        for i, tr in enumerate(self.traces):
            bad = [c for c in tr.main_disk()
                   if c.name in ("getdents64", "getdents", "fsync",
                                 "fdatasync", "sync_file_range") or
                   (c.name in ("open", "openat") and self.site_or_state(c))]
            self.assertEqual(bad, [], "run %d:\n%s" % (i, show(bad)))

    def test_loop_thread_never_waits_for_a_lock_or_a_child(self):
        for i, tr in enumerate(self.traces):
            bad = tr.main_disk(kinds=("lock", "wait"))
            self.assertEqual(bad, [], "run %d:\n%s" % (i, show(bad)))

    def test_loop_thread_never_reads_the_time_zone(self):
        # glibc's strftime (SigV4's date) read /etc/localtime at the first
        # signed request: main.c calls tzset() before the loop instead.
        for i, tr in enumerate(self.traces):
            bad = [c for c in tr.main_disk()
                   if c.name in ("open", "openat", "openat2") and
                   ("zoneinfo" in c.path or c.path == "/etc/localtime")]
            self.assertEqual(bad, [], "run %d:\n%s" % (i, show(bad)))

    def test_loop_thread_opens_no_file_at_all(self):
        # libcurl read the CA bundle at each client's first handshake,
        # on the loop (the stand-in's CA here; the system's 140-odd
        # certificates by default): src/castore.c builds it on the pool.
        # SIGHUP read the config file there: app_watch.c reads it on
        # the pool.
        for i, tr in enumerate(self.traces):
            bad = [c for c in tr.main_disk()
                   if c.name in ("open", "openat", "openat2")]
            self.assertEqual(bad, [], "run %d:\n%s" % (i, show(bad)))


if __name__ == "__main__":
    unittest.main()
