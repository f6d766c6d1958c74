# SPDX-License-Identifier: MIT
"""cfwatch benchmarks: the goals of issue 7, measured as ratios.

Builds a static-site-like tree in a temp dir, then runs cfwatch and a
peer (find, sha256sum) side by side, interleaved, best of --repeat runs on
a warm page cache, and prints one table per tree size:

  measure | cfwatch | peer | ratio | goal | result

plus the daemon's peak RSS, its wakeups while idle, the latency of a
one-file change and, with several sizes, how the cost scales.

Exit status: 0 when every measure ran (goals may still fail: see the
table; --strict makes a failed goal exit 1 too), 1 on a crash or a gross
regression (the thresholds in GROSS, loose enough that timing noise on a
busy CI machine never trips them), 2 on a usage error.  --smoke runs a
tiny tree in a few seconds for CI.

Python 3 standard library only.  Linux only (inotify, /proc).  Run it
from the source root: python3 -m bench.run [OPTIONS].  The daemon is
started and followed by tests.e2e.daemon, the helper the tests use.
"""

import argparse
import datetime
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from tests.e2e import cfw
from tests.e2e.daemon import Daemon

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_BIN = os.path.join(HERE, "..", "build", "cfwatch")

# Goals of issue 7.  Ratios are cfwatch time / peer time.
GOAL_FULL_RATIO = 1.2
GOAL_NOCHANGE_RATIO = 2.0
GOAL_START_RATIO = 1.5
GOAL_RSS_MIB = 48.0
GOAL_RSS_AT_FILES = 100000  # the RSS goal is stated for 100k files
GOAL_LATENCY_MS = 50.0
GOAL_IDLE_WAKEUPS = 0

# A gross regression, as opposed to timing noise: a ratio this many times
# over its goal *and* cfwatch at least "abs_s" slower than the peer in
# absolute terms (tiny trees make ratios of process start-up costs).
GROSS = {
    "ratio_factor": 5.0,
    "abs_s": 0.25,
    "latency_ms": 1000.0,  # over the quiet period
    "wakeups_per_s": 5.0,  # a timer at 200 ms or faster
    "rss_factor": 4.0,  # times the RSS goal (not under a sanitizer)
}
SANITIZER_SLACK = 3.0  # ASan/UBSan builds: thresholds this much looser

# Files whose mtime or ctime lies within this of a scan are "racy" and
# always hashed (include/tree.h: TREE_RACY_WINDOW_NS is 2 s); the tree must
# be older than this before a manifest is recorded.
RACY_WAIT_S = 2.5

FILES_PER_DIR = 100  # ~1,000 directories for 100k files
SECTIONS = ["blog", "docs", "tags", "categories", "news", "products",
            "assets/img", "assets/css", "assets/js", "api"]
# weight, extension, smallest and largest size, binary content
KINDS = [
    (50, ".html", 2048, 8192, False),
    (8, ".css", 1024, 6144, False),
    (10, ".js", 1024, 8192, False),
    (8, ".png", 1024, 8192, True),
    (6, ".jpg", 1024, 8192, True),
    (4, ".webp", 1024, 8192, True),
    (4, ".svg", 1024, 4096, False),
    (6, ".json", 1024, 4096, False),
    (2, ".xml", 1024, 8192, False),
    (2, ".txt", 1024, 2048, False),
]
WORDS = ("the of and to in is for on with as by at from that this be are "
         "static site cache edge content build page post tag index html "
         "style script image layout header footer nav article section "
         "lorem ipsum dolor sit amet consectetur adipiscing elit").split()

RE_ONCE = re.compile(r": (\d+) files, (\d+) hashed, (\d+) ms")
RE_WATCHING = re.compile(r": watching (\d+) directories")
RE_SCANNED = re.compile(
    r": scanned (\d+) files, hashed (\d+), (\d+) changes in (\d+) ms")
# "batch: 1 files, 1 paths (dry run)", or with more said between "paths"
# and "(dry run", as newer builds do ("(dry run; 2 wildcards)").
RE_BATCH = re.compile(r": batch: (\d+) files, (\d+) paths\b.*\(dry run")
RE_LATENCY_PATH = re.compile(r"^/bench-latency\.html$")  # on stdout


class BenchError(Exception):
    """A crash, a hang or a missing log line: not a measurement."""


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- the tree

