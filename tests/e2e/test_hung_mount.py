# SPDX-License-Identifier: MIT
"""A file system that hangs (tests/e2e/fusehang.py: a FUSE mount whose
server never answers) must not hold the daemon's SIGTERM for ever: the
stop gives up on the work stuck there a few seconds after everything
else is done, names it, and exits 0; the state keeps what that work was
for.  A reload waiting for such work says so, and a root that does not
answer at start is told to systemd (STATUS=, no READY=1).  Each daemon
runs in a private mount namespace."""
import os
import re
import shutil
import socket
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from tests.e2e import cfw
from tests.e2e.daemon import Daemon
from tests.standin.standin import DISTRIBUTION

# app_watch.c: the stop's grace for requests, then its wait for stuck
# work; generous on top for a loaded machine.
STOP_BOUND_S = 10 + 3 + 10
# A stop with no request in flight waits for stuck work only (3 s), not
# for the requests' grace; generous on top, yet under 10 + 3.
STUCK_STOP_BOUND_S = 3 + 5


def fuse_refused():
    """None if a hanging FUSE mount can be made here, else why not."""
    if shutil.which("unshare") is None:
        return "unshare is not installed"
    tmp = tempfile.mkdtemp(prefix="cfwfuse.")
    try:
        res = subprocess.run(
            ["unshare", "--mount", "--propagation", "private",
             sys.executable, "-m", "tests.e2e.fusehang", tmp,
             os.path.join(tmp, "pid"), "--", "true"],
            cwd=cfw.SOURCE_DIR, stderr=subprocess.PIPE)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if res.returncode != 0:
        return "no FUSE mount here: %s" % res.stderr.decode(
            errors="replace").strip()
    return None


NO_FUSE = fuse_refused()


def stuck_threads(pid):
    """How many threads of pid wait on a FUSE request."""
    n = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/wchan" % (pid, tid)) as f:
                n += f.read().startswith(("fuse", "request_wait_answer"))
        except OSError:
            pass
    return n


