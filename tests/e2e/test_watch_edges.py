# SPDX-License-Identifier: MIT
"""Watch mode at its edges (issue 11): what a full walk would see, the
daemon must see without a restart.  Symlinks inside the root, a
symlinked root switched capistrano-style, a root swapped by
renameat2(RENAME_EXCHANGE) or unmounted and mounted again, and changes
that never close the file (truncate(2), a writer that keeps it open, the
other name of a hard link).

The daemon runs dry with -v, as in test_daemon.py: batches are read from
its output and every wait is for a log line or a batch, never a fixed
sleep.  Mounts happen in a private mount namespace (`unshare --mount
--propagation private`) that the daemon runs in, so nothing reaches the
host; those tests are skipped where mounting is not permitted.
"""
import ctypes
import os
import shlex
import shutil
import subprocess
import time
import unittest

from tests.e2e.cfw import BIN, write
from tests.e2e.daemon import BATCH_RE, Daemon
from tests.e2e.test_daemon import DaemonTest

RENAME_EXCHANGE = 2  # linux/fs.h


def rename_exchange(a, b):
    """renameat2(a, b, RENAME_EXCHANGE): both names swap atomically."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.renameat2(-100, os.fsencode(a), -100, os.fsencode(b),
                      RENAME_EXCHANGE) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), a)


def repoint(link, target):
    """Re-points a symlink as deploy tools do: a new link under a
    temporary name, renamed over the old one."""
    tmp = link + ".tmp"
    os.symlink(target, tmp)
    os.replace(tmp, link)


class EdgeTest(DaemonTest):
    def batch(self, d, i, timeout=30):
        """The paths of batch i (from 0), once all are printed: the batch
        line may be logged before its paths reach stdout."""
        deadline = time.monotonic() + timeout
        while True:
            b = d.batches()
            if len(b) > i and len(b[i].paths) == int(
                    BATCH_RE.search(b[i].line).group(2)):
                return sorted(b[i].paths)
            if d.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("no complete batch %d within %s s:\n%r"
                                     % (i + 1, timeout, d))
            time.sleep(0.01)

    def wait_paths_after(self, d, n, expected, timeout=30):
        """Waits until the batches after the first n hold every path of
        expected (in one batch or more), then checks they hold just
        those, each once."""
        deadline = time.monotonic() + timeout
        while True:
            got = sorted(p for b in d.batches()[n:] for p in b.paths)
            if set(expected) <= set(got) or time.monotonic() > deadline:
                break
            if d.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.assertEqual(got, sorted(expected), repr(d))


class Links(EdgeTest):
    def test_edit_behind_a_link_sends_the_link_urls(self):
        self.site(["real/a.html", "real/docs/x.html", "other.html"])
        os.symlink("real/a.html", os.path.join(self.root, "a.html"))
        os.symlink("real/docs", os.path.join(self.root, "docs"))
        d = self.start()
        d.wait_for("recording a baseline of 5 files")
        write(self.root, "real/a.html", "edited")
        self.wait_paths(d, ["/a.html", "/real/a.html"])
        write(self.root, "real/docs/x.html", "edited")
        self.assertEqual(self.batch(d, 1),
                         ["/docs/x.html", "/real/docs/x.html"], repr(d))

    def test_repointed_link_sends_what_is_behind_it(self):
        self.site(["real/a.html", "real/b.html", "v1/p.html", "v2/p.html",
                   "v2/q.html"])
        os.symlink("real/a.html", os.path.join(self.root, "a.html"))
        os.symlink("v1", os.path.join(self.root, "docs"))
        d = self.start()
        d.wait_for("recording a baseline of 7 files")
        repoint(os.path.join(self.root, "a.html"), "real/b.html")
        repoint(os.path.join(self.root, "docs"), "v2")
        self.wait_paths(d, ["/a.html", "/docs/p.html", "/docs/q.html"])
        n = len(d.batches())
        write(self.root, "v1/p.html", "the old target: not behind docs")
        write(self.root, "v2/q.html", "the new one")
        self.wait_paths_after(d, n, ["/docs/q.html", "/v1/p.html",
                                     "/v2/q.html"])


class SymlinkedRoot(EdgeTest):
    def setUp(self):
        super().setUp()
        self.releases = os.path.join(self.tmp, "releases")
        for n, files in ((1, {"index.html": "1", "a.html": "a",
                              "b/index.html": "b"}),
                         (2, {"index.html": "1", "a.html": "a2",
                              "c.html": "c"}),
                         (3, {"index.html": "3", "a.html": "a2",
                              "c.html": "c"})):
            for rel, data in files.items():
                write(os.path.join(self.releases, str(n)), rel, data)
        self.root = os.path.join(self.tmp, "current")
        os.symlink("releases/1", self.root)

    def test_capistrano_switch_sends_the_difference_and_keeps_watching(self):
        d = self.start()
        d.wait_for(r"current: watching 2 directories$")
        d.wait_for("recording a baseline of 3 files")
        repoint(self.root, "releases/2")  # ln -s to a temporary, mv -T
        self.wait_paths(d, ["/a.html", "/b/", "/b/index.html", "/c.html"])
        n = len(d.batches())
        write(self.releases, "1/index.html", "the old release")
        write(self.releases, "2/c.html", "edited in the new one")
        self.assertEqual(self.batch(d, n), ["/c.html"], repr(d))
        # Plain `ln -sfn`, however it replaces the link.
        subprocess.run(["ln", "-sfn", "releases/3", "current"],
                       cwd=self.tmp, check=True)
        self.assertEqual(self.batch(d, n + 1),
                         ["/", "/c.html", "/index.html"], repr(d))


class RootSwap(EdgeTest):
    def test_root_swapped_by_rename_exchange_is_followed(self):
        self.site(["a.html", "b.html", "sub/x.html"])
        staging = os.path.join(self.tmp, "staging")
        for rel, data in (("a.html", "new a"), ("b.html", "<p>b.html</p>\n"),
                          ("sub/x.html", "<p>sub/x.html</p>\n"),
                          ("c.html", "new")):
            write(staging, rel, data)
        d = self.start()
        # The root as the second name: its name comes back first, then
        # goes, which left the old watch waiting for ever.
        rename_exchange(staging, self.root)
        self.wait_paths(d, ["/a.html", "/c.html"])
        n = len(d.batches())
        write(self.root, "sub/x.html", "edited in the swapped-in root")
        self.assertEqual(self.batch(d, n), ["/sub/x.html"], repr(d))


class NoClose(EdgeTest):
    def test_truncate_is_sent(self):
        self.site(["a.html", "b.html"])
        d = self.start()
        os.truncate(os.path.join(self.root, "a.html"), 3)
        self.assertEqual(self.batch(d, 0), ["/a.html"], repr(d))

    def test_writer_that_keeps_the_file_open_is_sent(self):
        self.site(["log.html", "b.html"])
        d = self.start()
        with open(os.path.join(self.root, "log.html"), "r+") as f:
            f.seek(0, os.SEEK_END)
            f.write("one more line\n")
            f.flush()
            self.assertEqual(self.batch(d, 0), ["/log.html"], repr(d))
            f.write("and another\n")
            f.flush()
            self.assertEqual(self.batch(d, 1), ["/log.html"], repr(d))

    def test_writer_that_never_pauses_is_sent_at_the_max_delay(self):
        # A writer that keeps its file open and writes every 100 ms is
        # never quiet for --quiet-ms: it goes out at --max-delay-ms.
        self.site(["log.html", "b.html"])
        d = self.start(quiet_ms=1000, max_delay_ms=2000)
        with open(os.path.join(self.root, "log.html"), "r+") as f:
            f.seek(0, os.SEEK_END)
            t0 = time.monotonic()
            while not d.batches() and time.monotonic() - t0 < 8:
                f.write("one more line\n")
                f.flush()
                time.sleep(0.1)
            self.assertEqual(self.batch(d, 0), ["/log.html"], repr(d))
            self.assertLess(d.batches()[0].at - t0, 6, repr(d))

    def test_other_name_of_a_hard_link_is_sent(self):
        self.site(["a.html", "c.html"])
        os.makedirs(os.path.join(self.root, "b"))
        os.link(os.path.join(self.root, "a.html"),
                os.path.join(self.root, "b/twin.html"))
        d = self.start()
        with open(os.path.join(self.root, "a.html"), "w") as f:
            f.write("edited in place")
        self.wait_paths(d, ["/a.html", "/b/twin.html"])


class NsDaemon(Daemon):
    """cfwatch ARGS in a private mount namespace of its own, where tmpfs
    is mounted on root first and seeded with the files of seed."""

    def __init__(self, dirpath, root, seed, *args, env=None):
        script = "mount -t tmpfs cfwtest %s && cp -a %s/. %s && exec %s" % (
            shlex.quote(root), shlex.quote(seed), shlex.quote(root),
            " ".join(shlex.quote(str(a)) for a in [BIN] + list(args)))
        super().__init__(dirpath, *args, env=env, argv=[
            "unshare", "--mount", "--propagation", "private", "sh", "-c",
            script])

    def ns(self, cmd):
        """Runs the shell command cmd in the daemon's mount namespace."""
        subprocess.run(["nsenter", "-t", str(self.pid), "-m", "--",
                        "sh", "-c", cmd], check=True)