def parse_count(text):
    """'100000', '100k' or '1M' as an int."""
    m = re.fullmatch(r"(\d+)([kKmM]?)", text.strip())
    if not m:
        raise argparse.ArgumentTypeError("not a file count: " + text)
    mult = {"": 1, "k": 1000, "m": 1000000}[m.group(2).lower()]
    n = int(m.group(1)) * mult
    if n < 100:
        raise argparse.ArgumentTypeError("at least 100 files: " + text)
    return n


def parse_counts(text):
    return [parse_count(t) for t in text.split(",")]


def make_dirs(rng, n_dirs):
    """n_dirs relative directory paths ("" is the root), a few levels
    deep like a generator's output: section/slug and section/slug/page-N."""
    dirs = [""]
    i = 0
    while len(dirs) < n_dirs:
        sec = SECTIONS[i % len(SECTIONS)]
        if i % 7 == 3 and len(dirs) > len(SECTIONS):
            parent = dirs[rng.randrange(1, len(dirs))]
            dirs.append("%s/page-%d" % (parent, i))
        else:
            dirs.append("%s/%s-%04d" % (sec, rng.choice(WORDS), i))
        i += 1
    return dirs


def text_block(rng, size):
    out = []
    total = 0
    while total < size:
        w = rng.choice(WORDS)
        out.append(w)
        total += len(w) + 1
    return (" ".join(out)).encode()[:size]


def build_tree(root, n_files, seed):
    """Writes n_files small files (1-8 KB, mostly HTML, some binary) into
    ~n_files/FILES_PER_DIR directories under root.  Returns the sorted
    relative paths, the directory count and the byte count."""
    rng = random.Random(seed)
    n_dirs = max(1, round(n_files / FILES_PER_DIR))
    dirs = make_dirs(rng, n_dirs)
    for d in dirs:
        os.makedirs(os.path.join(root, d), exist_ok=True)
    text = text_block(rng, 256 * 1024)
    blob = rng.randbytes(256 * 1024)
    weights = [k[0] for k in KINDS]
    paths = []
    total = 0
    for j in range(n_files):
        d = dirs[j % n_dirs]
        if j < n_dirs:
            kind = KINDS[0]
            name = "index.html"
        else:
            kind = rng.choices(KINDS, weights)[0]
            name = "%s-%d%s" % (rng.choice(WORDS), j, kind[1])
        rel = d + "/" + name if d else name
        size = rng.randint(kind[2], kind[3])
        head = ("<!-- %s -->\n" % rel).encode()
        src = blob if kind[4] else text
        off = rng.randrange(0, len(src) - size)
        data = head + src[off:off + size - len(head)]
        with open(os.path.join(root, rel), "wb") as f:
            f.write(data)
        total += len(data)
        paths.append(rel)
    paths.sort()
    every = {d[:i] for d in dirs for i in range(len(d) + 1)
             if i == len(d) or d[i] == "/"}
    return paths, len(every), total


# ------------------------------------------------------------- processes

class Run:
    """One finished process (or pipeline): wall time, CPU, peak RSS."""

    def __init__(self, argv, wall, rcs, usages, err=b"", out=b""):
        self.argv = argv
        self.wall = wall
        self.rcs = rcs
        self.user = sum(u.ru_utime for u in usages)
        self.sys = sum(u.ru_stime for u in usages)
        self.maxrss_kib = max(u.ru_maxrss for u in usages)
        self.err = err.decode("utf-8", "replace")
        self.out = out.decode("utf-8", "replace")

    def check(self):
        """self, or BenchError if a process failed or died of a signal."""
        if any(rc != 0 for rc in self.rcs):
            cmds = self.argv if isinstance(self.argv[0], list) else [
                self.argv]
            text = " | ".join(" ".join(c) for c in cmds)
            raise BenchError("exit status %s: %s\n%s" % (
                self.rcs, text, self.err[-2000:]))
        return self


# The environment of every command: the tests' (no AWS_*), in the C locale.
ENV_EXTRA = {"LC_ALL": "C"}
ENV = cfw.clean_env(ENV_EXTRA)


def _wait(procs, timeout):
    """Waits for every process with wait4, killing all after timeout."""
    timer = threading.Timer(timeout, lambda: [p.kill() for p in procs])
    timer.start()
    rcs, usages = [], []
    try:
        for p in procs:
            _, status, ru = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            rcs.append(p.returncode)
            usages.append(ru)
    finally:
        timer.cancel()
    return rcs, usages


