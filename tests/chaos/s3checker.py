# SPDX-License-Identifier: MIT
"""The chaos test's checks of an S3 origin (origin mode), beside
checker.Checker's:

  (e) the bucket holds exactly the tree: a key under the prefix for
      every file and no other key, each with the file's final bytes and
      the x-amz-checksum-sha256 S3 keeps for them;
  (f) no invalidation was created before S3 held the bytes it covers:
      for each created invalidation and each file it covers that held
      one state all through the window its batch may have been hashed
      in, S3 held that state's object when CloudFront took the request
      (a file that changed in the window may have been found stale by
      its upload: it is sent again, and its later invalidation is
      checked); and the last invalidation covering a file whose final
      bytes came before it was created while S3 held those bytes;
  (g) no object was deleted before CloudFront accepted an invalidation
      covering its file, made since the file went away.

What S3 held when is replayed from the stand-in's log in the order
requests took effect (S3Checker.position): PutObject and
CompleteMultipartUpload that wrote an object, DeleteObjects and
DeleteObject that removed one; ETags stand for the bytes
(origin.etag)."""
import hashlib
import re

from tests.chaos import origin
from tests.chaos.checker import EPS
from tests.chaos.model import stand_in_time

WRITES = origin.WRITES
DELETES = origin.DELETES


SCANNED = re.compile(r": scanned \d+ files, .* in \d+ ms$")
# What the daemon logs when a pass fails (right after its "scanned"), or
# holds a mass deletion (which sends nothing, not even recorded batches).
FAILED = re.compile(r"; keeping the changes, trying again in ")
HELD = re.compile(r" files are gone: more than max_delete")
# What the first pass logs between the two (daemon.c).
STARTUP = re.compile(r": start-up read \d+ directories once")
# A reload (SIGHUP, --excludes) stops the pass in progress, which then
# logs "scanned" too without having sent what it recorded (app_watch.c).
RELOADING = re.compile(r"SIGHUP: reloading|SIGHUP during a reload")
RELOADED = re.compile(r"configuration reloaded$")


def clean_passes(life):
    """(lo, hi) of each line a daemon logged at the end of a pass that
    went through (daemon.c logs "scanned ..." as a pass ends, and the
    error of a failed one right after it, or after the start-up line of
    a first pass); a pass a reload stopped is not one."""
    lines = life.daemon.lines("err")
    out = []
    held = False
    reloading = False
    for i, ln in enumerate(lines):
        if HELD.search(ln.text):
            held = True
        if RELOADING.search(ln.text):
            reloading = True
        elif RELOADED.search(ln.text):
            reloading = False
        if not SCANNED.search(ln.text):
            continue
        j = i + 1
        if j < len(lines) and STARTUP.search(lines[j].text):
            j += 1
        failed = j < len(lines) and FAILED.search(lines[j].text)
        if not held and not failed and not reloading:
            out.append((ln.lo, ln.hi))
        held = False
    return out


