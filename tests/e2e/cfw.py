# SPDX-License-Identifier: MIT
"""Helpers for end-to-end tests: run the real cfwatch binary on real
folders in fresh temp dirs."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

BIN = os.environ.get("CFWATCH_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "cfwatch")
SOURCE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class Result:
    def __init__(self, proc):
        self.status = proc.returncode
        self.out = proc.stdout.decode("utf-8", "surrogateescape")
        self.err = proc.stderr.decode("utf-8", "surrogateescape")
        self.lines = self.out.splitlines()

    def __repr__(self):
        return "status %d\nstdout:\n%s\nstderr:\n%s" % (
            self.status, self.out, self.err)


def clean_env(env=None):
    """os.environ without AWS_* (the tests must never see the developer's
    AWS settings), updated with env."""
    full_env = dict(os.environ)
    for k in list(full_env):
        if k.startswith("AWS_"):
            del full_env[k]
    full_env.update(env or {})
    return full_env


def run(*args, env=None, stdin=None, timeout=120):
    full_env = clean_env(env)
    proc = subprocess.run([BIN] + [str(a) for a in args], env=full_env,
                          input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)
    return Result(proc)


def write(root, rel, data):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode) as f:
        f.write(data)
    return path


BATCH_RE = re.compile(r": batch: (\d+) files, (\d+) paths")


class Batch:
    """One batch of a dry-running daemon: its stderr line and the URL paths
    it printed on stdout."""

    def __init__(self, line, files, paths, at):
        self.line = line
        self.files = files
        self.paths = paths
        self.at = at  # time.monotonic() when the test first saw it, or None

    def __repr__(self):
        return "Batch(%r, %r)" % (self.line, self.paths)


class Daemon:
    """`cfwatch ARGS` in watch mode as a real process, stdout and stderr
    captured to files in dirpath.  Dry runs print each batch's paths on
    stdout and log one "batch: N files, M paths" line on stderr after
    them, so the log lines cut stdout into batches."""

    _seq = 0

    def __init__(self, dirpath, *args, env=None):
        Daemon._seq += 1
        base = os.path.join(dirpath, "daemon%d" % Daemon._seq)
        self.out_path = base + ".out"
        self.err_path = base + ".err"
        self.args = [str(a) for a in args]
        self._seen = []  # first-seen times of batch lines
        with open(self.out_path, "wb") as out, \
                open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen([BIN] + self.args,
                                         stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=err,
                                         env=clean_env(env))

    @property
    def pid(self):
        return self.proc.pid

    def _read(self, path):
        with open(path, "rb") as f:
            data = f.read().decode("utf-8", "surrogateescape")
        return data.split("\n")[:-1]  # complete lines only

    def log(self):
        """The complete stderr lines so far."""
        return self._read(self.err_path)

    def out(self):
        """The complete stdout lines so far."""
        return self._read(self.out_path)

    def __repr__(self):
        out = self.out()
        if len(out) > 60:  # a failure message stays readable
            out = out[:30] + ["... (%d lines)" % (len(out) - 60)] + out[-30:]
        return "cfwatch %s (pid %d, %s)\nstderr:\n%s\nstdout:\n%s" % (
            " ".join(self.args), self.pid,
            "running" if self.proc.poll() is None
            else "status %d" % self.proc.returncode,
            "\n".join(self.log()), "\n".join(out))

    def count(self, pattern):
        """Log lines matching the regex pattern."""
        return sum(1 for line in self.log() if re.search(pattern, line))

    def batches(self):
        """The batches logged so far, each with the paths printed for it."""
        out = self.out()
        res = []
        i = 0
        for line in self.log():
            m = BATCH_RE.search(line)
            if m is None:
                continue
            n = int(m.group(2))
            at = None
            if len(self._seen) > len(res):
                at = self._seen[len(res)]
            res.append(Batch(line, int(m.group(1)), out[i:i + n], at))
            i += n
        now = time.monotonic()
        while len(self._seen) < len(res):
            self._seen.append(now)
            res[len(self._seen) - 1].at = now
        return res

    def paths(self):
        """Every path of every batch so far, sorted."""
        return sorted(p for b in self.batches() for p in b.paths)

    def wait_for(self, pattern, count=1, timeout=30, interval=0.01):
        """Waits until count log lines match the regex pattern; fails with
        the whole log if that takes longer than timeout seconds or the
        process ends first."""
        deadline = time.monotonic() + timeout
        while True:
            if self.count(pattern) >= count:
                return
            if self.proc.poll() is not None and self.count(pattern) < count:
                raise AssertionError("cfwatch ended before %d lines matched "
                                     "%r:\n%r" % (count, pattern, self))
            if time.monotonic() > deadline:
                raise AssertionError("no %d lines matched %r within %s s:\n%r"
                                     % (count, pattern, timeout, self))
            time.sleep(interval)

    def wait_batches(self, n, timeout=30, interval=0.01):
        """Waits until n batches were logged and returns all of them."""
        deadline = time.monotonic() + timeout
        while True:
            b = self.batches()
            if len(b) >= n:
                return b
            if self.proc.poll() is not None:
                raise AssertionError("cfwatch ended before %d batches:\n%r"
                                     % (n, self))
            if time.monotonic() > deadline:
                raise AssertionError("no %d batches within %s s:\n%r"
                                     % (n, timeout, self))
            time.sleep(interval)

    def send(self, signum):
        """Sends the process a signal."""
        self.proc.send_signal(signum)

    def wait(self, timeout=30):
        """Waits for the process to end and returns its exit status."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("cfwatch still running after %s s:\n%r"
                                 % (timeout, self))

    def stop(self, signum=signal.SIGTERM, timeout=30):
        """Sends signum and returns the exit status."""
        self.send(signum)
        return self.wait(timeout)

    def kill(self):
        """SIGKILL, then reap; harmless if it ended already."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def context_switches(self):
        """Voluntary plus involuntary context switches of every thread."""
        total = 0
        task_dir = "/proc/%d/task" % self.pid
        for tid in os.listdir(task_dir):
            try:
                with open(os.path.join(task_dir, tid, "status")) as f:
                    for line in f:
                        if line.startswith(("voluntary_ctxt_switches:",
                                            "nonvoluntary_ctxt_switches:")):
                            total += int(line.split(":")[1])
            except FileNotFoundError:
                pass  # a thread that just ended
        return total


class TempTest(unittest.TestCase):
    """A test with a fresh site root and state dir."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cfwe2e.")
        self.root = os.path.join(self.tmp, "public")
        self.state = os.path.join(self.tmp, "state")
        os.makedirs(self.root)
        self.env = {"HOME": self.tmp,
                    "XDG_STATE_HOME": os.path.join(self.tmp, "xdg")}

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def cfw(self, *args, **kw):
        kw.setdefault("env", self.env)
        return run(*args, **kw)

    def check(self, res, status=0):
        self.assertEqual(res.status, status, repr(res))
        return res