def run_cmd(argv, timeout=900, capture_out=False):
    """Runs argv with stdout to /dev/null (or captured) and stderr kept."""
    with tempfile.TemporaryFile() as errf, tempfile.TemporaryFile() as outf:
        out = outf if capture_out else subprocess.DEVNULL
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=errf, env=ENV)
        rcs, usages = _wait([p], timeout)
        wall = time.perf_counter() - t0
        errf.seek(0)
        outf.seek(0)
        return Run(argv, wall, rcs, usages, errf.read(), outf.read())


def run_pipeline(cmds, timeout=900, stdin_path=None):
    """Runs cmds[0] | cmds[1] | ..., the last one's stdout to /dev/null."""
    with tempfile.TemporaryFile() as errf:
        fin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
        t0 = time.perf_counter()
        procs = []
        prev = fin
        for i, argv in enumerate(cmds):
            last = i == len(cmds) - 1
            p = subprocess.Popen(argv, stdin=prev, stderr=errf, env=ENV,
                                 stdout=subprocess.DEVNULL if last
                                 else subprocess.PIPE)
            if prev is not subprocess.DEVNULL:
                prev.close()
            prev = p.stdout
            procs.append(p)
        rcs, usages = _wait(procs, timeout)
        wall = time.perf_counter() - t0
        errf.seek(0)
        return Run(cmds, wall, rcs, usages, errf.read())


def run_seq(runs):
    """Folds several Runs made one after the other into one."""
    r = runs[0]
    for x in runs[1:]:
        r.wall += x.wall
        r.rcs += x.rcs
        r.user += x.user
        r.sys += x.sys
        r.maxrss_kib = max(r.maxrss_kib, x.maxrss_kib)
        r.err += x.err
    return r


def read_status(path):
    """A /proc status file as a dict of strings."""
    out = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def proc_status(pid):
    return read_status("/proc/%d/status" % pid)


