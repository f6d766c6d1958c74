# SPDX-License-Identifier: MIT
"""The tools a user would pick instead of cfwatch (issue 13), run the
way the benchmark measures them:

- watchers, which stay up: `inotifywait -m -r` (inotify-tools) and
  watchman (a private server: its own socket, state and log, the
  Debian package's defaults, settle 20 ms);
- walkers, one-shot no-change checks: `rsync -n -a`, `find -printf`,
  and bench/walkfloor.c, the getdents64+statx floor, compiled here;
- the AWS CLI (issue 14), which bench.origin runs.

A watcher is followed line by line with tests.e2e.daemon.Daemon (the
helper that follows cfwatch), which stamps every line it prints with
time.monotonic() when it arrived.  Each peer is optional: one that is
not installed is reported as such (scripts/install-deps --bench
installs them)."""

import json
import os
import re
import shutil
import subprocess
import time

from bench import machine
from bench.procs import BenchError, ENV, ENV_EXTRA, run_cmd
from tests.e2e.daemon import Daemon

HERE = os.path.dirname(os.path.abspath(__file__))
INOTIFYWAIT = shutil.which("inotifywait")
WATCHMAN = shutil.which("watchman")
RSYNC = shutil.which("rsync")
# Debian's awscli (scripts/install-deps --test), not a pip one on PATH.
AWS = "/usr/bin/aws" if os.path.exists("/usr/bin/aws") else shutil.which(
    "aws")
CC = shutil.which("cc") or shutil.which("gcc")
# The events a build watcher asks for (inotifywait's default is all).
INOTIFY_EVENTS = "close_write,moved_to,moved_from,create,delete"
WATCHMAN_SETTLE_MS = 20  # watchman's default "settle" (its docs, config)


def follow(argv, what):
    """A Daemon following argv; BenchError if it cannot start."""
    try:
        return Daemon(None, argv=argv, env=ENV_EXTRA)
    except OSError as e:
        raise BenchError("%s: %s" % (what, e)) from None


def wait_line(d, regex, start=0, timeout=600, stream="err"):
    """The first Line of d's stream from Line number start on that
    matches regex, and the match.  BenchError, after killing d, if it
    ends or the time runs out."""
    try:
        line = d.wait_for(regex, start=start, timeout=timeout, stream=stream)
    except AssertionError as e:
        d.kill()
        raise BenchError(str(e)) from None
    return line, re.search(regex, line.text)


def stop(d, timeout=30):
    """SIGTERM, then the exit status; a kill after timeout."""
    try:
        return d.stop(timeout=timeout)
    except AssertionError:
        d.kill()
        return d.proc.returncode


class Inotifywait:
    """`inotifywait -m -r -e EVENTS --format '%w%f %e' ROOT`: ready when it
    says "Watches established." (after a watch on every directory)."""

    def __init__(self, root, timeout=600):
        self.d = follow([INOTIFYWAIT, "-m", "-r", "-e", INOTIFY_EVENTS,
                         "--format", "%w%f %e", root], "inotifywait")
        line, _ = wait_line(self.d, r"^Watches established", 0, timeout)
        self.ready_s = line.mono - self.d.started_mono
        self.pid = self.d.pid

    def mark(self):
        return self.d.mark()

    def seen(self, path, mark, timeout=30):
        """When (monotonic) it printed that path was written."""
        rx = "^" + re.escape(path) + " CLOSE_WRITE"
        line, _ = wait_line(self.d, rx, mark, timeout, "out")
        return line.mono

    def stop(self):
        stop(self.d)


