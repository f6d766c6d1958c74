# SPDX-License-Identifier: MIT
"""The chaos test of the watch daemon (issue 6), bounded for the suite:
a few seeds of the chaos test (tests/chaos), each a random workload on a
real tree while the daemon is SIGKILLed and restarted and the stand-in
injects random faults.  tests/chaos/__init__.py says what the checker
requires; run it by hand, from the source root, for longer runs and
other seeds:

    python3 -m tests.chaos --seeds 1-20 --rounds 80 --binary build/cfwatch

Together these seeds kill the daemon in every way the chaos test knows
(in the quiet window, with a request in flight, right after a 201, while
a journal record or a snapshot is written, in the backoff after a lost
201 and after a 503),
and each of them fails on at least one of the bugs the chaos test was
checked against (a CallerReference that changes across a restart, a
manifest written before the 201, deletions never sent, paths for files
written with the same bytes).  They run --strict: a file whose last
invalidation was made while it held other bytes fails them too (issue
11, item 1).  They take about 45 s, under ASan too.

One seed runs the two-distribution mode (--two-dists): every batch
goes to two distributions, and each must end up told of every change,
once.

Two seeds run the S3-origin mode (--origin, tests/chaos/origin.py) for
30 rounds: the daemon also uploads (multipart for the big files),
deletes, and is killed in each step of that, and the bucket must end up
holding exactly the tree.  Seed 10 fails on a binary without "site:
keep objects a newer batch uploaded" (an older recorded batch deleted a
file a newer batch had uploaded again: 17 objects missing); seed 3
kills mid-multipart and mid-delete.  They take about 27 s together
(12 s and 15 s here).  The two bugs the origin mode found next, seed 16
(a stat refresh cleared a file's TREE_STALE) and seed 13 (an edit ended
the deletion hold), hang on races no seed reproduces reliably, so
deterministic tests guard them: test_origin's StaleUpload and
test_guard.

One seed runs the origin mode with cache tags (--cache-tags): a '#tag'
item must only cover files every cached copy of which carries the tag;
seed 5 fails on a binary that sends added files by tag.

One seed runs with the state in S3 (--s3-state): S3 faults on the
state's requests, a 412 now and then as if another writer had won (the
pass restarts from a new pull), and kills that also lose the local
cache.  Seed 3 loses the cache twice; its restarts depend on timing
(1 to 4 in five runs).  It takes about 15 s.

One seed bounds each pass to two files taken in (--pass-files 2, issue
13), for 15 rounds: a change of more files goes out in passes that
follow each other, and the kills fall between them too (11 passes
follow another in two runs here).  About 10 s.

One seed puts the state dir on a 1 MiB disk that fills and frees at
random rounds (--full-disk, tests/chaos/disk.py).  Seed 1 fills it six
times; it fails on a binary that waited 5 minutes before trying a
refused record again (the settle times out).  About 15 s.

One seed changes the config between daemons (--excludes,
tests/chaos/excludes.py): `exclude = docs/` added and lifted over
pending changes and open batches, and SIGHUP reloads, some just after a
request went out.  Seed 1 adds or lifts it four times and reloads five
times; it fails (h) on a binary that took a newly excluded file for a
deleted one (9 docs/ paths sent by a daemon that excluded them, in 8
runs of 9: a kill may hand that batch to the next daemon, a replay).
About 10 s.
"""
import sys
import unittest

from tests.chaos.run import TWO_DISTS, run_seed
from tests.e2e.cfw import BIN
from tests.standin.standin import StandIn

ROUNDS = 25
ORIGIN_ROUNDS = 30
BOUNDED_ROUNDS = 15


def figure(text):
    """A measured figure, for the test log."""
    print("\n    [figure] " + text, file=sys.stderr, flush=True)


