# SPDX-License-Identifier: MIT
"""Hostile trees and hostile settings (issue 6): what a build folder may
hold besides plain files, and what cfwatch refuses to do whatever it is
told.  The real binary runs on real folders; the watch-mode cases use a
dry-running daemon, whose batches show what a partial scan found."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import unittest

from tests.e2e.cfw import BIN, Result, TempTest, clean_env, write
from tests.e2e.daemon import Daemon

SCANNED = r": scanned \d+ files"
NOBODY = 65534


def figure(text):
    """A measured figure, for the test log."""
    print("\n    [figure] " + text, file=sys.stderr, flush=True)


def as_nobody():
    """preexec_fn: drop root, which reads and writes anything."""
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def vm_hwm_kib(pid):
    """The peak RSS of pid's current program (VmHWM), or 0 once gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for ln in f:
                if ln.startswith("VmHWM:"):
                    return int(ln.split()[1])
    except OSError:
        pass
    return 0


def run_rusage(args, env, timeout):
    """Runs BIN args; returns (status, stdout, stderr, rusage, hwm_kib).
    rusage is that one child's (os.wait4); its ru_maxrss also counts the
    Python process it was forked from, so it is an upper bound.  hwm_kib
    is cfwatch's own peak, sampled from /proc while it runs."""
    with open(os.devnull, "rb") as devnull:
        proc = subprocess.Popen([BIN] + args, stdin=devnull,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=clean_env(env))
    deadline = time.monotonic() + timeout
    hwm = 0
    while True:
        hwm = max(hwm, vm_hwm_kib(proc.pid))
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            os.wait4(proc.pid, 0)
            raise AssertionError("cfwatch %s still running after %s s"
                                 % (" ".join(args), timeout))
        time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)
    out = proc.stdout.read().decode("utf-8", "surrogateescape")
    err = proc.stderr.read().decode("utf-8", "surrogateescape")
    proc.stdout.close()
    proc.stderr.close()
    return proc.returncode, out, err, ru, hwm


class HostileTest(TempTest):
    """A site root with one page, and beside it a folder that stands for
    the rest of the machine (/etc, a home directory)."""

    def setUp(self):
        super().setUp()
        self.daemons = []
        self.outside = os.path.join(self.tmp, "outside")
        write(self.root, "index.html", "<h1>home</h1>")
        write(self.outside, "secret.html", "secret")
        write(self.outside, "sub/deep.html", "deep")

    def tearDown(self):
        for d in self.daemons:
            d.kill()
        super().tearDown()

    def link(self, target, rel):
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(target, path)
        return path

    def plan_all(self, *extra, **kw):
        return self.check(self.cfw("plan", "--all", "--state-dir",
                                   self.state, *extra, self.root, **kw))

    def baseline(self):
        self.check(self.cfw("once", "--dry-run", "--state-dir", self.state,
                            self.root))

    def daemon(self, *extra):
        d = Daemon(self.tmp, "-v", "--state-dir", self.state, "--quiet-ms",
                   "200", *extra, self.root, env=self.env)
        self.daemons.append(d)
        d.wait_for(r": watching \d+ directories")
        d.wait_for(SCANNED)
        return d


