# SPDX-License-Identifier: MIT
"""Helpers for end-to-end tests: run the real cfwatch binary on real
folders in fresh temp dirs.  A daemon that keeps running is
tests.e2e.daemon.Daemon."""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from tests.standin.standin import ACCESS_KEY, SECRET_KEY, StandIn

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


def run(*args, env=None, stdin=None, timeout=120, binary=None):
    """Runs `cfwatch ARGS` (binary defaults to BIN) to its end."""
    full_env = clean_env(env)
    proc = subprocess.run([binary or BIN] + [str(a) for a in args],
                          env=full_env,
                          input=stdin, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)
    return Result(proc)


def thread_sanitized(binary=None):
    """Whether the binary (default BIN) was built with ThreadSanitizer
    (CFWATCH_TSAN): its runtime keeps a thread of its own awake."""
    with open(binary or BIN, "rb") as f:
        return b"__tsan_init" in f.read()


def fill_fs(path):
    """Appends to the file at path until its file system is full: every
    free block, then every free byte of the last (a full disk)."""
    with open(path, "ab", buffering=0) as f:
        for size in (65536, 4096, 1):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError:
                pass


def write(root, rel, data):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(path, mode) as f:
        f.write(data)
    return path


def rmtree(path, timeout=10):
    """Removes the tree at path.  A process the test started may still
    add to it while it ends (a killed daemon's last write, a loop that
    stops when the daemon has gone): retries for timeout seconds, then
    raises, so that a test that leaves files behind fails."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            shutil.rmtree(path)
            return
        except OSError:
            if not os.path.lexists(path):
                return
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)


class TempTest(unittest.TestCase):
    """A test with a fresh site root and state dir, removed after the
    test and its tearDown, also when setUp fails part way."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cfwe2e.")
        self.addCleanup(rmtree, self.tmp)
        self.root = os.path.join(self.tmp, "public")
        self.state = os.path.join(self.tmp, "state")
        os.makedirs(self.root)
        self.env = {"HOME": self.tmp,
                    "XDG_STATE_HOME": os.path.join(self.tmp, "xdg")}

    def cfw(self, *args, **kw):
        kw.setdefault("env", self.env)
        return run(*args, **kw)

    def check(self, res, status=0):
        self.assertEqual(res.status, status, repr(res))
        return res


class StandInTest(TempTest):
    """TempTest beside one stand-in for the class (CloudFront and S3),
    reset for each test, with the stand-in's keys in the environment."""

    @classmethod
    def setUpClass(cls):
        cls.cf = StandIn(config={"completion_delay": 0})

    @classmethod
    def tearDownClass(cls):
        cls.cf.stop()

    def setUp(self):
        super().setUp()
        self.cf.reset(config=True)
        self.env.update({"AWS_ACCESS_KEY_ID": ACCESS_KEY,
                         "AWS_SECRET_ACCESS_KEY": SECRET_KEY})


class BucketTest(StandInTest):
    """StandInTest with the bucket BUCKET made (eu-west-1)."""

    BUCKET = None  # set by each subclass

    def setUp(self):
        super().setUp()
        self.cf.create_bucket(self.BUCKET, region="eu-west-1")
