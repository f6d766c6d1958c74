# SPDX-License-Identifier: MIT
"""A file system that hangs, for real, under a command:

    unshare --mount --propagation private \\
        python3 -m tests.e2e.fusehang DIR PIDFILE -- CMD [ARGS...]

mounts on DIR a FUSE file system whose server never answers (the kernel
holds every request, its INIT first, until the server replies: a stat
or a lookup there waits, as on a dead NFS server or a stuck FUSE
daemon), then execs CMD, same PID, in that mount namespace.  A child
process keeps the server's fd: the hang lasts until it ends (kill the
PID written to PIDFILE: the waiting calls fail then), or until CMD ends
(the child goes with it).  No FUSE library: mount(8) takes the fd as an
option (tests/unit/fusehang.h does the same in C).  Exit status 3 if
FUSE cannot be mounted here."""
import ctypes
import os
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1


def keep(fd, parent, pidfile):
    """The child: holds fd until killed, or until parent (CMD) ends."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for std in (0, 1, 2):
        os.dup2(devnull, std)  # the caller's pipes close with CMD
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(0)
    with open(pidfile + ".tmp", "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(pidfile + ".tmp", pidfile)
    while True:
        signal.pause()


def main(argv):
    dirpath, pidfile = argv[1], argv[2]
    cmd = argv[argv.index("--") + 1:]
    try:
        fd = os.open("/dev/fuse", os.O_RDWR)
    except OSError as e:
        print("fusehang: /dev/fuse: %s" % e, file=sys.stderr)
        return 3
    opts = "fd=%d,rootmode=40000,user_id=%d,group_id=%d" % (
        fd, os.getuid(), os.getgid())
    res = subprocess.run(["mount", "-t", "fuse", "-o", opts, "cfwhang",
                          dirpath], pass_fds=(fd,))
    if res.returncode != 0:
        return 3
    parent = os.getpid()
    if os.fork() == 0:
        keep(fd, parent, pidfile)
    os.close(fd)
    os.execvp(cmd[0], cmd)
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv))
