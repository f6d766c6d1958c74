# SPDX-License-Identifier: MIT
"""Self-tests of the S3 stand-in: objects, listing, integrity and SigV4,
driven by botocore's own S3 client and by raw signed requests.

    python3 -m unittest -v tests.standin.test_s3
"""

import base64
import hashlib
import os
import unittest

from tests.standin.s3testlib import BUCKET, ClientError, S3TestCase
from tests.standin.s3checks import checksum


class TestObjects(S3TestCase):
    def test_put_get_head_keep_the_headers_that_matter(self):
        body = b"<h1>hello</h1>\n"
        sha = base64.b64encode(hashlib.sha256(body).digest()).decode()
        r = self.put("site/index.html", body, ContentType="text/html; charset=utf-8",
                     CacheControl="max-age=60", ContentEncoding="identity",
                     ContentDisposition="inline", Metadata={"Cfwatch-Hash": "abc"},
                     ChecksumSHA256=sha)
        etag = '"%s"' % hashlib.md5(body).hexdigest()
        self.assertEqual(r["ETag"], etag)
        self.assertEqual(r["ChecksumSHA256"], sha)
        g = self.c.get_object(Bucket=BUCKET, Key="site/index.html")
        self.assertEqual(g["Body"].read(), body)
        self.assertEqual((g["ContentType"], g["CacheControl"], g["ContentEncoding"],
                          g["ContentDisposition"], g["Metadata"], g["ETag"]),
                         ("text/html; charset=utf-8", "max-age=60", "identity",
                          "inline", {"cfwatch-hash": "abc"}, etag))
        h = self.c.head_object(Bucket=BUCKET, Key="site/index.html", ChecksumMode="ENABLED")
        self.assertEqual((h["ContentLength"], h["ChecksumSHA256"]), (len(body), sha))
        # the checksum only with x-amz-checksum-mode: ENABLED
        _, plain, _ = self.raw("HEAD", "/%s/site/index.html" % BUCKET)
        _, asked, _ = self.raw("HEAD", "/%s/site/index.html" % BUCKET,
                               headers={"x-amz-checksum-mode": "ENABLED"})
        self.assertEqual((plain.get("x-amz-checksum-sha256"),
                          asked.get("x-amz-checksum-sha256")), (None, sha))
        hdrs = h["ResponseMetadata"]["HTTPHeaders"]
        self.assertEqual(hdrs["server"], "AmazonS3")
        self.assertEqual(hdrs["x-amz-request-id"], h["ResponseMetadata"]["RequestId"])
        [o] = self.cf.objects()
        self.assertEqual((o["key"], o["size"], o["etag"], o["sha256"], o["checksum"]),
                         ("site/index.html", len(body), etag,
                          hashlib.sha256(body).hexdigest(),
                          {"algorithm": "SHA256", "value": sha, "type": "FULL_OBJECT"}))
        self.assertEqual(o["headers"]["cache-control"], "max-age=60")
        self.assertEqual(o["metadata"], {"x-amz-meta-cfwatch-hash": "abc"})
        self.assertEqual(self.cf.object_bytes("site/index.html"), body)
        self.assertEqual([(e["action"], e["operation"], e["status"], e["signature_ok"])
                          for e in self.cf.log(service="s3")],
                         [("PutObject", "s3:put", 200, True),
                          ("GetObject", "s3:get", 200, True)] +
                         [("HeadObject", "s3:head", 200, True)] * 3)

    def test_default_content_type_and_empty_object(self):
        self.put("empty", b"")
        h = self.c.head_object(Bucket=BUCKET, Key="empty")
        self.assertEqual((h["ContentLength"], h["ContentType"], h["ETag"]),
                         (0, "binary/octet-stream", '"d41d8cd98f00b204e9800998ecf8427e"'))

    def test_keys_are_the_path_encoded_once(self):
        keys = ["a b/c+d.txt", "caf\u00e9/\u00fc.html", "100%.txt", "a~b", "x//y",
                "q?a=1&b", "semi;colon=,"]
        for i, key in enumerate(keys):
            self.put(key, str(i).encode())
        self.assertEqual(sorted(o["key"] for o in self.cf.objects()), sorted(keys))
        for i, key in enumerate(keys):
            self.assertEqual(self.c.get_object(Bucket=BUCKET, Key=key)["Body"].read(),
                             str(i).encode())
        listed = self.c.list_objects_v2(Bucket=BUCKET)["Contents"]
        self.assertEqual(sorted(o["Key"] for o in listed), sorted(keys))

    def test_range_and_conditional_get(self):
        self.put("r", b"0123456789")
        g = self.c.get_object(Bucket=BUCKET, Key="r", Range="bytes=2-5")
        self.assertEqual((g["Body"].read(), g["ContentRange"]), (b"2345", "bytes 2-5/10"))
        self.assertEqual(g["ResponseMetadata"]["HTTPStatusCode"], 206)
        g = self.c.get_object(Bucket=BUCKET, Key="r", Range="bytes=-3")
        self.assertEqual(g["Body"].read(), b"789")
        with self.assertRaises(ClientError) as ctx:
            self.c.get_object(Bucket=BUCKET, Key="r", Range="bytes=10-")
        self.assertCode(ctx, "InvalidRange", 416)
        etag = self.c.head_object(Bucket=BUCKET, Key="r")["ETag"]
        with self.assertRaises(ClientError) as ctx:
            self.c.get_object(Bucket=BUCKET, Key="r", IfMatch='"0000"')
        self.assertCode(ctx, "PreconditionFailed", 412)
        with self.assertRaises(ClientError) as ctx:
            self.c.get_object(Bucket=BUCKET, Key="r", IfNoneMatch=etag)
        self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], 304)

    def test_missing_key_and_bucket(self):
        with self.assertRaises(ClientError) as ctx:
            self.c.get_object(Bucket=BUCKET, Key="nope")
        self.assertCode(ctx, "NoSuchKey", 404)
        self.assertEqual(ctx.exception.response["Error"]["Key"], "nope")
        with self.assertRaises(ClientError) as ctx:
            self.c.head_object(Bucket=BUCKET, Key="nope")
        self.assertCode(ctx, "404", 404)                  # HEAD: no body
        with self.assertRaises(ClientError) as ctx:
            self.c.put_object(Bucket="no-such-bucket", Key="k", Body=b"x")
        self.assertCode(ctx, "NoSuchBucket", 404)
        self.assertEqual(ctx.exception.response["Error"]["BucketName"], "no-such-bucket")

    def test_delete_object(self):
        self.put("gone", b"x")
        r = self.c.delete_object(Bucket=BUCKET, Key="gone")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertEqual(self.cf.objects(), [])
        r = self.c.delete_object(Bucket=BUCKET, Key="gone")     # absent: 204 too
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertEqual([e["deleted"] for e in self.cf.log(service="s3")[1:]],
                         [["gone"], []])

    def test_delete_objects_per_key_results(self):
        self.cf.create_bucket(BUCKET, refuse_delete=["keep/"])
        self.cf.put_objects({"a": "1", "b": "2", "keep/c": "3"})
        r = self.c.delete_objects(Bucket=BUCKET, Delete={"Objects": [
            {"Key": "a"}, {"Key": "keep/c"}, {"Key": "absent"}]})
        self.assertEqual(sorted(d["Key"] for d in r["Deleted"]), ["a", "absent"])
        self.assertEqual([(e["Key"], e["Code"]) for e in r["Errors"]],
                         [("keep/c", "AccessDenied")])
        self.assertEqual(sorted(o["key"] for o in self.cf.objects()), ["b", "keep/c"])
        r = self.c.delete_objects(Bucket=BUCKET, Delete={"Quiet": True, "Objects": [
            {"Key": "b"}, {"Key": "keep/c"}]})
        self.assertNotIn("Deleted", r)                   # quiet: errors only
        self.assertEqual([e["Key"] for e in r["Errors"]], ["keep/c"])
        self.assertEqual([o["key"] for o in self.cf.objects()], ["keep/c"])
        with self.assertRaises(ClientError) as ctx:
            self.c.delete_object(Bucket=BUCKET, Key="keep/c")
        self.assertCode(ctx, "AccessDenied", 403)

    def test_delete_objects_limits_and_digest(self):
        self.cf.put_objects({"k%04d" % i: "x" for i in range(1001)})
        objs = [{"Key": "k%04d" % i} for i in range(1001)]
        with self.assertRaises(ClientError) as ctx:
            self.c.delete_objects(Bucket=BUCKET, Delete={"Objects": objs})
        self.assertCode(ctx, "MalformedXML", 400)
        r = self.c.delete_objects(Bucket=BUCKET, Delete={"Objects": objs[:1000]})
        self.assertEqual(len(r["Deleted"]), 1000)
        self.assertEqual([o["key"] for o in self.cf.objects()], ["k1000"])
        body = (b'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object>'
                b"<Key>k1000</Key></Object></Delete>")
        st, err = self.raw_error("POST", "/%s?delete" % BUCKET, body)
        self.assertEqual((st, err["Code"]), (400, "InvalidRequest"))
        self.assertIn("Content-MD5 OR x-amz-checksum-*", err["Message"])
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
        st, _, _ = self.raw("POST", "/%s?delete" % BUCKET, body, {"Content-MD5": md5})
        self.assertEqual(st, 200)
        self.cf.put_object("k1000", "x")
        st, _, _ = self.raw("POST", "/%s?delete" % BUCKET, body,
                            {"x-amz-checksum-sha256": checksum("SHA256", body)})
        self.assertEqual((st, self.cf.objects()), (200, []))


