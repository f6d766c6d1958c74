# SPDX-License-Identifier: MIT
"""The cfwatch daemon under measurement: `cfwatch --dry-run -v` on a
copy of a complete state, ready at its first "scanned N files" line;
what a one-file batch costs it (latency, bytes written to the state);
and waiting until it has finished a burst of work."""

import os
import re
import shutil

from bench import peers
from bench.procs import BenchError, ENV_EXTRA, io_counters, wait_cpu_idle
from tests.e2e.daemon import Daemon

RE_WATCHING = re.compile(r": watching (\d+) directories")
RE_SCANNED = re.compile(
    r": scanned (\d+) files, hashed (\d+), (\d+) changes in (\d+) ms")
# "batch: 1 files, 1 paths (dry run)", or with more said between "paths"
# and "(dry run", as newer builds do ("(dry run; 2 wildcards)").
RE_BATCH = re.compile(r": batch: (\d+) files, (\d+) paths\b.*\(dry run")


def state_files(state):
    """{name: (inode, size)} of the files in a state dir."""
    out = {}
    for name in os.listdir(state):
        try:
            st = os.stat(os.path.join(state, name))
        except FileNotFoundError:
            continue
        out[name] = (st.st_ino, st.st_size)
    return out


def state_written(before, after):
    """Bytes written to a state dir between two state_files(): a file
    appended to counts its growth, a file replaced (new inode, as an
    atomic rewrite makes) or new counts whole."""
    total = 0
    for name, (ino, size) in after.items():
        old = before.get(name)
        if old is None or old[0] != ino:
            total += size
        else:
            total += max(0, size - old[1])
    return total


class Cfwd:
    """A dry-running daemon with --quiet-ms quiet_ms on root, its state a
    copy of the complete state s0."""

    def __init__(self, binary, root, s0, state, quiet_ms, n_files,
                 timeout=900):
        shutil.rmtree(state, ignore_errors=True)
        shutil.copytree(s0, state)
        self.state = state
        self.quiet_ms = quiet_ms
        self.d = Daemon(None, "--dry-run", "-v", "--quiet-ms", quiet_ms,
                        "--state-dir", state, root, binary=binary,
                        env=ENV_EXTRA)
        self.pid = self.d.pid
        w, m_w = peers.wait_line(self.d, RE_WATCHING, 0, timeout)
        sc, m_s = peers.wait_line(self.d, RE_SCANNED, w.index, timeout)
        if int(m_s.group(1)) != n_files or int(m_s.group(2)) != 0:
            self.stop()
            raise BenchError("daemon start-up scanned %s files, hashed %s "
                             "(expected %d, 0)" % (m_s.group(1),
                                                   m_s.group(2), n_files))
        self.watching_s = w.mono - self.d.started_mono
        self.ready_s = sc.mono - self.d.started_mono
        self.dirs = int(m_w.group(1))

    def mark(self):
        return self.d.mark()

    def seen(self, url, mark, timeout=30):
        """(batch line, URL path on stdout) times (monotonic) of the
        one-file batch that names url."""
        out, _ = peers.wait_line(self.d, "^" + re.escape(url) + "$", mark,
                                 timeout, "out")
        batch, m = peers.wait_line(self.d, RE_BATCH, mark, timeout)
        if m.group(1) != "1":
            raise BenchError("one-file change made a batch of %s files"
                             % m.group(1))
        return batch.mono, out.mono

    def write_marks(self):
        """What the state has cost so far: (write_bytes, state files)."""
        return io_counters(self.pid)["write_bytes"], state_files(self.state)

    def wait_idle(self, still_s=1.0, timeout=900):
        """Waits until the daemon has used no CPU for still_s."""
        wait_cpu_idle(self.pid, "cfwatch", still_s, timeout)

    def wait_files(self, mark, n, timeout=900):
        """Waits until the batches logged from Line mark on hold n files
        or more (a file seen half-written counts twice)."""
        seen = {"at": mark, "files": 0}

        def test():
            lines = self.d.lines()
            for ln in lines[seen["at"]:]:
                m = ln.stream == "err" and RE_BATCH.search(ln.text)
                if m:
                    seen["files"] += int(m.group(1))
            seen["at"] = len(lines)
            return seen["files"] >= n

        try:
            self.d.wait_until(test, "batches of %d files" % n, timeout)
        except AssertionError as e:
            self.d.kill()
            raise BenchError(str(e)[:2000]) from None

    def batches_since(self, mark):
        """(batches, files) logged from Line mark on."""
        n = files = 0
        for ln in self.d.lines()[mark:]:
            m = ln.stream == "err" and RE_BATCH.search(ln.text)
            if m:
                n += 1
                files += int(m.group(1))
        return n, files

    def stop(self):
        rc = peers.stop(self.d)
        if rc != 0:
            raise BenchError("daemon exited %s on SIGTERM\n%s" % (
                rc, "\n".join(self.d.log()[-20:])))
