#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Chaos test of the watch daemon (issue 6).

A seeded random workload of edits, same-bytes writes, creates, deletes,
renames and whole-directory replacements runs on a real tree while the
real daemon is SIGKILLed at chosen moments (in the quiet window, with a
request in flight, right after a 201 arrived, while the manifest is being
written, in the backoff after a lost 201) and restarted, and the
CloudFront stand-in injects random faults (5xx, throttling, resets, hangs,
slow answers, lost 201s, garbage, short bodies).  At the end the faults
stop, the daemon settles (`plan` prints nothing and nothing moves for a
while) and gets SIGTERM.  The checker then holds the stand-in's
invalidations against the test's own record of every file's history
(times on this machine's clock, like the stand-in's):

  (a) every file whose final bytes (or absence) differ from the bytes it
      last had acknowledged was covered by an invalidation created after
      its last change;
  (b) no path was sent for a file that had not changed by then;
  (c) no two created invalidations have the same paths unless one of
      those files changed in between (a lost 201 is replayed through the
      CallerReference, never created twice);
  (d) the daemon never ended on its own, stopped with status 0 and an
      empty plan, no request failed its signature, no CallerReference was
      reused for other paths, no sanitizer spoke.

By hand, from the source dir:

    python3 tests/chaos.py --seed 7 --rounds 80 --binary build/cfwatch
    python3 tests/chaos.py --seeds 1-20 --rounds 80 --binary build/cfwatch

