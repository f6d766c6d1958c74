# SPDX-License-Identifier: MIT
"""What the figures depend on besides cfwatch: the CPU, the RAM, the
file system of the trees, the peers' versions and the load average,
for the header of every run."""

import os
import platform
import shutil
import subprocess

from bench.procs import ENV


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
                return int(line.split()[1]) / 1024 / 1024
    return 0.0


def free_gb(path):
    return shutil.disk_usage(path).free / 1e9


def version(argv):
    """The first line a --version prints, or "?"."""
    try:
        r = subprocess.run(argv, capture_output=True, text=True, env=ENV,
                           timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (r.stdout.strip() or r.stderr.strip()).splitlines()
    return text[0] if text else "?"


def binary_is_sanitized(path):
    """True for an ASan or UBSan build, whose times and RSS mean little."""
    with open(path, "rb") as f:
        data = f.read()
    return b"__asan_init" in data or b"__ubsan_handle" in data


def describe():
    """(key, value) pairs about the machine."""
    return [("machine", "%s, %d cores, %.0f GiB RAM, Linux %s" % (
        cpu_model(), os.cpu_count(), mem_total_gib(), platform.release()))]
