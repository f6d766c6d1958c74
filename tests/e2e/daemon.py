# SPDX-License-Identifier: MIT
"""A running cfwatch, followed line by line: the one helper that starts
the daemon and waits for what it prints, shared by the end-to-end tests
(tests/e2e), the chaos test (tests/chaos) and the benchmark (bench/run.py).

    d = Daemon(tmpdir, "-v", "--state-dir", state, root, env=env)
    d.wait_for(r": watching \\d+ directories")
    mark = d.mark()
    ... change a file ...
    line = d.wait_for(r": batch: ", start=mark)
    assert d.stop() == 0

The daemon's stdout and stderr are pipes that one reader thread drains.
Each complete line becomes a Line stamped with the window of time.time()
within which it was written and with time.monotonic() when it arrived,
and waits sleep on a condition the reader signals, so they wake for each
new line instead of polling.  The raw bytes are also copied to
daemonN.out and daemonN.err in the caller's directory, for a post mortem.

A dry run logs a "batch: N files, M paths" line on stderr and prints the
batch's M URL paths on stdout, in either order (today the line comes
first), so batches() pairs them by count and wait_batches() waits until
every batch it returns has all its paths.
"""
import os
import re
import selectors
import signal
import subprocess
import threading
import time

from tests.e2e import cfw

BATCH_RE = re.compile(r": batch: (\d+) files, (\d+) paths")
# Waits re-check a process that ended without closing its pipes (a child
# that inherited them) this often; new output wakes them at once.
END_CHECK_S = 0.1
# How long a process that ended may take to close its pipes.
DRAIN_S = 5.0
READ_CHUNK = 65536


class Line:
    """One complete line of stdout ("out") or stderr ("err"), written at
    some moment of [lo, hi] (time.time()); mono is time.monotonic() just
    after the read that completed it, and index its place among the
    Lines of both streams."""

    __slots__ = ("stream", "text", "lo", "hi", "mono", "index")

    def __init__(self, stream, text, lo, hi, mono):
        self.stream = stream
        self.text = text
        self.lo = lo
        self.hi = hi
        self.mono = mono
        self.index = None

    def __repr__(self):
        return "Line(%r, %r)" % (self.stream, self.text)


class Batch:
    """One batch of a dry-running daemon: its stderr line and the URL paths
    it printed on stdout."""

    def __init__(self, line, files, n_paths, paths, at):
        self.line = line
        self.files = files
        self.n_paths = n_paths  # as the line says
        self.paths = paths  # those printed so far
        self.at = at  # time.monotonic() when its line arrived

    def complete(self):
        """Whether every path of the batch was printed."""
        return len(self.paths) == self.n_paths

    def __repr__(self):
        return "Batch(%r, %r)" % (self.line, self.paths)


class _Stream:
    """A pipe being read: the start of its unfinished line, and where its
    bytes are copied."""

    def __init__(self, name, pipe, copy_path):
        self.name = name
        self.pipe = pipe
        self.fd = pipe.fileno()
        self.part = b""
        self.part_lo = None
        self.copy = open(copy_path, "wb") if copy_path else None
        self.eof = False
        os.set_blocking(self.fd, False)

    def drain(self):
        """Every byte the pipe holds now; sets eof at its end."""
        chunks = []
        while True:
            try:
                data = os.read(self.fd, READ_CHUNK)
            except BlockingIOError:
                break
            if not data:
                self.eof = True
                break
            chunks.append(data)
        data = b"".join(chunks)
        if data and self.copy:
            self.copy.write(data)
            self.copy.flush()
        return data

    def split(self, data, prev, after, mono):
        """The Lines that data completes.  A line was written after prev
        (the start of the last read that did not see it), or after the
        read that saw its first part began."""
        first_lo = self.part_lo if self.part else prev
        *done, part = (self.part + data).split(b"\n")
        out = [Line(self.name, raw.decode("utf-8", "surrogateescape"),
                    first_lo if i == 0 else prev, after, mono)
               for i, raw in enumerate(done)]
        self.part_lo = prev if done else first_lo
        self.part = part
        return out

    def close(self):
        self.pipe.close()
        if self.copy:
            self.copy.close()