def ctxt_switches(pid):
    """Context switches of every thread of pid, voluntary + not."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            st = read_status("/proc/%d/task/%s/status" % (pid, tid))
        except FileNotFoundError:
            continue  # a thread that just ended
        total += int(st["voluntary_ctxt_switches"])
        total += int(st["nonvoluntary_ctxt_switches"])
    return total


def kib(field):
    """'12345 kB' as 12345."""
    return int(field.split()[0])


def wait_line(d, regex, start=0, timeout=600, stream="err"):
    """The first line of d's stream, from Line number start on, that
    matches regex: (Line, match).  BenchError, after killing the daemon,
    if it exits or the time runs out."""
    try:
        line = d.wait_for(regex, start=start, timeout=timeout, stream=stream)
    except AssertionError as e:
        d.kill()
        raise BenchError(str(e)) from None
    return line, regex.search(line.text)


def stop(d, timeout=30):
    """SIGTERM, then the exit status; a kill after timeout."""
    try:
        return d.stop(timeout=timeout)
    except AssertionError:
        d.kill()
        return d.proc.returncode


# ------------------------------------------------------------ formatting

def fmt_s(s):
    if s is None:
        return "—"
    if s < 1:
        return "%.1f ms" % (s * 1000)
    return "%.3f s" % s


def fmt_ratio(r):
    return "—" if r is None else "%.2f×" % r


class Row:
    def __init__(self, measure, cf="—", peer="—", ratio="—", goal="—",
                 result="info"):
        self.cells = [measure, cf, peer, ratio, goal, result]


HEADER = ["measure", "cfwatch", "peer", "ratio", "goal", "result"]


def render(rows, markdown, header=HEADER):
    cells = [header] + [r.cells if isinstance(r, Row) else r for r in rows]
    if markdown:
        out = ["| " + " | ".join(header) + " |",
               "|" + "|".join("---" for _ in header) + "|"]
        out += ["| " + " | ".join(c) + " |" for c in cells[1:]]
        return "\n".join(out)
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    out = []
    for k, c in enumerate(cells):
        out.append("  ".join(x.ljust(w) for x, w in zip(c, widths)).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


# ----------------------------------------------------------- the bench

class Bench:
    def __init__(self, args, work):
        self.a = args
        self.orig_bin = os.path.abspath(args.binary)
        # A private copy: others may rebuild build/cfwatch mid-run.
        self.bin = os.path.join(work, "cfwatch")
        shutil.copy2(self.orig_bin, self.bin)
        self.work = work
        self.sanitized = binary_is_sanitized(self.bin)
        self.slack = SANITIZER_SLACK if self.sanitized else 1.0
        self.problems = []  # crashes and gross regressions
        self.failed_goals = []
        self.points = []  # per size: raw figures for the scaling table

    # -- verdicts

    def verdict_ratio(self, name, cf, peer, goal):
        """The result cell for a time ratio, noting gross regressions."""
        ratio = cf / peer
        if ratio <= goal:
            return ratio, "pass"
        self.failed_goals.append(name)
        if (ratio > goal * GROSS["ratio_factor"] * self.slack and
                cf - peer > GROSS["abs_s"] * self.slack):
            self.problems.append("%s: %.2f× (goal %.1f×): gross regression"
                                 % (name, ratio, goal))
            return ratio, "FAIL (gross)"
        return ratio, "FAIL"

    def verdict_exact(self, name, got, want):
        if got == want:
            return "pass"
        self.failed_goals.append(name)
        self.problems.append("%s: %s, expected %s" % (name, got, want))
        return "FAIL"

    def fail_goal(self, name, gross_msg=None):
        self.failed_goals.append(name)
        if gross_msg:
            self.problems.append(gross_msg)
            return "FAIL (gross)"
        return "FAIL"

    # -- commands

    def cf(self, *args):
        return [self.bin] + [str(a) for a in args]

    def state_dir(self, name):
        d = os.path.join(self.work, "state", name)
        shutil.rmtree(d, ignore_errors=True)
        return d

    def once_all(self, root, state):
        return run_cmd(self.cf("once", "--dry-run", "--all", "-v",
                               "--state-dir", state, root)).check()

    def plan(self, root, state, *extra):
        return run_cmd(self.cf("plan", "-v", "--state-dir", state,
                               *extra, root), capture_out=True).check()

    def peer_hash(self, root):
        return run_pipeline([["find", root, "-type", "f", "-print0"],
                             ["xargs", "-0", "sha256sum"]]).check()

    def peer_stat(self, root):
        return run_cmd(["find", root, "-type", "f", "-printf",
                        "%s %T@ %i\n"]).check()

    @staticmethod
    def hashed(run, n_files=None):
        """(files, hashed) from once/plan's debug line."""
        m = RE_ONCE.search(run.err)
        if not m:
            raise BenchError("no 'N files, M hashed' line in:\n" + run.err)
        files, hashed = int(m.group(1)), int(m.group(2))
        if n_files is not None and files != n_files:
            raise BenchError("scanned %d files, expected %d" % (files,
                                                                n_files))
        return files, hashed

    # -- one size

    def run_size(self, n, rows, fig):
        """Measures a tree of n files, appending to rows as it goes (so a
        crash half-way keeps what was measured) and filling fig."""
        a = self.a
        reps = a.repeat
        fig["files"] = n
        base = os.path.join(self.work, "tree-%d" % n)
        root = os.path.join(base, "site")
        os.makedirs(root)
        log("%d files: building the tree in %s" % (n, root))
        t0 = time.perf_counter()
        paths, n_dirs, nbytes = build_tree(root, n, a.seed)
        os.sync()  # no writeback of the new tree during the measures
        built = time.perf_counter()
        fig.update(dirs=n_dirs, bytes=nbytes, build_s=built - t0)
        log("%d files in %d dirs, %.0f MB, built in %.1f s" % (
            n, n_dirs, nbytes / 1e6, built - t0))
        left = RACY_WAIT_S - (time.perf_counter() - built)
        if left > 0:
            time.sleep(left)

        s0 = self.full_hash(root, n, reps, rows, fig)
        self.no_change_and_start(root, n, s0, reps, rows, fig)
        self.rewrite(root, paths, s0, reps, rows, fig)
        self.points.append(fig)
        if not a.keep:
            shutil.rmtree(base, ignore_errors=True)
            shutil.rmtree(os.path.join(self.work, "state"),
                          ignore_errors=True)

    def full_hash(self, root, n, reps, rows, fig):
        """Baseline: every file hashed, against find | xargs sha256sum.
        Returns a state dir with a complete, non-racy manifest."""
        log("full hash: warm-up")
        self.peer_hash(root)
        self.plan(root, self.state_dir("none"), "--all")
        peer, once, plan = [], [], []
        for i in range(reps):
            log("full hash: round %d/%d" % (i + 1, reps))
            peer.append(self.peer_hash(root))
            s = self.state_dir("full")
            once.append(self.once_all(root, s))
            plan.append(self.plan(root, self.state_dir("none"), "--all"))
        for r in once + plan:
            files, hashed = self.hashed(r, n)
            if hashed != files:
                raise BenchError("full hash: %d of %d hashed" % (hashed,
                                                                 files))
        bp = min(r.wall for r in peer)
        bo = min(once, key=lambda r: r.wall)
        bpl = min(plan, key=lambda r: r.wall)
        ratio, res = self.verdict_ratio("full hash", bo.wall, bp,
                                        GOAL_FULL_RATIO)
        rows.append(Row("full hash, `once --dry-run --all` (fresh state)",
                        fmt_s(bo.wall), fmt_s(bp), fmt_ratio(ratio),
                        "≤ %.1f×" % GOAL_FULL_RATIO, res))
        ratio, res = self.verdict_ratio("full hash (plan)", bpl.wall, bp,
                                        GOAL_FULL_RATIO)
        rows.append(Row("full hash, `plan --all`", fmt_s(bpl.wall),
                        fmt_s(bp), fmt_ratio(ratio),
                        "≤ %.1f×" % GOAL_FULL_RATIO, res))
        bpr = min(peer, key=lambda r: r.wall)
        rows.append(Row("  CPU user+sys of those runs (once / peer)",
                        "%.2f+%.2f s" % (bo.user, bo.sys),
                        "%.2f+%.2f s" % (bpr.user, bpr.sys)))
        fig.update(full_once_s=bo.wall, full_plan_s=bpl.wall,
                   full_peer_s=bp, once_rss_kib=bo.maxrss_kib,
                   full_plan_rss_kib=bpl.maxrss_kib)
        return os.path.join(self.work, "state", "full")

    def no_change_and_start(self, root, n, s0, reps, rows, fig):
        """No-change rescan against find -printf, and daemon start-ups,
        interleaved; the last daemon stays up for the idle, latency and
        RSS measures."""
        log("no-change rescan and daemon start-up: warm-up")
        self.peer_stat(root)
        self.plan(root, s0)
        peer, plan, starts = [], [], []
        d = None
        try:
            for i in range(reps):
                log("no-change rescan and start-up: round %d/%d" % (i + 1,
                                                                    reps))
                peer.append(self.peer_stat(root))
                plan.append(self.plan(root, s0))
                if d is not None:
                    self.stop_daemon(d)
                    d = None
                d, start = self.start_daemon(root, s0, i, n)
                starts.append(start)
            for r in plan:
                _, hashed = self.hashed(r, n)
                if hashed != 0 or r.out.strip():
                    raise BenchError("no-change rescan hashed %d files and "
                                     "planned:\n%s" % (hashed, r.out[:500]))
            bp = min(r.wall for r in peer)
            bpl = min(plan, key=lambda r: r.wall)
            ratio, res = self.verdict_ratio("no-change rescan", bpl.wall, bp,
                                            GOAL_NOCHANGE_RATIO)
            rows.append(Row("no-change rescan, `plan` (0 hashed)",
                            fmt_s(bpl.wall), fmt_s(bp), fmt_ratio(ratio),
                            "≤ %.1f×" % GOAL_NOCHANGE_RATIO, res))
            bs = min(starts, key=lambda s: s["total"])
            ratio, res = self.verdict_ratio("daemon start-up", bs["total"],
                                            bpl.wall, GOAL_START_RATIO)
            rows.append(Row("daemon start-up to first scan done "
                            "(%d dirs watched)" % bs["dirs"],
                            fmt_s(bs["total"]),
                            fmt_s(bpl.wall) + " (plan)", fmt_ratio(ratio),
                            "≤ %.1f× no-change" % GOAL_START_RATIO, res))
            rows.append(Row("  of which until \"watching N directories\"",
                            fmt_s(bs["watching"])))
            fig.update(nochange_s=bpl.wall, nochange_peer_s=bp,
                       plan_rss_kib=bpl.maxrss_kib, start_s=bs["total"],
                       watched=bs["dirs"])
            self.daemon_running(d, root, n, rows, fig)
        finally:
            if d is not None:
                self.stop_daemon(d)

    def start_daemon(self, root, s0, i, n):
        """A daemon on a copy of the manifest, up to its first scan."""
        state = self.state_dir("daemon-%d" % i)
        shutil.copytree(s0, state)
        d = Daemon(None, "--dry-run", "-v", "--quiet-ms", self.a.quiet_ms,
                   "--state-dir", state, root, binary=self.bin,
                   env=ENV_EXTRA)
        w, m_w = wait_line(d, RE_WATCHING)
        sc, m_s = wait_line(d, RE_SCANNED, w.index)
        if int(m_s.group(1)) != n or int(m_s.group(2)) != 0:
            stop(d)
            raise BenchError("daemon start-up scanned %s files, hashed %s "
                             "(expected %d, 0)" % (m_s.group(1),
                                                   m_s.group(2), n))
        return d, {"watching": w.mono - d.started_mono,
                   "total": sc.mono - d.started_mono,
                   "dirs": int(m_w.group(1))}

    def stop_daemon(self, d):
        rc = stop(d)
        if rc != 0:
            raise BenchError("daemon exited %s on SIGTERM\n%s" % (
                rc, "\n".join(d.log()[-20:])))

    def daemon_running(self, d, root, n, rows, fig):
        a = self.a
        time.sleep(0.5)  # let the start-up's last writes settle
        pid = d.pid
        hwm_start = kib(proc_status(pid)["VmHWM"]) / 1024
        log("daemon idle for %.0f s" % a.idle_s)
        c0 = ctxt_switches(pid)
        threads = len(os.listdir("/proc/%d/task" % pid))
        time.sleep(a.idle_s)
        wake = ctxt_switches(pid) - c0
        if wake <= GOAL_IDLE_WAKEUPS:
            res = "pass"
        else:
            gross = None
            if wake > GROSS["wakeups_per_s"] * a.idle_s * self.slack:
                gross = "idle daemon: %d wakeups in %.0f s" % (wake,
                                                               a.idle_s)
            res = self.fail_goal("idle wakeups", gross)
        rows.append(Row("daemon idle: context switches in %.0f s (%d "
                        "threads)" % (a.idle_s, threads), str(wake),
                        goal="0", result=res))
        fig["idle_wakeups"] = wake

        both = self.latency(d, root)
        lat = [x[0] for x in both]
        q = a.quiet_ms
        med = statistics.median(lat)
        over = [x - q for x in lat]
        if med - q <= GOAL_LATENCY_MS:
            res = "pass"
        else:
            gross = None
            if med - q > GROSS["latency_ms"] * self.slack:
                gross = "one-file latency %.0f ms over quiet" % (med - q)
            res = self.fail_goal("one-file latency", gross)
        rows.append(Row("one-file change to batch, minus quiet %d ms "
                        "(median of %d; min..max)" % (q, len(lat)),
                        "%.1f ms (%.1f..%.1f)" % (med - q, min(over),
                                                  max(over)),
                        goal="≤ %.0f ms" % GOAL_LATENCY_MS, result=res))
        fig["latency_over_ms"] = med - q
        early = [x[1] - q for x in both]
        rows.append(Row("  of which to its path on stdout, before the "
                        "manifest save", "%.1f ms (%.1f..%.1f)" % (
                            statistics.median(early), min(early),
                            max(early))))

        st = proc_status(pid)
        hwm = kib(st["VmHWM"]) / 1024
        rss = kib(st["VmRSS"]) / 1024
        goal = "≤ %.0f MiB at 100k" % GOAL_RSS_MIB
        if n > GOAL_RSS_AT_FILES:
            res = "n/a"
        elif hwm <= GOAL_RSS_MIB:
            res = "pass"
        else:
            gross = None
            if (not self.sanitized and
                    hwm > GOAL_RSS_MIB * GROSS["rss_factor"]):
                gross = "daemon VmHWM %.1f MiB" % hwm
            res = self.fail_goal("daemon peak RSS", gross)
        if self.sanitized:
            res += " (sanitizer build)"
        rows.append(Row("daemon peak RSS, VmHWM (VmRSS now %.1f MiB)" % rss,
                        "%.1f MiB" % hwm, goal=goal, result=res))
        rows.append(Row("  VmHWM before the first batch (start-up only)",
                        "%.1f MiB" % hwm_start))
        fig.update(hwm_mib=hwm, rss_mib=rss, hwm_start_mib=hwm_start)
        rows.append(Row("  `once` / `plan` peak RSS (ru_maxrss)",
                        "%.1f / %.1f MiB" % (fig["once_rss_kib"] / 1024,
                                             fig["plan_rss_kib"] / 1024)))

    def latency(self, d, root):
        """Writes one file latency_reps times (the first creates it) and
        returns for each the ms from the write to the batch line and to its
        URL path on stdout (printed before the manifest is saved)."""
        path = os.path.join(root, "bench-latency.html")
        out = []
        try:
            for k in range(self.a.latency_reps):
                mark = d.mark()
                data = ("<p>change %d at %f</p>\n" % (k, time.time())) * 40
                t0 = time.monotonic()  # the clock of Line.mono
                with open(path, "w") as f:
                    f.write(data)
                out_line, _ = wait_line(d, RE_LATENCY_PATH, mark, 30, "out")
                batch, m = wait_line(d, RE_BATCH, mark, 30)
                if m.group(1) != "1":
                    raise BenchError("one-file change made a batch of %s "
                                     "files" % m.group(1))
                out.append(((batch.mono - t0) * 1000,
                            (out_line.mono - t0) * 1000))
                time.sleep(0.3)
        finally:
            if os.path.exists(path):
                os.unlink(path)
        return out

    def rewrite(self, root, paths, s0, reps, rows, fig):
        """A tenth of the files rewritten with the same bytes: only those
        are hashed, and nothing is planned."""
        step = 10
        chosen = paths[::step]
        k = len(chosen)
        log("rewriting %d files with the same bytes" % k)
        for rel in chosen:
            p = os.path.join(root, rel)
            with open(p, "rb") as f:
                data = f.read()
            with open(p, "wb") as f:
                f.write(data)
        listing = os.path.join(self.work, "rewritten.list")
        with open(listing, "wb") as f:
            f.write(b"".join(os.path.join(root, r).encode() + b"\0"
                             for r in chosen))
        plan, peer = [], []
        for i in range(reps):
            plan.append(self.plan(root, s0))
            peer.append(run_seq([
                self.peer_stat(root),
                run_pipeline([["xargs", "-0", "sha256sum"]],
                             stdin_path=listing).check()]))
        hashed = [self.hashed(r, len(paths))[1] for r in plan]
        planned = max(len(r.out.split()) for r in plan)
        worst = max(hashed, key=lambda h: abs(h - k))
        res = self.verdict_exact("rewrite: hashed count", worst, k)
        if planned:
            res = self.fail_goal("rewrite: planned paths",
                                 "same bytes planned %d paths" % planned)
        bpl = min(r.wall for r in plan)
        bp = min(r.wall for r in peer)
        rows.append(Row("%d files rewritten, same bytes: hashed" % k,
                        "%d hashed, %d planned" % (worst, planned),
                        goal="%d hashed, 0 planned" % k, result=res))
        rows.append(Row("  its `plan` time vs find -printf + sha256sum "
                        "of those", fmt_s(bpl), fmt_s(bp),
                        fmt_ratio(bpl / bp)))
        fig.update(rewrite_s=bpl, rewrite_peer_s=bp)