class Watchman:
    """A private watchman server (`--foreground`, its own socket, state
    file and log; config from WATCHMAN_CONFIG_FILE, empty) and `watch
    ROOT`.  Ready once `watch` has answered, which watchman 4.9 does
    after its initial crawl (cmd_watch waits for waitUntilReadyToQuery)."""

    def __init__(self, work, root, timeout=600):
        self.root = root
        self.dir = os.path.join(work, "watchman")
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.sock = os.path.join(self.dir, "sock")
        conf = os.path.join(self.dir, "watchman.json")
        with open(conf, "w") as f:
            f.write("{}\n")
        # Watchman makes its state dir, $TMPDIR/<user>-state, even when
        # told every file's path: in self.dir it goes with the bench's.
        self.env = dict(ENV, WATCHMAN_CONFIG_FILE=conf, TMPDIR=self.dir)
        self.sub = None
        t0 = time.monotonic()
        with open(os.path.join(self.dir, "server.out"), "wb") as out:
            self.server = subprocess.Popen(
                [WATCHMAN, "--foreground", "--sockname", self.sock,
                 "--logfile", os.path.join(self.dir, "log"),
                 "--statefile", os.path.join(self.dir, "state"),
                 "--pidfile", os.path.join(self.dir, "pid"),
                 "--no-save-state"], stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, env=self.env)
        self.pid = self.server.pid
        self._wait_socket(t0 + 30)
        self.call("watch", root, timeout=timeout)
        self.ready_s = time.monotonic() - t0

    def _wait_socket(self, deadline):
        while not os.path.exists(self.sock):
            if self.server.poll() is not None or time.monotonic() > deadline:
                raise BenchError("watchman server did not start (%s)" %
                                 self.server.poll())
            time.sleep(0.001)

    def call(self, *args, timeout=600):
        """One client command, its JSON answer."""
        r = run_cmd([WATCHMAN, "--sockname", self.sock, "--no-spawn",
                     "--no-pretty"] + list(args), timeout=timeout,
                    capture_out=True, env=self.env).check()
        ans = json.loads(r.out)
        if "error" in ans:
            raise BenchError("watchman %s: %s" % (args[0], ans["error"]))
        return ans

    def subscribe(self):
        """A persistent client subscribed to changes since now."""
        clock = self.call("clock", self.root)["clock"]
        cmd = os.path.join(self.dir, "subscribe.json")
        with open(cmd, "w") as f:
            json.dump(["subscribe", self.root, "bench",
                       {"since": clock, "fields": ["name"],
                        "expression": ["type", "f"]}], f)
        # The command is read from stdin (-j), which Daemon leaves empty.
        self.sub = Daemon(None, argv=[
            "sh", "-c", 'exec "$@" < "$0"', cmd, WATCHMAN, "--sockname",
            self.sock, "--no-spawn", "--no-pretty", "-j", "-p"],
            env=dict(ENV_EXTRA, TMPDIR=self.dir, WATCHMAN_CONFIG_FILE=self.env[
                "WATCHMAN_CONFIG_FILE"]))
        wait_line(self.sub, r'^\{"subscribe"', 0, 30, "out")

    def mark(self):
        return self.sub.mark()

    def seen(self, rel, mark, timeout=30):
        """When (monotonic) a subscription answer named rel."""
        rx = r'"files":\[[^]]*"%s"' % re.escape(rel)
        line, _ = wait_line(self.sub, rx, mark, timeout, "out")
        return line.mono

    def unsubscribe(self):
        if self.sub is not None:
            self.sub.kill()
            self.sub = None

    def stop(self):
        self.unsubscribe()
        if self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(30)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()


# ------------------------------------------------------------ walkers

def build_walkfloor(work):
    """Compiles bench/walkfloor.c into work; its path."""
    out = os.path.join(work, "walkfloor")
    run_cmd([CC, "-O2", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra",
             "-o", out, os.path.join(HERE, "walkfloor.c")]).check()
    return out


def walkfloor(binary, root):
    return run_cmd([binary, root], capture_out=True).check()


def walkfloor_counts(run):
    """(files, dirs, bytes) that walkfloor printed."""
    return tuple(int(x) for x in run.out.split())


def rsync_check(root):
    """`rsync -n -a ROOT/ ROOT/`: rsync's sender and generator each walk
    and stat the tree, as a check against an identical copy does,
    without a second copy on disk."""
    return run_cmd([RSYNC, "-n", "-a", root + "/", root + "/"]).check()


def find_stat(root):
    return run_cmd(["find", root, "-type", "f", "-printf",
                    "%s %T@ %i\n"]).check()


def versions():
    """(name, version) of each peer, "not installed" for a missing one."""
    out = []
    for name, path, arg in (("inotifywait", INOTIFYWAIT, "--help"),
                            ("watchman", WATCHMAN, "--version"),
                            ("rsync", RSYNC, "--version"),
                            ("aws", AWS, "--version")):
        text = machine.version([path, arg]) if path else "not installed"
        out.append((name, " ".join(text.split())))
    return out
