# SPDX-License-Identifier: MIT
"""cfwatch benchmarks: the goals of issues 7, 13 and 14, as ratios to
the tools a user would pick instead, measured side by side in one run.

For each --files size it builds a static-site-like tree (bench.trees)
and measures, on a warm page cache:
  - one-shot checks (bench.scan): full hash vs `find | xargs sha256sum`;
    a no-change `plan` vs the getdents64+statx floor (bench/walkfloor.c),
    `find -printf` and `rsync -n -a`; a same-bytes rewrite;
  - the daemon beside `inotifywait -m -r` and watchman (bench.watch):
    ready time, idle RSS and wakeups, one-file latency, bytes written to
    the state per batch, peak RSS during a full rewrite (dry run);
  - the same full rewrite by a daemon really sending to the stand-in
    (bench.sending): its journal intent and commit hold the batch too;
then (bench.origin) a deploy to an S3 origin on the stand-in, cfwatch
against `aws s3 sync` and `aws s3 cp --recursive`.  It prints one table
per part:  measure | cfwatch | peer | ratio | goal | result (PASS/MISS).

Exit status: 0 when every measure ran (goals may be missed: see the
tables; --strict makes a missed goal exit 1 too), 1 on a crash or a
gross regression (bench.report.GROSS, loose enough that timing noise on
a busy CI machine never trips them), 2 on a usage error.  --smoke runs
tiny trees in a few seconds for CI (ctest bench/smoke).

Python 3 standard library only (the origin part: the stand-in, which
needs botocore).  Linux only.  Run it from the source root:
python3 -m bench.run [OPTIONS]; see bench/README.md."""

import argparse
import datetime
import os
import shutil
import sys
import tempfile
import time

from bench import machine, peers
from bench.procs import BenchError, log, loadavg
from bench.report import (Judge, Row, fmt_bytes, fmt_mib, fmt_ms,
                          render)
from bench.scan import Scan
from bench.sending import Sending
from bench.trees import RACY_WAIT_S, build_tree, parse_count, parse_counts
from bench.watch import Watch

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_BIN = os.path.join(HERE, "..", "build", "cfwatch")
PARTS = ("scan", "watch", "origin")
# Option: (its default, with --smoke).
DEFAULTS = {
    "files": ([100000], [2000]),
    "origin_files": (100000, 300),
    "upload_files": (1000, 100),
    "repeat": (3, 1),
    "idle_s": (10.0, 2.0),
    "latency_reps": (5, 3),
}


class Ctx:
    """What every part of a run shares: the options, the work dir, the
    private copy of cfwatch, the judge; and the rows and figures of the
    table being filled."""

    def __init__(self, args, work):
        self.a = args
        self.work = work
        self.orig_bin = os.path.abspath(args.binary)
        # A private copy: others may rebuild build/cfwatch mid-run.
        self.bin = os.path.join(work, "cfwatch")
        shutil.copy2(self.orig_bin, self.bin)
        self.judge = Judge(machine.binary_is_sanitized(self.bin))
        self._walkfloor = None
        self.rows = []
        self.fig = {}
        self.points = []  # per size: fig, for the scaling table

    def cf(self, *args):
        return [self.bin] + [str(a) for a in args]

    def state_dir(self, name):
        d = os.path.join(self.work, "state", name)
        shutil.rmtree(d, ignore_errors=True)
        return d

    def walkfloor(self):
        if self._walkfloor is None:
            self._walkfloor = peers.build_walkfloor(self.work)
        return self._walkfloor


