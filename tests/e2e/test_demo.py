# SPDX-License-Identifier: MIT
"""scripts/demo, the README's first command (issue 18): run as a user
would, on the binary CFWATCH_BIN names (so that it builds nothing), in a
session of its own so that every process it starts can be found
afterwards.  It must send exactly one invalidation with exactly the
rebuild's paths to its stand-in, finish by itself within a minute and
leave no process and no scratch folder behind, also when interrupted;
with the stand-in's S3 bucket as origin, the uploads go before the
invalidation and the deletion after it."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from tests.e2e.cfw import BIN, SOURCE_DIR, clean_env

DEMO = os.path.join(SOURCE_DIR, "scripts", "demo")
LIMIT_S = 60  # the README promises under a minute

# The rebuild scripts/demo.py plays: blog/index.html and "docs/café
# menu.html" edited, blog/second-post/index.html added, blog/tags/c.html
# deleted.  An index file is two cache keys; the space and the é are
# percent-encoded as UTF-8.
EXPECTED_PATHS = [
    "/blog/",
    "/blog/index.html",
    "/blog/second-post/",
    "/blog/second-post/index.html",
    "/blog/tags/c.html",
    "/docs/caf%C3%A9%20menu.html",
]


def readme_policy_actions():
    """The actions of the README's minimum IAM policy."""
    with open(os.path.join(SOURCE_DIR, "README.md"), encoding="utf-8") as f:
        text = f.read()
    policy = text.split("The minimum IAM policy", 1)[1].split("```", 2)[1]
    actions = re.findall(r'"((?:cloudfront|s3):[A-Z][A-Za-z]+)"', policy)
    if len(actions) < 5:
        raise AssertionError("the README's policy names only %s" % actions)
    return actions


def session_members(sid):
    """(pid, command line) of every process in session sid that has not
    ended.  A zombie has ended: under ASan a task of cfwatch's own (its
    name is cfwatch, its pid is not the daemon's) is sometimes left for a
    moment as a zombie of init after cfwatch exited."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
            with open("/proc/%s/cmdline" % name, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # it ended meanwhile
        # Fields after the ")" closing the name: state ppid pgrp session.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append((int(name), cmd))
    return found


def section(lines, title):
    """The lines under the "== title" header, up to the next header, or
    None without that header."""
    if "== " + title not in lines:
        return None
    start = lines.index("== " + title) + 1
    end = start
    while end < len(lines) and not lines[end].startswith("=="):
        end += 1
    return lines[start:end]


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class DemoTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cfwdemo.")
        self.out_path = os.path.join(self.tmp, "demo.out")
        self.scratch = os.path.join(self.tmp, "scratch")
        os.makedirs(self.scratch)
        self.proc = None

    def tearDown(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self):
        """scripts/demo in a new session, its scratch folder under
        self.scratch (TMPDIR), its output in a file."""
        env = clean_env({"CFWATCH_BIN": os.path.abspath(BIN),
                         "TMPDIR": self.scratch})
        env.pop("CFWATCH_DISTRIBUTION_ID", None)
        with open(self.out_path, "wb") as out:
            self.proc = subprocess.Popen([DEMO], stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=subprocess.STDOUT,
                                         env=env, start_new_session=True)
        self.started = time.monotonic()

    def output(self):
        with open(self.out_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait(self):
        try:
            status = self.proc.wait(LIMIT_S)
        except subprocess.TimeoutExpired:
            self.fail("scripts/demo still running after %d s:\n%s"
                      % (LIMIT_S, self.output()))
        return status, time.monotonic() - self.started

    def assert_nothing_left(self, out):
        """No process of the demo's session, none of the pids it printed,
        and no scratch folder remain."""
        self.assertEqual(session_members(self.proc.pid), [], out)
        pids = [int(p) for p in re.findall(r"\bpid (\d+)", out)]
        self.assertTrue(pids, out)
        self.assertEqual([p for p in pids if alive(p)], [], out)
        self.assertEqual(os.listdir(self.scratch), [], out)

    def test_demo_sends_the_rebuilds_paths_once_and_cleans_up(self):
        self.start()
        status, elapsed = self.wait()
        out = self.output()
        lines = out.splitlines()
        self.assertEqual(status, 0, out)
        self.assertLess(elapsed, LIMIT_S, out)
        got = section(lines, "4. What the stand-in received (its control API)")
        self.assertIsNotNone(got, out)
        self.assertEqual(got[0], "  1 invalidation for EDFDVBD6EXAMPLE", out)
        self.assertEqual(len([g for g in got if "CallerReference" in g]), 1,
                         out)
        self.assertRegex(got[1], r"^  I[0-9A-Z]+ \(InProgress\), "
                         r"CallerReference cfw-[0-9a-f]+$")
        self.assertEqual(got[2], "  paths (6):", out)
        self.assertEqual([g.strip() for g in got[3:9]], EXPECTED_PATHS, out)
        self.assertRegex(got[9], r"^  \d+ signed requests \(.*"
                         r"CreateInvalidation.*\): (\d+) signatures valid$")
        n, valid = re.search(r"(\d+) signed .*: (\d+) signatures", got[9]
                             ).groups()
        self.assertEqual(n, valid, out)
        # The S3 origin: the changed files uploaded before the
        # invalidation, the deleted one removed after it was accepted.
        self.assertEqual(got[10], "  the rebuild, in the order the stand-in "
                         "received it:", out)
        steps = [g.split() for g in got[11:16]]
        self.assertEqual(sorted(" ".join(g[1:]) for g in steps[:3]),
                         ["site/blog/index.html",
                          "site/blog/second-post/index.html",
                          "site/docs/café menu.html"], out)
        self.assertEqual([g[0] for g in steps],
                         ["PutObject"] * 3 + ["CreateInvalidation",
                                             "DeleteObjects"], out)
        self.assertIn("site/blog/tags/c.html is not", got[16], out)
        self.assertIn("  pending:      0 files, 0 paths",
                      section(lines, "5. cfwatch status") or [], out)
        cost = section(lines, "6. This rebuild: exact paths compared with /*")
        self.assertIsNotNone(cost, out)
        self.assertRegex(cost[1], r"^  cached objects evicted +4 of 13 +"
                         r"13 of 13$")
        self.assertRegex(cost[3], r"^  paths counted +6 +1$")
        nxt = "\n".join(section(lines, "Next: your own site") or [])
        self.assertIn("CFWATCH_DISTRIBUTION_ID=", nxt, out)
        # It names every action of the policy it points to.
        for action in readme_policy_actions():
            self.assertIn(action.split(":")[1], nxt, out)
        self.assert_nothing_left(out)

    def interrupt(self, signum):
        """Signals the demo once the daemon is watching, then checks that
        it exits 128+signum with everything stopped."""
        self.start()
        deadline = time.monotonic() + LIMIT_S
        while ": watching " not in self.output():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.fail("the daemon never started:\n" + self.output())
            time.sleep(0.02)
        os.kill(self.proc.pid, signum)
        status, _ = self.wait()
        out = self.output()
        self.assertEqual(status, 128 + signum, out)
        self.assertIn("cfwatch exited 0", out)
        self.assert_nothing_left(out)

    def test_sigint_stops_every_process_it_started(self):
        self.interrupt(signal.SIGINT)

    def test_sigterm_stops_every_process_it_started(self):
        self.interrupt(signal.SIGTERM)


if __name__ == "__main__":
    unittest.main()
