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
found them).  Nor may it resolve the root or watch a directory by path:
SIGHUP restarted each watch there, with its look at the root and the
watches of the root's parents.  So that the check cannot pass
for want of a trace, the worker threads' own opens and fsyncs of those
files must be in it.  A second daemon takes a burst of writes, creates,
renames, a symlink and a hard-linked file's edit: the loop thread must
not stat any file of the site either (the watch's lstat per event ran
there).  A third, in a mount namespace of its own, starts on a site
with symlinks, takes a directory moved in with a link in it, and sees
the mount table change: the loop thread must not resolve or stat the
root or anything in it (the root check, on each mount change, and the
links of the watch's walks were resolved there).  The survey of every flow (a burst, an S3 origin,
a state in S3, SIGHUP) is `python3 -m tests.e2e.strace_survey`."""
import os
import re
import shutil
import signal
import subprocess
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

    def test_loop_thread_resolves_nothing_at_restart(self):
        # SIGHUP restarts the sites' watches on the running loop: their
        # look at the root (realpath(3), statx) and their watches of
        # the root's parents, added by path, ran there.
        for i, tr in enumerate(self.traces):
            bad = [c for c in tr.main_disk()
                   if (c.name in RESOLVES and sl.under(c.path, [self.root]))
                   or c.name == "inotify_add_watch"]
            self.assertEqual(bad, [], "run %d:\n%s" % (i, show(bad)))

    def test_root_was_looked_at_by_workers(self):
        # Not vacuous: other threads resolved the root and watched its
        # parent.
        work = self.traces[0].workers()
        self.assertTrue([c for c in work if c.name in RESOLVES and
                         c.path == self.root], show(work))
        self.assertTrue([c for c in work if c.name == "inotify_add_watch"
                         and c.path == self.tmp], show(work))

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


BURST_NEW = 200
BURST_EDITS = 50
BURST_RENAMES = 50
STATS = ("stat", "lstat", "newfstatat", "statx", "fstatat64")
# realpath(3) reads each component's link.
RESOLVES = STATS + ("readlink", "readlinkat")


@unittest.skipIf(WHY_NOT, WHY_NOT)
class BurstOffTheLoop(unittest.TestCase):
    """A dry-running traced daemon takes a burst; its batches are waited
    for until they hold every file changed, so the trace holds the
    burst's handling."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cfwloopburst.")
        cls.root = os.path.realpath(os.path.join(cls.tmp, "public"))
        files = dict(SITE)
        for i in range(BURST_EDITS):
            files["pre/p%02d.html" % i] = "old %d" % i
        # The burst's directories exist: their files come as events, not
        # from the walk of a new directory.
        files["new/seed.html"] = files["ren/seed.html"] = "seed"
        for rel, data in files.items():
            cfw.write(cls.root, rel, data)
        os.link(os.path.join(cls.root, "a/b.html"),
                os.path.join(cls.root, "twin.html"))
        cls.trace = sl.Trace(cls.run_daemon())

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def burst(cls):
        """Writes in place, creates, renames over (from names the default
        excludes), a symlink, and an edit of a hard-linked file whose
        other name must be reported.  Returns how many files changed."""
        for i in range(BURST_NEW):
            cfw.write(cls.root, "new/n%03d.html" % i, "new %d" % i)
        for i in range(BURST_EDITS):
            with open(os.path.join(cls.root, "pre/p%02d.html" % i), "w") as f:
                f.write("edited %d" % i)
        for i in range(BURST_RENAMES):
            tmp = cfw.write(cls.root, "ren/r%02d.html~" % i, "renamed %d" % i)
            os.replace(tmp, os.path.join(cls.root, "ren/r%02d.html" % i))
        os.symlink("a/index.html", os.path.join(cls.root, "link.html"))
        with open(os.path.join(cls.root, "a/b.html"), "w") as f:
            f.write("b, edited in place")
        return BURST_NEW + BURST_EDITS + BURST_RENAMES + 3  # link, b, twin

    @classmethod
    def run_daemon(cls):
        out = os.path.join(cls.tmp, "burst.strace")
        env = {"HOME": cls.tmp, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
               "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
        state = os.path.join(cls.tmp, "state")
        d = sl.Traced(cls.tmp, out, "-v", "--quiet-ms", "100", "-d",
                      DISTRIBUTION, "--dry-run", "--state-dir", state,
                      cls.root, env=env)
        try:
            d.wait_for(PASS, timeout=60)
            mark = d.mark()
            cls.want = cls.burst()
            d.wait_until(lambda: cls.files_sent(d, mark) >= cls.want,
                         "%d files sent" % cls.want, timeout=120)
            cls.sent = cls.files_sent(d, mark)
            d.send(signal.SIGTERM)
            status = d.wait(60)
        finally:
            d.kill()
        if status != 0:
            raise AssertionError("exit %d:\n%r" % (status, d))
        return out

    @staticmethod
    def files_sent(d, mark):
        """The files of the batches logged from Line mark on."""
        rx = re.compile(r": batch: (\d+) files")
        return sum(int(m.group(1)) for m in (
            rx.search(ln.text) for ln in d.lines()[mark:]
            if ln.stream == "err") if m)

    def test_burst_was_reported_and_stated_by_workers(self):
        # Not vacuous: the burst's files were stated, by another thread.
        self.assertGreaterEqual(self.sent, self.want)
        stated = [c for c in self.trace.workers()
                  if c.name in STATS and sl.under(c.path, [self.root]) and
                  "/new/" in c.path]
        self.assertTrue(stated, show(self.trace.workers()))

    def test_loop_thread_stats_no_site_file(self):
        # The watch's lstat per event, and the resolving of a new link,
        # ran there; and the root check once the mount table is polled;
        # and the watch of the new link's file's directory, by path.
        bad = [c for c in self.trace.main_disk()
               if (c.name in STATS and sl.under(c.path, [self.root])) or
               c.name == "inotify_add_watch"]
        self.assertEqual(bad, [], "%d calls:\n%s" % (len(bad), show(bad)))


def mounts_refused():
    """None if a private mount namespace can mount here, else why not."""
    if shutil.which("unshare") is None or shutil.which("nsenter") is None:
        return "unshare or nsenter is not installed"
    res = subprocess.run(["unshare", "--mount", "--propagation", "private",
                          "mount", "-t", "tmpfs", "cfwtest", "/mnt"],
                         stderr=subprocess.PIPE)
    if res.returncode != 0:
        return "mounting is not permitted here: %s" % res.stderr.decode(
            errors="replace").strip()
    return None


NO_MOUNTS = WHY_NOT or mounts_refused()


@unittest.skipIf(NO_MOUNTS, NO_MOUNTS)
class RootAndLinksOffTheLoop(unittest.TestCase):
    """A dry-running traced daemon, in a private mount namespace, on a
    site with links; a directory holding a link is moved in, and the
    mount table changes (a tmpfs mounted beside the root and unmounted):
    each time the watch looks at its root again."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="cfwlooproot.")
        cls.root = os.path.realpath(os.path.join(cls.tmp, "public"))
        for rel, data in SITE.items():
            cfw.write(cls.root, rel, data)
        os.symlink("a/b.html", os.path.join(cls.root, "alias.html"))
        os.symlink("a", os.path.join(cls.root, "docs"))
        cls.trace = sl.Trace(cls.run_daemon())

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def move_in_links(cls):
        """A directory with a link to a file of the site, moved in: the
        watch walks it, and meets the link."""
        stage = os.path.join(cls.tmp, "stage")
        os.mkdir(stage)
        os.symlink("../css/site.css", os.path.join(stage, "style.css"))
        cfw.write(stage, "page.html", "page")
        os.rename(stage, os.path.join(cls.root, "new"))

    @classmethod
    def run_daemon(cls):
        out = os.path.join(cls.tmp, "root.strace")
        env = {"HOME": cls.tmp}
        state = os.path.join(cls.tmp, "state")
        spot = os.path.join(cls.tmp, "spot")
        os.mkdir(spot)
        d = sl.Traced(cls.tmp, out, "-v", "--quiet-ms", "100", "-d",
                      DISTRIBUTION, "--dry-run", "--state-dir", state,
                      cls.root, env=env, wrap=(
                          "unshare", "--mount", "--propagation", "private"))
        try:
            d.wait_for(PASS, timeout=60)
            mark = d.mark()
            cls.move_in_links()
            d.wait_for(r"batch: 2 files", start=mark, timeout=60)
            cls.mounted_at = sl.day_seconds()
            subprocess.run(["nsenter", "-t", str(d.traced_pid()), "-m", "--",
                            "sh", "-c", "mount -t tmpfs cfwtest %s && "
                            "umount %s" % (spot, spot)], check=True)
            # The root check holds the events back until it is in: the
            # edit's batch comes after it.
            mark = d.mark()
            cfw.write(cls.root, "index.html", "<h1>home, edited</h1>")
            d.wait_for(r"batch: 1 files", start=mark, timeout=60)
            d.send(signal.SIGTERM)
            status = d.wait(60)
        finally:
            d.kill()
        if status != 0:
            raise AssertionError("exit %d:\n%r" % (status, d))
        return out

    def test_root_and_links_were_resolved_by_workers(self):
        # Not vacuous: the root was resolved after the mount change, and
        # the moved-in link, by other threads.
        work = self.trace.workers()
        root = [c for c in work if c.name in RESOLVES and
                c.path == self.root and c.t >= self.mounted_at]
        self.assertTrue(root, show(work))
        link = os.path.join(self.root, "new/style.css")
        self.assertTrue([c for c in work if c.name in RESOLVES and
                         c.path == link], show(work))

    def test_loop_thread_resolves_nothing_of_the_site(self):
        bad = [c for c in self.trace.main_disk()
               if c.name in RESOLVES and sl.under(c.path, [self.root])]
        self.assertEqual(bad, [], "%d calls:\n%s" % (len(bad), show(bad)))


if __name__ == "__main__":
    unittest.main()