The workload and the kill plan depend on the seed only; the stand-in's
faults are drawn from the same seed, per request.  Timing still differs
from run to run, so a replay repeats the same operations, not
necessarily the same interleaving.  A failed seed keeps its work dir
(daemon logs, standin.json, model.txt with every file's history).

Why the checker is shaped as it is.  The daemon hashes a batch before it
sends it, so the bytes an invalidation acknowledges are bytes the file
held at some moment of a window: from the start of the scan that made the
batch (the daemon logs each scan and its duration; the test notes when
each log line appeared) to the creation of the invalidation.  A replay by
a later daemon acknowledges the same bytes, since the CallerReference
covers the content hashes.  So (a) accepts a final state that no later
invalidation covers only if it is the baseline or was held within the
window of an earlier invalidation of that file: the manifest may hold
it.  Such files are counted as "exempt" (mostly a file that went away and
came back between two batches).  Among them, "stale risk" counts those
whose last invalidation was created while they held other bytes:
CloudFront may have cached those bytes since and nothing will evict them.
The issue's rule allows that (the final bytes are the acknowledged ones);
--strict fails on it.
"""
import argparse
import ctypes
import ctypes.util
import datetime
import json
import os
import random
import re
import select
import shutil
import signal
import struct
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "e2e"))
sys.path.insert(0, os.path.join(HERE, "standin"))

import cfw  # noqa: E402
from standin import (ACCESS_KEY, DISTRIBUTION, SECRET_KEY,  # noqa: E402
                     StandIn)

QUIET_MS = 200
MAX_DELAY_MS = 1000
# Faults the stand-in draws from (README "Faults").  Hangs and slow
# answers are short so that a kill often lands while one is in flight.
# Lost 201s are listed twice: a replay across a kill is what the
# CallerReference is for.
FAULTS = ["503", "500", "throttle", "reset", "lost201", "lost201",
          "garbage", "bad_length", {"fault": "slow", "seconds": 1},
          {"fault": "hang", "seconds": 1.5}]
FAULT_RATE = 0.3
KILL_RATE = 0.3
# Kill modes and their weights; see Run.kill().
KILL_MODES = [("quiet", 2), ("request", 3), ("response", 2), ("journal", 2),
              ("snapshot", 1),
              ("lost201", 2), ("failed", 2), ("random", 1)]
# How long a kill waits for the moment it aims at before killing anyway.
KILL_WAIT_S = 2.5
SETTLE_QUIET_S = 1.5
SETTLE_TIMEOUT_S = 120
# Slack for the stand-in's millisecond timestamps.
EPS = 0.002
# See Checker.life_of.
RESTART_DELAY_S = 0.05
FIRST_REQUEST_S = 0.005

REQUEST_SENT = re.compile(r"trace: http #\d+: > \d+ bytes of body")
RESPONSE_201 = re.compile(r"trace: http #\d+: < HTTP/\S+ 201")
REQUEST_START = re.compile(r"trace: http #\d+: \*\s+Trying ")
REQUEST_DONE = re.compile(r"CloudFront \S+: .* in \d+ ms \(")
RETRYING = re.compile(r"warn: CloudFront: .*; retrying$")
SCANNED = re.compile(r": scanned \d+ files")
SCANNED_MS = re.compile(r": scanned \d+ files, .* in (\d+) ms$")
BATCH_DONE = re.compile(r": batch: \d+ files, \d+ paths, invalidation ")
SANITIZER = re.compile(r"ERROR: AddressSanitizer|runtime error:|"
                       r"ERROR: LeakSanitizer")


def stand_in_time(s):
    """The stand-in's "2026-11-25T08:09:45.099Z" in seconds since the
    epoch (its clock is this machine's)."""
    return datetime.datetime.strptime(
        s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()


def urls(rel):
    """The URL paths of one file under the default mapping (the workload
    uses only names that need no encoding)."""
    if os.path.basename(rel) == "index.html":
        d = os.path.dirname(rel)
        return ["/" + d + "/" if d else "/", "/" + rel]
    return ["/" + rel]


def url_file(path):
    """The file an exact URL path names."""
    rel = path[1:]
    if rel == "" or rel.endswith("/"):
        rel += "index.html"
    return rel


# ---------------------------------------------------------------- inotify

class Inotify:
    """Just enough inotify (through libc) to kill the daemon the moment
    it creates or renames a file in its state dir."""

    IN_MODIFY = 0x2
    IN_MOVED_TO = 0x80
    IN_CREATE = 0x100
    IN_NONBLOCK = 0o4000
    IN_CLOEXEC = 0o2000000

    def __init__(self, path, mask):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6",
                           use_errno=True)
        self.fd = libc.inotify_init1(self.IN_NONBLOCK | self.IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if libc.inotify_add_watch(self.fd, path.encode(), mask) < 0:
            err = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(err, "inotify_add_watch %s" % path)

    def wait(self, want, timeout):
        """Waits for an event on a name for which want(name, mask) holds;
        returns the name, or None after timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                return None
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                continue
            off = 0
            while off + 16 <= len(data):
                _, mask, _, n = struct.unpack_from("iIII", data, off)
                name = data[off + 16:off + 16 + n].rstrip(b"\0").decode()
                off += 16 + n
                if want(name, mask):
                    return name

    def close(self):
        os.close(self.fd)


class Tail:
    """New complete lines of a growing file."""

    def __init__(self, path):
        self.path = path
        self.off = os.path.getsize(path) if os.path.exists(path) else 0
        self.part = b""

    def lines(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.off)
                data = f.read()
        except FileNotFoundError:
            return []
        self.off += len(data)
        data = self.part + data
        *done, self.part = data.split(b"\n")
        return [line.decode("utf-8", "replace") for line in done]

    def wait(self, pattern, timeout, interval=0.0005):
        """Waits for a new line matching pattern; True if one came."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(pattern.search(line) for line in self.lines()):
                return True
            time.sleep(interval)
        return False


class LineClock(threading.Thread):
    """Follows a daemon's stderr while it runs and gives each line a
    window [lo, hi] of time.time() within which it was written: lo is the
    start of the last read that did not see it yet, hi the end of the read
    that saw it whole."""

    INTERVAL_S = 0.002

    def __init__(self, path, start):
        super().__init__(daemon=True)
        self.path = path
        self.lines = []  # (lo, hi, text)
        self.prev = start  # nothing is written before the process starts
        self.off = 0
        self.part = b""
        self.part_lo = None
        self.done = threading.Event()
        self.start()

    def poll(self):
        before = time.time()
        try:
            with open(self.path, "rb") as f:
                f.seek(self.off)
                data = f.read()
        except FileNotFoundError:
            data = b""
        after = time.time()
        self.off += len(data)
        if data:
            # A line begun in an earlier read began after that read's lo.
            first_lo = self.part_lo if self.part else self.prev
            *done, part = (self.part + data).split(b"\n")
            for i, line in enumerate(done):
                self.lines.append((first_lo if i == 0 else self.prev, after,
                                   line.decode("utf-8", "replace")))
            self.part_lo = first_lo if not done else self.prev
            self.part = part
        self.prev = before

    def run(self):
        while not self.done.is_set():
            self.poll()
            time.sleep(self.INTERVAL_S)

    def stop(self):
        """After the process ended: the last lines, then no more reads."""
        self.done.set()
        self.join()
        self.poll()


# ---------------------------------------------------------------- model

class Model:
    """The tree as the test made it: the current bytes of every file and,
    from the baseline on, each file's history of states (bytes, or None
    for absent) with the interval [t0, t1] (time.time()) within which each
    state began."""

    def __init__(self, root):
        self.root = root
        self.cur = {}
        self.hist = None  # rel -> [(t0, t1, state)], after baseline()
        self.changes = 0
        self.noops = 0

    def baseline(self):
        self.hist = {rel: [(float("-inf"), float("-inf"), data)]
                     for rel, data in self.cur.items()}

    def record(self, rel, state, t0, t1):
        if self.cur.get(rel) == state:
            return
        if state is None:
            del self.cur[rel]
        else:
            self.cur[rel] = state
        if self.hist is None:
            return
        self.hist.setdefault(rel, [(float("-inf"), float("-inf"), None)])
        self.hist[rel].append((t0, t1, state))
        self.changes += 1

    def first(self, rel):
        return self.hist[rel][0][2]

    def changed(self, rel):
        return rel in self.hist and len(self.hist[rel]) > 1

    def states_in(self, rel, lo, hi):
        """The states rel may have held at some moment of [lo, hi]."""
        h = self.hist.get(rel, [(float("-inf"), float("-inf"), None)])
        out = set()
        for i, (t0, _, state) in enumerate(h):
            end = h[i + 1][1] if i + 1 < len(h) else float("inf")
            if t0 <= hi and end >= lo:
                out.add(state)
        return out

    def changes_in(self, rel, lo, hi):
        """Whether rel may have changed at some moment of [lo, hi]."""
        return any(t0 <= hi and t1 >= lo
                   for t0, t1, _ in self.hist.get(rel, [])[1:])

    def dirs(self):
        out = set()
        for rel in self.cur:
            d = os.path.dirname(rel)
            while d:
                out.add(d)
                d = os.path.dirname(d)
        return sorted(out)


class Workload:
    """Seeded random changes to a real tree, recorded in a Model.  Every
    random draw comes from rng and none depends on timing, so a seed
    always gives the same operations."""

    DIRS = ["", "blog", "blog/2024", "blog/2025", "docs", "docs/api",
            "docs/api/v2", "assets", "assets/css"]
    NEW_DIRS = ["news", "news/old", "docs/guide", "shop", "shop/items",
                "blog/drafts"]
    OPS = [("edit", 28), ("noop", 14), ("create", 12), ("delete", 9),
           ("rename", 9), ("dirreplace", 10), ("dirrename", 4),
           ("rootreplace", 3), ("burst", 11)]

    def __init__(self, seed, root, scratch):
        self.rng = random.Random(seed)
        self.seed = seed
        self.model = Model(root)
        self.root = root
        self.scratch = scratch  # same file system, outside the root
        self.serial = 0
        os.makedirs(scratch, exist_ok=True)

    def content(self, rel):
        self.serial += 1
        return ("<p>%s seed %d v%d</p>\n%s" % (
            rel, self.seed, self.serial,
            "x" * self.rng.randrange(0, 300))).encode()

    def path(self, rel):
        return os.path.join(self.root, rel)

    def pick(self):
        files = sorted(self.model.cur)
        return self.rng.choice(files) if files else None

    def new_name(self):
        d = self.rng.choice(self.DIRS + self.NEW_DIRS)
        if self.rng.random() < 0.2:
            name = "index.html"
        else:
            name = "p%d.%s" % (self.rng.randrange(40),
                               self.rng.choice(["html", "html", "css"]))
        return os.path.join(d, name) if d else name

    # ---- primitive operations, each recorded with its time
    def write(self, rel, data, atomic):
        """A real write: atomic (temp file outside the root, renamed in) or
        in place (truncate, then write)."""
        path = self.path(rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if atomic:
            tmp = os.path.join(self.scratch, "tmp")
            with open(tmp, "wb") as f:
                f.write(data)
            t0 = time.time()
            os.rename(tmp, path)
        else:
            t0 = time.time()
            with open(path, "wb") as f:
                f.write(data)
        self.model.record(rel, data, t0, time.time())

    def rewrite_same(self, rel, atomic):
        """Writes the bytes the file already has, so that at no moment
        does it hold other bytes: renamed over, or overwritten without
        truncation.  Events and a new stat, but no change."""
        path = self.path(rel)
        data = self.model.cur[rel]
        if atomic:
            tmp = os.path.join(self.scratch, "tmp")
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, path)
        else:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
        self.model.noops += 1

    def unlink(self, rel):
        t0 = time.time()
        os.unlink(self.path(rel))
        self.model.record(rel, None, t0, time.time())

    def rename(self, src, dst):
        os.makedirs(os.path.dirname(self.path(dst)), exist_ok=True)
        data = self.model.cur[src]
        t0 = time.time()
        os.rename(self.path(src), self.path(dst))
        t1 = time.time()
        self.model.record(src, None, t0, t1)
        self.model.record(dst, data, t0, t1)

    def remove_tree(self, d):
        """rm -rf, one unlink at a time, each recorded with its time."""
        top = self.path(d)
        for dirpath, dirnames, filenames in os.walk(top, topdown=False):
            for name in filenames:
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, self.root)
                t0 = time.time()
                os.unlink(full)
                self.model.record(rel, None, t0, time.time())
            for name in dirnames:
                os.rmdir(os.path.join(dirpath, name))
        os.rmdir(top)

    def move_tree(self, src_abs, dst_abs, rels_from, rels_to):
        """One rename of a whole directory: rels_from vanish, rels_to
        (rel -> bytes) appear, at the same moment."""
        t0 = time.time()
        os.rename(src_abs, dst_abs)
        t1 = time.time()
        for rel in rels_from:
            self.model.record(rel, None, t0, t1)
        for rel, data in sorted(rels_to.items()):
            self.model.record(rel, data, t0, t1)

    # ---- the tree at the start
    def initial(self):
        for d in self.DIRS:
            names = ["index.html"] + ["p%d.html" % i for i in
                                      range(self.rng.randrange(1, 5))]
            if d.startswith("assets"):
                names.append("site.css")
            for name in names:
                rel = os.path.join(d, name) if d else name
                self.write(rel, self.content(rel), atomic=False)

    # ---- the random steps
    def step(self):
        """One random operation; returns a short description."""
        op = self.rng.choices([o for o, _ in self.OPS],
                              [w for _, w in self.OPS])[0]
        return getattr(self, "op_" + op)()

    def op_edit(self):
        rel = self.pick()
        if rel is None:
            return self.op_create()
        atomic = self.rng.random() < 0.5
        self.write(rel, self.content(rel), atomic)
        return "edit %s%s" % (rel, " (atomic)" if atomic else "")

    def op_noop(self):
        rel = self.pick()
        if rel is None:
            return "noop (empty tree)"
        atomic = self.rng.random() < 0.5
        self.rewrite_same(rel, atomic)
        return "same bytes %s%s" % (rel, " (atomic)" if atomic else "")

    def op_touch(self):
        """Same bytes under a new inode: what a rebuild does to a file it
        did not change."""
        rel = self.pick()
        if rel is None:
            return "touch (empty tree)"
        self.rewrite_same(rel, atomic=True)
        return "same bytes %s (atomic)" % rel

    def op_create(self):
        rel = self.new_name()
        atomic = self.rng.random() < 0.5
        self.write(rel, self.content(rel), atomic)
        return "create %s" % rel

    def op_delete(self):
        rel = self.pick()
        if rel is None:
            return "delete (empty tree)"
        self.unlink(rel)
        return "delete %s" % rel

    def op_rename(self):
        src = self.pick()
        if src is None:
            return "rename (empty tree)"
        if self.rng.random() < 0.3:
            dst = self.pick()  # over an existing file
        else:
            dst = self.new_name()
        if dst == src or os.path.isdir(self.path(dst)):
            return "rename %s (skipped)" % src
        self.rename(src, dst)
        return "rename %s -> %s" % (src, dst)

    def rebuild(self, old):
        """What a generator would write for a tree whose files were old
        (rel -> bytes, relative to the tree): most the same, some edited,
        some gone, a few new."""
        new = {}
        for rel in sorted(old):
            r = self.rng.random()
            if r < 0.55:
                new[rel] = old[rel]
            elif r < 0.8:
                new[rel] = self.content(rel)
        for _ in range(self.rng.randrange(3)):
            rel = "p%d.html" % self.rng.randrange(40, 60)
            new[rel] = self.content(rel)
        return new

    def replace_dir(self, d):
        prefix = d + "/" if d else ""
        old = {rel[len(prefix):]: data for rel, data in self.model.cur.items()
               if rel.startswith(prefix)}
        new = self.rebuild(old)
        if self.rng.random() < 0.5:
            # rm -rf d && build: everything goes, then comes back.
            if os.path.isdir(self.path(d)):
                self.remove_tree(d)
            os.makedirs(self.path(d), exist_ok=True)
            for rel, data in sorted(new.items()):
                self.write(prefix + rel, data, atomic=False)
            return "replace %s/ in place (%d -> %d files)" % (
                d, len(old), len(new))
        # Build beside, then swap: two renames.
        stage = os.path.join(self.scratch, "stage")
        trash = os.path.join(self.scratch, "trash")
        shutil.rmtree(stage, ignore_errors=True)
        shutil.rmtree(trash, ignore_errors=True)
        os.makedirs(stage)  # even if the rebuild is empty
        for rel, data in new.items():
            path = os.path.join(stage, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
        self.move_tree(self.path(d), trash, [prefix + r for r in old], {})
        self.move_tree(stage, self.path(d), [],
                       {prefix + r: v for r, v in new.items()})
        shutil.rmtree(trash)
        return "replace %s/ by a swap (%d -> %d files)" % (
            d, len(old), len(new))

    def op_dirreplace(self):
        dirs = self.model.dirs()
        if not dirs:
            return self.op_create()
        return self.replace_dir(self.rng.choice(dirs))

    def op_rootreplace(self):
        return self.replace_dir("")

    def op_dirrename(self):
        dirs = self.model.dirs()
        if not dirs:
            return self.op_create()
        src = self.rng.choice(dirs)
        dst = self.rng.choice(self.NEW_DIRS) + "%d" % self.rng.randrange(5)
        if os.path.exists(self.path(dst)) or dst.startswith(src + "/"):
            return "rename %s/ (skipped)" % src
        os.makedirs(os.path.dirname(self.path(dst)), exist_ok=True)
        moved = {rel: data for rel, data in self.model.cur.items()
                 if rel.startswith(src + "/")}
        self.move_tree(self.path(src), self.path(dst), sorted(moved),
                       {dst + rel[len(src):]: data
                        for rel, data in moved.items()})
        return "rename %s/ -> %s/" % (src, dst)

    def op_burst(self):
        n = self.rng.randrange(3, 9)
        done = []
        for _ in range(n):
            if self.rng.random() < 0.7:
                done.append(self.op_edit())
            else:
                done.append(self.op_noop())
        return "burst: " + "; ".join(done)


# ---------------------------------------------------------------- one run

class Failure(AssertionError):
    pass


class Outcome:
    """What one seed gave: failures, notes and figures."""

    def __init__(self, seed, rounds, binary, options=()):
        self.seed = seed
        self.rounds = rounds
        self.binary = binary
        self.options = list(options)  # non-default options, for the replay
        self.failures = []
        self.notes = []
        self.figures = {}
        self.workdir = None

    def replay(self):
        return " ".join(["python3", os.path.join(HERE, "chaos.py"),
                         "--seed", str(self.seed), "--rounds",
                         str(self.rounds), "--binary",
                         os.path.abspath(self.binary)] + self.options +
                        ["-v"])

    def message(self):
        lines = ["chaos seed %d: %d failure(s)" % (self.seed,
                                                   len(self.failures))]
        lines += ["  " + f for f in self.failures[:40]]
        if len(self.failures) > 40:
            lines.append("  ... %d more" % (len(self.failures) - 40))
        lines.append("figures: " + self.summary())
        if self.workdir:
            lines.append("logs kept in " + self.workdir)
        lines.append("replay: " + self.replay())
        return "\n".join(lines)

    def summary(self):
        f = self.figures
        return ("seed %d: %d rounds, %d kills (%d mid-request, %d after a "
                "201, %d mid-snapshot-write), %d faults, %d changes "
                "(%d same-bytes writes), %d invalidations, %d replays, "
                "paths sent %d / needed %d (%d wildcards evicting %d "
                "unchanged files), %d exempt (%d stale risk), %.0f s" % (
                    self.seed, self.rounds, f.get("kills", 0),
                    f.get("kills_mid_request", 0),
                    f.get("kills_after_201", 0),
                    f.get("kills_mid_manifest", 0), f.get("faults", 0),
                    f.get("changes", 0), f.get("noops", 0),
                    f.get("invalidations", 0), f.get("replays", 0),
                    f.get("paths_sent", 0), f.get("paths_needed", 0),
                    f.get("wildcards", 0), f.get("evicted", 0),
                    f.get("exempt", 0), f.get("stale_risk", 0),
                    f.get("elapsed_s", 0)))


class Life:
    """One daemon process: when it was started and killed (time.time()),
    and its stderr lines with the windows they were written in."""

    def __init__(self, daemon, spawn):
        self.daemon = daemon
        self.spawn = spawn
        self.death = None
        self.clock = LineClock(daemon.err_path, spawn)

    def ended(self, t):
        if self.death is None:
            self.death = t
        self.clock.stop()


class Run:
    """One seed: a tree, a state dir, a succession of daemons."""

    def __init__(self, seed, rounds, binary, cf, verbose=False,
                 fault_rate=FAULT_RATE, kill_rate=KILL_RATE, strict=False):
        self.seed = seed
        self.rounds = rounds
        self.binary = os.path.abspath(binary)
        self.cf = cf
        self.verbose = verbose
        self.fault_rate = fault_rate
        self.kill_rate = kill_rate
        self.strict = strict
        options = []
        if fault_rate != FAULT_RATE:
            options += ["--fault-rate", str(fault_rate)]
        if kill_rate != KILL_RATE:
            options += ["--kill-rate", str(kill_rate)]
        if strict:
            options.append("--strict")
        self.out = Outcome(seed, rounds, binary, options)
        cfw.BIN = self.binary
        self.tmp = tempfile.mkdtemp(prefix="cfwchaos.%d." % seed)
        self.root = os.path.join(self.tmp, "public")
        self.state = os.path.join(self.tmp, "state")
        self.env = {"HOME": self.tmp,
                    "XDG_STATE_HOME": os.path.join(self.tmp, "xdg"),
                    "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                    "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                    # Compactions every few batches, so kills fall into
                    # them too (state.h).
                    "CFWATCH_TEST_COMPACT_BYTES": "2048"}
        self.work = Workload(seed, self.root, os.path.join(self.tmp, "scr"))
        self.krng = random.Random(seed * 7919 + 1)  # the kill plan
        self.daemon = None
        self.lives = []  # a Life per process
        self.kills = []  # (mode, time, classification)

    def say(self, msg):
        if self.verbose:
            print("  [%d] %s" % (self.seed, msg), file=sys.stderr, flush=True)

    def fail(self, msg):
        self.out.failures.append(msg)

    # ---- daemons
    def cf_args(self):
        return ["-d", DISTRIBUTION, "--endpoint", self.cf.endpoint,
                "--ca-file", self.cf.ca_file, "--state-dir", self.state]

    def spawn(self):
        if self.lives and time.time() < self.lives[-1].death + RESTART_DELAY_S:
            time.sleep(RESTART_DELAY_S)
        args = ["-v", "-v"] + self.cf_args() + [
            "--quiet-ms", QUIET_MS, "--max-delay-ms", MAX_DELAY_MS, self.root]
        t = time.time()
        self.daemon = cfw.Daemon(self.tmp, *args, env=self.env)
        self.lives.append(Life(self.daemon, t))

    def check_alive(self):
        if self.daemon.proc.poll() is not None:
            d = self.daemon
            raise Failure("cfwatch pid %d ended on its own with status %s:"
                          "\n%s" % (d.pid, d.proc.returncode,
                                    "\n".join(d.log()[-30:])))

    def kill(self, mode):
        """SIGKILLs the daemon at the moment mode aims at:
        quiet: within the quiet window of the change just made;
        request: just after a request's body went out;
        response: the moment a 201 has arrived;
        journal: the moment a record is appended to the journal (an
          intent before its request, a commit after its 201), or a few
          ms later;
        snapshot: the moment a new snapshot's temp file appears (a
          compaction: the test makes them frequent), or a few ms later;
        lost201: in the backoff after a lost 201: the next daemon must
          replay that invalidation, not create another;
        failed: in the backoff after a 503: the next daemon must send
          the batch;
        random: at any moment of the next 1.5 s."""
        self.check_alive()
        d = self.daemon
        tail = Tail(d.err_path)
        tmp_before = self.manifest_tmp()
        delay = self.krng.random()
        hit = True
        if mode == "quiet":
            time.sleep(delay * QUIET_MS / 1000)
        elif mode == "request":
            hit = tail.wait(REQUEST_SENT, KILL_WAIT_S)
            time.sleep(delay * 0.03)
        elif mode == "response":
            hit = tail.wait(RESPONSE_201, KILL_WAIT_S)
        elif mode == "lost201":
            # The next request creates its invalidation but its answer is
            # lost; the kill comes in the backoff (at least 500 ms) before
            # the daemon would replay it.
            self.cf.inject("lost201", op="create")
            hit = tail.wait(RETRYING, KILL_WAIT_S)
            time.sleep(delay * 0.4)
        elif mode == "failed":
            # The same after a 503: nothing was created, and the next
            # daemon must send the batch.
            self.cf.inject("503", op="create")
            hit = tail.wait(RETRYING, KILL_WAIT_S)
            time.sleep(delay * 0.4)
        elif mode in ("journal", "snapshot"):
            # A record or a snapshot takes about a millisecond (an fsync):
            # half of these kills come at once, from inside the wait.
            want = "journal" if mode == "journal" else "manifest.tmp"

            def at_once(name, mask):
                if name != want:
                    return False
                if delay < 0.5:
                    os.kill(d.pid, signal.SIGKILL)
                return True

            ino = Inotify(self.state, Inotify.IN_CREATE | Inotify.IN_MODIFY)
            try:
                hit = ino.wait(at_once, KILL_WAIT_S)
            finally:
                ino.close()
            if delay >= 0.5:
                time.sleep((delay - 0.5) * 0.004)
        else:
            time.sleep(delay * 1.5)
        t = time.time()
        if d.proc.poll() is None:
            d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        self.lives[-1].ended(t)
        self.check_ended_by_kill(d)
        self.kills.append((mode, t, self.classify_kill(d, tmp_before)))
        self.say("kill (%s%s): %s" % (
            mode, "" if hit is True else ", at %s" % hit if hit
            else ", timed out", ", ".join(self.kills[-1][2]) or "idle"))

    def check_ended_by_kill(self, d):
        if d.proc.returncode != -signal.SIGKILL:
            raise Failure("cfwatch pid %d ended with status %s before it was "
                          "killed:\n%s" % (d.pid, d.proc.returncode,
                                           "\n".join(d.log()[-30:])))

    def manifest_tmp(self):
        """The identity of the manifest's temp file, or None."""
        try:
            st = os.stat(os.path.join(self.state, "manifest.tmp"))
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_ctime_ns)

    def classify_kill(self, d, tmp_before):
        """What the killed daemon was doing, from its trace and the state
        dir (a temp file made since the kill began and not yet renamed
        means the kill cut a manifest write)."""
        log = d.log()
        tags = []
        last_start = max((i for i, line in enumerate(log)
                          if REQUEST_START.search(line)), default=-1)
        if last_start >= 0 and not any(REQUEST_DONE.search(line)
                                       for line in log[last_start:]):
            tags.append("mid-request")
        last_201 = max((i for i, line in enumerate(log)
                        if RESPONSE_201.search(line)), default=-1)
        if last_201 >= 0 and not any(BATCH_DONE.search(line)
                                     for line in log[last_201:]):
            tags.append("after-201")
        tmp = self.manifest_tmp()
        if tmp is not None and tmp != tmp_before:
            tags.append("mid-snapshot-write")
        return tags

    def plan(self):
        res = cfw.run("plan", *self.cf_args(), self.root, env=self.env,
                      timeout=60)
        if res.status != 0:
            raise Failure("cfwatch plan failed: %r" % res)
        return res.lines

    # ---- phases
    def start(self):
        self.work.initial()
        self.spawn()
        self.daemon.wait_for("recording a baseline", timeout=30)
        deadline = time.monotonic() + 30
        while not os.path.exists(os.path.join(self.state, "manifest")):
            if time.monotonic() > deadline:
                raise Failure("no manifest after the baseline:\n%r"
                              % self.daemon)
            time.sleep(0.01)
        self.work.model.baseline()
        self.cf.chaos(seed=self.seed, rate=self.fault_rate, faults=FAULTS)

    def rounds_(self):
        for i in range(self.rounds):
            what = self.work.step()
            r = self.krng.random()
            mode = self.krng.choices([m for m, _ in KILL_MODES],
                                     [w for _, w in KILL_MODES])[0]
            extra = self.krng.random() < 0.4
            pause = self.krng.choice([0, 0.05, 0.15, 0.3, 0.6]) * \
                self.krng.random()
            self.say("round %d: %s" % (i, what))
            if r < self.kill_rate:
                self.kill(mode)
                if mode == "lost201":
                    # Nothing changes until the next daemon has diffed the
                    # tree, so that its batch is the one the killed daemon
                    # was retrying: a replay, not a new invalidation.  A
                    # rebuild still rewrites files with the same bytes
                    # meanwhile, which changes no batch.
                    self.say("while stopped: %s" % self.work.op_touch())
                    self.spawn()
                    self.daemon.wait_for(SCANNED.pattern, timeout=30)
                    continue
                if extra:  # a change while no daemon runs
                    self.say("while stopped: %s" % self.work.step())
                self.spawn()
            time.sleep(pause)
        self.check_alive()

    def settle(self):
        """Stops the faults and waits until the daemon has nothing left:
        plan empty, and neither the daemon's log nor the stand-in's moved
        for SETTLE_QUIET_S."""
        self.cf.chaos(rate=0)
        self.cf.clear_faults()
        t_end = time.monotonic() + SETTLE_TIMEOUT_S
        last = None
        since = time.monotonic()
        seq = 0
        while True:
            self.check_alive()
            new = self.cf.log(since=seq)
            if new:
                seq = new[-1]["seq"]
            sig = (seq, os.path.getsize(self.daemon.err_path))
            if sig != last:
                last, since = sig, time.monotonic()
            plan = self.plan()
            if not plan and time.monotonic() - since >= SETTLE_QUIET_S:
                return
            if time.monotonic() > t_end:
                raise Failure("not settled %d s after the faults stopped; "
                              "plan: %s\n%s" % (
                                  SETTLE_TIMEOUT_S, " ".join(plan[:20]),
                                  "\n".join(self.daemon.log()[-40:])))
            time.sleep(0.2)

    def stop(self):
        d = self.daemon
        t = time.time()
        status = d.stop(signal.SIGTERM, timeout=30)
        self.lives[-1].ended(t)
        if status != 0:
            self.fail("SIGTERM: cfwatch ended with status %s:\n%s" % (
                status, "\n".join(d.log()[-20:])))
        plan = self.plan()
        if plan:
            self.fail("after the daemon stopped, plan still lists %d paths: "
                      "%s" % (len(plan), " ".join(plan[:20])))

    def execute(self):
        t0 = time.monotonic()
        self.cf.reset(config=True)
        self.cf.configure(completion_delay=0)
        try:
            try:
                self.start()
                self.rounds_()
                self.settle()
                self.stop()
            except AssertionError as e:  # Failure, or cfw.Daemon's waits
                self.fail(str(e))
            finally:
                for life in self.lives:
                    life.daemon.kill()
                    life.ended(time.time())
            Checker(self).check()
        finally:
            self.out.figures["elapsed_s"] = time.monotonic() - t0
            self.out.figures.update(self.kill_figures())
        return self.out

    def kill_figures(self):
        tags = [t for _, _, tt in self.kills for t in tt]
        return {"kills": len(self.kills),
                "kills_mid_request": tags.count("mid-request"),
                "kills_after_201": tags.count("after-201"),
                "kills_mid_manifest": tags.count("mid-snapshot-write")}

    def sanitizer_reports(self):
        for life in self.lives:
            d = life.daemon
            for line in d.log():
                if SANITIZER.search(line):
                    self.fail("sanitizer report in pid %d: %s" % (d.pid, line))
                    break

    def cleanup(self, keep):
        if keep or self.out.failures:
            self.out.workdir = self.tmp
            self.dump()
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def dump(self):
        """What a failure needs to be understood, beside the daemon logs."""
        with open(os.path.join(self.tmp, "standin.json"), "w") as f:
            json.dump({"log": self.cf.log(),
                       "invalidations": self.cf.invalidations()}, f, indent=1)
        with open(os.path.join(self.tmp, "result.txt"), "w") as f:
            f.write(self.out.message() + "\n")
            f.write("\n".join("note: " + n for n in self.out.notes) + "\n")
        for life in self.lives:
            # Each stderr line with the window it was written in.
            with open(life.daemon.err_path + ".times", "w") as f:
                for lo, hi, line in life.clock.lines:
                    f.write("%.6f %.6f %s\n" % (lo, hi, line))
        with open(os.path.join(self.tmp, "model.txt"), "w") as f:
            for life in self.lives:
                f.write("daemon pid %d: %.6f .. %.6f (%s)\n" % (
                    life.daemon.pid, life.spawn, life.death,
                    life.daemon.err_path))
            for mode, t, tags in self.kills:
                f.write("kill %s at %.6f: %s\n" % (mode, t, ", ".join(tags)))
            m = self.work.model
            for rel in sorted(m.hist):
                f.write("%s\n" % rel)
                for t0, t1, state in m.hist[rel]:
                    f.write("  %.6f %.6f %s\n" % (
                        t0, t1, "absent" if state is None
                        else state.split(b"\n")[0].decode()))


# ---------------------------------------------------------------- checker

class Checker:
    def __init__(self, run):
        self.run = run
        self.m = run.work.model
        self.cf = run.cf
        self.out = run.out
        self.fail = run.fail

    def check(self):
        self.out.figures["changes"] = self.m.changes
        self.out.figures["noops"] = self.m.noops
        if self.m.hist is None:
            return  # no baseline: the failure says why
        log = self.cf.log()
        invs = self.cf.invalidations()
        self.creates = sorted((e for e in log if e["operation"] == "create"),
                              key=lambda e: (stand_in_time(e["time"]),
                                             e["seq"]))
        self.invs = []
        by_id = {}
        for inv in invs:
            inv = dict(inv)
            inv["t"] = stand_in_time(inv["create_time"])
            self.invs.append(inv)
            by_id[inv["id"]] = inv
        for e in self.creates:
            if e.get("created"):
                by_id[e["invalidation"]]["lb"] = self.lower_bound(e)
        self.invs.sort(key=lambda i: i["t"])
        self.check_requests(log)
        self.run.sanitizer_reports()
        self.check_covered()
        self.check_no_unchanged()
        self.check_no_duplicates()
        self.figures(log)

    # ---- helpers
    def life_of(self, entry):
        """The daemon that sent a request.  The stand-in stamps a request
        once it has read it, which can be just after its sender was
        killed; the next daemon is started RESTART_DELAY_S after a kill
        and needs far longer than FIRST_REQUEST_S to send anything."""
        t = stand_in_time(entry["time"])
        found = None
        for life in self.run.lives:
            if life.spawn + FIRST_REQUEST_S <= t:
                found = life
        return found

    def lower_bound(self, entry):
        """The earliest moment the batch of this create request can have
        been hashed.  A batch comes from one scan, logged as "scanned ...
        in N ms", and its retries scan nothing; so the bound is the start
        of the last scan logged before the request was sent (known by
        time), or before the daemon logged the invalidation's Id (known
        by order, when the daemon got the 201), else the daemon's start."""
        t = stand_in_time(entry["time"])
        life = self.life_of(entry)
        if life is None:
            self.fail("create request #%d at %s from no daemon we ran"
                      % (entry["seq"], entry["time"]))
            return t
        lb = life.spawn
        by_order = None
        for lo, hi, line in life.clock.lines:
            if entry["invalidation"] in line:
                break
            m = SCANNED_MS.search(line)
            if m:
                start = lo - (int(m.group(1)) + 1) / 1000
                by_order = start
                if hi <= t:
                    lb = max(lb, start)
        else:
            by_order = None  # the Id never showed
        if by_order is not None:
            lb = max(lb, by_order)
        return lb

    def covers(self, inv, rel):
        want = urls(rel)
        for u in want:
            if not any(p == u or (p.endswith("*") and u.startswith(p[:-1]))
                       for p in inv["paths"]):
                return False
        return True

    def files_of(self, path):
        if path.endswith("*"):
            return [rel for rel in self.m.hist
                    if any(u.startswith(path[:-1]) for u in urls(rel))]
        return [url_file(path)]

    @staticmethod
    def show(state):
        if state is None:
            return "absent"
        return repr(state.split(b"\n")[0].decode())

    # ---- (d) what every request must satisfy
    def check_requests(self, log):
        for e in log:
            if e["signature_ok"] is False:
                self.fail("request #%d failed its signature: %s" % (
                    e["seq"], e.get("auth_error")))
            if e.get("error_code") == "StandInBug":
                self.fail("stand-in bug at request #%d: %s" % (
                    e["seq"], e.get("detail")))
            detail = e.get("detail") or ""
            if "caller reference" in detail:
                self.fail("request #%d reused a CallerReference for other "
                          "paths: %s" % (e["seq"], detail))
        for inv in self.invs:
            if inv["warnings"]:
                self.fail("invalidation %s has warnings: %s" % (
                    inv["id"], inv["warnings"]))

    # ---- (a) every change reached CloudFront after it happened
    def check_covered(self):
        stale_exempt = []
        for rel in sorted(self.m.hist):
            if not self.m.changed(rel):
                continue
            final = self.m.cur.get(rel)
            last_t0 = self.m.hist[rel][-1][0]
            covering = [i for i in self.invs if self.covers(i, rel)]
            if any(i["t"] + EPS > last_t0 for i in covering):
                continue
            acked = {self.m.first(rel)}
            for i in covering:
                acked |= self.m.states_in(rel, i.get("lb", i["t"]) - EPS,
                                          i["t"] + EPS)
            if final in acked:
                stale_exempt.append(rel)
                self.note_exempt(rel, final, last_t0, covering)
                continue
            self.fail(
                "%s: final state %s (from %.3f) was never sent: %s" % (
                    rel, self.show(final), last_t0,
                    "no invalidation covers it" if not covering else
                    "the last invalidation covering it, %s, was created at "
                    "%s" % (covering[-1]["id"], covering[-1]["create_time"])))
        self.out.figures["exempt"] = len(stale_exempt)
        self.exempt = stale_exempt

    def note_exempt(self, rel, final, last_t0, covering):
        """A file whose last change was sent by no later invalidation,
        although its final bytes were acknowledged before: by design
        (the manifest already holds those bytes; usually the file went
        away and came back between two batches).  When the last
        invalidation of the file was created while it held other bytes,
        CloudFront may have cached those since: a risk the issue's rule
        does not cover, counted as stale_risk."""
        risky = [i for i in covering[-1:]
                 if final not in self.m.states_in(rel, i["t"] - EPS,
                                                  i["t"] + EPS)]
        if risky:
            self.out.figures["stale_risk"] = \
                self.out.figures.get("stale_risk", 0) + 1
            if self.run.strict:
                self.fail("%s: final %s again since %.3f, never sent again; "
                          "but the last invalidation covering it, %s (%s), "
                          "was created while it held other bytes, which "
                          "CloudFront may have cached since (--strict)" % (
                              rel, self.show(final), last_t0, risky[-1]["id"],
                              risky[-1]["create_time"]))
        self.out.notes.append(
            "%s: final %s again since %.3f, not sent again (acknowledged "
            "before)%s" % (rel, self.show(final), last_t0,
                           "; but %s was created while it held other bytes"
                           % risky[-1]["id"] if risky else ""))

    # ---- (b) nothing for files that never changed
    def check_no_unchanged(self):
        """An exact path must name a file that had changed when the
        invalidation was created.  A wildcard (the planner's choice to
        save paths) must cover at least one; the unchanged files it
        evicts are counted, not failed."""
        wildcards = evicted = 0
        for inv in self.invs:
            for p in inv["paths"]:
                rels = self.files_of(p)
                changed = [rel for rel in rels if self.changed_by(rel,
                                                                  inv["t"])]
                if p.endswith("*"):
                    wildcards += 1
                    evicted += len(rels) - len(changed)
                if not changed:
                    self.fail("invalidation %s (%s) sent %s, but %s had "
                              "not changed by then" % (
                                  inv["id"], inv["create_time"], p,
                                  " ".join(rels) or "no file"))
        self.out.figures["wildcards"] = wildcards
        self.out.figures["evicted"] = evicted

    def changed_by(self, rel, t):
        return rel in self.m.hist and any(
            t0 < t + EPS for t0, _, _ in self.m.hist[rel][1:])

    # ---- (c) no change sent twice
    def check_no_duplicates(self):
        last = {}
        for inv in self.invs:
            key = tuple(sorted(inv["paths"]))
            prev = last.get(key)
            last[key] = inv
            if prev is None:
                continue
            lo = prev.get("lb", prev["t"]) - EPS
            rels = {f for p in key for f in self.files_of(p)}
            if not any(self.m.changes_in(rel, lo, inv["t"] + EPS)
                       for rel in rels):
                self.fail("invalidations %s (%s) and %s (%s) have the same "
                          "%d paths (%s) with no change to those files in "
                          "between" % (prev["id"], prev["create_time"],
                                       inv["id"], inv["create_time"],
                                       len(key), " ".join(key[:6])))

    def figures(self, log):
        f = self.out.figures
        f["faults"] = sum(1 for e in log if e.get("fault"))
        kinds = {}
        for e in log:
            if e.get("fault"):
                kinds[e["fault"]] = kinds.get(e["fault"], 0) + 1
        f["fault_kinds"] = kinds
        f["requests"] = len(self.creates)
        f["invalidations"] = len(self.invs)
        f["replays"] = sum(i["replays"] for i in self.invs)
        f["paths_sent"] = sum(len(i["paths"]) for i in self.invs)
        f["paths_needed"] = sum(
            len(urls(rel)) for rel in self.m.hist
            if self.m.cur.get(rel) != self.m.first(rel))
        f["files_changed"] = sum(1 for rel in self.m.hist
                                 if self.m.changed(rel))


# ---------------------------------------------------------------- entry

def run_seed(seed, rounds, binary, cf, verbose=False, keep=False, **kw):
    """Runs one seed against the stand-in cf; returns an Outcome."""
    run = Run(seed, rounds, binary, cf, verbose=verbose, **kw)
    out = run.execute()
    run.cleanup(keep)
    return out


def seed_list(args):
    if args.seeds:
        a, _, b = args.seeds.partition("-")
        return list(range(int(a), int(b or a) + 1))
    return [args.seed]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--seeds", help="a range A-B, one run per seed")
    p.add_argument("--rounds", type=int, default=60)
    p.add_argument("--binary", default=cfw.BIN)
    p.add_argument("--fault-rate", type=float, default=FAULT_RATE)
    p.add_argument("--kill-rate", type=float, default=KILL_RATE)
    p.add_argument("--strict", action="store_true",
                   help="fail on a stale risk too (see Checker.note_exempt)")
    p.add_argument("--keep", action="store_true",
                   help="keep the work dir even when the run passes")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    failed = 0
    outs = []
    with StandIn(config={"completion_delay": 0}) as cf:
        for seed in seed_list(args):
            out = run_seed(seed, args.rounds, args.binary, cf,
                           verbose=args.verbose, keep=args.keep,
                           fault_rate=args.fault_rate,
                           kill_rate=args.kill_rate, strict=args.strict)
            outs.append(out)
            print(("PASS " if not out.failures else "FAIL ") + out.summary(),
                  flush=True)
            if args.verbose:
                print("  faults: %s" % out.figures.get("fault_kinds"))
                for note in out.notes:
                    print("  note: " + note)
            if out.failures:
                failed += 1
                print(out.message(), flush=True)
            elif args.keep:
                print("  kept " + out.workdir)
    if len(outs) > 1:
        print_table(outs)
    print("%d of %d seeds failed" % (failed, len(outs)))
    return 1 if failed else 0


def print_table(outs):
    cols = [("seed", None), ("kills", "kills"),
            ("mid-req", "kills_mid_request"), ("after-201", "kills_after_201"),
            ("mid-mfst", "kills_mid_manifest"), ("faults", "faults"),
            ("changes", "changes"), ("noops", "noops"),
            ("invs", "invalidations"), ("replays", "replays"),
            ("sent", "paths_sent"), ("needed", "paths_needed"),
            ("exempt", "exempt"), ("risk", "stale_risk"),
            ("secs", "elapsed_s"), ("result", None)]
    print(" ".join("%9s" % c for c, _ in cols))
    for o in outs:
        row = []
        for c, k in cols:
            if c == "seed":
                row.append("%9d" % o.seed)
            elif c == "result":
                row.append("%9s" % ("FAIL" if o.failures else "pass"))
            else:
                row.append("%9.0f" % o.figures.get(k, 0))
        print(" ".join(row))
    tot = {k: sum(o.figures.get(k, 0) for o in outs) for _, k in cols if k}
    print(" ".join(["%9s" % "total"] +
                   ["%9.0f" % tot[k] for _, k in cols[1:-1]] + ["%9s" % ""]))


if __name__ == "__main__":
    sys.exit(main())