class S3Checker:
    def __init__(self, run, checker):
        self.run = run
        self.c = checker
        self.m = run.work.model
        self.cf = run.cf
        self.out = run.out
        self.fail = run.fail
        self.etags = {}  # id(bytes) -> (bytes, ETag)

    def etag(self, data):
        got = self.etags.get(id(data))
        if got is None or got[0] is not data:
            got = (data, origin.etag(data))
            self.etags[id(data)] = got
        return got[1]

    def check(self):
        log = self.cf.log()
        self.replay(sorted(log, key=self.position(log)))
        self.check_bucket()
        self.check_uploaded_first()
        self.check_final_uploaded()
        self.check_deleted_last()
        self.figures(log)

    # ---- what S3 held at each creation
    @staticmethod
    def position(log):
        """The order requests took effect in: their seq, given as each
        ends, except that a request answered slowly or late (the faults
        slow and delay) took effect once it was read, and its answer went
        out afterwards: it goes before the first request that started
        after it."""
        starts = sorted((stand_in_time(e["time"]), e["seq"]) for e in log)
        late = {}
        for e in log:
            if e.get("fault") in ("slow", "delay"):
                t = stand_in_time(e["time"])
                late[e["seq"]] = min((seq for t2, seq in starts if t2 > t),
                                     default=e["seq"] + 0.5) - 0.5
        return lambda e: (late.get(e["seq"], e["seq"]), e["seq"])

    def replay(self, log):
        """held[inv id]: {key: ETag} when its create request ended;
        seq[inv id]: that request's seq; removals: [(entry, key)]."""
        state = {}
        self.held, self.seq, self.removals = {}, {}, []
        for e in log:
            if e.get("service") == "s3":
                if e.get("action") in WRITES and e.get("written"):
                    state[e["key"]] = e["etag"]
                elif e.get("action") in DELETES:
                    for k in e.get("deleted") or []:
                        state.pop(k, None)
                        if e["seq"] > self.run.base_seq:
                            self.removals.append((e, k))
            elif e["operation"] == "create" and e.get("created") and \
                    e["seq"] > self.run.base_seq:
                self.held[e["invalidation"]] = dict(state)
                self.seq[e["invalidation"]] = e["seq"]

    # ---- (e) the bucket is the tree
    def check_bucket(self):
        objs = {o["key"]: o for o in self.cf.objects(origin.BUCKET)}
        for k in sorted(objs):
            rel = origin.rel_of(k)
            if rel not in self.m.cur:
                self.fail("s3://%s/%s is in the bucket, but %s" % (
                    origin.BUCKET, k, "outside the prefix" if rel is None
                    else "%s is not in the tree" % rel))
        for rel in sorted(self.m.cur):
            data = self.m.cur[rel]
            o = objs.get(origin.key(rel))
            if o is None:
                self.fail("%s: no object s3://%s/%s" % (
                    rel, origin.BUCKET, origin.key(rel)))
                continue
            if o["sha256"] != hashlib.sha256(data).hexdigest():
                self.fail("%s: the object holds other bytes (%d, ETag %s) "
                          "than the file's %s (%d)" % (
                              rel, o["size"], o["etag"], self.c.show(data),
                              len(data)))
                continue
            want = {"algorithm": "SHA256", "value": origin.checksum(data),
                    "type": "FULL_OBJECT" if origin.parts(data) is None
                    else "COMPOSITE"}
            if o["checksum"] != want:
                self.fail("%s: S3's checksum is %s, not %s" % (
                    rel, o["checksum"], want))
        left = self.cf.uploads(origin.BUCKET)
        self.out.figures["s3_leftover_uploads"] = len(left)

    # ---- (f) uploads before the invalidation
    def window(self, inv):
        """The moments the batch of inv may have been hashed in, and
        whether its daemon logged it as one of its own scan's: then from
        checker.lower_bound.  Else (a batch recorded by an earlier pass
        or daemon, or its daemon killed before it said) from the end of
        the last pass that went through before inv was created: such a
        pass sends every batch recorded before it began, so the batch of
        inv was recorded, and hashed, after it ended."""
        own = re.compile(r"batch: .*invalidation %s \(.*settled$"
                         % re.escape(inv["id"]))
        for life in self.run.lives:
            if any(own.search(line) for line in life.daemon.log()):
                return inv.get("lb", inv["t"]), True
        lb = self.run.lives[0].spawn
        for life in self.run.lives:
            lb = max([lb] + [lo for lo, hi in clean_passes(life)
                             if hi <= inv["t"] - EPS])
        return lb, False

    def check_uploaded_first(self):
        checked = skipped = wide = wide_skips = 0
        for inv in self.c.invs:
            held = self.held.get(inv["id"])
            if held is None:
                continue
            lb, own = self.window(inv)
            wide += not own
            rels = {rel for p in inv["paths"] for rel in self.c.files_of(p)}
            for rel in sorted(rels):
                states = self.m.states_in(rel, lb - EPS, inv["t"] + EPS)
                if states == {None}:
                    continue  # removed: check_deleted_last's part
                if None in states or len(states) != 1:
                    skipped += 1
                    wide_skips += not own
                    continue
                checked += 1
                (data,) = states
                got = held.get(origin.key(rel))
                if got != self.etag(data):
                    self.fail(
                        "%s: invalidation %s (%s, request #%d) was created "
                        "while S3 held %s, not %s (ETag %s), which the file "
                        "held all through [%.3f, %.3f]" % (
                            rel, inv["id"], inv["create_time"],
                            self.seq[inv["id"]],
                            "no object" if got is None else "ETag " + got,
                            self.c.show(data), self.etag(data), lb,
                            inv["t"]))
        f = self.out.figures
        f["s3_pairs_checked"] = checked
        f["s3_pairs_skipped"] = skipped
        f["s3_wide_windows"] = wide
        f["s3_wide_skips"] = wide_skips

    def check_final_uploaded(self):
        for rel in sorted(self.m.cur):
            if not self.m.changed(rel):
                continue
            data = self.m.cur[rel]
            covering = [i for i in self.c.invs
                        if i["id"] in self.held and self.c.covers(i, rel)]
            if not covering or self.m.hist[rel][-1][0] > covering[-1]["t"] \
                    + EPS:
                continue  # checker.check_covered's part
            last = covering[-1]
            got = self.held[last["id"]].get(origin.key(rel))
            if got != self.etag(data):
                self.fail("%s: its last invalidation, %s (%s), was created "
                          "while S3 held %s, not its final bytes %s" % (
                              rel, last["id"], last["create_time"],
                              "no object" if got is None else "ETag " + got,
                              self.c.show(data)))

    # ---- (g) deletions after the invalidation
    def check_deleted_last(self):
        for e, k in self.removals:
            rel = origin.rel_of(k)
            t = stand_in_time(e["time"])
            gone = [t0 for t0, _, state in self.m.hist.get(rel, [])[1:]
                    if state is None and t0 <= t + EPS]
            if rel is None or not gone:
                self.fail("request #%d deleted s3://%s/%s, whose file %s" % (
                    e["seq"], origin.BUCKET, k, "is outside the prefix"
                    if rel is None else "never went away"))
                continue
            if not any(self.seq[i["id"]] < e["seq"] and
                       i["t"] + EPS >= max(gone) and self.c.covers(i, rel)
                       for i in self.c.invs if i["id"] in self.seq):
                self.fail("request #%d (%s) deleted s3://%s/%s before "
                          "CloudFront accepted an invalidation of %s made "
                          "since it went away (%.3f)" % (
                              e["seq"], e["time"], origin.BUCKET, k, rel,
                              max(gone)))

    def figures(self, log):
        f = self.out.figures
        s3 = [e for e in log if e.get("service") == "s3"
              and e["seq"] > self.run.base_seq]
        f["s3_requests"] = len(s3)
        f["s3_faults"] = sum(1 for e in s3 if e.get("fault"))
        f["s3_writes"] = sum(1 for e in s3 if e.get("written"))
        f["s3_multipart"] = sum(1 for e in s3 if e.get("written") and
                                e["action"] == "CompleteMultipartUpload")
        f["s3_deleted"] = len(self.removals)