class Symlinks(HostileTest):
    def test_symlink_outside_root_is_not_followed_by_default(self):
        self.link("../outside", "out")
        self.link(os.path.join(self.outside, "secret.html"), "leak.html")
        self.link("/etc/passwd", "passwd.html")
        res = self.plan_all()
        self.assertEqual(res.lines, ["/", "/index.html"])
        warned = [ln for ln in res.err.splitlines() if "warn" in ln]
        self.assertEqual(len(warned), 3, repr(res))
        for rel in ("out", "leak.html", "passwd.html"):
            self.assertTrue(any(("/" + rel + ":") in ln for ln in warned),
                            (rel, repr(res)))
        self.assertNotIn("secret", res.out)

    def test_symlink_inside_root_is_followed_whatever_the_route(self):
        write(self.root, "real/x.html", "x")
        self.link("../public/real", "climb")
        self.link(os.path.join(self.root, "real", "x.html"), "abs.html")
        alias = os.path.join(self.tmp, "site-alias")
        os.symlink("public", alias)  # the root itself named via a link
        res = self.check(self.cfw("plan", "--all", "--state-dir", self.state,
                                  alias))
        self.assertEqual(res.lines, ["/", "/abs.html", "/climb/x.html",
                                     "/index.html", "/real/x.html"])
        self.assertNotIn("warn", res.err)

    def test_symlink_loops_finish_with_a_warning(self):
        write(self.root, "a/page.html", "p")
        self.link("..", "a/up")           # back to the root
        self.link("loop2", "loop1")       # links naming each other
        self.link("loop1", "loop2")
        self.link("self", "self")
        res = self.check(self.cfw("plan", "--all", "--state-dir", self.state,
                                  self.root, timeout=20))
        self.assertEqual(res.lines, ["/", "/a/page.html", "/index.html"])
        self.assertIn("a/up", res.err)
        self.assertIn("loop1", res.err)

    def test_watch_mode_does_not_follow_a_new_link_outside(self):
        # The partial scan of the new link must agree with a full walk:
        # only new.html is a change.
        self.baseline()
        d = self.daemon()
        self.link("../outside", "out")
        self.link(os.path.join(self.outside, "secret.html"), "leak.html")
        write(self.root, "new.html", "new")
        batches = d.wait_batches(1)
        self.assertEqual(batches[0].paths, ["/new.html"], repr(d))
        self.assertEqual(d.count(r"/out: symlink leads outside the root; not followed"), 1, repr(d))
        self.assertEqual(d.stop(), 0, repr(d))
        self.assertEqual(self.check(self.cfw(
            "plan", "--state-dir", self.state, self.root)).lines, [])


class OddNames(HostileTest):
    NAMES = {
        "new\nline.html": "/new%0Aline.html",
        "tab\there.html": "/tab%09here.html",
        b"bad\xff\xfe.html": "/bad%FF%FE.html",
        b"half\xc3.html": "/half%C3.html",
        "cr\rlf.html": "/cr%0Dlf.html",
    }

    def make(self):
        for name in self.NAMES:
            if isinstance(name, str):
                name = name.encode()
            with open(os.path.join(self.root.encode(), name), "wb") as f:
                f.write(b"x")

    def test_names_with_newlines_and_invalid_utf8_plan_one_line_each(self):
        self.make()
        res = self.plan_all()
        self.assertEqual(res.lines, sorted(["/", "/index.html"] +
                                           list(self.NAMES.values())))
        self.check(self.cfw("once", "--dry-run", "--state-dir", self.state,
                            self.root))
        os.unlink(os.path.join(self.root, "new\nline.html"))
        res = self.check(self.cfw("plan", "--state-dir", self.state,
                                  self.root))
        self.assertEqual(res.lines, ["/new%0Aline.html"])

    # A file name goes into a warning: a newline in it must not forge a
    # second log line, and invalid UTF-8 must not break a JSON line.
    def test_odd_names_in_warnings_keep_one_log_line_each(self):
        self.link("/etc/passwd", "x\ncfwatch: error: forged.html")
        res = self.plan_all()
        forged = [ln for ln in res.err.splitlines() if "forged" in ln]
        self.assertEqual(len(forged), 1, repr(res))
        self.assertTrue(forged[0].startswith("cfwatch: warn: "), repr(res))

    def test_odd_names_in_json_warnings_stay_valid_json(self):
        os.symlink("/etc/passwd", os.path.join(self.root.encode(),
                                               b"bad\xff.html"))
        res = self.cfw("plan", "--all", "--log-format", "json",
                       "--state-dir", self.state, self.root)
        self.assertEqual(res.status, 0, repr(res))
        raw = res.err.encode("utf-8", "surrogateescape")
        for ln in raw.splitlines():
            json.loads(ln.decode("utf-8"))