def binary_is_sanitized(path):
    """True for an ASan or UBSan build, whose times and RSS mean little."""
    with open(path, "rb") as f:
        data = f.read()
    return b"__asan_init" in data or b"__ubsan_handle" in data


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True,
                             env=ENV).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def fs_type(path):
    best, kind = "", "?"
    with open("/proc/mounts") as f:
        for line in f:
            dev, mnt, typ = line.split()[:3]
            if (path + "/").startswith(mnt.rstrip("/") + "/") and \
                    len(mnt) > len(best):
                best, kind = mnt, "%s on %s" % (typ, mnt)
    return kind


def mem_total_gib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return kib(line.split(":", 1)[1]) / 1024 / 1024
    return 0.0


def version(binary):
    try:
        return subprocess.run([binary, "--version"], capture_output=True,
                              text=True, env=ENV, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def header(bench, args, work):
    lines = [
        ("date", datetime.date.today().isoformat()),
        ("machine", "%s, %d cores, %.0f GiB RAM, Linux %s" % (
            cpu_model(), os.cpu_count(), mem_total_gib(),
            platform.release())),
        ("binary", "%s (%s%s)" % (bench.orig_bin, version(bench.bin),
                                  ", ASan/UBSan" if bench.sanitized else "")),
        ("tree", "%s; ~%d files a directory, 1-8 KB, mostly HTML, "
         "some binary" % (fs_type(work), FILES_PER_DIR)),
        ("method", "warm page cache (a discarded warm-up run of each "
         "command first), interleaved, best of %d; daemon with "
         "--dry-run --quiet-ms %d; UV_THREADPOOL_SIZE=%s" % (
             args.repeat, args.quiet_ms,
             os.environ.get("UV_THREADPOOL_SIZE", "unset (4)"))),
        ("load", "1-min load average %.2f at the start" % os.getloadavg()[0]),
    ]
    if args.markdown:
        return "\n".join("- %s: %s" % kv for kv in lines)
    return "\n".join("%-7s %s" % kv for kv in lines)


def scaling(points, markdown):
    """Time and memory per file at each size, against the smallest."""
    hdr = ["files", "dirs", "full hash (once)", "µs/file", "no-change",
           "µs/file", "start-up", "µs/file", "daemon VmHWM (start-up)",
           "plan RSS"]
    rows = []
    for p in points:
        n = p["files"]
        rows.append([
            "{:,}".format(n), "{:,}".format(p["dirs"]),
            fmt_s(p["full_once_s"]), "%.1f" % (p["full_once_s"] / n * 1e6),
            fmt_s(p["nochange_s"]), "%.2f" % (p["nochange_s"] / n * 1e6),
            fmt_s(p["start_s"]), "%.2f" % (p["start_s"] / n * 1e6),
            "%.1f MiB (%.1f)" % (p["hwm_mib"], p["hwm_start_mib"]),
            "%.1f MiB" % (p["plan_rss_kib"] / 1024)])
    return render(rows, markdown, hdr)


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="cfwatch benchmarks (issue 7): cfwatch against find "
        "and sha256sum on generated trees.")
    ap.add_argument("--binary", default=DEFAULT_BIN,
                    help="cfwatch binary (default: build/cfwatch)")
    ap.add_argument("--files", type=parse_counts, default=None,
                    help="tree size(s), comma-separated, e.g. 10k,100k "
                    "(default 100k)")
    ap.add_argument("--smoke", action="store_true",
                    help="a tiny tree in a few seconds, for CI: fails only "
                    "on a crash or a gross regression")
    ap.add_argument("--markdown", action="store_true",
                    help="print Markdown tables (for RESULTS.md)")
    ap.add_argument("--repeat", type=int, default=None,
                    help="rounds per measure, best taken (default 3)")
    ap.add_argument("--idle-s", type=float, default=None,
                    help="idle window for wakeups (default 10)")
    ap.add_argument("--latency-reps", type=int, default=None,
                    help="one-file changes timed (default 5)")
    ap.add_argument("--quiet-ms", type=int, default=100,
                    help="the daemon's quiet period (default 100)")
    ap.add_argument("--tmpdir", default=None,
                    help="where to build the trees (default: $TMPDIR)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", action="store_true",
                    help="keep the trees and state dirs")
    ap.add_argument("--strict", action="store_true",
                    help="exit 1 when a goal is missed, too")
    a = ap.parse_args(argv)
    smoke = a.smoke
    if a.files is None:
        a.files = [2000] if smoke else [100000]
    if a.repeat is None:
        a.repeat = 1 if smoke else 3
    if a.idle_s is None:
        a.idle_s = 2.0 if smoke else 10.0
    if a.latency_reps is None:
        a.latency_reps = 3 if smoke else 5
    if a.repeat < 1 or a.latency_reps < 1 or a.idle_s <= 0:
        ap.error("--repeat, --latency-reps and --idle-s must be positive")
    if not os.access(a.binary, os.X_OK):
        ap.error("no executable cfwatch at %s (build it, or pass --binary)"
                 % a.binary)
    return a


