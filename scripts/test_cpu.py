# SPDX-License-Identifier: MIT
"""CPU-seconds per ctest test, to find what the suite burns.

    python3 -m scripts.test_cpu BUILD_DIR [-R INCLUDE] [-E EXCLUDE] [-j N]

Runs the tests ctest would run (`ctest --show-only=json-v1`, with their
command, working directory and environment), N at a time, and prints
each one's wall time and user + sys CPU-seconds, largest CPU first.  A
test's CPU is that of its process and every descendant it waited for
(wait4); processes that outlive their parent (a shared stand-in that
exits with the test binary) come back to this script, a subreaper, and
are counted apart as "orphans".  Wall time under load is not CPU: with
other work on the cores, the CPU figures are the ones to compare.
"""
import argparse
import ctypes
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


def tests_of(build, include, exclude):
    out = subprocess.run(["ctest", "--test-dir", build,
                          "--show-only=json-v1"], check=True,
                         capture_output=True, text=True).stdout
    for t in json.loads(out)["tests"]:
        name = t["name"]
        if include and not re.search(include, name):
            continue
        if exclude and re.search(exclude, name):
            continue
        env = dict(os.environ)
        cwd = os.path.join(build, "tests")  # ctest's, for tests/*
        timeout = 1500
        for p in t.get("properties", []):
            if p["name"] == "ENVIRONMENT":
                env.update(v.split("=", 1) for v in p["value"])
            elif p["name"] == "WORKING_DIRECTORY":
                cwd = p["value"]
            elif p["name"] == "TIMEOUT":
                timeout = float(p["value"])
        yield name, t["command"], cwd, env, timeout


class Runner:
    def __init__(self, jobs):
        self.jobs = jobs
        self.running = {}  # pid -> (name, start, deadline)
        self.results = []
        self.orphans = [0.0, 0.0]

    def start(self, name, cmd, cwd, env, timeout):
        proc = subprocess.Popen(cmd, cwd=cwd, env=env,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL,
                                start_new_session=True)
        now = time.monotonic()
        # The Popen is kept: one collected while its process runs would
        # reap it in subprocess's own clean-up, before wait4 here.
        self.running[proc.pid] = (name, now, now + timeout, proc)

    def reap_one(self):
        """Waits for any child; a test's or an orphan's."""
        while True:
            pid, status, ru = os.wait4(-1, os.WNOHANG)
            if pid == 0:
                self.kill_late()
                time.sleep(0.05)
                continue
            cpu = (ru.ru_utime, ru.ru_stime)
            if pid not in self.running:
                self.orphans[0] += cpu[0]
                self.orphans[1] += cpu[1]
                continue
            name, t0, _, proc = self.running.pop(pid)
            proc.returncode = status  # reaped here, not by Popen
            code = os.waitstatus_to_exitcode(status)
            self.results.append((name, time.monotonic() - t0, cpu[0],
                                 cpu[1], code))
            print("%-40s %7.1f %7.1f %7.1f %s" % (
                name, time.monotonic() - t0, cpu[0], cpu[1],
                "" if code == 0 else "rc=%d" % code), flush=True)
            return

    def kill_late(self):
        now = time.monotonic()
        for pid, (_, _, deadline, _) in self.running.items():
            if now > deadline:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def run(self, tests):
        for t in tests:
            while len(self.running) >= self.jobs:
                self.reap_one()
            self.start(*t)
        while self.running:
            self.reap_one()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                pid, _, ru = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.1)
                continue
            self.orphans[0] += ru.ru_utime
            self.orphans[1] += ru.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("-R", default="")
    ap.add_argument("-E", default="")
    ap.add_argument("-j", type=int, default=2)
    a = ap.parse_args()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("prctl(PR_SET_CHILD_SUBREAPER) failed")
    r = Runner(a.j)
    t0 = time.monotonic()
    print("%-40s %7s %7s %7s" % ("test", "wall", "user", "sys"))
    r.run(list(tests_of(a.build, a.R, a.E)))
    wall = time.monotonic() - t0
    print("\nlargest CPU first:")
    for name, w, u, s, code in sorted(r.results, key=lambda x: -x[2] - x[3]):
        print("%-40s %7.1f %7.1f %7.1f %s" % (name, w, u, s,
                                              "" if code == 0 else "FAIL"))
    user = sum(x[2] for x in r.results) + r.orphans[0]
    sys_ = sum(x[3] for x in r.results) + r.orphans[1]
    print("orphans: user %.1f sys %.1f" % tuple(r.orphans))
    print("total: %d tests, %.1f s wall, user %.1f sys %.1f, CPU %.1f s"
          % (len(r.results), wall, user, sys_, user + sys_))
    print("load average: %.2f %.2f %.2f" % os.getloadavg())
    sys.exit(1 if any(x[4] for x in r.results) else 0)


if __name__ == "__main__":
    main()
