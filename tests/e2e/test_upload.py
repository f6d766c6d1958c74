# SPDX-License-Identifier: MIT
"""The upload step: `upload_cmd` runs after the changes settle and before
anything is invalidated, so the origin has the new bytes before CloudFront
is told to fetch them.  Real processes, the real binary, the stand-in."""
import os
import time
import unittest

from tests.e2e.cfw import write
from tests.e2e.test_cloudfront import StandInTest


class Upload(StandInTest):
    def script(self, body):
        """A shell script in the temp dir; returns `sh PATH`."""
        path = os.path.join(self.tmp, "upload.sh")
        with open(path, "w") as f:
            f.write("set -e\n" + body)
        return "sh " + path

    def test_upload_runs_first_with_the_changed_files(self):
        # Replies: 201.  Expected: the command runs in the root with
        # CFWATCH_CHANGED_FILES naming a list of the changed files, and
        # the invalidation is created after it finished.
        paths = self.edit()
        write(self.root, "new.html", "new")
        seen = os.path.join(self.tmp, "seen")
        cmd = self.script(
            'cp "$CFWATCH_CHANGED_FILES" %s.list\n'
            'pwd > %s.cwd\necho "$CFWATCH_ROOT" > %s.root\n'
            'date +%%s.%%N > %s.time\n' % (seen, seen, seen, seen))
        res = self.check(self.once("--upload-cmd", cmd))
        with open(seen + ".list") as f:
            self.assertEqual(sorted(f.read().splitlines()),
                             ["a/index.html", "new.html"])
        with open(seen + ".cwd") as f:
            self.assertEqual(f.read().strip(), os.path.realpath(self.root))
        with open(seen + ".root") as f:
            self.assertEqual(f.read().strip(), self.root)
        with open(seen + ".time") as f:
            ran_at = float(f.read())
        self.assert_sent_once(paths + ["/new.html"])
        created = self.requests()[0]["time"]
        from tests.e2e.test_cloudfront import parse_time
        self.assertLess(ran_at, parse_time(created), res.err)

    def test_failed_upload_invalidates_nothing_and_keeps_changes(self):
        # Replies: none expected.  The command fails every time: once
        # retries within --retry-for, then exits 1 with the changes
        # pending and its stderr in the message.
        paths = self.edit()
        cmd = self.script('echo "bucket unreachable" >&2\nexit 3\n')
        start = time.monotonic()
        res = self.once("--upload-cmd", cmd, "--retry-for", "5")
        self.assertEqual(res.status, 1, repr(res))
        self.assertLess(time.monotonic() - start, 30)
        self.assertIn("bucket unreachable", res.err)
        self.assertIn("exited 3", res.err)
        self.assertEqual(self.requests(), [])
        self.assertEqual(self.cf.invalidations(), [])
        self.assertEqual(self.plan(), paths)

    def test_upload_that_fails_once_is_retried(self):
        # The first run of the command fails, the second succeeds: one
        # invalidation, after the second.
        paths = self.edit()
        flag = os.path.join(self.tmp, "failed-once")
        cmd = self.script('if [ ! -e %s ]; then touch %s; exit 1; fi\n'
                          % (flag, flag))
        res = self.check(self.once("--upload-cmd", cmd, "--retry-for", "30"))
        self.assertIn("trying again", res.err)
        self.assert_sent_once(paths)

    def test_upload_timeout_kills_it_and_keeps_changes(self):
        paths = self.edit()
        cmd = self.script("sleep 30\n")
        start = time.monotonic()
        res = self.once("--upload-cmd", cmd, "--upload-timeout", "1",
                        "--retry-for", "2")
        self.assertEqual(res.status, 1, repr(res))
        self.assertLess(time.monotonic() - start, 20)
        self.assertIn("timed out", res.err)
        self.assertEqual(self.cf.invalidations(), [])
        self.assertEqual(self.plan(), paths)

    def test_dry_run_does_not_upload(self):
        self.edit()
        marker = os.path.join(self.tmp, "ran")
        cmd = self.script("touch %s\n" % marker)
        res = self.check(self.cfw("once", "--dry-run", "--upload-cmd", cmd,
                                  *self.cf_args(), self.root))
        self.assertEqual(res.lines, ["/a/", "/a/index.html"])
        self.assertFalse(os.path.exists(marker))

    def test_dry_run_leaves_its_changes_to_the_next_run(self):
        # A dry run runs no upload, so what it printed stays pending:
        # recorded as told, the next real run would neither upload nor
        # invalidate it, and the origin would keep the old bytes.
        paths = self.edit()
        seen = os.path.join(self.tmp, "seen.list")
        cmd = self.script('cp "$CFWATCH_CHANGED_FILES" %s\n' % seen)
        self.check(self.cfw("once", "--dry-run", "--upload-cmd", cmd,
                            *self.cf_args(), self.root))
        self.assertFalse(os.path.exists(seen))
        self.assertEqual(self.plan(), paths)
        self.check(self.once("--upload-cmd", cmd))
        with open(seen) as f:
            self.assertEqual(f.read().splitlines(), ["a/index.html"])
        self.assert_sent_once(paths)


if __name__ == "__main__":
    unittest.main()
