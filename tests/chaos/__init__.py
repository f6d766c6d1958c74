# SPDX-License-Identifier: MIT
"""Chaos test of the watch daemon (issue 6).

A seeded random workload of edits, same-bytes writes, creates, deletes,
renames and whole-directory replacements runs on a real tree while the
real daemon is SIGKILLed at chosen moments (in the quiet window, with a
request in flight, right after a 201 arrived, while the manifest is being
written, in the backoff after a lost 201) and restarted, and the
CloudFront stand-in injects random faults (5xx, throttling, resets, hangs,
slow answers, lost 201s, garbage, short bodies).  At the end the faults
stop, the daemon settles (`plan` prints nothing and nothing moves for a
while) and gets SIGTERM.  The checker then holds the stand-in's
invalidations against the test's own record of every file's history
(times on this machine's clock, like the stand-in's):

  (a) every file whose final bytes (or absence) differ from the bytes it
      last had acknowledged was covered by an invalidation created after
      its last change;
  (b) no path was sent for a file that had not changed by then;
  (c) no two created invalidations have the same paths unless one of
      those files changed in between (a lost 201 is replayed through the
      CallerReference, never created twice);
  (d) the daemon never ended on its own, stopped with status 0 and an
      empty plan, no request failed its signature, no CallerReference was
      reused for other paths, no sanitizer spoke.

With --origin (issue 14) the daemon also deploys to an S3 origin on the
stand-in (origin.py): `once --all` first puts the tree in the bucket,
then each pass uploads (multipart for a few files of 5 to 8 MiB, through
CFWATCH_TEST_MULTIPART_BYTES), invalidates and deletes.  The kills aim at
the deploy's steps too (mid-upload, mid-multipart, at the UPLOADED
record, after the 201 and before the deletions, mid-delete, in the
backoff after an S3 write whose answer was lost), and S3 answers with
503 SlowDown, 500 InternalError, 400 RequestTimeout, resets, lost
answers, cut, slow and hung ones.  Beside (a) to (d), s3checker.py
requires:

  (e) the bucket holds exactly the tree, byte for byte, with the SHA-256
      checksums S3 keeps;
  (f) no invalidation was created before S3 held the bytes it covers;
  (g) no object was deleted before CloudFront accepted an invalidation
      covering its file.

With --two-dists (issue 16) the site has two distributions: every
batch goes to each, and a kill may fall between their acceptances.  (a)
to (c) then hold for each distribution on its own: each was told every
change, and no change twice.

With --cache-tags (the origin mode with cache_tag_header, the
distribution's CacheTagConfig naming it) the daemon sends '#tag' items,
and a tag item counts as covering a file, for (a) to (g), only if every
version of it the edges may hold carried the tag: since the last
invalidation that covered all its URL paths, the object was never absent
and each write of it carried the tag (tagcheck.py).

With --s3-state the state lives in S3 (state_dir = s3://...; the state
dir is only a cache under XDG_CACHE_HOME): S3's faults reach the
state's requests, a state PUT is now and then answered 412 as if
another writer had won (the pass restarts from a new pull), and a kill
loses the cache three times in ten (the next daemon pulls the whole
state).  (a) to (d) must hold all the same.

With --full-disk the state dir (or, with --s3-state, its cache) lives
on a 1 MiB tmpfs that a filler fills and frees at random rounds
(disk.py), so records are refused midway, at a new journal's first
byte and mid-snapshot, with kills beside.  The settle frees the disk
and changes nothing else: the daemon must find the room by itself.
(a) to (d) hold all the same.

With --excludes the config changes between daemons (excludes.py): a
config file beside the options holds `exclude = docs/` or nothing, a
restart flips it now and then (an exclude added or lifted over pending
changes and open batches), and a running daemon now and then gets
SIGHUP, at once or just after a request went out (a reload mid-pass).
The exclude is lifted before the settle, and beside (a) to (d):

  (h) a daemon running with the exclude never names a file under docs/
      in a batch of its own, though the state knows those files:
      excluded means untouched, not deleted.

By hand, from the source dir:

    python3 -m tests.chaos --seed 7 --rounds 80 --binary build/cfwatch
    python3 -m tests.chaos --seeds 1-20 --rounds 80 --binary build/cfwatch
    python3 -m tests.chaos --seeds 1-20 --rounds 40 --binary build/cfwatch \
        --strict --origin
    python3 -m tests.chaos --seeds 1-10 --rounds 40 --binary build/cfwatch \
        --strict --two-dists
    python3 -m tests.chaos --seeds 1-10 --rounds 40 --binary build/cfwatch \
        --strict --full-disk
    python3 -m tests.chaos --seeds 1-10 --rounds 40 --binary build/cfwatch \
        --strict --excludes

The workload and the kill plan depend on the seed only; the stand-in's
faults are drawn from the same seed, per request.  Timing still differs
from run to run, so a replay repeats the same operations, not
necessarily the same interleaving.  A failed seed keeps its work dir
(daemon logs, standin.json, model.txt with every file's history).

Why the checker is shaped as it is.  The daemon hashes a batch before it
sends it, so the bytes an invalidation acknowledges are bytes the file
held at some moment of a window: from the start of the scan that made the
batch (the daemon logs each scan and its duration; the test notes when
each log line appeared) to the creation of the invalidation.  A replay by
a later daemon acknowledges the same bytes, since the CallerReference
covers the content hashes.  So (a) accepts a final state that no later
invalidation covers only if it is the baseline or was held within the
window of an earlier invalidation of that file: the manifest may hold
it.  Such files are counted as "exempt" (mostly a file that went away and
came back between two batches).  Among them, "stale risk" counts those
whose last invalidation was created while they held other bytes:
CloudFront may have cached those bytes since and nothing will evict them.
The issue's rule allows that (the final bytes are the acknowledged ones);
--strict fails on it.

The package: workload.py makes the changes and records them in a
model.Model; run.py starts, kills and restarts the daemons (through
tests.e2e.daemon, which stamps each log line with its window) and drives
the stand-in; origin.py has what the S3 origin adds to that; checker.py
and s3checker.py hold the result against the model; __main__.py is the
command line.
"""