class TestList(S3TestCase):
    def test_pages_prefix_delimiter_start_after(self):
        keys = ["a/%02d" % i for i in range(12)] + ["b/1", "b/2/x", "c"]
        self.cf.put_objects({k: k for k in keys})
        seen, token, pages = [], None, 0
        while True:
            kw = {"ContinuationToken": token} if token else {}
            r = self.c.list_objects_v2(Bucket=BUCKET, MaxKeys=5, **kw)
            pages += 1
            self.assertEqual((r["MaxKeys"], r["KeyCount"]), (5, len(r["Contents"])))
            seen += [o["Key"] for o in r["Contents"]]
            if not r["IsTruncated"]:
                self.assertNotIn("NextContinuationToken", r)
                break
            token = r["NextContinuationToken"]
        self.assertEqual((seen, pages), (sorted(keys), 3))
        o = r["Contents"][-1]
        self.assertEqual((o["Key"], o["Size"], o["ETag"]),
                         ("c", 1, '"%s"' % hashlib.md5(b"c").hexdigest()))
        self.assertIn("LastModified", o)
        r = self.c.list_objects_v2(Bucket=BUCKET, Delimiter="/")
        self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["a/", "b/"])
        self.assertEqual([o["Key"] for o in r["Contents"]], ["c"])
        self.assertEqual(r["KeyCount"], 3)
        r = self.c.list_objects_v2(Bucket=BUCKET, Prefix="b/", Delimiter="/")
        self.assertEqual(([o["Key"] for o in r["Contents"]],
                          [p["Prefix"] for p in r["CommonPrefixes"]]), (["b/1"], ["b/2/"]))
        r = self.c.list_objects_v2(Bucket=BUCKET, StartAfter="a/10")
        self.assertEqual([o["Key"] for o in r["Contents"]], ["a/11", "b/1", "b/2/x", "c"])
        # a common prefix ends a page; the next page does not repeat it
        r = self.c.list_objects_v2(Bucket=BUCKET, Delimiter="/", MaxKeys=1)
        self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["a/"])
        r = self.c.list_objects_v2(Bucket=BUCKET, Delimiter="/", MaxKeys=1,
                                   ContinuationToken=r["NextContinuationToken"])
        self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["b/"])

    def test_at_most_1000_a_page(self):
        self.cf.put_objects({"k%04d" % i: "" for i in range(1003)})
        r = self.c.list_objects_v2(Bucket=BUCKET, MaxKeys=5000)
        self.assertEqual((len(r["Contents"]), r["IsTruncated"], r["MaxKeys"]),
                         (1000, True, 5000))
        r = self.c.list_objects_v2(Bucket=BUCKET,
                                   ContinuationToken=r["NextContinuationToken"])
        self.assertEqual([o["Key"] for o in r["Contents"]], ["k1000", "k1001", "k1002"])
        paginator = self.c.get_paginator("list_objects_v2")
        n = sum(len(p["Contents"]) for p in paginator.paginate(Bucket=BUCKET))
        self.assertEqual(n, 1003)

    def test_bad_parameters(self):
        for query, code in [("list-type=2&continuation-token=bogus", "InvalidArgument"),
                            ("list-type=2&max-keys=-1", "InvalidArgument"),
                            ("list-type=2&encoding-type=base64", "InvalidArgument")]:
            with self.subTest(query=query):
                st, err = self.raw_error("GET", "/%s?%s" % (BUCKET, query))
                self.assertEqual((st, err["Code"]), (400, code))

    def test_list_buckets_and_location(self):
        self.cf.create_bucket("eu-site", region="eu-west-1")
        names = [b["Name"] for b in self.c.list_buckets()["Buckets"]]
        self.assertEqual(names, [BUCKET, "eu-site"])
        eu = self.client(region="eu-west-1")
        self.assertEqual(eu.get_bucket_location(Bucket="eu-site")["LocationConstraint"],
                         "eu-west-1")
        h = eu.head_bucket(Bucket="eu-site")
        self.assertEqual(h["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"],
                         "eu-west-1")


