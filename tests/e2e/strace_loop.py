# SPDX-License-Identifier: MIT
"""The loop thread's disk syscalls, read from an strace of the real
daemon.  DESIGN.md's rule is "one libuv loop; disk, hashing, locks and
child processes off the loop thread": this module runs cfwatch under

    strace -f -tt -T -y -e trace=file,desc,fsync,... -o OUT cfwatch ...

and splits what it recorded by thread.  The loop thread is the main
thread (its TID is the PID); the loop starts at its first epoll_wait.
-y annotates every fd with what it is (a path, pipe:[…], socket:[…],
anon_inode:[eventfd] …), so a syscall touches a file or a directory when
its fd, its return fd or its path argument names one outside /proc,
/sys and /dev.  With stacks (-k) each syscall carries its call stack.

Used by tests/e2e/test_loop_syscalls.py, and by hand for the whole
survey (start-up, edit, delete, a burst, an S3 origin, a state in S3,
SIGHUP, SIGTERM):

    python3 -m tests.e2e.strace_survey [--stacks] [--binary B]
"""
import collections
import os
import re
import shutil
import subprocess
import time

from tests.e2e import cfw
from tests.e2e.daemon import Daemon

TRACE_SET = ("file,desc,fsync,fdatasync,sync_file_range,flock,fcntl,"
             "wait4,clone,clone3,execve")

_LINE_RE = re.compile(r"^(\d+) +(\d\d):(\d\d):(\d\d\.\d+) (.*)$")
_END_RE = re.compile(r"\) += (.*?)(?: <(\d+\.\d+)>)?$")
_FD_RE = re.compile(r"(-?\d+|AT_FDCWD)<((?:[^<>]|<[^<>]*>)*)>")
_STR_RE = re.compile(r'"((?:[^"\\]|\\.)*)"')

# fd-based syscalls that move bytes or metadata of what the fd names.
FD_IO = {
    "read", "pread64", "readv", "preadv", "preadv2", "write", "pwrite64",
    "writev", "pwritev", "pwritev2", "getdents64", "getdents", "fstat",
    "fsync", "fdatasync", "sync_file_range", "flock", "ftruncate",
    "fallocate", "sendfile", "copy_file_range", "fstatfs", "fchmod",
    "fchown", "futimesat", "fgetxattr", "flistxattr",
}
# Path-based syscalls (the path is the first string, relative to the
# first fd when it is a dirfd).
PATH_OPS = {
    "open", "openat", "openat2", "creat", "stat", "lstat", "newfstatat",
    "statx", "access", "faccessat", "faccessat2", "readlink", "readlinkat",
    "rename", "renameat", "renameat2", "unlink", "unlinkat", "mkdir",
    "mkdirat", "rmdir", "link", "linkat", "symlink", "symlinkat", "chmod",
    "fchmodat", "utimensat", "truncate", "statfs", "inotify_add_watch",
    "getxattr", "lgetxattr", "chdir",
}
LOCK_CMDS = ("F_SETLK", "F_SETLKW", "F_OFD_SETLK", "F_OFD_SETLKW", "F_GETLK",
             "F_OFD_GETLK")
WAITS = {"wait4", "waitid"}
PSEUDO = ("/proc/", "/sys/", "/dev/")
# Under /dev but ordinary files: the tests' TMPDIR may be there
# (scripts/test puts it on tmpfs).
TMPFS = "/dev/shm/"


class Call:
    """One completed syscall: tid, t (seconds since midnight, local
    time), name, args (the text between the parentheses), ret, dur (s,
    or None), and stack (frames, with -k)."""

    __slots__ = ("tid", "t", "name", "args", "ret", "dur", "stack", "path",
                 "kind")

    def __init__(self, tid, t, name, args, ret, dur):
        self.tid, self.t, self.name = tid, t, name
        self.args, self.ret, self.dur = args, ret, dur
        self.stack = []
        self.path = None
        self.kind = None

    def __repr__(self):
        return "%d %.6f %s(%s) = %s <%s>" % (self.tid, self.t, self.name,
                                             self.args[:120], self.ret,
                                             self.dur)


def _seconds(h, m, s):
    return int(h) * 3600 + int(m) * 60 + float(s)


