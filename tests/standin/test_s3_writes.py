# SPDX-License-Identifier: MIT
"""Self-tests of the S3 stand-in: conditional writes, multipart uploads and
faults, driven by botocore's own S3 client.

    python3 -m unittest -v tests.standin.test_s3_writes
"""

import base64
import hashlib
import http.client
import os
import ssl
import threading
import time
import unittest

import botocore.exceptions
import botocore.parsers

from tests.standin.s3testlib import (ACCESS_KEY, BUCKET, MiB, SECRET_KEY, ClientError, S3TestCase,
                       Signer, extra_headers)
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from tests.standin.s3checks import checksum

CREATE = {"If-None-Match": "*"}


class TestConditionalWrites(S3TestCase):
    def test_if_none_match_creates_only_once(self):
        r = self.put_if("lock", b"mine", CREATE)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 200)
        with self.assertRaises(ClientError) as ctx:
            self.put_if("lock", b"theirs", CREATE)
        self.assertCode(ctx, "PreconditionFailed", 412)
        self.assertEqual(ctx.exception.response["Error"]["Condition"], "If-None-Match")
        self.assertEqual(self.cf.object_bytes("lock"), b"mine")
        e = self.cf.log()[-1]
        self.assertEqual((e["condition"], e["written"]), ("If-None-Match: *", False))
        with self.assertRaises(ClientError) as ctx:
            self.put_if("lock", b"x", {"If-None-Match": r["ETag"]})
        self.assertCode(ctx, "NotImplemented", 501)      # only "*" is allowed

    def test_if_match_replaces_only_that_version(self):
        v1 = self.put("state", b"v1")["ETag"]
        v2 = self.put_if("state", b"v2", {"If-Match": v1})["ETag"]
        self.assertEqual(self.cf.object_bytes("state"), b"v2")
        with self.assertRaises(ClientError) as ctx:
            self.put_if("state", b"v3", {"If-Match": v1})          # stale
        self.assertCode(ctx, "PreconditionFailed", 412)
        self.assertEqual(ctx.exception.response["Error"]["Condition"], "If-Match")
        self.put_if("state", b"v3", {"If-Match": v2.strip('"')})    # unquoted is fine
        self.assertEqual(self.cf.object_bytes("state"), b"v3")
        with self.assertRaises(ClientError) as ctx:
            self.put_if("absent", b"x", {"If-Match": v1})
        self.assertCode(ctx, "NoSuchKey", 404)                       # the user guide
        self.assertEqual([o["key"] for o in self.cf.objects()], ["state"])

    def held_write(self, seconds, out):
        """Start a conditional PutObject that the stand-in holds in flight
        for seconds; returns its thread once the hold has begun."""
        c = self.client()
        self.cf.inject({"fault": "hold", "seconds": seconds}, op="s3:put")

        def write():
            try:
                out["held"] = self.put_if("lock", b"held", CREATE, client=c)
            except ClientError as e:
                out["held"] = e
        t = threading.Thread(target=write)
        t.start()
        deadline = time.monotonic() + 5
        while self.cf.faults() and time.monotonic() < deadline:
            time.sleep(0.02)                  # taken: the hold has begun
        self.assertEqual(self.cf.faults(), [])
        return t

    def test_overlapping_conditional_writes_conflict(self):
        """A write held in flight while another commits answers 409."""
        out, other = {}, self.client()
        t = self.held_write(1.0, out)
        fast = self.put_if("lock", b"fast", CREATE, client=other)
        t.join()
        self.assertEqual(fast["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(out["held"].response["Error"]["Code"], "ConditionalRequestConflict")
        self.assertEqual(out["held"].response["ResponseMetadata"]["HTTPStatusCode"], 409)
        self.assertEqual(self.cf.object_bytes("lock"), b"fast")
        # without overlap the same write is a plain 412
        with self.assertRaises(ClientError) as ctx:
            self.put_if("lock", b"late", CREATE)
        self.assertCode(ctx, "PreconditionFailed", 412)
        # the setting off: only the condition at commit counts
        self.cf.configure(s3_conflict_on_overlap=False)
        t = self.held_write(1.0, out)
        other.delete_object(Bucket=BUCKET, Key="lock")
        t.join()
        self.assertEqual(out["held"]["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(self.cf.object_bytes("lock"), b"held")

    def test_a_slow_body_overlaps_too(self):
        """The window opens with the request line: a body still arriving
        when another write commits makes the conditional write 409."""
        body = b"A" * 100000
        req = AWSRequest(method="PUT", url="https://127.0.0.1:%d/%s/lk"
                         % (self.cf.port, BUCKET), data=body,
                         headers={"If-None-Match": "*"})
        Signer(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1",
               hashlib.sha256(body).hexdigest()).add_auth(req)
        ctx = ssl.create_default_context(cafile=self.cf.ca_file)
        conn = http.client.HTTPSConnection("127.0.0.1", self.cf.port, context=ctx,
                                           timeout=10)
        self.addCleanup(conn.close)
        conn.putrequest("PUT", "/%s/lk" % BUCKET, skip_host=True,
                        skip_accept_encoding=True)
        conn.putheader("Host", "127.0.0.1:%d" % self.cf.port)
        for k, v in req.headers.items():
            conn.putheader(k, v)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body[:1000])
        self.put("lk", b"meanwhile")                   # commits first
        conn.send(body[1000:])
        r = conn.getresponse()
        self.assertEqual(r.status, 409, r.read())
        self.assertEqual(self.cf.object_bytes("lk"), b"meanwhile")

    def test_delete_during_multipart_upload(self):
        """The user guide: a delete since CreateMultipartUpload makes the
        conditional completion 409 (If-None-Match) or 404 (If-Match)."""
        for headers, code, status in [(CREATE, "ConditionalRequestConflict", 409),
                                      ({"If-Match": "*"}, "NoSuchKey", 404)]:
            with self.subTest(headers=headers):
                self.cf.put_object("mpu", "old")
                up = self.c.create_multipart_upload(Bucket=BUCKET, Key="mpu")
                uid = up["UploadId"]
                p = self.c.upload_part(Bucket=BUCKET, Key="mpu", UploadId=uid,
                                       PartNumber=1, Body=b"new")
                self.c.delete_object(Bucket=BUCKET, Key="mpu")
                with extra_headers(self.c, "CompleteMultipartUpload", headers):
                    with self.assertRaises(ClientError) as ctx:
                        self.c.complete_multipart_upload(
                            Bucket=BUCKET, Key="mpu", UploadId=uid, MultipartUpload={
                                "Parts": [{"PartNumber": 1, "ETag": p["ETag"]}]})
                self.assertCode(ctx, code, status)
                self.assertEqual(self.cf.objects(), [])

    def test_conflict_fault_and_conditional_delete(self):
        self.cf.inject("conflict", op="s3:put")
        with self.assertRaises(ClientError) as ctx:
            self.put_if("k", b"x", CREATE)
        self.assertCode(ctx, "ConditionalRequestConflict", 409)
        self.assertEqual(self.cf.objects(), [])
        etag = self.put("k", b"x")["ETag"]
        with self.assertRaises(ClientError) as ctx:
            with extra_headers(self.c, "DeleteObject", {"If-Match": '"0000"'}):
                self.c.delete_object(Bucket=BUCKET, Key="k")
        self.assertCode(ctx, "PreconditionFailed", 412)
        with extra_headers(self.c, "DeleteObject", {"If-Match": etag}):
            self.c.delete_object(Bucket=BUCKET, Key="k")
        self.assertEqual(self.cf.objects(), [])


class TestMultipart(S3TestCase):
    def upload(self, key, parts, algorithm=None, headers=None):
        kw = {"ChecksumAlgorithm": algorithm} if algorithm else {}
        up = self.c.create_multipart_upload(Bucket=BUCKET, Key=key,
                                            ContentType="application/x-test", **kw)
        uid, done = up["UploadId"], []
        for n, data in enumerate(parts, 1):
            pkw = {}
            if algorithm:
                pkw["Checksum" + algorithm] = checksum(algorithm, data)
            r = self.c.upload_part(Bucket=BUCKET, Key=key, UploadId=uid, PartNumber=n,
                                   Body=data, **pkw)
            entry = {"PartNumber": n, "ETag": r["ETag"]}
            if algorithm:
                entry["Checksum" + algorithm] = r["Checksum" + algorithm]
            done.append(entry)
        return uid, done

    def complete(self, key, uid, parts, headers=None):
        with extra_headers(self.c, "CompleteMultipartUpload", headers or {}):
            return self.c.complete_multipart_upload(
                Bucket=BUCKET, Key=key, UploadId=uid, MultipartUpload={"Parts": parts})

    def test_upload_list_complete_with_checksums(self):
        parts = [os.urandom(5 * MiB), b"tail"]
        uid, done = self.upload("big.bin", parts, "SHA256")
        listed = self.c.list_parts(Bucket=BUCKET, Key="big.bin", UploadId=uid)
        self.assertEqual([(p["PartNumber"], p["Size"]) for p in listed["Parts"]],
                         [(1, 5 * MiB), (2, 4)])
        self.assertEqual([u["key"] for u in self.cf.uploads()], ["big.bin"])
        ups = self.c.list_multipart_uploads(Bucket=BUCKET)["Uploads"]
        self.assertEqual([u["UploadId"] for u in ups], [uid])
        r = self.complete("big.bin", uid, done, CREATE)
        md5s = b"".join(hashlib.md5(p).digest() for p in parts)
        etag = '"%s-2"' % hashlib.md5(md5s).hexdigest()
        composite = "%s-2" % base64.b64encode(hashlib.sha256(b"".join(
            hashlib.sha256(p).digest() for p in parts)).digest()).decode()
        self.assertEqual((r["ETag"], r["ChecksumSHA256"]), (etag, composite))
        h = self.c.head_object(Bucket=BUCKET, Key="big.bin", ChecksumMode="ENABLED")
        self.assertEqual((h["ETag"], h["ContentLength"], h["ContentType"],
                          h["ChecksumSHA256"]),
                         (etag, 5 * MiB + 4, "application/x-test", composite))
        self.assertEqual(self.cf.object_bytes("big.bin"), b"".join(parts))
        self.assertEqual((self.cf.objects()[0]["parts"], self.cf.uploads()), (2, []))
        # a conditional completion over an existing key
        uid, done = self.upload("big.bin", [b"again"])
        with self.assertRaises(ClientError) as ctx:
            self.complete("big.bin", uid, done, CREATE)
        self.assertCode(ctx, "PreconditionFailed", 412)
        self.complete("big.bin", uid, done, {"If-Match": etag})
        self.assertEqual(self.cf.object_bytes("big.bin"), b"again")

    def test_log_names_the_metadata_each_write_stored(self):
        # The chaos checker reads which object versions carried a cache
        # tag from the log (tests/chaos/tagcheck.py).
        self.c.put_object(Bucket=BUCKET, Key="p", Body=b"x",
                          Metadata={"Cache-Tag": "cfw-a"})
        up = self.c.create_multipart_upload(Bucket=BUCKET, Key="m",
                                            Metadata={"cache-tag": "cfw-b"})
        r = self.c.upload_part(Bucket=BUCKET, Key="m", UploadId=up["UploadId"],
                               PartNumber=1, Body=b"y")
        self.complete("m", up["UploadId"], [{"PartNumber": 1, "ETag": r["ETag"]}])
        writes = [(e["action"], e["metadata"]) for e in self.cf.log(service="s3")
                  if e.get("written")]
        self.assertEqual(writes, [
            ("PutObject", {"x-amz-meta-cache-tag": "cfw-a"}),
            ("CompleteMultipartUpload", {"x-amz-meta-cache-tag": "cfw-b"})])

    def test_entity_too_small(self):
        uid, done = self.upload("small", [b"a" * 1024, b"b" * 1024])
        with self.assertRaises(ClientError) as ctx:
            self.complete("small", uid, done)
        self.assertCode(ctx, "EntityTooSmall", 400)
        err = ctx.exception.response["Error"]
        self.assertEqual((err["ProposedSize"], err["MinSizeAllowed"], err["PartNumber"]),
                         ("1024", str(5 * MiB), "1"))
        self.assertEqual(self.cf.objects(), [])
        self.complete("small", uid, done[:1])            # one part: the last
        self.assertEqual(self.cf.object_bytes("small"), b"a" * 1024)

    def test_bad_part_lists_and_abort(self):
        uid, done = self.upload("k", [b"1", b"2"])
        for parts, code in [([{"PartNumber": 1, "ETag": '"0000"'}], "InvalidPart"),
                            ([{"PartNumber": 3, "ETag": done[0]["ETag"]}], "InvalidPart"),
                            (done[::-1], "InvalidPartOrder")]:
            with self.subTest(code=code):
                with self.assertRaises(ClientError) as ctx:
                    self.complete("k", uid, parts)
                self.assertCode(ctx, code, 400)
        for n in (0, 10001):
            with self.assertRaises(ClientError) as ctx:
                self.c.upload_part(Bucket=BUCKET, Key="k", UploadId=uid, PartNumber=n,
                                   Body=b"x")
            self.assertCode(ctx, "InvalidArgument", 400)
        self.c.abort_multipart_upload(Bucket=BUCKET, Key="k", UploadId=uid)
        self.assertEqual(self.cf.uploads(), [])
        with self.assertRaises(ClientError) as ctx:
            self.complete("k", uid, done)
        self.assertCode(ctx, "NoSuchUpload", 404)
        self.assertEqual(self.cf.objects(), [])


class TestFaults(S3TestCase):
    def test_error_faults(self):
        for fault, code, status in [("503", "SlowDown", 503),
                                    ("500", "InternalError", 500),
                                    ("request_timeout", "RequestTimeout", 400),
                                    ("conflict", "ConditionalRequestConflict", 409),
                                    ("access_denied", "AccessDenied", 403)]:
            with self.subTest(fault=fault):
                self.cf.inject(fault, op="s3:put")
                with self.assertRaises(ClientError) as ctx:
                    self.put("k")
                self.assertCode(ctx, code, status)
                e = self.cf.log()[-1]
                self.assertEqual((e["fault"], e["operation"]), (fault, "s3:put"))
        self.assertEqual(self.cf.objects(), [])
        self.cf.inject({"fault": "error", "status": 502, "code": "BadGateway"}, op="s3")
        with self.assertRaises(ClientError) as ctx:
            self.c.list_objects_v2(Bucket=BUCKET)
        self.assertCode(ctx, "BadGateway", 502)

    def test_op_and_action_filters(self):
        self.cf.inject("503", op="s3:get")
        self.cf.inject({"fault": "500", "op": "s3:multipart",
                        "action": "CompleteMultipartUpload"})
        self.put("k")                                 # not s3:get
        up = self.c.create_multipart_upload(Bucket=BUCKET, Key="m")
        p = self.c.upload_part(Bucket=BUCKET, Key="m", UploadId=up["UploadId"],
                               PartNumber=1, Body=b"x")
        with self.assertRaises(ClientError) as ctx:
            self.c.complete_multipart_upload(
                Bucket=BUCKET, Key="m", UploadId=up["UploadId"],
                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p["ETag"]}]})
        self.assertCode(ctx, "InternalError", 500)
        with self.assertRaises(ClientError) as ctx:
            self.c.get_object(Bucket=BUCKET, Key="k")
        self.assertCode(ctx, "SlowDown", 503)
        self.assertEqual(self.cf.faults(), [])

    def test_reset_and_lost(self):
        self.cf.inject("reset", op="s3:put")
        with self.assertRaises(botocore.exceptions.BotoCoreError):
            self.put("k", b"1")
        self.assertEqual(self.cf.objects(), [])
        self.cf.inject("lost", op="s3:put")
        with self.assertRaises(botocore.exceptions.BotoCoreError):
            self.put_if("k", b"2", CREATE)
        e = self.cf.log()[-1]
        self.assertEqual((e["status"], e["processed_status"], e["written"]),
                         ("reset", 200, True))
        self.assertEqual(self.cf.object_bytes("k"), b"2")    # it was written
        with self.assertRaises(ClientError) as ctx:           # so the retry: 412
            self.put_if("k", b"2", CREATE)
        self.assertCode(ctx, "PreconditionFailed", 412)

    def test_hang_slow_delay_hold(self):
        c = self.client(read_timeout=0.3)
        # The hang outlasts the client's timeout tenfold: a loaded machine
        # may be slow to send, never that slow.
        self.cf.inject({"fault": "hang", "seconds": 3}, op="s3:get")
        self.cf.put_object("k", "x")
        t0 = time.monotonic()
        with self.assertRaises(botocore.exceptions.ReadTimeoutError):
            c.get_object(Bucket=BUCKET, Key="k")
        self.assertLess(time.monotonic() - t0, 2.5)
        deadline = time.monotonic() + 8       # logged when the hang ends
        while not self.cf.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.cf.log()[-1]["status"], "hang")
        for fault in ("slow", "delay", "hold"):
            with self.subTest(fault=fault):
                # slow writes its last piece a step (1/20 s) before the end
                self.cf.inject({"fault": fault, "seconds": 0.4}, op="s3:put")
                t0 = time.monotonic()
                self.put("k", fault.encode())
                self.assertGreaterEqual(time.monotonic() - t0, 0.3)
                self.assertEqual(self.cf.object_bytes("k"), fault.encode())

    def test_garbage_huge_bad_length(self):
        self.cf.inject("garbage", op="s3:list")
        # botocore >= 1.36 turns an S3 200 it cannot parse into a 500
        with self.assertRaises((botocore.parsers.ResponseParserError, ClientError)):
            self.c.list_objects_v2(Bucket=BUCKET)
        self.assertEqual(self.cf.log()[-1]["status"], 200)
        self.cf.inject({"fault": "huge", "size": 2 * MiB}, op="s3:list")
        with self.assertRaises(ClientError) as ctx:
            self.c.list_objects_v2(Bucket=BUCKET)
        self.assertCode(ctx, "InternalError", 500)
        self.assertEqual(int(ctx.exception.response["ResponseMetadata"]["HTTPHeaders"]
                             ["content-length"]), 2 * MiB)
        self.cf.inject("bad_length", op="s3:put")
        with self.assertRaises(http.client.IncompleteRead):
            self.raw("PUT", "/%s/bl" % BUCKET, b"x")
        self.assertEqual(self.cf.object_bytes("bl"), b"x")   # processed by default

    def test_chaos_is_reproducible(self):
        self.cf.put_object("k", "x")

        def run(seed):
            self.cf.reset()
            self.cf.put_object("k", "x")
            self.cf.chaos(seed=seed, rate=0.5, faults=["503", "500", "conflict"], op="s3")
            out = []
            for _ in range(12):
                try:
                    self.c.head_object(Bucket=BUCKET, Key="k")
                    out.append("ok")
                except ClientError as e:
                    out.append(e.response["Error"]["Code"])
            self.cf.chaos(rate=0)
            return out
        a, b, c = run(3), run(3), run(4)
        self.assertEqual(a, b)
        self.assertNotEqual(a, c)
        self.assertTrue("ok" in a and any(x != "ok" for x in a))


if __name__ == "__main__":
    unittest.main()