class Mounts(EdgeTest):
    def setUp(self):
        super().setUp()
        if shutil.which("unshare") is None or shutil.which("nsenter") is None:
            self.skipTest("unshare or nsenter is not installed")
        res = subprocess.run(["unshare", "--mount", "--propagation",
                              "private", "mount", "-t", "tmpfs", "cfwtest",
                              self.tmp], stderr=subprocess.PIPE)
        if res.returncode != 0:
            self.skipTest("mounting is not permitted here: %s" %
                          res.stderr.decode(errors="replace").strip())

    def test_unmounted_root_is_gone_and_a_new_mount_is_followed(self):
        seed = os.path.join(self.tmp, "seed")
        rels = ["a.html", "b/index.html", "c.html"]
        for rel in rels:
            write(seed, rel, "<p>%s</p>\n" % rel)
        d = NsDaemon(self.tmp, self.root, seed, "-v", "--state-dir",
                     self.state, "--quiet-ms", self.QUIET_MS, self.root,
                     env=self.env)
        self.daemons.append(d)
        d.wait_for(r"public: watching 2 directories$")
        d.wait_for("recording a baseline of 3 files")
        root = shlex.quote(self.root)
        d.ns("umount %s" % root)
        d.wait_for("public was unmounted; waiting for a file system")
        # The flush that follows must not read the bare mount point as
        # every file deleted.
        d.wait_for("public is gone or was replaced; not diffing it")
        self.assertEqual(d.batches(), [], repr(d))
        # A new file system, filled before it is moved into place.
        stage = shlex.quote(os.path.join(self.tmp, "stage"))
        d.ns("mkdir %s && mount -t tmpfs cfwtest %s && cp -a %s/. %s && "
             "echo edited > %s/a.html && mount --move %s %s"
             % (stage, stage, shlex.quote(seed), stage, stage, stage, root))
        self.assertEqual(self.batch(d, 0), ["/a.html"], repr(d))
        d.ns("echo edited > %s/b/index.html" % root)
        self.assertEqual(self.batch(d, 1), ["/b/", "/b/index.html"],
                         repr(d))


    def test_mounts_coming_and_going_at_start_up_are_no_new_root(self):
        # Other programs mount while the daemon starts (in CI, another
        # test did): a mount during the start-up walk made the watch
        # take its root, still being taken in, for a replaced one; the
        # first scan was dropped and the edit below went unsent.
        self.site(["a.html", "c.html"] +
                  ["d%03d/x.html" % i for i in range(1000)])
        os.makedirs(os.path.join(self.root, "b"))
        os.link(os.path.join(self.root, "a.html"),
                os.path.join(self.root, "b/twin.html"))
        spot = os.path.join(self.tmp, "spot")
        churning = os.path.join(self.tmp, "churning")
        os.mkdir(spot)
        # The churn runs in the daemon's namespace for as long as the
        # daemon ($$ once exec'd) lives, and has begun before it starts.
        script = ("(while kill -0 $$ 2>/dev/null; do mount -t tmpfs cfwtest "
                  "{s} && umount {s} && touch {c}; done) </dev/null "
                  ">/dev/null 2>&1 & while [ ! -e {c} ]; do sleep 0.01; "
                  "done; exec {cmd}").format(
                      s=shlex.quote(spot), c=shlex.quote(churning),
                      cmd=" ".join(shlex.quote(str(a)) for a in [
                          BIN, "-v", "--state-dir", self.state,
                          "--quiet-ms", self.QUIET_MS, self.root]))
        d = Daemon(self.tmp, env=self.env, argv=[
            "unshare", "--mount", "--propagation", "private", "sh", "-c",
            script])
        self.daemons.append(d)
        d.wait_for("recording a baseline of 1003 files")
        d.wait_for(r"public: start-up read 1002 directories once; the "
                   r"watch listed 0 itself$")
        write(self.root, "a.html", "edited in place")
        self.wait_paths(d, ["/a.html", "/b/twin.html"])
        self.assertEqual(d.count("was replaced by another directory"), 0,
                         repr(d))
        self.assertEqual(d.count("is gone or was replaced"), 0, repr(d))

if __name__ == "__main__":
    unittest.main()
