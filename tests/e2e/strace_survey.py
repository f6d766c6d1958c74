# SPDX-License-Identifier: MIT
"""A survey of the loop thread's disk syscalls in the real daemon, flow
by flow, against the stand-in (CloudFront and S3 over loopback TLS):

    python3 -m tests.e2e.strace_survey [--stacks] [--binary B] [--keep]

Five daemons run under strace (tests/e2e/strace_loop.py), each in
turn:
  cf:     a fresh state (baseline), a one-file edit sent to CloudFront,
          a delete, a burst of 2,000 new files, SIGHUP, SIGTERM, then a
          second start on the existing state and its SIGTERM;
  origin: an S3 origin (a first run that lists the bucket and uploads),
          an edit and a delete (upload, invalidate, delete), SIGTERM;
  s3state: a state kept in S3 (state_dir = s3://…), a baseline, an
          edit, SIGTERM;
  upload: upload_cmd (a child process) before an edit's batch.
For each flow it lists every syscall of the main thread, after uv_run
began, that touched a regular file or a directory, took a lock or
waited for a child: count, longest and total duration, and with
--stacks the call site.  Start-up before uv_run is listed apart.
"""
import argparse
import os
import re
import shutil
import signal
import sys
import tempfile
import time

from tests.e2e import cfw
from tests.e2e import strace_loop as sl
from tests.standin.standin import (ACCESS_KEY, DISTRIBUTION, SECRET_KEY,
                                   StandIn)

BURST = 2000
ORIGIN_BUCKET = "www-example-com"
STATE_BUCKET = "www-example-com-state"
SITE = {"index.html": "<h1>home</h1>", "a/index.html": "<p>a</p>",
        "a/b.html": "b", "css/site.css": "body{}", "img/logo.svg": "<svg/>"}
PASS = r": scanned \d+ files"


class Run:
    """One traced daemon and its flows: [(name, start time)]."""

    def __init__(self, name, tmp, out):
        self.name, self.tmp, self.out = name, tmp, out
        self.flows = []
        self.labels = {}

    def flow(self, name):
        self.flows.append((name, sl.day_seconds()))

    def flow_of(self, t):
        cur = "before the first flow"
        for name, start in self.flows:
            if t >= start:
                cur = name
        return cur


def conf_file(tmp, root, state, cf, extra=""):
    path = os.path.join(tmp, "cfwatch.ini")
    with open(path, "w") as f:
        f.write("[cfwatch]\nroot = %s\nstate_dir = %s\ndistribution_id = %s\n"
                "endpoint = %s\nca_file = %s\nquiet_ms = 100\n%s"
                % (root, state, DISTRIBUTION, cf.endpoint, cf.ca_file, extra))
    return path


def env_for(tmp):
    return {"HOME": tmp, "XDG_STATE_HOME": os.path.join(tmp, "xdg"),
            "XDG_CACHE_HOME": os.path.join(tmp, "cache"),
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY}


def site(root, files=SITE):
    for rel, data in files.items():
        cfw.write(root, rel, data)


def step(d, run, name, action, pattern=PASS, count=1, timeout=60):
    """Starts flow name, runs action, waits for pattern."""
    run.flow(name)
    mark = d.mark()
    if action is not None:
        action()
    d.wait_for(pattern, start=mark, count=count, timeout=timeout)
    time.sleep(0.3)  # the pass's release on the pool, the idle loop


def stop(d, run, name="SIGTERM"):
    run.flow(name)
    d.send(signal.SIGTERM)
    status = d.wait(60)
    if status != 0:
        raise AssertionError("exit %d:\n%r" % (status, d))