class TestIntegrity(S3TestCase):
    def test_content_sha256_required_and_checked(self):
        path = "/%s/k" % BUCKET
        st, err = self.raw_error("PUT", path, b"abc", payload_hash=False)
        self.assertEqual((st, err["Code"]), (400, "InvalidRequest"))
        self.assertIn("x-amz-content-sha256", err["Message"])
        wrong = hashlib.sha256(b"abd").hexdigest()
        st, err = self.raw_error("PUT", path, b"abc", payload_hash=wrong)
        self.assertEqual((st, err["Code"]), (400, "XAmzContentSHA256Mismatch"))
        self.assertEqual((err["ClientComputedContentSHA256"], err["S3ComputedContentSHA256"]),
                         (wrong, hashlib.sha256(b"abc").hexdigest()))
        st, err = self.raw_error("PUT", path, b"abc", payload_hash="not-a-hash")
        self.assertEqual((st, err["Code"]), (400, "InvalidArgument"))
        self.assertEqual(self.cf.objects(), [])
        st, _, _ = self.raw("PUT", path, b"abc", payload_hash="UNSIGNED-PAYLOAD")
        self.assertEqual(st, 200)
        self.assertEqual(self.cf.object_bytes("k"), b"abc")

    def test_checksum_mismatch_is_bad_digest(self):
        other = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
        with self.assertRaises(ClientError) as ctx:
            self.put("k", b"abc", ChecksumSHA256=other)
        self.assertCode(ctx, "BadDigest", 400)
        self.assertEqual(ctx.exception.response["Error"]["Message"],
                         "The SHA256 you specified did not match the calculated checksum.")
        with self.assertRaises(ClientError) as ctx:
            self.put("k", b"abc", ChecksumSHA256="bm90IGEgc2hhMjU2")
        self.assertCode(ctx, "InvalidRequest", 400)
        st, err = self.raw_error("PUT", "/%s/k" % BUCKET, b"abc", headers={
            "x-amz-checksum-sha256": checksum("SHA256", b"abc"),
            "x-amz-checksum-crc32": checksum("CRC32", b"abc")})
        self.assertEqual((st, err["Code"]), (400, "InvalidRequest"))
        self.assertEqual(self.cf.objects(), [])

    def test_content_md5(self):
        good = base64.b64encode(hashlib.md5(b"abc").digest()).decode()
        bad = base64.b64encode(hashlib.md5(b"abd").digest()).decode()
        with self.assertRaises(ClientError) as ctx:
            self.put("k", b"abc", ContentMD5=bad)
        self.assertCode(ctx, "BadDigest", 400)
        with self.assertRaises(ClientError) as ctx:
            self.put("k", b"abc", ContentMD5="not-md5")
        self.assertCode(ctx, "InvalidDigest", 400)
        self.put("k", b"abc", ContentMD5=good)
        self.assertEqual(self.cf.object_bytes("k"), b"abc")

    def test_every_checksum_algorithm(self):
        body = os.urandom(3000)
        for alg in ("CRC32", "CRC32C", "SHA1", "SHA256"):
            with self.subTest(alg=alg):
                try:
                    self.put("k-" + alg, body, ChecksumAlgorithm=alg)
                except Exception as e:  # CRC32C needs awscrt in the client
                    if alg == "CRC32C" and "crt" in str(e).lower():
                        continue
                    raise
                h = self.c.head_object(Bucket=BUCKET, Key="k-" + alg, ChecksumMode="ENABLED")
                self.assertEqual(h["Checksum" + alg], checksum(alg, body))
                self.assertEqual(self.cf.objects(prefix="k-" + alg)[0]["checksum"]["value"],
                                 checksum(alg, body))

    def test_aws_chunked_trailer(self):
        """The framing newer SDKs send: aws-chunked with a checksum trailer."""
        body = b"hello, trailer"

        def framed(value):
            return (b"%x\r\n%s\r\n0\r\nx-amz-checksum-crc32:%s\r\n\r\n"
                    % (len(body), body, value.encode()))
        hdrs = {"Content-Encoding": "aws-chunked", "x-amz-trailer": "x-amz-checksum-crc32",
                "x-amz-decoded-content-length": str(len(body))}
        st, err = self.raw_error("PUT", "/%s/t" % BUCKET, framed(checksum("CRC32", b"x")),
                                 hdrs, payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        self.assertEqual((st, err["Code"]), (400, "BadDigest"))
        st, _, _ = self.raw("PUT", "/%s/t" % BUCKET, framed(checksum("CRC32", body)), hdrs,
                            payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        self.assertEqual(st, 200)
        [o] = self.cf.objects()
        self.assertEqual((self.cf.object_bytes("t"), o["checksum"]["algorithm"]),
                         (body, "CRC32"))
        self.assertNotIn("content-encoding", o["headers"])


class TestAuth(S3TestCase):
    def test_wrong_region_names_the_bucket_region(self):
        self.cf.create_bucket("eu-site", region="eu-west-1")
        st, err = self.raw_error("PUT", "/%s/k" % BUCKET, b"x", region="eu-west-1")
        self.assertEqual((st, err["Code"], err["Region"]),
                         (400, "AuthorizationHeaderMalformed", "us-east-1"))
        self.assertEqual(err["Message"], "The authorization header is malformed; the "
                         "region 'eu-west-1' is wrong; expecting 'us-east-1'")
        st, err = self.raw_error("PUT", "/eu-site/k", b"x")
        self.assertEqual((st, err["Region"]), (400, "eu-west-1"))
        e = self.cf.log(service="s3")[-1]
        self.assertEqual((e["signature_ok"], e["auth_error"]),
                         (False, "AuthorizationHeaderMalformed"))
        self.assertEqual(self.cf.objects("eu-site"), [])
        # botocore reads <Region>, signs again for it and succeeds, as with S3
        self.cf.reset()
        self.put("k", client=self.client(region="us-east-1"), bucket="eu-site")
        self.assertEqual([(e["status"], e["error_code"]) for e in self.cf.log()],
                         [(400, "AuthorizationHeaderMalformed"), (200, None)])
        self.assertEqual([o["key"] for o in self.cf.objects("eu-site")], ["k"])

    def test_bad_signature_key_and_missing_auth(self):
        with self.assertRaises(ClientError) as ctx:
            self.put("k", client=self.client(secret_key="wrong"))
        self.assertCode(ctx, "SignatureDoesNotMatch", 403)
        err = ctx.exception.response["Error"]
        self.assertTrue(err["CanonicalRequest"].startswith("PUT\n/%s/k\n" % BUCKET))
        self.assertTrue(err["StringToSign"].startswith("AWS4-HMAC-SHA256\n"))
        with self.assertRaises(ClientError) as ctx:
            self.put("k", client=self.client(access_key="AKIDUNKNOWN"))
        self.assertCode(ctx, "InvalidAccessKeyId", 403)
        st, err = self.raw_error("GET", "/%s/k" % BUCKET, sign=False)
        self.assertEqual((st, err["Code"]), (403, "AccessDenied"))
        st, err = self.raw_error("PUT", "/%s/k" % BUCKET, b"x",
                                 unsigned={"x-amz-meta-late": "1"})
        self.assertEqual((st, err["Code"], err["HeadersNotSigned"]),
                         (403, "AccessDenied", "x-amz-meta-late"))
        st, err = self.raw_error("GET", "/%s/k" % BUCKET, service="ec2")
        self.assertEqual((st, err["Code"]), (400, "AuthorizationHeaderMalformed"))
        self.assertEqual(self.cf.objects(), [])

    def test_clock_skew_allows_15_minutes(self):
        self.cf.set_clock(offset=600)        # CloudFront would refuse this
        self.put("k")
        self.cf.set_clock(offset=-1000)
        with self.assertRaises(ClientError) as ctx:
            self.put("k")
        self.assertCode(ctx, "RequestTimeTooSkewed", 403)
        self.assertEqual(ctx.exception.response["Error"]["MaxAllowedSkewMilliseconds"],
                         "900000")

    def test_session_token(self):
        self.cf.configure(credentials={"ASIATEMP": {"secret": "s", "token": "tok"}})
        with self.assertRaises(ClientError) as ctx:
            self.put("k", client=self.client(access_key="ASIATEMP", secret_key="s",
                                              token="other"))
        self.assertCode(ctx, "InvalidToken", 400)
        self.put("k", client=self.client(access_key="ASIATEMP", secret_key="s",
                                          token="tok"))

    def test_refusing_bucket(self):
        self.cf.put_object("k", "x")
        self.cf.create_bucket(BUCKET, refuse=["s3:put", "s3:delete"])
        with self.assertRaises(ClientError) as ctx:
            self.put("k")
        self.assertCode(ctx, "AccessDenied", 403)
        self.assertEqual(self.c.get_object(Bucket=BUCKET, Key="k")["Body"].read(), b"x")
        self.cf.create_bucket(BUCKET, refuse=True)
        with self.assertRaises(ClientError) as ctx:
            self.c.get_object(Bucket=BUCKET, Key="k")
        self.assertCode(ctx, "AccessDenied", 403)

    def test_same_port_serves_cloudfront(self):
        cf = self.cf.client()
        self.addCleanup(cf.close)
        r = cf.list_invalidations(DistributionId="EDFDVBD6EXAMPLE")
        self.assertEqual(r["InvalidationList"]["Quantity"], 0)
        self.put("k")
        self.assertEqual([e["service"] for e in self.cf.log()], ["cloudfront", "s3"])



class TestControl(S3TestCase):
    def test_buckets_objects_and_reset(self):
        from tests.standin.standin import StandInError
        self.cf.create_bucket("site", region="eu-west-1", refuse_delete=["keep/"])
        self.assertEqual([(b["name"], b["region"], b["refuse_delete"])
                          for b in self.cf.buckets()],
                         [(BUCKET, "us-east-1", []), ("site", "eu-west-1", ["keep/"])])
        o = self.cf.put_object("a.html", "<p>", bucket="site",
                               headers={"Content-Type": "text/html", "x-amz-meta-h": "1"})
        self.assertEqual((o["headers"]["content-type"], o["metadata"], o["etag"]),
                         ("text/html", {"x-amz-meta-h": "1"},
                          '"%s"' % hashlib.md5(b"<p>").hexdigest()))
        self.assertEqual(self.cf.buckets()[1]["objects"], 1)
        for bad in [lambda: self.cf.create_bucket("Bad_Name"),
                    lambda: self.cf.create_bucket("site", colour="red"),
                    lambda: self.cf.create_bucket("site", refuse=["s3:nope"]),
                    lambda: self.cf.create_bucket("2020-05-31"),
                    lambda: self.cf.objects("no-such-bucket"),
                    lambda: self.cf.object_bytes("missing", bucket="site"),
                    lambda: self.cf.inject("503", op="s3:nope"),
                    lambda: self.cf.inject({"fault": "500", "action": "Nope"}),
                    lambda: self.cf.call("GET", "s3/nothing")]:
            with self.assertRaises(StandInError):
                bad()
        self.assertTrue(self.cf.delete_object("a.html", bucket="site"))
        self.cf.put_object("b", "x", bucket="site")
        self.cf.delete_bucket("site")
        self.assertEqual([b["name"] for b in self.cf.buckets()], [BUCKET])
        self.cf.create_bucket("site")
        self.assertEqual(self.cf.objects("site"), [])        # dropped with the bucket
        self.cf.put_object("c", "x")
        self.cf.reset(config=True)
        self.assertEqual(([b["name"] for b in self.cf.buckets()], self.cf.objects()),
                         ([BUCKET], []))


if __name__ == "__main__":
    unittest.main()
