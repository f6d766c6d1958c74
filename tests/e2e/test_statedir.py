# SPDX-License-Identifier: MIT
"""State-dir faults (issue 6): a full disk, a read-only state dir, a
damaged manifest, a temp file left by a crash, a state dir deleted under
a running daemon, and the permissions of what cfwatch writes.  Each gives
a clear error or a recovery: never a silent empty manifest (which would
lose changes), never a crash.

The tests run as root (they mount tmpfs and bind mounts); each skips with
the reason when it cannot mount."""
import os
import shutil
import signal
import stat
import subprocess
import time
import unittest

from tests.e2e.cfw import BIN, Result, TempTest, clean_env, fill_fs, write
from tests.e2e.daemon import Daemon
from tests.standin.standin import ACCESS_KEY, DISTRIBUTION, SECRET_KEY, StandIn

SCANNED = r": scanned \d+ files"
NOBODY = 65534
SITE = {"index.html": "<h1>home</h1>", "a/index.html": "<h1>a</h1>",
        "a/b.html": "b", "css/site.css": "body{}"}


def read(path):
    with open(path, "rb") as f:
        return f.read()


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


class StateTest(TempTest):
    """A site, a state dir, helpers to mount file systems under the temp
    dir (unmounted before it is removed) and to run daemons."""

    def setUp(self):
        super().setUp()
        self.mounts = []
        self.daemons = []
        for rel, data in SITE.items():
            write(self.root, rel, data)

    def tearDown(self):
        for d in self.daemons:
            d.kill()
        for m in reversed(self.mounts):
            subprocess.run(["umount", "-l", m], stderr=subprocess.DEVNULL)
        super().tearDown()

    def mount(self, *args):
        """Runs mount ARGS (the mount point last) or skips the test."""
        path = args[-1]
        os.makedirs(path, exist_ok=True)
        res = subprocess.run(["mount"] + list(args), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        if res.returncode != 0:
            self.skipTest("cannot mount (%s): %s" % (
                " ".join(args), res.stdout.decode(errors="replace").strip()))
        self.mounts.append(path)

    def small_fs(self):
        """A 64 KiB tmpfs; the state dir goes inside it."""
        fs = os.path.join(self.tmp, "fs")
        self.mount("-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", fs)
        self.state = os.path.join(fs, "state")
        return fs

    def fill(self, fs):
        """Fills fs to the last block; returns the filler's path."""
        path = os.path.join(fs, "filler")
        fill_fs(path)
        return path

    def once(self, *extra):
        return self.cfw("once", "--dry-run", "--state-dir", self.state,
                        *extra, self.root)

    def plan(self):
        return self.check(self.cfw("plan", "--state-dir", self.state,
                                   self.root)).lines

    def daemon(self, *extra, settle=True):
        d = Daemon(self.tmp, "-v", "--state-dir", self.state, "--quiet-ms",
                   "200", *extra, self.root, env=self.env)
        self.daemons.append(d)
        if settle:
            d.wait_for(r": watching \d+ directories")
            d.wait_for(SCANNED)
        return d

    def manifest(self):
        return os.path.join(self.state, "manifest")

    def assert_state_error(self, res, *needles):
        self.assertEqual(res.status, 3, repr(res))
        for n in needles:
            self.assertIn(n, res.err)
        self.assertEqual(res.lines, [], repr(res))


class DiskFull(StateTest):
    def test_disk_full_once_reports_it_and_keeps_the_manifest(self):
        fs = self.small_fs()
        self.check(self.once())
        before = read(self.manifest())
        filler = self.fill(fs)
        write(self.root, "a/b.html", "b, edited")
        res = self.once()
        self.assertEqual(res.status, 3, repr(res))
        self.assertIn("no space left", res.err)
        self.assertIn("nothing was recorded", res.err)
        self.assertEqual(read(self.manifest()), before)
        self.assertEqual(sorted(os.listdir(self.state)), ["lock", "manifest"])
        self.assertEqual(self.plan(), ["/a/b.html"])
        os.unlink(filler)
        res = self.check(self.once())
        self.assertEqual(res.lines, ["/a/b.html"])
        self.assertEqual(self.plan(), [])

    def test_disk_full_first_run_records_no_baseline_and_says_so(self):
        fs = self.small_fs()
        os.makedirs(self.state, mode=0o700)
        filler = self.fill(fs)
        res = self.once()
        self.assertEqual(res.status, 3, repr(res))
        self.assertIn("no space left", res.err)
        self.assertFalse(os.path.exists(self.manifest()))
        os.unlink(filler)
        self.assertIn("baseline", self.check(self.once()).err)

    def test_disk_full_daemon_logs_and_a_restart_sends_the_changes(self):
        fs = self.small_fs()
        self.check(self.once())
        before = read(self.manifest())
        d = self.daemon()
        filler = self.fill(fs)
        write(self.root, "a/b.html", "b, edited")
        self.assertEqual(d.wait_batches(1)[0].paths, ["/a/b.html"])
        d.wait_for(r"error: .*journal: no space left")
        self.assertIsNone(d.proc.poll(), repr(d))  # logged, not fatal
        self.assertEqual(d.stop(), 0, repr(d))
        self.assertEqual(read(self.manifest()), before)
        os.unlink(filler)
        d2 = self.daemon(settle=False)
        self.assertEqual(d2.wait_batches(1)[0].paths, ["/a/b.html"],
                         repr(d2))
        self.assertEqual(d2.stop(), 0, repr(d2))
        self.assertEqual(self.plan(), [])

    def test_disk_full_daemon_sends_soon_after_room_is_made(self):
        # A pass the full disk refused is tried again after 1 s, 2 s,
        # 4 s... up to 30 s: room made is used within seconds, with no
        # edit to wake the daemon (it waited 5 minutes; the chaos test's
        # --full-disk mode found it).
        fs = self.small_fs()
        self.check(self.once())
        d = self.daemon()
        filler = self.fill(fs)
        write(self.root, "a/b.html", "b, edited")
        again = r"journal: no space left.*, trying again in %d s or at"
        d.wait_for(again % 1)
        d.wait_for(again % 2)  # still full: twice as late
        os.unlink(filler)
        deadline = time.monotonic() + 10  # the next try is 4 s away
        while self.plan() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(self.plan(), [], repr(d))
        self.assertEqual(d.stop(), 0, repr(d))


class ReadOnly(StateTest):
    def read_only_state(self):
        """The state dir, with a baseline, bound read-only at self.state."""
        real = self.state
        self.check(self.once())
        self.state = os.path.join(self.tmp, "ro-state")
        self.mount("--bind", real, self.state)
        self.mount("-o", "remount,bind,ro", self.state)

    def test_read_only_state_dir_is_a_clear_error(self):
        self.read_only_state()
        write(self.root, "a/b.html", "b, edited")
        self.assert_state_error(self.once(), self.state,
                                "Read-only file system")
        # plan writes nothing, so it still works.
        self.assertEqual(self.plan(), ["/a/b.html"])
        d = self.daemon(settle=False)
        self.assertEqual(d.wait(), 3, repr(d))
        self.assertEqual(d.count("Read-only file system"), 1, repr(d))

    def test_state_dir_turning_read_only_under_the_daemon(self):
        # A remount ro is refused while the daemon holds its lock open
        # for writing, so the path is moved onto a read-only view of the
        # same file system instead (what an I/O error's remount does).
        fs = self.small_fs()
        self.check(self.once())
        d = self.daemon()
        view = os.path.join(self.tmp, "fs-view")
        self.mount("--bind", fs, view)
        subprocess.run(["umount", "-l", fs], check=True)
        self.mount("--bind", view, fs)
        self.mount("-o", "remount,bind,ro", fs)
        write(self.root, "a/b.html", "b, edited")
        self.assertEqual(d.wait_batches(1)[0].paths, ["/a/b.html"])
        d.wait_for(r"error: .*journal: .*read-only")
        self.assertIsNone(d.proc.poll(), repr(d))  # logged, not fatal
        self.assertEqual(d.stop(), 0, repr(d))
        subprocess.run(["umount", fs], check=True)
        self.mount("--bind", view, fs)
        d2 = self.daemon(settle=False)
        self.assertEqual(d2.wait_batches(1)[0].paths, ["/a/b.html"],
                         repr(d2))

    # Bug (src/main.c:159, app_exit_status): -EACCES and -EPERM always
    # mean "AWS refused" (exit 4), so a state dir cfwatch may not write
    # gives exit 4 and points at AWS.  Expected: 3, like EROFS.
    def test_state_dir_owned_by_someone_else_exits_3(self):
        self.check(self.once())
        os.chmod(self.tmp, 0o755)
        write(self.root, "a/b.html", "b, edited")
        proc = subprocess.run(
            [BIN, "once", "--dry-run", "--state-dir", self.state, self.root],
            env=clean_env(self.env), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, preexec_fn=self.as_nobody, timeout=60)
        res = Result(proc)
        self.assert_state_error(res, self.state, "Permission denied")

    @staticmethod
    def as_nobody():
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)


