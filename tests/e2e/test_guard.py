# SPDX-License-Identifier: MIT
"""The mass-deletion guard in watch mode: a pass that deletes more than
max_delete or max_delete_share of the tree is held, and the daemon sends
it once the folder has been quiet for delete_grace_ms.  The daemon runs
dry (no distribution): batches are seen on stdout, as in test_daemon."""
import os
import unittest

from tests.e2e.cfw import write
from tests.e2e.test_daemon import DaemonTest, urls

GONE = r"files are gone: more than max_delete"
SENDING = r"sending what the guard held"


class Guard(DaemonTest):
    GRACE_MS = 1500
    FILES = ["p%d.html" % i for i in range(10)]

    def held(self):
        """A daemon whose pass deleting 8 of 10 files was held (more
        than --max-delete 5)."""
        for rel in self.FILES:
            write(self.root, rel, "<p>%s</p>" % rel)
        d = self.start("--delete-grace-ms", str(self.GRACE_MS),
                       "--max-delete", "5")
        for rel in self.FILES[:8]:
            os.unlink(os.path.join(self.root, rel))
        d.wait_for(GONE)
        return d

    def test_held_deletions_are_sent_once_the_folder_is_quiet(self):
        d = self.held()
        d.wait_for(SENDING, timeout=self.GRACE_MS / 1000 + 10)
        self.wait_paths(d, sorted(u for rel in self.FILES[:8]
                                  for u in urls(rel)))

    def test_an_edit_meanwhile_does_not_cancel_the_grace(self):
        # The chaos test's origin mode, seed 13: a pass over the edited
        # file alone (which never looks at the deletions, so is not
        # held) ended the hold, and the deletions stayed pending for
        # good.
        d = self.held()
        mark = d.mark()
        write(self.root, self.FILES[9], "<p>edited</p>")
        d.wait_for(r"batch: 1 files", start=mark)
        d.wait_for(SENDING, start=mark, timeout=self.GRACE_MS / 1000 + 10)
        self.wait_paths(d, sorted(u for rel in self.FILES[:8] + self.FILES[9:]
                                  for u in urls(rel)))


if __name__ == "__main__":
    unittest.main()