class Daemon:
    """`cfwatch ARGS` as a real process (by default in watch mode), its
    output followed as it comes.  dirpath (or None) receives copies of its
    stdout and stderr; env is added to the test environment
    (cfw.clean_env); binary defaults to cfw.BIN.  argv, if given, is the
    command to run instead, one that ends by exec'ing cfwatch ARGS."""

    _seq = 0

    def __init__(self, dirpath, *args, env=None, binary=None, argv=None):
        self.args = [str(a) for a in args]
        self.out_path = self.err_path = None
        if dirpath is not None:
            Daemon._seq += 1
            base = os.path.join(dirpath, "daemon%d" % Daemon._seq)
            self.out_path, self.err_path = base + ".out", base + ".err"
        self._lines = []
        self._cv = threading.Condition()  # an RLock: tests may re-enter
        self._done = False  # both pipes closed and drained
        # Nothing is written before the process starts.
        self.started = time.time()
        self.started_mono = time.monotonic()
        self.proc = subprocess.Popen(argv or [binary or cfw.BIN] + self.args,
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE,
                                     env=cfw.clean_env(env))
        # stderr first: see the module's comment.
        streams = [_Stream("err", self.proc.stderr, self.err_path),
                   _Stream("out", self.proc.stdout, self.out_path)]
        self._reader = threading.Thread(target=self._follow, args=(streams,),
                                        name="cfwatch-%d" % self.pid,
                                        daemon=True)
        self._reader.start()

    @property
    def pid(self):
        return self.proc.pid

    # ---- the reader thread
    def _follow(self, streams):
        sel = selectors.DefaultSelector()
        for s in streams:
            sel.register(s.fd, selectors.EVENT_READ)
        prev = self.started
        try:
            while not all(s.eof for s in streams):
                before = time.time()
                sel.select()
                got = [(s, s.drain()) for s in streams if not s.eof]
                after, mono = time.time(), time.monotonic()
                new = []
                for s, data in got:
                    new += s.split(data, prev, after, mono)
                    if s.eof:
                        sel.unregister(s.fd)
                prev = before
                with self._cv:
                    for ln in new:
                        ln.index = len(self._lines)
                        self._lines.append(ln)
                    self._cv.notify_all()
        finally:
            sel.close()
            for s in streams:
                s.close()
            with self._cv:
                self._done = True
                self._cv.notify_all()

    # ---- what it printed
    def lines(self, stream=None):
        """The complete Lines so far, of one stream ("out", "err") or
        both in the order they were read."""
        with self._cv:
            return [ln for ln in self._lines
                    if stream is None or ln.stream == stream]

    def log(self):
        """The complete stderr lines so far."""
        return [ln.text for ln in self.lines("err")]

    def out(self):
        """The complete stdout lines so far."""
        return [ln.text for ln in self.lines("out")]

    def mark(self):
        """The number of Lines so far: a start for wait_for."""
        with self._cv:
            return len(self._lines)

    def count(self, pattern):
        """Log lines matching the regex pattern."""
        return sum(1 for line in self.log() if re.search(pattern, line))

    def batches(self):
        """The batches logged so far, each with the paths printed for it
        so far (the last may still lack some: see wait_batches)."""
        with self._cv:
            out = [ln.text for ln in self._lines if ln.stream == "out"]
            res = []
            i = 0
            for ln in self._lines:
                m = ln.stream == "err" and BATCH_RE.search(ln.text)
                if not m:
                    continue
                n = int(m.group(2))
                res.append(Batch(ln.text, int(m.group(1)), n, out[i:i + n],
                                 ln.mono))
                i += n
            return res

    def paths(self):
        """Every path of every batch so far, sorted."""
        return sorted(p for b in self.batches() for p in b.paths)

    def __repr__(self):
        out = self.out()
        if len(out) > 60:  # a failure message stays readable
            out = out[:30] + ["... (%d lines)" % (len(out) - 60)] + out[-30:]
        return "cfwatch %s (pid %d, %s)\nstderr:\n%s\nstdout:\n%s" % (
            " ".join(self.args), self.pid,
            "running" if self.proc.poll() is None
            else "status %d" % self.proc.returncode,
            "\n".join(self.log()), "\n".join(out))

    # ---- waiting
    def wait_until(self, test, what, timeout=30, fail=True):
        """Calls test() at once and after each new line until it returns
        something true, and returns that.  When the process ends first or
        timeout seconds pass, raises AssertionError naming what was
        awaited, with the whole output; or returns None if not fail.
        test runs with the output locked and may call the methods above."""
        deadline = time.monotonic() + timeout
        ended_at = None
        with self._cv:
            while True:
                got = test()
                if got:
                    return got
                now = time.monotonic()
                if ended_at is None and self.proc.poll() is not None:
                    ended_at = now
                if self._done or (ended_at is not None and
                                  now > ended_at + DRAIN_S):
                    if not fail:
                        return None
                    raise AssertionError("cfwatch ended before %s:\n%r"
                                         % (what, self))
                if now > deadline:
                    if not fail:
                        return None
                    raise AssertionError("no %s within %s s:\n%r"
                                         % (what, timeout, self))
                self._cv.wait(min(deadline - now, END_CHECK_S))

    def wait_for(self, pattern, count=1, timeout=30, start=0, stream="err",
                 fail=True):
        """Waits until count lines of stream, from Line number start on
        (see mark), match the regex pattern, and returns the last of
        them, a Line; see wait_until for failures."""
        rx = re.compile(pattern)
        seen = [start, 0]  # the next Line to look at, matches so far

        def test():
            while seen[0] < len(self._lines):
                ln = self._lines[seen[0]]
                seen[0] += 1
                if ln.stream == stream and rx.search(ln.text):
                    seen[1] += 1
                    if seen[1] >= count:
                        return ln
            return None

        return self.wait_until(test, "%d lines matched %r" % (
            count, rx.pattern), timeout, fail)

    def wait_batches(self, n, timeout=30):
        """Waits until n batches were logged and each batch logged has all
        its paths printed; returns all of them."""
        def test():
            b = self.batches()
            return b if len(b) >= n and all(x.complete() for x in b) \
                else None

        return self.wait_until(test, "%d batches" % n, timeout)

    # ---- signals and the end
    def send(self, signum):
        """Sends the process a signal."""
        self.proc.send_signal(signum)

    def wait(self, timeout=30):
        """Waits for the process to end and for the last of its output;
        returns its exit status."""
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("cfwatch still running after %s s:\n%r"
                                 % (timeout, self)) from None
        self._reader.join(DRAIN_S)
        return status

    def stop(self, signum=signal.SIGTERM, timeout=30):
        """Sends signum and returns the exit status."""
        self.send(signum)
        return self.wait(timeout)

    def kill(self):
        """SIGKILL, then reap; harmless if it ended already."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._reader.join(DRAIN_S)

    def context_switches(self):
        """Voluntary plus involuntary context switches of every thread."""
        total = 0
        task_dir = "/proc/%d/task" % self.pid
        for tid in os.listdir(task_dir):
            try:
                with open(os.path.join(task_dir, tid, "status")) as f:
                    for line in f:
                        if line.startswith(("voluntary_ctxt_switches:",
                                            "nonvoluntary_ctxt_switches:")):
                            total += int(line.split(":")[1])
            except FileNotFoundError:
                pass  # a thread that just ended
        return total