class Chaos(unittest.TestCase):
    """One stand-in for the class; each seed resets it."""

    @classmethod
    def setUpClass(cls):
        cls.cf = StandIn(config={"completion_delay": 0})

    @classmethod
    def tearDownClass(cls):
        cls.cf.stop()

    def survives(self, seed):
        out = run_seed(seed, ROUNDS, BIN, self.cf, strict=True)
        figure(out.summary())
        self.assertEqual(out.failures, [], out.message())
        # The run was not vacuous: the seed kills, faults and changes.
        self.assertGreater(out.figures["kills"], 0, out.message())
        self.assertGreater(out.figures["faults"], 0, out.message())
        self.assertGreater(out.figures["invalidations"], 0, out.message())

    def test_kills_and_faults_lose_no_change_nor_send_one_twice_seed_2(self):
        self.survives(2)

    def test_kills_and_faults_lose_no_change_nor_send_one_twice_seed_5(self):
        self.survives(5)

    def test_kills_and_faults_lose_no_change_nor_send_one_twice_seed_8(self):
        self.survives(8)

    def test_kills_and_faults_lose_no_change_nor_send_one_twice_seed_12(self):
        self.survives(12)

    def test_origin_bucket_holds_the_tree_whatever_the_kills_seed_3(self):
        self.deploys(3)

    def test_origin_bucket_holds_the_tree_whatever_the_kills_seed_10(self):
        self.deploys(10)

    def test_two_distributions_each_get_every_change_once_seed_2(self):
        # The --two-dists mode: every batch goes to both distributions,
        # kills fall between their acceptances too, and each
        # distribution on its own must have been told every change, and
        # nothing twice.
        out = run_seed(2, ROUNDS, BIN, self.cf, strict=True,
                       dists=TWO_DISTS)
        figure(out.summary())
        self.assertEqual(out.failures, [], out.message())
        self.assertGreater(out.figures["kills"], 0, out.message())
        self.assertGreater(out.figures["faults"], 0, out.message())
        for d in TWO_DISTS:
            self.assertTrue(self.cf.invalidations(distribution=d),
                            out.message())

    def test_cache_tags_never_leave_a_stale_copy_seed_5(self):
        """The origin mode with cache_tag_header (--cache-tags): a '#tag'
        item counts as covering a file only if every version of it the
        edges may hold carried the tag (tests/chaos/tagcheck.py).  Fails
        on a binary that sends added files by tag."""
        out = run_seed(5, ORIGIN_ROUNDS, BIN, self.cf, strict=True,
                       tags=True)
        figure(out.summary())
        self.assertEqual(out.failures, [], out.message())
        self.assertGreater(out.figures["tag_items"], 0, out.message())
        self.assertGreater(out.figures["kills"], 0, out.message())

    def test_an_exclude_added_or_lifted_touches_nothing_seed_1(self):
        out = run_seed(1, ROUNDS, BIN, self.cf, strict=True, excludes=True)
        figure(out.summary())
        self.assertEqual(out.failures, [], out.message())
        self.assertGreater(out.figures["exclude_toggles"], 0, out.message())
        self.assertGreater(out.figures["reloads"], 0, out.message())
        self.assertGreater(out.figures["kills"], 0, out.message())

    def test_state_in_s3_survives_conflicts_and_lost_caches_seed_3(self):
        out = run_seed(3, ROUNDS, BIN, self.cf, strict=True, shared=True)
        figure(out.summary())
        self.assertEqual(out.failures, [], out.message())
        self.assertGreater(out.figures["kills"], 0, out.message())
        self.assertGreater(out.figures["faults"], 0, out.message())
        self.assertGreater(out.figures["caches_lost"], 0, out.message())

    def test_full_disk_loses_no_change_nor_sends_one_twice_seed_1(self):
        out = run_seed(1, ROUNDS, BIN, self.cf, strict=True, full_disk=True)
        figure(out.summary())
        self.assertEqual(out.failures, [], out.message())
        self.assertGreater(out.figures["kills"], 0, out.message())
        self.assertGreater(out.figures["disk_fills"], 0, out.message())

    def test_bounded_passes_lose_no_change_nor_send_one_twice_seed_3(self):
        # --pass-files 2: a change of more files goes in passes that
        # follow each other, and kills fall between them.
        out = run_seed(3, BOUNDED_ROUNDS, BIN, self.cf, strict=True,
                       pass_files=2)
        figure(out.summary())
        self.assertEqual(out.failures, [], out.message())
        self.assertGreater(out.figures["kills"], 0, out.message())
        self.assertGreater(out.figures["passes_followed"], 0, out.message())

    def deploys(self, seed):
        """The origin mode (tests/chaos/origin.py): the bucket too must
        end up holding exactly the tree, nothing invalidated before S3
        held it, nothing deleted before its invalidation."""
        out = run_seed(seed, ORIGIN_ROUNDS, BIN, self.cf, strict=True,
                       s3=True)
        figure(out.summary())
        self.assertEqual(out.failures, [], out.message())
        self.assertGreater(out.figures["kills"], 0, out.message())
        self.assertGreater(out.figures["s3_faults"], 0, out.message())
        self.assertGreater(out.figures["s3_writes"], 0, out.message())


if __name__ == "__main__":
    unittest.main()