class Notify:
    """A socket standing for systemd's (NOTIFY_SOCKET): the messages a
    daemon sends there."""

    def __init__(self, tmp):
        self.path = os.path.join(tmp, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.got = []

    def wait_for(self, pattern, timeout=30, start=0):
        """Reads until a message (from number start on) has a line
        matching pattern."""
        rx = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while not any(rx.search(m) for m in self.got[start:]):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %r in %r" % (pattern, self.got))
            self.sock.settimeout(left)
            try:
                self.got.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass

    def close(self):
        self.sock.close()


class MissingRoot(unittest.TestCase):
    """What a hung root is compared with: a root that does not exist, for
    a site with state, is followed; the daemon is READY and its STATUS=
    says what it waits for, until the root is back."""

    def test_a_missing_root_is_ready_and_told(self):
        tmp = tempfile.mkdtemp(prefix="cfwmissing.")
        self.addCleanup(shutil.rmtree, tmp, True)
        root = os.path.join(tmp, "public")
        cfw.write(root, "index.html", "<h1>home</h1>")
        args = ["-v", "--quiet-ms", "100", "-d", DISTRIBUTION, "--dry-run",
                "--state-dir", os.path.join(tmp, "state"), root]
        d = Daemon(tmp, *args, env={"HOME": tmp})
        d.wait_for(r": watching \d+ directories")
        self.assertEqual(d.stop(), 0, repr(d))  # the baseline
        shutil.rmtree(root)
        notify = Notify(tmp)
        self.addCleanup(notify.close)
        d = Daemon(tmp, *args, env={"HOME": tmp, "NOTIFY_SOCKET": notify.path})
        try:
            notify.wait_for(r"^STATUS=waiting for \S*/public, which does not "
                            r"exist$")
            self.assertTrue(any("READY=1" in m for m in notify.got),
                            notify.got)
            cfw.write(root, "index.html", "<h1>back</h1>")
            n = len(notify.got)
            notify.wait_for(r"^STATUS=watching 1 site$", start=n)
            self.assertEqual(d.stop(), 0, repr(d))
        finally:
            d.kill()


@unittest.skipIf(NO_FUSE, NO_FUSE)
class HungMount(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cfwhung.")
        self.root = os.path.realpath(os.path.join(self.tmp, "public"))
        self.state = os.path.join(self.tmp, "state")
        cfw.write(self.root, "index.html", "<h1>home</h1>")
        cfw.write(self.root, "a/b.html", "b")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def spawn(self, hung, env=None):
        """A dry-running daemon on the root, with the hanging file system
        mounted on hung (in its namespace only); env is added to its
        environment."""
        os.makedirs(hung, exist_ok=True)
        self.pidfile = os.path.join(self.tmp, "fusehang.pid")
        argv = ["unshare", "--mount", "--propagation", "private",
                sys.executable, "-m", "tests.e2e.fusehang", hung,
                self.pidfile, "--", cfw.BIN, "-v", "--quiet-ms", "100",
                "-d", DISTRIBUTION, "--dry-run", "--state-dir", self.state,
                self.root]
        env_extra = env or {}
        env = {"HOME": self.tmp, "PYTHONPATH": cfw.SOURCE_DIR}
        # LeakSanitizer stops every thread at exit to look for leaks, and
        # waits for ever for one stuck on the mount; other builds ignore
        # the variable.
        asan = os.environ.get("ASAN_OPTIONS", "")
        env["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "detect_leaks=0"
        env.update(env_extra)
        return Daemon(self.tmp, env=env, argv=argv)

    def stop_in_bound(self, d):
        """SIGTERM: the exit status, and how long it took."""
        t0 = time.monotonic()
        d.send(signal.SIGTERM)
        status = d.wait(STOP_BOUND_S + 30)
        return status, time.monotonic() - t0

    def test_sigterm_ends_while_the_first_scan_hangs(self):
        # A directory of the site is a mount point that does not answer:
        # the first pass's walk (on the thread pool) waits there, and the
        # site, closing, waits for the walk.
        d = self.spawn(os.path.join(self.root, "hung"))
        try:
            d.wait_until(lambda: stuck_threads(d.pid) > 0,
                         "a thread stuck on the mount", timeout=30)
            status, took = self.stop_in_bound(d)
        finally:
            d.kill()
        self.assertEqual(status, 0, repr(d))
        # No request is in flight: the stop does not wait for the
        # requests' grace, and names the scan it leaves behind.
        self.assertLess(took, STUCK_STOP_BOUND_S, repr(d))
        log = "\n".join(d.log())
        self.assertTrue(re.search(r"stopping: scan of \S*/public stuck in "
                                  r"[^\n]* for \d+ s", log), repr(d))
        self.assertNotIn("request is still in flight", log, repr(d))

    def test_sighup_while_the_first_scan_hangs(self):
        # A reload waits for the old site to close (it holds the state's
        # lock), which waits for the stuck walk: the log says so, once,
        # and a SIGTERM then still ends the daemon.
        d = self.spawn(os.path.join(self.root, "hung"))
        try:
            d.wait_until(lambda: stuck_threads(d.pid) > 0,
                         "a thread stuck on the mount", timeout=30)
            d.send(signal.SIGHUP)
            pattern = (r"reload: waiting for the scan of \S*/public, stuck "
                       r"in [^\n]* for \d+ s")
            d.wait_for(pattern, timeout=30)
            time.sleep(3)  # said once, not again
            self.assertEqual(d.count(pattern), 1, repr(d))
            status, took = self.stop_in_bound(d)
        finally:
            d.kill()
        self.assertEqual(status, 0, repr(d))
        self.assertLess(took, STUCK_STOP_BOUND_S, repr(d))
        self.assertTrue(re.search(r"stopping: scan of \S*/public stuck in ",
                                  "\n".join(d.log())), repr(d))

    def test_sigterm_ends_while_the_root_hangs(self):
        # The root is the mount point: the watch's first look at it
        # hangs (on its stat thread: it ran in watch_start, before the
        # loop, which then never ran, nor handled the SIGTERM), so the
        # site never starts; the stop waits for no stuck thread.
        d = self.spawn(self.root)
        try:
            d.wait_until(lambda: stuck_threads(d.pid) > 0,
                         "a thread stuck on the mount", timeout=30)
            # The watch says what it leaves behind once its look has
            # waited 2 s (watch_linux.h, WATCH_STUCK_S).
            time.sleep(3)
            status, took = self.stop_in_bound(d)
        finally:
            d.kill()
        self.assertEqual(status, 0, repr(d))
        self.assertLess(took, 5, repr(d))
        self.assertIn("cfwatch: stopped", d.log(), repr(d))
        self.assertTrue(re.search(r"public: its look at the root has been "
                                  r"waiting for the disk for \d+ s",
                                  "\n".join(d.log())), repr(d))

    def test_a_root_that_does_not_answer_is_not_ready(self):
        # systemd (Type=notify) hears why the daemon is not ready, and no
        # READY=1: its start timeout decides, as for any first pass that
        # has not reported.
        notify = Notify(self.tmp)
        self.addCleanup(notify.close)
        d = self.spawn(self.root, env={"NOTIFY_SOCKET": notify.path})
        try:
            d.wait_for(r"public: the root does not answer after \d+ s",
                       timeout=30)
            notify.wait_for(r"^STATUS=waiting for \S*/public, which does "
                            r"not answer$")
            status, took = self.stop_in_bound(d)
        finally:
            d.kill()
        self.assertEqual(status, 0, repr(d))
        self.assertFalse(any("READY=1" in m for m in notify.got), notify.got)


if __name__ == "__main__":
    unittest.main()