class SpecialFiles(HostileTest):
    def test_fifo_without_a_writer_never_blocks(self):
        os.mkfifo(os.path.join(self.root, "pipe.html"))
        self.link("pipe.html", "pipe-link.html")
        res = self.check(self.cfw("plan", "--all", "--state-dir", self.state,
                                  self.root, timeout=20))
        self.assertEqual(res.lines, ["/", "/index.html"])
        res = self.check(self.cfw("once", "--dry-run", "--all",
                                  "--state-dir", self.state, self.root,
                                  timeout=20))
        self.assertEqual(res.lines, ["/", "/index.html"])

    def test_device_nodes_are_never_opened(self):
        # /dev/zero never ends; /dev/tty may block or grab a terminal.
        try:
            os.mknod(os.path.join(self.root, "zero.html"),
                     0o600 | 0o020000, os.makedev(1, 5))
            os.mknod(os.path.join(self.root, "tty.html"),
                     0o600 | 0o020000, os.makedev(5, 0))
        except PermissionError:
            self.skipTest("mknod needs CAP_MKNOD")
        self.link("zero.html", "zero-link.html")
        res = self.check(self.cfw("plan", "--all", "--state-dir", self.state,
                                  self.root, timeout=20))
        self.assertEqual(res.lines, ["/", "/index.html"])

    def test_fifo_and_socket_appearing_in_watch_mode_are_ignored(self):
        self.baseline()
        d = self.daemon()
        os.mkfifo(os.path.join(self.root, "pipe.html"))
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(os.path.join(self.root, "sock.html"))
        self.addCleanup(sock.close)
        write(self.root, "new.html", "new")
        self.assertEqual(d.wait_batches(1)[0].paths, ["/new.html"], repr(d))
        self.assertEqual(d.stop(timeout=10), 0, repr(d))


class Permissions(HostileTest):
    """cfwatch as an unprivileged user (root reads everything)."""

    def setUp(self):
        super().setUp()
        write(self.root, "open/a.html", "a")
        write(self.root, "locked/b.html", "b")
        write(self.root, "secret.html", "s")
        for dirpath, dirs, files in os.walk(self.tmp):
            for name in dirs + files:
                os.lchown(os.path.join(dirpath, name), NOBODY, NOBODY)
        os.lchown(self.tmp, NOBODY, NOBODY)
        os.chmod(self.tmp, 0o755)

    def nobody(self, *args):
        proc = subprocess.run([BIN] + list(args), env=clean_env(self.env),
                              stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              preexec_fn=as_nobody, timeout=60)
        return Result(proc)

    def lock(self):
        os.chmod(os.path.join(self.root, "locked"), 0)
        os.chmod(os.path.join(self.root, "secret.html"), 0)

    def test_permission_denied_subtree_is_warned_and_the_rest_planned(self):
        self.lock()
        res = self.nobody("plan", "--all", "--state-dir", self.state,
                          self.root)
        self.assertEqual(res.status, 0, repr(res))
        self.assertEqual(res.lines, ["/", "/index.html", "/open/a.html"])
        self.assertRegex(res.err, r"/locked: Permission denied; what it holds stays pending")
        self.assertRegex(res.err, r"/secret.html: Permission denied; left "
                                  r"pending")

    # Bug (src/scan.c + src/diff.c): a file that cannot be read is left
    # pending, but the files of a directory that cannot be read count as
    # deleted: they are invalidated, dropped from the manifest, and
    # invalidated again as new once the directory is readable.
    def test_permission_denied_subtree_is_left_pending_not_deleted(self):
        res = self.nobody("once", "--dry-run", "--state-dir", self.state,
                          self.root)
        self.assertEqual(res.status, 0, repr(res))
        self.lock()
        res = self.nobody("plan", "--state-dir", self.state, self.root)
        self.assertEqual(res.status, 0, repr(res))
        self.assertEqual(res.lines, [])