def run_size(ctx, n):
    """Measures a tree of n files, appending to ctx.rows as it goes (so a
    crash half-way keeps what was measured)."""
    a = ctx.a
    ctx.fig["files"] = n
    base = os.path.join(ctx.work, "tree-%d" % n)
    log("%d files: building the tree in %s" % (n, base))
    t0 = time.perf_counter()
    tree = build_tree(os.path.join(base, "site"), n, a.seed)
    os.sync()  # no writeback of the new tree during the measures
    built = time.perf_counter()
    ctx.fig.update(dirs=tree.n_dirs, bytes=tree.n_bytes)
    log("%d files in %d dirs, %.0f MB, built in %.1f s" % (
        n, tree.n_dirs, tree.n_bytes / 1e6, built - t0))
    time.sleep(max(0.0, RACY_WAIT_S - (time.perf_counter() - built)))
    scan = Scan(ctx, tree)
    s0 = scan.full_hash()
    if "scan" in a.parts:
        scan.no_change(s0)
        scan.same_bytes(s0)
    if "watch" in a.parts:
        Watch(ctx, tree, s0).run()
        Sending(ctx, tree).run()
    ctx.fig["load"] = loadavg()
    ctx.points.append(dict(ctx.fig))
    if not a.keep:
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(os.path.join(ctx.work, "state"), ignore_errors=True)


def header(ctx, work):
    a = ctx.a
    lines = [("date", datetime.datetime.now().strftime("%Y-%m-%d %H:%M"))]
    lines += machine.describe()
    lines += [
        ("binary", "%s (%s%s)" % (ctx.orig_bin, machine.version(
            [ctx.bin, "--version"]), ", ASan/UBSan" if ctx.judge.sanitized
            else "")),
        ("peers", "; ".join("%s: %s" % p for p in peers.versions())),
        ("trees", "%s, %.0f GB free; ~100 files a directory, 1-8 KB, "
         "mostly HTML, some binary" % (machine.fs_type(work),
                                       machine.free_gb(work))),
        ("method", "warm page cache (a discarded warm-up run of each "
         "command first), interleaved, best of %d; daemon with "
         "--dry-run --quiet-ms %d; UV_THREADPOOL_SIZE=%s" % (
             a.repeat, a.quiet_ms,
             os.environ.get("UV_THREADPOOL_SIZE", "unset (4)"))),
        ("command", "python3 -m bench.run " + " ".join(a.argv)),
        ("load", "load average %s at the start" % loadavg()),
    ]
    if a.markdown:
        return "\n".join("- %s: %s" % kv for kv in lines)
    return "\n".join("%-7s %s" % kv for kv in lines)


SCALING_HEADER = ["files", "dirs", "full hash", "no-change (× floor)",
                  "ready (× inotifywait)", "latency over quiet",
                  "state bytes a batch", "idle RSS",
                  "rewrite peak RSS (watchman)", "load"]


def per_file(p, key, peer_key=None):
    """p[key] in µs a file, with its ratio to p[peer_key]; or —."""
    v = p.get(key)
    if v is None:
        return "—"
    text = "%.2f µs/file" % (v / p["files"] * 1e6)
    peer = p.get(peer_key)
    return text + (" (%.2f×)" % (v / peer) if peer else "")


def scaling_row(p):
    def mib(key):
        return fmt_mib(p.get(key))

    return ["{:,}".format(p["files"]), "{:,}".format(p.get("dirs", 0)),
            per_file(p, "full_once_s"), per_file(p, "nochange_s", "floor_s"),
            per_file(p, "ready_s", "ready_ino_s"), fmt_ms(p.get("latency_ms")),
            fmt_bytes(p.get("state_bytes")), mib("idle_rss_mib"),
            "%s (%s)" % (mib("rewrite_peak_mib"), mib("rewrite_peak_wm_mib")),
            p["load"]]


