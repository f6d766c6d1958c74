# SPDX-License-Identifier: MIT
"""The chaos test's S3-origin mode (issue 14): the bucket, the faults S3
answers with, and the moments a kill aims at in a deploy (see
README "An S3 origin: upload, invalidate, delete").

Per pass the daemon records its intents, uploads the changed files
(assets, then HTML; multipart above a threshold), records UPLOADED,
creates the invalidation, deletes the removed files' objects, then
commits.  The kills below aim at each step of that; run.Run.kill calls
kill_wait() for them."""
import base64
import hashlib
import os
import re
import signal
import time

from tests.chaos.inotify import Inotify

BUCKET = "chaos-origin"
PREFIX = "site"
REGION = "eu-west-1"
# The daemon sends files over this many bytes as multipart uploads in
# parts of S3's least size, 5 MiB (CFWATCH_TEST_MULTIPART_BYTES, in
# src/site_origin.c; without it the threshold is 64 MiB); the workload
# writes a few files of 5 to 8 MiB, so they go in two parts.
MULTIPART_BYTES = 5 << 20
PART_BYTES = 5 << 20

# What S3 answers with in chaos (tests/standin/README.md, S3 "Faults"):
# 503 SlowDown, 500 InternalError, 400 RequestTimeout, a reset, the
# request done but its answer lost (a reset after the write: listed
# twice, since a retried PUT or DeleteObjects is what must be harmless),
# a cut answer, a slow one and a hang.  Garbage with a 200 is left out:
# S3 never answers a write it did not make with a 200.
S3_FAULTS = ["503", "500", "request_timeout", "reset", "lost", "lost",
             "bad_length", {"fault": "slow", "seconds": 1},
             {"fault": "hang", "seconds": 1.5}]
# CloudFront's faults apply to CloudFront's own operations only.
CF_OPS = ("create", "get", "list")

# The kill modes of origin mode, added to run.KILL_MODES; see kill_wait.
KILL_MODES = [("upload", 3), ("multipart", 1), ("uploaded", 2),
              ("after201", 2), ("delete", 2), ("s3lost", 2)]

REQUEST = re.compile(r"trace: http #(\d+): > ([A-Z]+) (\S+) HTTP/")
BODY_OUT = re.compile(r"trace: http #(\d+): > \d+ bytes of body")
STATUS = re.compile(r"trace: http #(\d+): < HTTP/\S+ (\d+)")
S3_RETRYING = re.compile(r"warn: S3 \S+ s3://.*; retrying in \d+ ms$")


def faults(cf_faults):
    """The chaos set of origin mode: cf_faults on CloudFront's
    operations (a lost 201 on create only, as the stand-in does by
    default), S3_FAULTS on S3's."""
    out = []
    for f in cf_faults:
        f = {"fault": f} if isinstance(f, str) else dict(f)
        ops = ("create",) if f["fault"] == "lost201" else CF_OPS
        out += [dict(f, op=op) for op in ops]
    for f in S3_FAULTS:
        f = {"fault": f} if isinstance(f, str) else dict(f)
        out.append(dict(f, op="s3"))
    return out


def daemon_args(cf, tags=False):
    return ["--origin", "s3://%s/%s" % (BUCKET, PREFIX), "--region", REGION,
            "--s3-endpoint", cf.endpoint] + (
                ["--cache-tag-header", TAG_HEADER] if tags else [])


# The stand-in log's actions that write an object, and that delete.
WRITES = ("PutObject", "CompleteMultipartUpload")
DELETES = ("DeleteObjects", "DeleteObject")

# With --cache-tags: the header every upload carries its tag in, and
# the one the distribution's CacheTagConfig names.
TAG_HEADER = "x-amz-meta-cache-tag"


def tag_item(rel):
    """The '#tag' item of rel's object (include/cachetag.h)."""
    digest = hashlib.sha256(key(rel).encode()).digest()[:10]
    return "#cfw-" + base64.b32encode(digest).decode().lower()


def key(rel):
    return "%s/%s" % (PREFIX, rel)


def rel_of(k):
    return k[len(PREFIX) + 1:] if k.startswith(PREFIX + "/") else None


# ---- what S3 stores for given bytes
def parts(data):
    if len(data) <= MULTIPART_BYTES:
        return None
    return [data[i:i + PART_BYTES] for i in range(0, len(data), PART_BYTES)]


def etag(data):
    """The ETag S3 gives data as the daemon uploads it: the MD5, or for
    a multipart upload the MD5 of the parts' MD5s and their count."""
    ps = parts(data)
    if ps is None:
        return '"%s"' % hashlib.md5(data).hexdigest()
    both = b"".join(hashlib.md5(p).digest() for p in ps)
    return '"%s-%d"' % (hashlib.md5(both).hexdigest(), len(ps))


def checksum(data):
    """The x-amz-checksum-sha256 S3 keeps: the whole object's, or for a
    multipart upload the COMPOSITE one (the SHA-256 of the parts'
    SHA-256s, then -N)."""
    ps = parts(data)
    if ps is None:
        return base64.b64encode(hashlib.sha256(data).digest()).decode()
    both = b"".join(hashlib.sha256(p).digest() for p in ps)
    return "%s-%d" % (base64.b64encode(hashlib.sha256(both).digest())
                      .decode(), len(ps))


# ---- the daemon's HTTP trace
class Request:
    def __init__(self, method, target):
        self.method = method
        self.target = target
        self.body_out = False
        self.status = None  # the last final status

    @property
    def s3(self):
        return self.target.startswith("/%s" % BUCKET)

    @property
    def kind(self):
        """put, part, create_mpu, complete_mpu, abort_mpu, delete,
        invalidation, or other."""
        t, m = self.target, self.method
        if not self.s3:
            return "invalidation" if m == "POST" else "other"
        if m == "PUT":
            return "part" if "partNumber=" in t else "put"
        if m == "POST" and t.endswith("?uploads"):
            return "create_mpu"
        if m == "POST" and "?delete" in t:
            return "delete"
        if m == "POST" and "uploadId=" in t:
            return "complete_mpu"
        if m == "DELETE" and "uploadId=" in t:
            return "abort_mpu"
        return "other"


