# SPDX-License-Identifier: MIT
"""The mass-deletion guard in watch mode: a pass that deletes more than
max_delete or max_delete_share of the tree is held, and the daemon sends
it once the folder has been quiet for delete_grace_ms.  Guard's daemon
runs dry (no distribution): batches are seen on stdout, as in
test_daemon.  Rebuild's sends to the stand-in, with an upload_cmd."""
import json
import os
import shutil
import time
import unittest

from tests.e2e.cfw import write
from tests.e2e.daemon import BATCH_RE, Daemon
from tests.e2e.test_cloudfront import StandInTest
from tests.e2e.test_daemon import SCANNED, DaemonTest, urls

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
        # Pending, and shown as held by status (judged by the same
        # limit), while the hold lasts.
        res = self.check(self.cfw("status", "--json", "--max-delete", "5",
                                  "--state-dir", self.state, self.root))
        st = json.loads(res.out)
        self.assertEqual((st["pending_files"], st["held_deletions"]),
                         (8, 8), res.out)
        d.wait_for(SENDING, timeout=self.GRACE_MS / 1000 + 10)
        self.wait_paths(d, sorted(u for rel in self.FILES[:8]
                                  for u in urls(rel)))

    def test_an_edit_meanwhile_does_not_cancel_the_grace(self):
        # The chaos test's origin mode, seed 13: a pass over the edited
        # file alone (which never looks at the deletions, so is not
        # held) ended the hold, and the deletions stayed pending for
        # good.
        # Since issue 11, item 8, the edit waits for the grace too: while
        # the hold lasts the tree may be mid-rebuild.
        d = self.held()
        mark = d.mark()
        write(self.root, self.FILES[9], "<p>edited</p>")
        sending = d.wait_for(SENDING, start=mark,
                             timeout=self.GRACE_MS / 1000 + 10)
        before = []
        for ln in d.lines():
            if ln is sending:
                break
            before += [ln.text] if BATCH_RE.search(ln.text) else []
        self.assertEqual(before, [], repr(d))
        self.wait_paths(d, sorted(u for rel in self.FILES[:8] + self.FILES[9:]
                                  for u in urls(rel)))


class Rebuild(StandInTest):
    """Issue 11, item 8: `rm -rf public/*`, then a rebuild that trickles
    in, slower than --max-delay-ms.  While the guard held the emptied
    folder, each flush of the trickle was still sent: upload_cmd ran on
    a half-built tree (`rsync --delete` would empty the origin), and the
    files not yet rebuilt in a folder the trickle named were invalidated
    as deleted, then again as added."""

    GRACE_MS = 2500
    FILES = ["d%d/p%d.html" % (i, j) for i in range(8) for j in range(4)]
    CHANGED = ["d0/p0.html", "d3/p1.html", "d7/p3.html"]

    def test_nothing_goes_out_until_the_rebuild_is_quiet(self):
        for rel in self.FILES:
            write(self.root, rel, "<p>%s</p>" % rel)
        self.check(self.once("--baseline"))
        runs = os.path.join(self.tmp, "runs")
        script = os.path.join(self.tmp, "upload.sh")
        with open(script, "w") as f:
            f.write("find . -type f | wc -l >> %s\n" % runs)
        d = Daemon(self.tmp, "-v", *self.cf_args(), "--quiet-ms", "200",
                   "--max-delay-ms", "600", "--delete-grace-ms",
                   str(self.GRACE_MS), "--max-delete", "5", "--upload-cmd",
                   "sh " + script, self.root, env=self.env)
        self.addCleanup(d.kill)
        d.wait_for(SCANNED)
        for name in os.listdir(self.root):
            shutil.rmtree(os.path.join(self.root, name))
        d.wait_for(GONE)
        # The changed files first, one file every 100 ms: a flush every
        # 600 ms, never a quiet of 2.5 s.
        for rel in self.CHANGED + [r for r in self.FILES
                                   if r not in self.CHANGED]:
            data = "edited" if rel in self.CHANGED else "<p>%s</p>" % rel
            write(self.root, rel, data)
            time.sleep(0.1)
        self.assertEqual(self.cf.invalidations(), [], repr(d))
        self.assertFalse(os.path.exists(runs), repr(d))
        d.wait_for(SENDING, timeout=self.GRACE_MS / 1000 + 10)
        d.wait_for(r"batch: 3 files, 3 paths, invalidation")
        with open(runs) as f:
            self.assertEqual(f.read().split(), [str(len(self.FILES))])
        self.assertEqual([sorted(i["paths"]) for i in self.cf.invalidations()],
                         [["/" + rel for rel in self.CHANGED]], repr(d))
        self.assertEqual(self.plan(), [])


if __name__ == "__main__":
    unittest.main()