def _split(body):
    """name, args, ret, dur of a complete syscall text; None otherwise."""
    p = body.find("(")
    if p <= 0 or not re.match(r"^[a-z0-9_]+$", body[:p]):
        return None
    m = _END_RE.search(body)
    if m is None:
        return None
    return body[:p], body[p + 1:m.start()], m.group(1), (
        float(m.group(2)) if m.group(2) else None)


def parse(path):
    """The Calls of an strace -f -tt -T [-y] [-k] output file, in the
    order they ended, and the main thread's TID (the first line's)."""
    calls, pending = [], {}
    main = None
    last = None
    with open(path, errors="replace") as f:
        for raw in f:
            raw = raw.rstrip("\n")
            if raw.startswith(" > "):
                if last is not None:
                    last.stack.append(raw[3:])
                continue
            m = _LINE_RE.match(raw)
            if m is None:
                continue
            tid = int(m.group(1))
            if main is None:
                main = tid
            t = _seconds(m.group(2), m.group(3), m.group(4))
            body = m.group(5)
            if body.endswith("<unfinished ...>"):
                pending[tid] = (t, body[:-len("<unfinished ...>")])
                last = None
                continue
            if body.startswith("<... "):
                start = pending.pop(tid, None)
                rest = body[body.find(">") + 1:]
                if start is None:
                    continue
                t, body = start[0], start[1] + rest
            parts = _split(body)
            if parts is None:
                last = None
                continue
            last = Call(tid, t, *parts)
            calls.append(last)
    return calls, main


def threads_of(calls, main):
    """The TIDs that clone() made threads of main's process (CLONE_THREAD),
    and the PIDs of its child processes."""
    threads, children = {main}, set()
    for c in calls:
        if c.name not in ("clone", "clone3", "vfork", "fork"):
            continue
        m = re.match(r"(\d+)", c.ret)
        if m is None or c.tid not in threads:
            continue
        (threads if "CLONE_THREAD" in c.args else children).add(
            int(m.group(1)))
    return threads, children


def _join(base, rel):
    if rel.startswith("/") or base is None:
        return rel
    return os.path.normpath(os.path.join(base, rel))


def _first_fd(args):
    m = _FD_RE.match(args)
    return (m.group(1), m.group(2)) if m else (None, None)


def _pseudo(path):
    return path.startswith(PSEUDO) and not path.startswith(TMPFS)


def _on_disk(path):
    return (path is not None and path.startswith("/") and
            not _pseudo(path))


def classify(c):
    """Sets c.path and c.kind: "disk" (a file or directory), "lock",
    "wait" (for a child, without WNOHANG), "pseudo" (/proc, /sys, /dev)
    or None (anything else: sockets, pipes, eventfd, epoll, inotify
    reads, stdout/stderr)."""
    name = c.name
    if name in WAITS:
        # libuv reaps its children from SIGCHLD with WNOHANG: no wait.
        c.kind = None if "WNOHANG" in c.args else "wait"
        return c.kind
    fd, fdpath = _first_fd(c.args)
    if name == "fcntl":
        if fd is not None and any(k in c.args for k in LOCK_CMDS):
            c.path, c.kind = fdpath, "lock"
        return c.kind
    if name in PATH_OPS:
        s = _STR_RE.search(c.args)
        if s is None:
            return None
        rel = s.group(1)
        if rel == "" and fd is not None:  # fstatat(fd, "", AT_EMPTY_PATH)
            c.path = fdpath
        else:
            base = fdpath if fd is not None and (
                fd == "AT_FDCWD" or s.start() > _FD_RE.match(c.args).end()) \
                else None
            c.path = _join(base, rel)
        ret = _FD_RE.match(c.ret)
        if ret is not None and ret.group(2).startswith("/"):
            c.path = ret.group(2)  # what open() really opened
    elif name in FD_IO and fd not in (None, "0", "1", "2"):
        c.path = fdpath
    if c.path is None:
        return None
    if name == "flock":
        c.kind = "lock"
    elif _on_disk(c.path):
        c.kind = "disk"
    elif _pseudo(c.path):
        c.kind = "pseudo"
    return c.kind


def loop_start(calls, main):
    """The time of the main thread's first epoll_wait: uv_run began."""
    for c in calls:
        if c.tid == main and c.name.startswith("epoll_") and \
                c.name not in ("epoll_ctl", "epoll_create1", "epoll_create"):
            return c.t
    return None


