# SPDX-License-Identifier: MIT
"""The state dir on a small file system that fills up and frees again
(--full-disk): a disk a build's artefacts, a log or a core dump fill
while the daemon works.  The daemon must record nothing it cannot
write, send nothing it could not record, keep every change and send it
once there is room again, without a new edit to wake it."""
import os
import subprocess
import time

from tests.chaos.outcome import Failure
from tests.e2e.cfw import fill_fs

# Room for the chaos tree's state several times over (its snapshot is a
# few KiB), so only the filler makes it full.
FS_BYTES = 1024 * 1024


class Disk:
    """A tmpfs at path, and a filler that takes every free block."""

    def __init__(self, path):
        self.path = path
        self.filler = os.path.join(path, "filler")
        self.mounted = False
        self.full_since = None
        self.fills = 0
        self.full_s = 0.0

    def mount(self):
        os.makedirs(self.path, exist_ok=True)
        res = subprocess.run(["mount", "-t", "tmpfs", "-o",
                              "size=%d,mode=0700" % FS_BYTES, "tmpfs",
                              self.path], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
        if res.returncode != 0:
            raise Failure("--full-disk needs to mount a tmpfs (root): %s"
                          % res.stdout.decode(errors="replace").strip())
        self.mounted = True

    def umount(self):
        if self.mounted:
            subprocess.run(["umount", "-l", self.path],
                           stderr=subprocess.DEVNULL)
            self.mounted = False

    @property
    def full(self):
        return self.full_since is not None

    def fill(self):
        """Takes every free block, then every free byte of the last."""
        fill_fs(self.filler)
        self.full_since = time.monotonic()
        self.fills += 1
        return "the state's disk filled"

    def free(self):
        if not self.full:
            return None
        os.unlink(self.filler)
        self.full_s += time.monotonic() - self.full_since
        self.full_since = None
        return "the state's disk freed"

    def toggle(self):
        return self.free() if self.full else self.fill()

    def figures(self):
        return {"disk_fills": self.fills, "disk_full_s": self.full_s}