class Damaged(StateTest):
    def recorded(self):
        self.check(self.once())
        write(self.root, "a/b.html", "b, edited")
        return read(self.manifest())

    def assert_refused(self, damaged):
        """plan and once both stop with exit 3 and leave the file as it
        is: nothing planned, no baseline."""
        for cmd in (["plan"], ["once", "--dry-run"]):
            res = self.cfw(*cmd, "--state-dir", self.state, self.root)
            self.assertEqual(res.status, 3, repr(res))
            self.assertIn(self.manifest(), res.err)
            self.assertRegex(res.err, r"corrupt|format version")
            self.assertIn("remove the state dir", res.err)
            self.assertNotIn("baseline of", res.err)
            self.assertEqual(res.lines, [])
            self.assertEqual(read(self.manifest()), damaged)

    def test_truncated_manifest_is_an_error_never_a_baseline(self):
        good = self.recorded()
        for n in sorted({0, 1, 8, 12, 20, 44, 60, len(good) // 2,
                         len(good) - 33, len(good) - 1}):
            with self.subTest(length=n):
                with open(self.manifest(), "wb") as f:
                    f.write(good[:n])
                self.assert_refused(good[:n])

    def test_bit_flipped_manifest_is_an_error(self):
        good = self.recorded()
        offsets = sorted(set(range(0, len(good), max(1, len(good) // 24)))
                         | {len(good) - 1})
        for off in offsets:
            with self.subTest(offset=off):
                bad = bytearray(good)
                bad[off] ^= 1 << (off % 8)
                with open(self.manifest(), "wb") as f:
                    f.write(bad)
                self.assert_refused(bytes(bad))

    def test_daemon_refuses_a_damaged_manifest(self):
        good = self.recorded()
        with open(self.manifest(), "wb") as f:
            f.write(good[:-1])
        d = self.daemon(settle=False)
        self.assertEqual(d.wait(), 3, repr(d))
        self.assertEqual(d.count("corrupt"), 1, repr(d))
        self.assertEqual(d.out(), [])
        self.assertEqual(read(self.manifest()), good[:-1])

    # Bug (src/manifest.c read_whole + src/main.c app_exit_status): a
    # manifest that is not a regular file gives -EINVAL, which main.c
    # maps to exit 2 (bad option) instead of 3 (state unusable).
    def test_manifest_that_is_a_fifo_exits_3_without_blocking(self):
        self.recorded()
        os.unlink(self.manifest())
        os.mkfifo(self.manifest())
        res = self.cfw("plan", "--state-dir", self.state, self.root,
                       timeout=20)
        self.assertEqual(res.status, 3, repr(res))
        self.assertIn("not a regular file", res.err)


class Crash(StateTest):
    """A crash while the snapshot was being written leaves its temp file;
    the next snapshot (here the baseline's) replaces it, never through
    what is planted under its name."""

    def test_stale_temp_file_is_replaced(self):
        os.makedirs(self.state, mode=0o700)
        write(self.state, "manifest.tmp", "CFWMANI\n half-written by a crash")
        self.assertIn("baseline", self.check(self.once()).err)
        self.assertEqual(sorted(os.listdir(self.state)), ["lock", "manifest"])
        write(self.root, "a/b.html", "b, edited")
        self.assertEqual(self.plan(), ["/a/b.html"])
        self.assertEqual(self.check(self.once()).lines, ["/a/b.html"])
        self.assertEqual(self.plan(), [])

    def test_planted_temp_symlink_is_not_followed(self):
        os.makedirs(self.state, mode=0o700)
        victim = write(self.tmp, "victim", "keep me")
        os.symlink(victim, self.manifest() + ".tmp")
        self.check(self.once())
        self.assertEqual(read(victim), b"keep me")
        self.assertFalse(os.path.lexists(self.manifest() + ".tmp"))
        self.assertEqual(self.plan(), [])

    def test_planted_journal_symlink_is_not_followed(self):
        self.check(self.once())
        victim = write(self.tmp, "victim", "keep me")
        os.symlink(victim, os.path.join(self.state, "journal"))
        write(self.root, "a/b.html", "b, edited")
        res = self.once()
        self.assertEqual(res.status, 3, repr(res))
        self.assertIn("journal", res.err)
        self.assertEqual(read(victim), b"keep me")

    def test_temp_file_without_manifest_is_a_first_run(self):
        # A crash before the first rename: nothing was ever sent.
        os.makedirs(self.state, mode=0o700)
        write(self.state, "manifest.tmp", "CFWMANI\n partial")
        res = self.check(self.once())
        self.assertIn("baseline", res.err)
        self.assertEqual(self.plan(), [])

    def test_temp_name_taken_by_a_directory_is_a_clear_error(self):
        os.makedirs(self.state, mode=0o700)
        os.mkdir(self.manifest() + ".tmp")
        res = self.once()
        self.assertEqual(res.status, 3, repr(res))
        self.assertIn("manifest.tmp", res.err)
        self.assertFalse(os.path.exists(self.manifest()))


class Deleted(StateTest):
    def test_state_dir_deleted_under_the_daemon_is_rebuilt_whole(self):
        self.check(self.once())
        d = self.daemon()
        shutil.rmtree(self.state)
        write(self.root, "a/b.html", "b, edited")
        self.assertEqual(d.wait_batches(1)[0].paths, ["/a/b.html"])
        self.assertEqual(d.stop(), 0, repr(d))
        # The whole manifest came back, not an empty one (which would
        # make every file new) nor only the batch.
        self.assertEqual(self.plan(), [])
        self.assertEqual(mode(self.state), 0o700)
        self.assertEqual(mode(self.manifest()), 0o600)
        write(self.root, "css/site.css", "body{color:red}")
        self.assertEqual(self.plan(), ["/css/site.css"])

    # Bug (src/daemon.c site_save; src/statelock.c): the daemon's lock
    # lives in the deleted directory, so after the state dir is rebuilt
    # nothing stops a second cfwatch from writing the same manifest.
    def test_state_dir_deleted_under_the_daemon_stays_locked(self):
        self.check(self.once())
        d = self.daemon()
        shutil.rmtree(self.state)
        write(self.root, "a/b.html", "b, edited")
        d.wait_batches(1)
        write(self.root, "css/site.css", "body{color:red}")
        res = self.once()
        self.assertEqual(res.status, 5, repr(res))


class Private(StateTest):
    def umask0(self, *args):
        proc = subprocess.run([BIN] + list(args), env=clean_env(self.env),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              preexec_fn=lambda: os.umask(0), timeout=60)
        return Result(proc)

    def test_state_files_are_private_even_with_umask_0(self):
        self.check(self.umask0("once", "--dry-run", "--state-dir",
                               self.state, self.root))
        self.assertEqual(mode(self.state), 0o700)
        self.assertEqual(mode(self.manifest()), 0o600)
        self.assertEqual(mode(os.path.join(self.state, "lock")), 0o600)

    def test_default_state_dir_chain_is_private(self):
        self.check(self.umask0("once", "--dry-run", self.root))
        base = os.path.join(self.env["XDG_STATE_HOME"], "cfwatch")
        (sub,) = os.listdir(base)
        for path in (self.env["XDG_STATE_HOME"], base,
                     os.path.join(base, sub)):
            self.assertEqual(mode(path), 0o700, path)
        self.assertEqual(mode(os.path.join(base, sub, "manifest")), 0o600)


class WithStandIn(StateTest):
    """Cases that need a real send: the CloudFront stand-in on loopback
    TLS, answering 201."""

    @classmethod
    def setUpClass(cls):
        cls.cf = StandIn()

    @classmethod
    def tearDownClass(cls):
        cls.cf.stop()

    def setUp(self):
        super().setUp()
        self.cf.reset(config=True)
        self.env.update({"AWS_ACCESS_KEY_ID": ACCESS_KEY,
                         "AWS_SECRET_ACCESS_KEY": SECRET_KEY})

    def send(self, *extra, preexec_fn=None):
        args = [BIN, "once", "-d", DISTRIBUTION, "--endpoint",
                self.cf.endpoint, "--ca-file", self.cf.ca_file,
                "--state-dir", self.state, "--retry-for", "5", *extra,
                self.root]
        return Result(subprocess.run(args, env=clean_env(self.env),
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE,
                                     preexec_fn=preexec_fn, timeout=60))

    def test_disk_full_sends_nothing_that_cannot_be_recorded(self):
        # Replies: 201 once.  A batch is recorded (its intent) before it
        # is sent; on a full disk it cannot be, so it is not sent: exit
        # 3, the change pending, and sent once there is room.
        fs = self.small_fs()
        self.check(self.send("--baseline"))
        filler = self.fill(fs)
        write(self.root, "a/b.html", "b, edited")
        res = self.send()
        self.assertEqual(res.status, 3, repr(res))
        self.assertIn("no space left", res.err)
        self.assertIn("not sent, since it could not be recorded", res.err)
        self.assertEqual(self.cf.invalidations(), [])
        self.assertEqual(self.plan(), ["/a/b.html"])
        os.unlink(filler)
        self.check(self.send())
        self.assertEqual(len(self.cf.invalidations()), 1)
        self.assertEqual(self.plan(), [])

    # Issue 11, item 1: with the state dir on a full disk, a file going
    # A0 -> A1 -> A2 -> A1 got, after a reload, the reference of an
    # earlier batch for its last batch: CloudFront returned that old
    # invalidation (made before A2 existed) and the edges could keep A2.
    # Now a batch is sent only once its intent is recorded, and every
    # intent's reference is new: whether the full disk refuses a record
    # or not (tmpfs takes an append into a page it already has), no
    # create is ever a replay, and the last bytes are invalidated.
    def test_full_disk_never_reuses_a_caller_reference(self):
        fs = self.small_fs()
        self.check(self.send("--baseline"))
        d = Daemon(self.tmp, "-v", "-d", DISTRIBUTION, "--endpoint",
                   self.cf.endpoint, "--ca-file", self.cf.ca_file,
                   "--state-dir", self.state, "--quiet-ms", "200", self.root,
                   env=self.env)
        self.daemons.append(d)
        d.wait_for(SCANNED)
        outcome = r"batch: 1 files, 1 paths, invalidation|could not be recorded"
        write(self.root, "a/b.html", "A1")
        d.wait_for(outcome)
        filler = self.fill(fs)
        for i, data in enumerate(["A2", "A1"]):
            write(self.root, "a/b.html", data)
            d.wait_for(outcome, count=i + 2)
        d.send(signal.SIGHUP)
        d.wait_for(r"configuration reloaded")
        os.unlink(filler)
        sent = r"batch: 1 files, 1 paths, invalidation"
        n = d.count(sent)
        write(self.root, "a/b.html", "A3")
        # The reload may send a batch of its own (a record the full disk
        # refused), before or after it sees A3: wait for the sends until
        # nothing is left to send.
        while True:
            n += 1
            d.wait_for(sent, count=n)
            if not self.plan():
                break
        self.assertEqual(d.stop(), 0, repr(d))
        creates = [e for e in self.cf.log() if e["operation"] == "create"]
        self.assertEqual([c["replay"] for c in creates],
                         [False] * len(creates), repr(d))
        refs = [i["caller_reference"] for i in self.cf.invalidations()]
        self.assertEqual(len(refs), len(set(refs)), refs)
        self.assertEqual(self.plan(), [], repr(d))

    def test_ledger_and_its_lock_are_private_even_with_umask_0(self):
        self.check(self.send("--baseline"))
        write(self.root, "a/b.html", "b, edited")
        self.check(self.send(preexec_fn=lambda: os.umask(0)))
        self.assertEqual(len(self.cf.invalidations()), 1)
        for name in ("ledger", "ledger.lock", "manifest", "lock"):
            self.assertEqual(mode(os.path.join(self.state, name)), 0o600,
                             name)
        self.assertEqual(mode(self.state), 0o700)


if __name__ == "__main__":
    unittest.main()