def trace(lines):
    """The HTTP requests in a daemon's stderr lines, in the order they
    were started: [(id, Request)]."""
    reqs = {}
    order = []
    for line in lines:
        m = REQUEST.search(line)
        if m:
            reqs[m.group(1)] = Request(m.group(2), m.group(3))
            order.append(m.group(1))
            continue
        m = BODY_OUT.search(line)
        if m and m.group(1) in reqs:
            reqs[m.group(1)].body_out = True
            continue
        m = STATUS.search(line)
        if m and m.group(1) in reqs and int(m.group(2)) >= 200:
            reqs[m.group(1)].status = int(m.group(2))
    return [(i, reqs[i]) for i in order]


def classify(lines):
    """Tags for what a killed daemon was doing in the deploy, from its
    trace: mid-upload (a PUT, part or completion in flight),
    mid-multipart (an upload created, not completed), uploaded (S3 has
    answered the last write and nothing started since: the uploads are
    done or between two of them, the invalidation not started),
    mid-delete (DeleteObjects in flight), before-delete (a 201 was the
    last answer and nothing started since)."""
    reqs = trace(lines)
    tags = []
    busy = [r for _, r in reqs if r.status is None]
    if any(r.kind in ("put", "part", "complete_mpu") for r in busy):
        tags.append("mid-upload")
    open_mpu = set()
    for _, r in reqs:
        path = r.target.split("?")[0]
        if r.kind == "create_mpu" and r.status == 200:
            open_mpu.add(path)
        elif r.kind in ("complete_mpu", "abort_mpu") and r.status in (200,
                                                                     204):
            open_mpu.discard(path)
    if open_mpu:
        tags.append("mid-multipart")
    if any(r.kind == "delete" for r in busy):
        tags.append("mid-delete")
    if reqs and not busy:
        last = reqs[-1][1]
        if last.kind in ("put", "complete_mpu") and last.status == 200:
            tags.append("uploaded")
        if last.kind == "invalidation" and last.status == 201:
            tags.append("before-delete")
    return tags


# ---- the kills
def kill_wait(run, mode, d, mark, delay, wait):
    """Waits for the moment mode aims at and returns whether it came
    (False after wait seconds); the caller kills (unless this did, from
    inside an inotify wait):
      upload: just after a PutObject's body went out (before or after
        S3 stored it);
      multipart: in a multipart upload, after its creation, a part's
        body or its completion went out (a change to a big file);
      uploaded: the UPLOADED record (a journal append after S3 answered
        a write), at once or a few ms later: the invalidation is next;
      after201: the moment a 201 arrived, before the deletions;
      delete: just after DeleteObjects' body went out;
      s3lost: in the backoff after an S3 write whose answer was lost
        (the write was made): the next daemon must not lose it."""
    if mode == "upload":
        return await_request(d, mark, ("put",), wait, body=True) and \
            pause(delay * 0.004)
    if mode == "multipart":
        stage = ("create_mpu", "part", "complete_mpu")[int(delay * 3) % 3]
        return await_request(d, mark, (stage,), wait,
                             body=stage == "part") and pause(delay * 0.002)
    if mode == "after201":
        return d.wait_for(r"trace: http #\d+: < HTTP/\S+ 201", start=mark,
                          timeout=wait, fail=False) is not None
    if mode == "delete":
        return await_request(d, mark, ("delete",), wait, body=True) and \
            pause(delay * 0.004)
    if mode == "s3lost":
        op = ("s3:put", "s3:put", "s3:delete", "s3:multipart")[
            int(delay * 4) % 4]
        run.cf.inject({"fault": "lost", "op": op})
        return d.wait_for(S3_RETRYING.pattern, start=mark, timeout=wait,
                          fail=False) is not None and pause(delay * 0.2)
    if mode == "uploaded":
        return await_uploaded(run, d, mark, delay, wait)
    raise ValueError(mode)


def pause(s):
    time.sleep(s)
    return True


def await_request(d, mark, kinds, timeout, body=False):
    """Whether a request of one of kinds (see Request.kind) started
    after line mark (and its body went out, if body) within timeout."""
    def test():
        lines = [ln.text for ln in d.lines("err")[mark:]]
        return any(r.kind in kinds and (r.body_out or not body)
                   for _, r in trace(lines))

    return d.wait_until(test, "a request of %s" % (kinds,), timeout,
                        fail=False) is not None


def await_uploaded(run, d, mark, delay, wait):
    """Kills at the UPLOADED record: the first append to the journal
    made once S3 has answered a write after mark, or the second append
    since mark (the first is the intent) if the daemon's lines lag."""
    seen = [0]

    def at_uploaded(name, mask):
        if name != "journal":
            return False
        seen[0] += 1
        lines = [ln.text for ln in d.lines("err")[mark:]]
        wrote = any(r.kind in ("put", "complete_mpu") and r.status == 200
                    for _, r in trace(lines))
        if not wrote and seen[0] < 2:
            return False
        if delay < 0.5:
            os.kill(d.pid, signal.SIGKILL)
        return True

    ino = Inotify(run.state, Inotify.IN_MODIFY)
    try:
        hit = ino.wait(at_uploaded, wait)
    finally:
        ino.close()
    if delay >= 0.5:
        time.sleep((delay - 0.5) * 0.004)
    return hit is not None