class HugeFiles(HostileTest):
    BIG = 3 * 1024 ** 3
    RSS_LIMIT_KIB = 64 * 1024

    def sparse(self, rel, size):
        path = os.path.join(self.root, rel)
        with open(path, "wb") as f:
            f.truncate(size)
        return path

    def test_3gb_file_is_hashed_in_bounded_memory(self):
        self.sparse("video.bin", self.BIG)
        start = time.monotonic()
        status, out, err, ru, hwm = run_rusage(
            ["plan", "--all", "--state-dir", self.state, self.root],
            self.env, timeout=120)
        secs = time.monotonic() - start
        self.assertEqual(status, 0, err)
        self.assertEqual(out.splitlines(), ["/", "/index.html",
                                            "/video.bin"])
        figure("plan --all with a 3 GiB sparse file: peak RSS %d KiB "
               "(at most %d KiB with the fork), %.1f s (cpu %.1f s user, "
               "%.1f s sys)" % (hwm, ru.ru_maxrss, secs, ru.ru_utime,
                                ru.ru_stime))
        self.assertGreater(hwm, 0)
        self.assertLess(hwm, self.RSS_LIMIT_KIB)
        self.assertLess(ru.ru_maxrss, self.RSS_LIMIT_KIB)

    def test_daemon_answers_signals_while_hashing_a_huge_file(self):
        # The loop thread must stay free while a worker hashes: SIGTERM is
        # acknowledged while the file is still being read.
        size = 1024 ** 3
        self.baseline()
        d = self.daemon()
        self.sparse("video.bin", size)
        io = "/proc/%d/io" % d.pid
        deadline = time.monotonic() + 60
        while self.read_bytes(io) < 64 * 1024 ** 2:
            self.assertLess(time.monotonic(), deadline, repr(d))
            time.sleep(0.005)
        d.send(signal.SIGTERM)
        d.wait_for(r"stopping", timeout=2)
        self.assertLess(self.read_bytes(io), size, repr(d))
        self.assertEqual(d.wait(60), 0, repr(d))
        log = d.log()
        stop = [i for i, ln in enumerate(log) if "stopping" in ln][0]
        scans = [i for i, ln in enumerate(log) if "scanned" in ln]
        self.assertLess(stop, scans[-1], repr(d))

    @staticmethod
    def read_bytes(io):
        with open(io) as f:
            for ln in f:
                if ln.startswith("rchar:"):
                    return int(ln.split()[1])
        return 0


class Security(TempTest):
    def test_plain_http_endpoint_is_refused_unless_loopback(self):
        write(self.root, "index.html", "x")
        env = dict(self.env, AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
                   AWS_SECRET_ACCESS_KEY="never-sent")
        for url in ("http://example.com", "HTTP://example.com",
                    "http://127.0.0.1.example.com",
                    "http://localhost.example.com",
                    "http://127.0.0.1@example.com",
                    "http://example.com#@127.0.0.1",
                    "ftp://127.0.0.1"):
            with self.subTest(url=url):
                res = self.cfw("once", "-d", "E2QWRUHAPOMQZL", "--endpoint",
                               url, "--state-dir", self.state, self.root,
                               env=env, timeout=20)
                self.assertEqual(res.status, 2, repr(res))
                self.assertIn("--endpoint", res.err)
                self.assertFalse(os.path.exists(self.state), repr(res))

    def test_tls_verification_has_no_off_switch(self):
        write(self.root, "index.html", "x")
        for opt in ("--insecure", "-k", "--no-verify", "--no-verify-tls",
                    "--tls-verify=false"):
            with self.subTest(opt=opt):
                res = self.cfw("plan", opt, "--state-dir", self.state,
                               self.root)
                self.assertEqual(res.status, 2, repr(res))
        for key in ("insecure = true", "verify_tls = false",
                    "tls_verify = false", "ssl_verify = false",
                    "verify_ssl = false"):
            with self.subTest(key=key):
                conf = write(self.tmp, "c.ini",
                             "[cfwatch]\nroot = public\n%s\n" % key)
                res = self.cfw("plan", "-c", conf)
                self.assertEqual(res.status, 2, repr(res))
                self.assertIn(key.split()[0], res.err)


if __name__ == "__main__":
    unittest.main()