def main(argv):
    a = parse_args(argv)
    work = tempfile.mkdtemp(prefix="cfwatch-bench.", dir=a.tmpdir)
    bench = Bench(a, work)
    out = [header(bench, a, work), ""]
    status = 0
    h = "### " if a.markdown else "== "
    try:
        for n in a.files:
            rows, fig = [], {}
            try:
                bench.run_size(n, rows, fig)
            except BenchError as e:
                bench.problems.append("crash: %s" % e)
                short = str(e).replace(work, "$WORK").splitlines()[0]
                rows.append(Row("crash", short[:120], result="CRASH"))
            out += [h + "{:,} files, {:,} directories, {:.0f} MB".format(
                n, fig.get("dirs", 0), fig.get("bytes", 0) / 1e6), "",
                render(rows, a.markdown), ""]
            if bench.problems:
                break
        if len(bench.points) > 1:
            out += [h + "Scaling", "", scaling(bench.points, a.markdown), ""]
    except KeyboardInterrupt:
        log("interrupted")
        status = 130
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log("kept %s" % work)
    out.append("1-min load average %.2f at the end" % os.getloadavg()[0])
    print("\n".join(out))
    if bench.failed_goals:
        print("goals missed: " + ", ".join(sorted(set(bench.failed_goals))))
    for p in bench.problems:
        print("PROBLEM: " + p)
    if status == 0 and (bench.problems or
                        (a.strict and bench.failed_goals)):
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