def run_cf(tmp, cf, args):
    """Fresh start, edit, delete, burst, SIGHUP, SIGTERM; then a start on
    the existing state and SIGTERM."""
    root, state = os.path.join(tmp, "public"), os.path.join(tmp, "state")
    site(root)
    conf = conf_file(tmp, root, state, cf)
    runs = []
    for second in (False, True):
        run = Run("cf, %s state" % ("existing" if second else "fresh"), tmp,
                  os.path.join(tmp, "cf%d.strace" % second))
        run.labels = {"$ROOT": root, "$STATE": state}
        run.flow("start-up")
        d = sl.Traced(tmp, run.out, "-v", "-c", conf, env=env_for(tmp),
                      binary=args.binary, stacks=args.stacks)
        try:
            d.wait_for(PASS, timeout=60)
            time.sleep(0.3)
            if not second:
                step(d, run, "one-file edit", lambda: cfw.write(
                    root, "a/b.html", "b, edited"), r"batch: 1 files, 1 paths")
                step(d, run, "delete", lambda: os.unlink(
                    os.path.join(root, "img/logo.svg")),
                    r"batch: 1 files, 1 paths")
                run.flow("burst of %d files" % BURST)
                mark = d.mark()
                burst(root)
                wait_files(d, mark, BURST)
                step(d, run, "SIGHUP reload", lambda: d.send(signal.SIGHUP),
                     PASS)
            stop(d, run)
        finally:
            d.kill()
        runs.append(run)
    return runs


def wait_files(d, mark, n, timeout=300):
    """Waits until the batches logged from Line mark on hold n files."""
    rx = re.compile(r": batch: (\d+) files")

    def test():
        got = sum(int(m.group(1)) for m in (
            rx.search(ln.text) for ln in d.lines()[mark:]
            if ln.stream == "err") if m)
        return got >= n

    d.wait_until(test, "%d files sent" % n, timeout)
    time.sleep(0.3)


