# SPDX-License-Identifier: MIT
"""A file system that hangs (tests/e2e/fusehang.py: a FUSE mount whose
server never answers) must not hold the daemon's SIGTERM for ever: the
stop gives up on the work stuck there a few seconds after everything
else is done, says so, and exits 0; the state keeps what that work was
for.  Each daemon runs in a private mount namespace."""
import os
import re
import shutil
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

    def spawn(self, hung):
        """A dry-running daemon on the root, with the hanging file system
        mounted on hung (in its namespace only)."""
        os.makedirs(hung, exist_ok=True)
        self.pidfile = os.path.join(self.tmp, "fusehang.pid")
        argv = ["unshare", "--mount", "--propagation", "private",
                sys.executable, "-m", "tests.e2e.fusehang", hung,
                self.pidfile, "--", cfw.BIN, "-v", "--quiet-ms", "100",
                "-d", DISTRIBUTION, "--dry-run", "--state-dir", self.state,
                self.root]
        env = {"HOME": self.tmp, "PYTHONPATH": cfw.SOURCE_DIR}
        # LeakSanitizer stops every thread at exit to look for leaks, and
        # waits for ever for one stuck on the mount; other builds ignore
        # the variable.
        asan = os.environ.get("ASAN_OPTIONS", "")
        env["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "detect_leaks=0"
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
        self.assertLess(took, STOP_BOUND_S, repr(d))
        self.assertTrue(re.search(r"stopping: \d+ tasks? on the thread pool "
                                  r"still running", "\n".join(d.log())),
                        repr(d))

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


if __name__ == "__main__":
    unittest.main()
