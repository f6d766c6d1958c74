# SPDX-License-Identifier: MIT
"""Processes for the benchmark: running a command or a pipeline to its
end with its wall time, CPU and peak RSS (wait4), and reading what
/proc says about one that keeps running (RSS, its peak, context
switches, CPU, bytes written).  Linux only."""

import os
import subprocess
import sys
import tempfile
import threading
import time

from tests.e2e import cfw


class BenchError(Exception):
    """A crash, a hang or a missing log line: not a measurement."""


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


# The environment of every command: the tests' (no AWS_*), in the C locale.
ENV_EXTRA = {"LC_ALL": "C"}
ENV = cfw.clean_env(ENV_EXTRA)


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

    @property
    def cpu(self):
        return self.user + self.sys

    def check(self):
        """self, or BenchError if a process failed or died of a signal."""
        if any(rc != 0 for rc in self.rcs):
            cmds = self.argv if isinstance(self.argv[0], list) else [
                self.argv]
            text = " | ".join(" ".join(c) for c in cmds)
            raise BenchError("exit status %s: %s\n%s" % (
                self.rcs, text, self.err[-2000:]))
        return self


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


def run_cmd(argv, timeout=900, capture_out=False, env=None, cwd=None):
    """Runs argv with stdout to /dev/null (or captured) and stderr kept."""
    with tempfile.TemporaryFile() as errf, tempfile.TemporaryFile() as outf:
        out = outf if capture_out else subprocess.DEVNULL
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=errf, env=env or ENV, cwd=cwd)
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


# ------------------------------------------------------------ /proc

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


def kib(field):
    """'12345 kB' as 12345."""
    return int(field.split()[0])


def rss_mib(pid):
    """(VmRSS, VmHWM) of pid in MiB."""
    st = proc_status(pid)
    return kib(st["VmRSS"]) / 1024, kib(st["VmHWM"]) / 1024


def reset_peak_rss(pid):
    """Resets pid's VmHWM to its VmRSS (proc(5), clear_refs value 5), so
    that a later VmHWM is the peak of what happened in between."""
    with open("/proc/%d/clear_refs" % pid, "w") as f:
        f.write("5")


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


def threads(pid):
    return len(os.listdir("/proc/%d/task" % pid))


def cpu_s(pid):
    """User + system CPU seconds of pid so far (all its threads)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rpartition(")")[2].split()
    # After the command: state is field 3, utime 14 and stime 15.
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def wait_cpu_idle(pid, what, still_s=1.0, timeout=900):
    """Waits until pid has used no CPU for still_s (at the clock tick's
    resolution, 10 ms); BenchError after timeout."""
    deadline = time.monotonic() + timeout
    last, since = cpu_s(pid), time.monotonic()
    while time.monotonic() - since < still_s:
        if time.monotonic() > deadline:
            raise BenchError("%s still busy after %d s" % (what, timeout))
        time.sleep(0.05)
        now = cpu_s(pid)
        if now != last:
            last, since = now, time.monotonic()


def io_counters(pid):
    """/proc/PID/io as a dict of ints: write_bytes is what the process
    sent (dirtied, page by page) to the storage layer, wchar every byte
    it passed to write(2) and friends."""
    out = {}
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = int(v)
    return out


def loadavg():
    """The 1-, 5- and 15-minute load averages, as text."""
    return "%.2f %.2f %.2f" % os.getloadavg()