def burst(root):
    for i in range(BURST):
        cfw.write(root, "burst/d%02d/p%04d.html" % (i // 100, i),
                  "<p>%d</p>" % i)


def run_origin(tmp, cf, args):
    root, state = os.path.join(tmp, "public"), os.path.join(tmp, "state")
    site(root)
    cf.put_object("site/index.html", b"old", bucket=ORIGIN_BUCKET)
    conf = conf_file(tmp, root, state, cf,
                     "origin = s3://%s/site\nregion = eu-west-1\n"
                     "s3_endpoint = %s\n" % (ORIGIN_BUCKET, cf.endpoint))
    run = Run("S3 origin", tmp, os.path.join(tmp, "origin.strace"))
    run.labels = {"$ROOT": root, "$STATE": state}
    run.flow("start-up (bucket listed, uploads)")
    d = sl.Traced(tmp, run.out, "-v", "-c", conf, "--allow-delete",
                  env=env_for(tmp), binary=args.binary, stacks=args.stacks)
    try:
        d.wait_for(PASS, timeout=60)
        time.sleep(0.3)

        def edit_and_delete():
            cfw.write(root, "a/b.html", "b, edited")
            os.unlink(os.path.join(root, "img/logo.svg"))

        step(d, run, "edit + delete (upload, invalidate, delete)",
             edit_and_delete, r"batch: 2 files")
        stop(d, run)
    finally:
        d.kill()
    return [run]


def run_s3state(tmp, cf, args):
    root = os.path.join(tmp, "public")
    site(root)
    url = "s3://%s/cfwatch/site" % STATE_BUCKET
    conf = conf_file(tmp, root, url, cf, "region = eu-west-1\n"
                     "s3_endpoint = %s\n" % cf.endpoint)
    run = Run("state in S3", tmp, os.path.join(tmp, "s3state.strace"))
    run.labels = {"$ROOT": root, "$CACHE": os.path.join(tmp, "cache")}
    run.flow("start-up (pull, baseline, push)")
    d = sl.Traced(tmp, run.out, "-v", "-c", conf, env=env_for(tmp),
                  binary=args.binary, stacks=args.stacks)
    try:
        d.wait_for(PASS, timeout=60)
        time.sleep(0.3)
        step(d, run, "one-file edit (pull, send, push)", lambda: cfw.write(
            root, "a/b.html", "b, edited"), r"batch: 1 files, 1 paths")
        stop(d, run)
    finally:
        d.kill()
    return [run]


def run_upload_cmd(tmp, cf, args):
    """upload_cmd: a child process before each batch (uv_spawn, SIGCHLD,
    waitpid on the loop)."""
    root, state = os.path.join(tmp, "public"), os.path.join(tmp, "state")
    site(root)
    conf = conf_file(tmp, root, state, cf, "upload_cmd = true\n")
    run = Run("upload_cmd", tmp, os.path.join(tmp, "upload.strace"))
    run.labels = {"$ROOT": root, "$STATE": state}
    run.flow("start-up")
    d = sl.Traced(tmp, run.out, "-v", "-c", conf, env=env_for(tmp),
                  binary=args.binary, stacks=args.stacks)
    try:
        d.wait_for(PASS, timeout=60)
        time.sleep(0.3)
        step(d, run, "one-file edit (upload_cmd, invalidate)",
             lambda: cfw.write(root, "a/b.html", "b, edited"),
             r"batch: 1 files, 1 paths")
        stop(d, run)
    finally:
        d.kill()
    return [run]


def label_of(run):
    subs = sorted(run.labels.items(), key=lambda kv: -len(kv[1]))

    def label(c):
        p = c.path or ""
        for name, d in subs:
            if p == d or p.startswith(d + "/"):
                rest = p[len(d):]
                if name == "$ROOT" and rest.count("/") > 1:
                    rest = "/…" + (" (dir)" if c.name == "getdents64" else "")
                return name + rest
        return p
    return label


def report(run, tr, stacks):
    label = label_of(run)
    lines = ["== %s: main thread %d, %d threads, %d children; %d calls"
             % (run.name, tr.main, len(tr.threads), len(tr.children),
                len(tr.calls))]
    pre = [c for c in tr.calls if c.tid == tr.main and c.kind == "disk" and
           (tr.loop_t is None or c.t < tr.loop_t)]
    files = sorted({c.path for c in pre if c.name in ("open", "openat") and
                    not c.path.endswith(".so") and ".so." not in c.path})
    lines.append("  before uv_run: %d disk calls; files opened: %s"
                 % (len(pre), ", ".join(files) or "none"))
    by_flow = {}
    for c in tr.main_disk(kinds=("disk", "lock", "wait", "pseudo")):
        by_flow.setdefault(run.flow_of(c.t), []).append(c)
    for name, _ in run.flows:
        calls = by_flow.get(name, [])
        lines.append("  -- %s: %d calls on the loop thread" % (name,
                                                              len(calls)))
        summ = sl.summarise(calls, label)
        for (sc, lab), (n, mx, tot, ex) in summ.items():
            lines.append("     %-11s %-46s x%-5d max %7.3f ms  sum %8.3f ms%s"
                         % (sc, lab[:46], n, mx * 1e3, tot * 1e3,
                            ("  @ " + sl.call_site(ex)) if stacks else ""))
    work = tr.workers()
    lines.append("  worker threads: %d disk/lock/wait calls (%d openat, "
                 "%d fsync/fdatasync)" % (
                     len(work), sum(c.name == "openat" for c in work),
                     sum(c.name in ("fsync", "fdatasync") for c in work)))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=cfw.BIN)
    ap.add_argument("--stacks", action="store_true",
                    help="strace -k: the call site of each syscall")
    ap.add_argument("--keep", action="store_true",
                    help="keep the traces (their folder is printed)")
    ap.add_argument("--only", choices=("cf", "origin", "s3state", "upload"))
    args = ap.parse_args()
    why = sl.strace_usable()
    if why:
        sys.exit(why)
    cf = StandIn(config={"completion_delay": 0})
    tmp = tempfile.mkdtemp(prefix="cfwstrace.")
    try:
        runs = []
        for name, fn in (("cf", run_cf), ("origin", run_origin),
                         ("s3state", run_s3state),
                         ("upload", run_upload_cmd)):
            if args.only not in (None, name):
                continue
            cf.reset(config=True)
            cf.create_bucket(ORIGIN_BUCKET, region="eu-west-1")
            cf.create_bucket(STATE_BUCKET, region="eu-west-1")
            sub = os.path.join(tmp, name)
            os.makedirs(sub)
            runs += fn(sub, cf, args)
        for run in runs:
            print(report(run, sl.Trace(run.out), args.stacks), flush=True)
    finally:
        cf.stop()
        if args.keep:
            print("traces kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