def scaling(points, markdown):
    """How the goals' figures grow with the tree, one row a size."""
    return render([scaling_row(p) for p in points], markdown,
                  SCALING_HEADER)


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="cfwatch benchmarks (issues 7, 13, 14): cfwatch side "
        "by side with find, sha256sum, rsync, a getdents64+statx floor, "
        "inotifywait, watchman and the AWS CLI.")
    ap.add_argument("--binary", default=DEFAULT_BIN,
                    help="cfwatch binary (default: build/cfwatch)")
    ap.add_argument("--files", type=parse_counts, default=None,
                    help="tree size(s), comma-separated, e.g. 10k,100k "
                    "(default 100k)")
    ap.add_argument("--parts", default=",".join(PARTS),
                    help="what to run, of %s (default: all)" % ",".join(
                        PARTS))
    ap.add_argument("--origin-files", type=parse_count, default=None,
                    help="the origin deploy's site size (default 100k)")
    ap.add_argument("--upload-files", type=parse_count, default=None,
                    help="new 64 KiB files of the origin's upload test "
                    "(default 1000)")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny trees in a few seconds, for CI: fails only "
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
    a.argv = list(argv)
    a.parts = [p.strip() for p in a.parts.split(",") if p.strip()]
    if any(p not in PARTS for p in a.parts):
        ap.error("--parts: of %s" % ", ".join(PARTS))
    for key, (full, smoke) in DEFAULTS.items():
        if getattr(a, key) is None:
            setattr(a, key, smoke if a.smoke else full)
    if a.repeat < 1 or a.latency_reps < 1 or a.idle_s <= 0:
        ap.error("--repeat, --latency-reps and --idle-s must be positive")
    if not os.access(a.binary, os.X_OK):
        ap.error("no executable cfwatch at %s (build it, or pass --binary)"
                 % a.binary)
    return a


def measure(ctx, out, scope, title, fn):
    """Runs one part into a fresh table; a BenchError becomes a crash
    row.  Appends the table, with the load average, to out.  scope
    names the table in the list of goals missed."""
    ctx.rows, ctx.fig = [], {}
    ctx.judge.scope = scope
    try:
        fn()
    except BenchError as e:
        ctx.judge.problems.append("crash: %s" % e)
        short = str(e).replace(ctx.work, "$WORK").splitlines()[0]
        ctx.rows.append(Row("crash", short[:120], result="CRASH"))
    ctx.fig["load"] = loadavg()
    h = "### " if ctx.a.markdown else "== "
    out += [h + title() + " (load average %s at the end)" % ctx.fig["load"],
            "", render(ctx.rows, ctx.a.markdown), ""]


def size_title(ctx, n):
    """The title of a size's table, once its tree is built."""
    return "{:,} files, {:,} directories, {:.0f} MB".format(
        n, ctx.fig.get("dirs", 0), ctx.fig.get("bytes", 0) / 1e6)


def run_all(ctx, out):
    a = ctx.a
    sizes = a.files if "scan" in a.parts or "watch" in a.parts else []
    for n in sizes:
        measure(ctx, out, "{:,} files".format(n),
                lambda: size_title(ctx, n), lambda: run_size(ctx, n))
        if ctx.judge.problems:
            return
    if len(ctx.points) > 1:
        h = "### " if a.markdown else "== "
        out += [h + "Scaling", "", scaling(ctx.points, a.markdown), ""]
    if "origin" in a.parts:
        from bench import origin  # the stand-in: only when asked for
        measure(ctx, out, "origin", lambda: origin.title(ctx),
                lambda: origin.run(ctx))


def main(argv):
    a = parse_args(argv)
    work = tempfile.mkdtemp(prefix="cfwatch-bench.", dir=a.tmpdir)
    ctx = Ctx(a, work)
    out = [header(ctx, work), ""]
    status = 0
    try:
        run_all(ctx, out)
    except KeyboardInterrupt:
        log("interrupted")
        status = 130
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log("kept %s" % work)
    out.append("load average %s at the end" % loadavg())
    print("\n".join(out))
    if ctx.judge.missed:
        print("goals missed:\n" + "\n".join(
            "  " + m for m in ctx.judge.missed))
    for p in ctx.judge.problems:
        print("PROBLEM: " + p)
    if status == 0 and (ctx.judge.problems or
                        (a.strict and ctx.judge.missed)):
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