class Trace:
    """A parsed strace: calls, main (the loop thread), threads (the
    process's other threads), children (its child processes), loop_t
    (when uv_run began)."""

    def __init__(self, path):
        self.calls, self.main = parse(path)
        self.threads, self.children = threads_of(self.calls, self.main)
        self.loop_t = loop_start(self.calls, self.main)
        for c in self.calls:
            classify(c)

    def main_disk(self, since=None, kinds=("disk", "lock", "wait")):
        """The main thread's calls of those kinds from since (default:
        the loop's start) on."""
        since = self.loop_t if since is None else since
        return [c for c in self.calls
                if c.tid == self.main and c.kind in kinds and
                since is not None and c.t >= since]

    def workers(self, kinds=("disk", "lock", "wait")):
        """The other threads' calls of those kinds."""
        return [c for c in self.calls
                if c.tid in self.threads and c.tid != self.main and
                c.kind in kinds]


def under(path, dirs):
    """Whether path is one of dirs or inside one."""
    return path is not None and any(
        path == d or path.startswith(d.rstrip("/") + "/") for d in dirs)


def frame_name(frame):
    """"func+0x1a" of one -k frame ("/x/cfwatch(func+0x1a) [0x…]")."""
    m = re.search(r"\(([^)]*)\)", frame)
    return m.group(1).split("+")[0] if m and m.group(1) else frame.split()[0]


def call_site(c, binary_name="cfwatch", depth=4):
    """The first frames of c's stack inside the binary (or libuv and
    libcurl, which call on its behalf), outermost last."""
    keep = [frame_name(f) for f in c.stack
            if binary_name in f or "libuv" in f or "libcurl" in f]
    keep = [k for k in keep if k and not k.startswith("0x")]
    return " < ".join(keep[:depth]) if keep else "?"


class Traced(Daemon):
    """cfwatch ARGS under strace (stacks: with -k), written to out.  The
    process Daemon follows is strace; signals go to cfwatch itself."""

    def __init__(self, dirpath, out, *args, env=None, binary=None,
                 stacks=False, wrap=()):
        # wrap: a command that execs strace (unshare --mount ...).
        argv = list(wrap) + ["strace", "-f", "-tt", "-T", "-y", "-e",
                             "trace=" + TRACE_SET, "-o", out]
        if stacks:
            argv.append("-k")
        argv += [binary or cfw.BIN] + [str(a) for a in args]
        # LeakSanitizer cannot run under ptrace and fails the exit of an
        # ASan build; the other builds ignore the variable.
        env = dict(env or {})
        asan = env.get("ASAN_OPTIONS", os.environ.get("ASAN_OPTIONS", ""))
        env["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "detect_leaks=0"
        super().__init__(dirpath, *args, env=env, argv=argv)
        self.out_trace = out

    def traced_pid(self, timeout=10):
        """cfwatch's PID: strace's child."""
        deadline = time.monotonic() + timeout
        path = "/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)
        while time.monotonic() < deadline:
            try:
                with open(path) as f:
                    kids = f.read().split()
                if kids:
                    return int(kids[0])
            except FileNotFoundError:
                pass
            time.sleep(0.01)
        raise AssertionError("strace started no child:\n%r" % self)

    def send(self, signum):
        os.kill(self.traced_pid(), signum)


def strace_usable():
    """None if strace can trace a child here, else why not."""
    if shutil.which("strace") is None:
        return "strace is not installed (scripts/install-deps --test)"
    res = subprocess.run(["strace", "-f", "-o", "/dev/null", "true"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if res.returncode != 0:
        return "strace cannot trace here: %s" % res.stderr.decode(
            errors="replace").strip()
    return None


def day_seconds(t=None):
    """time.time() as strace -tt shows it: seconds since local midnight."""
    t = time.time() if t is None else t
    lt = time.localtime(t)
    return lt.tm_hour * 3600 + lt.tm_min * 60 + lt.tm_sec + (t % 1)


def summarise(calls, label):
    """{(name, label(path)): [count, max dur, total dur, a Call]}."""
    out = collections.OrderedDict()
    for c in calls:
        key = (c.name, label(c))
        e = out.setdefault(key, [0, 0.0, 0.0, c])
        e[0] += 1
        d = c.dur or 0.0
        e[2] += d
        if d > e[1]:
            e[1], e[3] = d, c
    return out
