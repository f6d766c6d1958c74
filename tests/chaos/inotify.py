# SPDX-License-Identifier: MIT
"""Just enough inotify for the chaos test's kills."""
import ctypes
import ctypes.util
import os
import select
import struct
import time


class Inotify:
    """Just enough inotify (through libc) to kill the daemon the moment
    it creates or renames a file in its state dir."""

    IN_MODIFY = 0x2
    IN_MOVED_TO = 0x80
    IN_CREATE = 0x100
    IN_NONBLOCK = 0o4000
    IN_CLOEXEC = 0o2000000

    def __init__(self, path, mask):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6",
                           use_errno=True)
        self.fd = libc.inotify_init1(self.IN_NONBLOCK | self.IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        if libc.inotify_add_watch(self.fd, path.encode(), mask) < 0:
            err = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(err, "inotify_add_watch %s" % path)

    def wait(self, want, timeout):
        """Waits for an event on a name for which want(name, mask) holds;
        returns the name, or None after timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                return None
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                continue
            off = 0
            while off + 16 <= len(data):
                _, mask, _, n = struct.unpack_from("iIII", data, off)
                name = data[off + 16:off + 16 + n].rstrip(b"\0").decode()
                off += 16 + n
                if want(name, mask):
                    return name

    def close(self):
        os.close(self.fd)

