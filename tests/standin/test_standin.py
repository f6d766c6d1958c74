# SPDX-License-Identifier: MIT
"""Self-tests for the CloudFront stand-in, driven by a real botocore client.

    python3 -m unittest -v tests.standin.test_standin
"""

import hashlib
import http.client
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import unittest

import botocore.exceptions
import botocore.parsers
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.standin import cfstandin
from tests.standin.standin import ACCESS_KEY, DISTRIBUTION, SECRET_KEY, StandIn

HERE = os.path.dirname(os.path.abspath(__file__))

VECTORS = os.environ.get("CFWATCH_VECTORS_DIR") or os.path.join(
    HERE, "..", "vectors")
CF_VECTORS = os.path.join(VECTORS, "cloudfront")
NS = cfstandin.NS
BASE = "/2020-05-31/distribution/%s/invalidation" % DISTRIBUTION


def batch(paths, ref):
    return {"Paths": {"Quantity": len(paths), "Items": list(paths)}, "CallerReference": ref}


def body_xml(paths, ref, ns=NS, quantity=None):
    items = "".join("<Path>%s</Path>" % p for p in paths)
    return ('<InvalidationBatch xmlns="%s"><Paths><Quantity>%d</Quantity><Items>%s</Items>'
            '</Paths><CallerReference>%s</CallerReference></InvalidationBatch>'
            % (ns, len(paths) if quantity is None else quantity, items, ref)).encode()


def close_client(c):
    if hasattr(c, "close"):          # botocore >= 1.26
        c.close()


class StandInTestCase(unittest.TestCase):
    cf = None

    @classmethod
    def setUpClass(cls):
        cls.cf = StandIn()
        cls.c = cls.cf.client()

    @classmethod
    def tearDownClass(cls):
        close_client(cls.c)
        cls.cf.stop()

    def setUp(self):
        self.cf.reset(config=True)
        self.addCleanup(self.assertNoStandInBug)

    def assertNoStandInBug(self):
        bugs = [e for e in self.cf.log() if e["error_code"] == "StandInBug"]
        self.assertEqual(bugs, [])

    # ---- helpers
    def client(self, *a, **kw):
        c = self.cf.client(*a, **kw)
        self.addCleanup(close_client, c)
        return c

    def create(self, paths, ref, client=None, dist=DISTRIBUTION):
        return (client or self.c).create_invalidation(DistributionId=dist,
                                                      InvalidationBatch=batch(paths, ref))

    def assertCode(self, ctx, code, status):
        e = ctx.exception
        self.assertEqual(e.response["Error"]["Code"], code, e.response)
        self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], status)

    def raw(self, method, path, body=b"", headers=None, sign=True, access_key=ACCESS_KEY,
            secret=SECRET_KEY, token=None, sign_token=True, host=None, timestamp=None):
        """Send one request with http.client, signed by botocore's SigV4Auth."""
        host = host or "127.0.0.1:%d" % self.cf.port
        hdrs = dict(headers or {})
        if sign:
            req = AWSRequest(method=method, url="https://%s%s" % (host, path),
                             headers=dict(hdrs), data=body)
            req.headers["Host"] = host
            auth = SigV4Auth(Credentials(access_key, secret, token if sign_token else None),
                             "cloudfront", "us-east-1")
            if timestamp:
                req.context["timestamp"] = timestamp
                req.headers["X-Amz-Date"] = timestamp
                creq = auth.canonical_request(req)
                sig = auth.signature(auth.string_to_sign(req, creq), req)
                auth._inject_signature_to_request(req, sig)
            else:
                auth.add_auth(req)
            hdrs = {k: v for k, v in req.headers.items()}
            if token and not sign_token:
                hdrs["X-Amz-Security-Token"] = token
        ctx = ssl.create_default_context(cafile=self.cf.ca_file)
        conn = http.client.HTTPSConnection("127.0.0.1", self.cf.port, context=ctx, timeout=10)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", host)
            for k, v in hdrs.items():
                if k.lower() != "host":
                    conn.putheader(k, v)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            r = conn.getresponse()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
        finally:
            conn.close()

    def raw_code(self, *a, **kw):
        status, _, body = self.raw(*a, **kw)
        code = body.split(b"<Code>")[1].split(b"</Code>")[0].decode() if b"<Code>" in body else None
        return status, code, body


class TestApi(StandInTestCase):
    def test_create_get_complete(self):
        r = self.create(["/index.html", "/", "/css/*"], "ref-1")
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 201)
        inv = r["Invalidation"]
        self.assertTrue(inv["Id"].startswith("I"))
        self.assertEqual(inv["Status"], "InProgress")
        self.assertEqual(r["Location"], "%s%s/%s" % (self.cf.endpoint, BASE, inv["Id"]))
        hdrs = r["ResponseMetadata"]["HTTPHeaders"]
        self.assertEqual(hdrs["content-type"], "text/xml")
        self.assertEqual(hdrs["x-amz-request-id"], r["ResponseMetadata"]["RequestId"])
        g = self.c.get_invalidation(DistributionId=DISTRIBUTION, Id=inv["Id"])
        self.assertEqual(g["Invalidation"]["Status"], "InProgress")
        self.assertEqual(g["Invalidation"]["InvalidationBatch"]["Paths"]["Items"],
                         ["/index.html", "/", "/css/*"])
        self.assertEqual(self.cf.complete_all(), [inv["Id"]])
        g = self.c.get_invalidation(DistributionId=DISTRIBUTION, Id=inv["Id"])
        self.assertEqual(g["Invalidation"]["Status"], "Completed")
        invs = self.cf.invalidations()
        self.assertEqual([(i["id"], i["caller_reference"], i["status"], i["replays"])
                          for i in invs], [(inv["Id"], "ref-1", "Completed", 0)])
        log = self.cf.log()
        self.assertEqual([(e["operation"], e["status"], e["signature_ok"]) for e in log],
                         [("create", 201, True), ("get", 200, True), ("get", 200, True)])
        self.assertTrue(log[0]["created"])
        self.assertEqual(log[0]["invalidation"], inv["Id"])

    def test_completion_delay(self):
        self.cf.configure(completion_delay=0)
        r = self.create(["/a"], "d0")
        self.assertEqual(r["Invalidation"]["Status"], "InProgress")   # like the real 201
        g = self.c.get_invalidation(DistributionId=DISTRIBUTION, Id=r["Invalidation"]["Id"])
        self.assertEqual(g["Invalidation"]["Status"], "Completed")
        self.cf.configure(completion_delay=0.5)
        r = self.create(["/b"], "d1")
        get = lambda: self.c.get_invalidation(
            DistributionId=DISTRIBUTION, Id=r["Invalidation"]["Id"])["Invalidation"]["Status"]
        self.assertEqual(get(), "InProgress")
        time.sleep(0.6)
        self.assertEqual(get(), "Completed")
        self.cf.configure(completion_delay=None)      # only the control API completes
        r = self.create(["/c"], "d2")
        time.sleep(0.1)
        self.assertEqual([i["status"] for i in self.cf.invalidations()][-1], "InProgress")

    def test_list_paging(self):
        ids = [self.create(["/p%d" % i], "list-%d" % i)["Invalidation"]["Id"]
               for i in range(5)]
        seen, marker, pages = [], "", 0
        while True:
            r = self.c.list_invalidations(DistributionId=DISTRIBUTION, Marker=marker,
                                          MaxItems="2")["InvalidationList"]
            pages += 1
            self.assertEqual(r["Marker"], marker)
            self.assertEqual(r["MaxItems"], 2)
            seen += [s["Id"] for s in r.get("Items", [])]
            self.assertEqual(r["Quantity"], len(r.get("Items", [])))
            if not r["IsTruncated"]:
                self.assertNotIn("NextMarker", r)
                break
            self.assertEqual(r["NextMarker"], seen[-1])
            marker = r["NextMarker"]
        self.assertEqual(seen, ids[::-1])            # newest first
        self.assertEqual(pages, 3)
        r = self.c.list_invalidations(DistributionId=DISTRIBUTION)["InvalidationList"]
        self.assertEqual(r["MaxItems"], 100)
        self.assertEqual(len(r["Items"]), 5)
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.c.list_invalidations(DistributionId=DISTRIBUTION, MaxItems="lots")
        self.assertCode(ctx, "InvalidArgument", 400)

    def test_caller_reference_replay(self):
        a = self.create(["/x", "/y"], "same")
        b = self.create(["/y", "/x"], "same")
        self.assertEqual(b["ResponseMetadata"]["HTTPStatusCode"], 201)
        self.assertEqual(a["Invalidation"]["Id"], b["Invalidation"]["Id"])
        self.assertEqual(a["Location"], b["Location"])
        invs = self.cf.invalidations()
        self.assertEqual(len(invs), 1)
        self.assertEqual(invs[0]["replays"], 1)
        log = self.cf.log()
        self.assertEqual([(e["created"], e["replay"], e["invalidation"]) for e in log],
                         [(True, False, a["Invalidation"]["Id"]),
                          (False, True, a["Invalidation"]["Id"])])
        # the scope is per distribution
        self.cf.configure(distributions=[DISTRIBUTION, "E2OTHER"])
        c = self.create(["/x", "/y"], "same", dist="E2OTHER")
        self.assertNotEqual(c["Invalidation"]["Id"], a["Invalidation"]["Id"])

    def test_caller_reference_conflict(self):
        self.create(["/x"], "conflict")
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.create(["/x", "/z"], "conflict")
        self.assertCode(ctx, "InvalidArgument", 400)
        self.assertIn("caller reference that was used for a previous invalidation batch",
                      ctx.exception.response["Error"]["Message"])
        self.cf.configure(caller_reference_conflict="InvalidationBatchAlreadyExists")
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.create(["/z"], "conflict")
        self.assertCode(ctx, "InvalidationBatchAlreadyExists", 409)
        self.assertEqual(len(self.cf.invalidations()), 1)

    def test_unknown_distribution_and_invalidation(self):
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.create(["/x"], "r", dist="ENOPE")
        self.assertCode(ctx, "NoSuchDistribution", 404)
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.c.get_invalidation(DistributionId=DISTRIBUTION, Id="INOPE")
        self.assertCode(ctx, "NoSuchInvalidation", 404)

    def test_path_rules(self):
        cases = [
            (["/a", "/a"], "duplicate"),
            (["/a*b"], "'*' before"),
            (["/a~b.html"], "'~'"),
            (["a.html"], "begin with"),
            (["/" + "a" * 4000], "longer than"),
            (["/a b.html"], "unencoded"),
            (["/caf\u00e9.jpg"], "unencoded"),
            (["/100%.html"], "%XX"),
        ]
        for i, (paths, why) in enumerate(cases):
            with self.subTest(paths=paths[0][:20]):
                with self.assertRaises(botocore.exceptions.ClientError) as ctx:
                    self.create(paths, "bad-%d" % i)
                self.assertCode(ctx, "InvalidArgument", 400)
                self.assertEqual(ctx.exception.response["Error"]["Message"],
                                 cfstandin.INVALID_PATHS_MSG)
                self.assertIn(why, self.cf.log()[-1]["detail"])
        ok = self.create(["/" + "a" * 3999, "/caf%C3%A9.jpg", "/a%7Eb", "/docs/*",
                          "/search/tom&jerry.html"], "good")
        self.assertEqual(ok["Invalidation"]["InvalidationBatch"]["Paths"]["Items"][4],
                         "/search/tom&jerry.html")
        warnings = self.cf.invalidations()[0]["warnings"]
        self.assertEqual(len(warnings), 1)
        self.assertIn("%7E", warnings[0])
        self.assertEqual(len(self.cf.invalidations()), 1)

    def test_request_body_rules(self):
        cases = [
            (body_xml(["/a"], "r1", ns="http://cloudfront.amazonaws.com/doc/2019-03-26/"),
             400, "MalformedXML"),
            (body_xml(["/a"], "r2", ns=""), 400, "MalformedXML"),
            (body_xml(["/a", "/b"], "r3", quantity=3), 400, "InconsistentQuantities"),
            (body_xml([], "r4"), 400, "InvalidArgument"),
            (b"<InvalidationBatch xmlns='%s'><Paths>" % NS.encode(), 400, "MalformedInput"),
            (b"", 400, "MissingBody"),
        ]
        for body, status, code in cases:
            with self.subTest(code=code, body=body[:60]):
                st, got, _ = self.raw_code("POST", BASE, body)
                self.assertEqual((st, got), (status, code))
        with open(os.path.join(CF_VECTORS, "xml", "create-invalidation-request.xml"),
                  "rb") as f:
            st, _, _ = self.raw("POST", BASE, f.read())
        self.assertEqual(st, 201)
        self.assertEqual(len(self.cf.invalidations()), 1)

    def test_limits(self):
        self.cf.configure(max_file_paths_in_progress=5, max_wildcard_paths_in_progress=2)
        self.create(["/1", "/2", "/3"], "l1")
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.create(["/4", "/5", "/6"], "l2")
        self.assertCode(ctx, "TooManyInvalidationsInProgress", 400)
        self.create(["/4", "/5", "/w1*", "/w2*"], "l3")        # 5 files, 2 wildcards
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.create(["/w3*"], "l4")
        self.assertCode(ctx, "TooManyInvalidationsInProgress", 400)
        self.cf.complete_all()
        self.create(["/4", "/5", "/6", "/w3*"], "l2")
        # the default limit: 3,000 file paths
        self.cf.reset(config=True)
        self.cf.complete_all()
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.create(["/f%d" % i for i in range(3001)], "big")
        self.assertCode(ctx, "TooManyInvalidationsInProgress", 400)
        self.create(["/f%d" % i for i in range(3000)], "big")
        self.assertEqual(len(self.cf.invalidations()), 1)

    def test_vector_shapes(self):
        """Responses are byte-for-byte the vectors' shapes."""
        with open(os.path.join(CF_VECTORS, "xml", "create-invalidation-response-201.xml"),
                  "rb") as f:
            want = f.read()
        got = cfstandin.render_invalidation(
            "IDFDVBD632BHDS5", "InProgress", "2019-12-05T18:45:12.150Z",
            ["/image1.jpg", "/image2.jpg", "/videos/movie.flv"], "20120301090001")
        self.assertEqual(got, want)
        with open(os.path.join(CF_VECTORS, "xml", "list-invalidations-response.xml"),
                  "rb") as f:
            want = f.read()
        got = cfstandin.render_list("", "I2J0I21PCUYOIK", 2, True, [
            ("IDFDVBD632BHDS5", "2019-12-05T18:45:12.150Z", "InProgress"),
            ("I2J0I21PCUYOIK", "2019-12-05T18:40:49Z", "Completed")])
        self.assertEqual(got, want)
        with open(os.path.join(CF_VECTORS, "xml", "error-throttling.xml"), "rb") as f:
            want = f.read()
        got = cfstandin.render_error("Throttling", "Rate exceeded",
                                     "4f0c1f3e-0a2b-4c6d-8e9f-000000000002")
        self.assertEqual(got, want)


class TestAuth(StandInTestCase):
    def test_sigv4_vector(self):
        """The derived vector's exact request, replayed with the clock at its date."""
        with open(os.path.join(CF_VECTORS, "sigv4-create-invalidation",
                               "create-invalidation.sreq"), "rb") as f:
            head, _, body = f.read().partition(b"\n\n")
        lines = head.decode().split("\n")
        method, path, _ = lines[0].split(" ")
        hdrs = [tuple(x.strip() for x in l.split(":", 1)) for l in lines[1:]]
        self.cf.set_clock(at="20150830T123800Z")
        ctx = ssl.create_default_context(cafile=self.cf.ca_file)
        conn = http.client.HTTPSConnection("127.0.0.1", self.cf.port, context=ctx, timeout=10)
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for k, v in hdrs:
            conn.putheader(k, v)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        data = r.read()
        conn.close()
        self.assertEqual(r.status, 201, data)
        self.assertTrue(r.getheader("Location").startswith(
            "https://cloudfront.amazonaws.com/2020-05-31/distribution/EDFDVBD6EXAMPLE/"
            "invalidation/I"))
        # one changed byte of the body breaks it
        signed = {k: v for k, v in hdrs if k != "Host"}
        st, code, msg = self.raw_code("POST", path, body.replace(b"image1", b"image9"),
                                      sign=False, headers=signed,
                                      host="cloudfront.amazonaws.com")
        self.assertEqual((st, code), (403, "SignatureDoesNotMatch"))
        self.assertIn(b"The Canonical String for this request should have been", msg)

    def test_wrong_secret(self):
        c = self.client(secret_key="not-the-secret")
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.create(["/a"], "s", client=c)
        self.assertCode(ctx, "SignatureDoesNotMatch", 403)
        e = self.cf.log()[-1]
        self.assertEqual((e["signature_ok"], e["auth_error"]), (False, "SignatureDoesNotMatch"))
        self.assertEqual(self.cf.invalidations(), [])

    def test_unknown_key(self):
        c = self.client(access_key="AKIDUNKNOWN")
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            c.list_invalidations(DistributionId=DISTRIBUTION)
        self.assertCode(ctx, "InvalidClientTokenId", 403)

    def test_missing_auth(self):
        st, code, _ = self.raw_code("POST", BASE, body_xml(["/a"], "u"), sign=False)
        self.assertEqual((st, code), (403, "MissingAuthenticationToken"))
        st, code, _ = self.raw_code("GET", BASE, sign=False,
                                    headers={"Authorization": "AWS4-HMAC-SHA256 Foo=bar"})
        self.assertEqual((st, code), (400, "IncompleteSignature"))

    def test_session_token(self):
        self.cf.configure(credentials={"ASIATEMP": {"secret": "temp-secret",
                                                    "token": "tok/en+1=="}})
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.create(["/a"], "t", client=self.client("ASIATEMP", "temp-secret"))
        self.assertCode(ctx, "InvalidClientTokenId", 403)
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.create(["/a"], "t", client=self.client("ASIATEMP", "temp-secret",
                                                         token="wrong"))
        self.assertCode(ctx, "InvalidClientTokenId", 403)
        r = self.create(["/a"], "t", client=self.client("ASIATEMP", "temp-secret",
                                                         token="tok/en+1=="))
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 201)
        # present but not signed
        st, code, _ = self.raw_code("POST", BASE, body_xml(["/b"], "t2"),
                                    access_key="ASIATEMP", secret="temp-secret",
                                    token="tok/en+1==", sign_token=False)
        self.assertEqual((st, code), (403, "SignatureDoesNotMatch"))
        st, code, _ = self.raw_code("POST", BASE, body_xml(["/b"], "t2"),
                                    access_key="ASIATEMP", secret="temp-secret",
                                    token="tok/en+1==")
        self.assertEqual((st, code), (201, None))
        # the old key is gone: credentials are replaced, not merged
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.create(["/a"], "t3")
        self.assertCode(ctx, "InvalidClientTokenId", 403)

    def test_scope_checks(self):
        body = body_xml(["/a"], "sc")
        req = AWSRequest(method="POST", url="https://127.0.0.1:%d%s" % (self.cf.port, BASE),
                         data=body)
        SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "cloudfront", "eu-west-1").add_auth(req)
        st, code, msg = self.raw_code("POST", BASE, body, sign=False,
                                      headers=dict(req.headers.items()))
        self.assertEqual((st, code), (403, "SignatureDoesNotMatch"))
        self.assertIn(b"valid region", msg)
        req = AWSRequest(method="POST", url="https://127.0.0.1:%d%s" % (self.cf.port, BASE),
                         data=body)
        SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1").add_auth(req)
        st, code, msg = self.raw_code("POST", BASE, body, sign=False,
                                      headers=dict(req.headers.items()))
        self.assertEqual((st, code), (403, "SignatureDoesNotMatch"))
        self.assertIn(b"correct service", msg)
        # x-amz-content-sha256 must match the body when sent
        st, code, _ = self.raw_code("POST", BASE, body, headers={
            "X-Amz-Content-SHA256": hashlib.sha256(b"other").hexdigest()})
        self.assertEqual((st, code), (400, "XAmzContentSHA256Mismatch"))

    @unittest.skipUnless(shutil.which("curl"), "no curl")
    def test_curl_signer(self):
        """An independent signer (curl --aws-sigv4), signing Expect and User-Agent too."""
        url = self.cf.endpoint + BASE
        common = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert",
                  self.cf.ca_file, "--aws-sigv4", "aws:amz:us-east-1:cloudfront",
                  "--user", ACCESS_KEY + ":" + SECRET_KEY]
        body = body_xml(["/p%04d.html" % i for i in range(100)], "curl").decode()
        out = subprocess.run(common + ["-H", "Content-Type: application/xml", "-H",
                                       "Expect: 100-continue", "-H", "User-Agent: cfw/0",
                                       "--data-binary", body, url],
                             capture_output=True, text=True, timeout=20)
        self.assertEqual(out.stdout, "201", out.stderr)
        self.assertEqual(self.cf.log()[-1]["signature_ok"], True)
        out = subprocess.run(common + [url + "?Marker=&MaxItems=1"],
                             capture_output=True, text=True, timeout=20)
        self.assertEqual(out.stdout, "200", out.stderr)
        out = subprocess.run(common[:-2] + ["--user", ACCESS_KEY + ":wrong", url],
                             capture_output=True, text=True, timeout=20)
        self.assertEqual(out.stdout, "403", out.stderr)

    def test_clock_skew(self):
        self.cf.configure(clock_offset=600)
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.create(["/a"], "k")
        self.assertCode(ctx, "SignatureDoesNotMatch", 403)
        self.assertRegex(ctx.exception.response["Error"]["Message"],
                         r"^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z "
                         r"\(\d{8}T\d{6}Z - 5 min\.\)$")
        self.cf.set_clock(offset=-600)
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.create(["/a"], "k")
        self.assertIn("Signature not yet current", ctx.exception.response["Error"]["Message"])
        self.cf.configure(clock_offset=200, skew_error_code="RequestTimeTooSkewed")
        self.create(["/a"], "k")                     # within 5 minutes
        self.cf.configure(clock_offset=-400)
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.create(["/b"], "k2")
        self.assertCode(ctx, "RequestTimeTooSkewed", 403)


class TestFaults(StandInTestCase):
    def expect_client_error(self, fault, code, status, op=None):
        self.cf.inject(fault, op=op)
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.create(["/a"], "f-" + str(fault))
        self.assertCode(ctx, code, status)
        self.assertEqual(self.cf.log()[-1]["fault"], fault)

    def test_error_faults(self):
        for fault, code, status in [("503", "ServiceUnavailable", 503),
                                    ("500", "InternalError", 500),
                                    ("throttle", "Throttling", 400),
                                    ("access_denied", "AccessDenied", 403),
                                    ("too_many", "TooManyInvalidationsInProgress", 400)]:
            with self.subTest(fault=fault):
                self.expect_client_error(fault, code, status)
        self.assertEqual(self.cf.invalidations(), [])
        self.cf.inject({"fault": "error", "status": 502, "code": "BadGateway"})
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.c.list_invalidations(DistributionId=DISTRIBUTION)
        self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], 502)

    def test_queue_order_count_and_op_filter(self):
        self.cf.inject("503", {"fault": "throttle", "count": 2}, op="get")
        self.assertEqual(len(self.cf.faults()), 2)
        r = self.create(["/a"], "q")                 # create is not filtered
        get = lambda: self.c.get_invalidation(DistributionId=DISTRIBUTION,
                                              Id=r["Invalidation"]["Id"])
        codes = []
        for _ in range(4):
            try:
                get()
                codes.append("ok")
            except botocore.exceptions.ClientError as e:
                codes.append(e.response["Error"]["Code"])
        self.assertEqual(codes, ["ServiceUnavailable", "Throttling", "Throttling", "ok"])
        self.assertEqual(self.cf.faults(), [])

    def test_fault_aimed_at_one_distribution(self):
        self.cf.configure(distributions=[DISTRIBUTION, "EOTHEREXAMPLE"])
        self.cf.inject({"fault": "503", "distribution": "EOTHEREXAMPLE"},
                       op="create")
        self.create(["/a"], "d1")                   # another distribution
        self.assertEqual(len(self.cf.faults()), 1)
        with self.assertRaises(botocore.exceptions.ClientError) as ctx:
            self.create(["/a"], "d1", dist="EOTHEREXAMPLE")
        self.assertCode(ctx, "ServiceUnavailable", 503)
        self.assertEqual(self.cf.faults(), [])
        self.create(["/a"], "d1", dist="EOTHEREXAMPLE")
        self.assertEqual(len(self.cf.invalidations(distribution=DISTRIBUTION)), 1)
        self.assertEqual(len(self.cf.invalidations(distribution="EOTHEREXAMPLE")), 1)
        with self.assertRaises(Exception):
            self.cf.inject({"fault": "503", "distribution": ""})

    def test_reset(self):
        self.cf.inject("reset")
        with self.assertRaises(botocore.exceptions.BotoCoreError):
            self.create(["/a"], "r")
        self.assertEqual(self.cf.invalidations(), [])
        self.assertEqual(self.cf.log()[-1]["status"], "reset")
        # the connection really was reset (RST), not closed in order: read the
        # TCP socket under the TLS layer (OpenSSL reports a reset as an EOF)
        self.cf.inject("reset")
        s = socket.create_connection(("127.0.0.1", self.cf.port))
        tls = ssl.create_default_context(cafile=self.cf.ca_file).wrap_socket(
            s, server_hostname="127.0.0.1")
        tls.sendall(b"GET " + BASE.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        raw = socket.socket(fileno=os.dup(tls.fileno()))
        raw.settimeout(5)
        try:
            with self.assertRaises(ConnectionResetError):
                while raw.recv(65536):          # TLS 1.3 session tickets come first
                    pass
        finally:
            raw.close()
            tls.close()

    def test_lost201(self):
        self.cf.inject("lost201")
        with self.assertRaises(botocore.exceptions.BotoCoreError):
            self.create(["/a", "/b"], "lost")
        invs = self.cf.invalidations()
        self.assertEqual(len(invs), 1)               # it was really created
        e = self.cf.log()[-1]
        self.assertEqual((e["fault"], e["created"], e["processed_status"], e["status"]),
                         ("lost201", True, 201, "reset"))
        again = self.create(["/a", "/b"], "lost")    # the retry replays it
        self.assertEqual(again["Invalidation"]["Id"], invs[0]["id"])
        self.assertEqual(self.cf.invalidations()[0]["replays"], 1)

    def test_hang(self):
        c = self.client(read_timeout=0.5)
        # Long past the client's timeout, even on a loaded machine.
        self.cf.inject({"fault": "hang", "seconds": 4})
        t0 = time.monotonic()
        with self.assertRaises(botocore.exceptions.ReadTimeoutError):
            self.create(["/a"], "h", client=c)
        self.assertLess(time.monotonic() - t0, 3.5)
        self.assertEqual(self.cf.invalidations(), [])
        # without a client timeout: the server closes after N seconds
        self.cf.inject({"fault": "hang", "seconds": 1})
        t0 = time.monotonic()
        with self.assertRaises(botocore.exceptions.BotoCoreError):
            self.create(["/a"], "h")
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)

    def test_slow_and_delay(self):
        self.cf.inject({"fault": "slow", "seconds": 1})
        t0 = time.monotonic()
        r = self.create(["/a"], "slow")
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 201)
        self.cf.inject({"fault": "delay", "seconds": 0.5}, op="get")
        t0 = time.monotonic()
        self.c.get_invalidation(DistributionId=DISTRIBUTION, Id=r["Invalidation"]["Id"])
        self.assertGreaterEqual(time.monotonic() - t0, 0.45)

    def test_huge(self):
        self.cf.inject({"fault": "huge", "size": 8 * 1024 * 1024})
        st, hdrs, body = self.raw("POST", BASE, body_xml(["/a"], "huge"))
        self.assertEqual(st, 500)
        self.assertEqual(int(hdrs["content-length"]), 8 * 1024 * 1024)
        self.assertEqual(len(body), 8 * 1024 * 1024)
        self.assertIn(b"<Code>InternalError</Code>", body[-400:])
        self.assertEqual(self.cf.invalidations(), [])
        self.cf.inject({"fault": "huge", "size": 4 * 1024 * 1024, "process": True})
        r = self.create(["/a"], "huge")              # a valid document, just padded
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 201)
        self.assertEqual(int(r["ResponseMetadata"]["HTTPHeaders"]["content-length"]),
                         4 * 1024 * 1024)

    def test_garbage(self):
        self.cf.inject("garbage")
        with self.assertRaises(botocore.parsers.ResponseParserError):
            self.create(["/a"], "g")
        self.assertEqual(self.cf.invalidations(), [])
        self.assertEqual(self.cf.log()[-1]["status"], 201)

    def test_bad_length(self):
        # processed by default: the invalidation exists, the body is cut short
        self.cf.inject("bad_length")
        with self.assertRaises(http.client.IncompleteRead):
            self.raw("POST", BASE, body_xml(["/a"], "bl"))
        self.assertEqual(len(self.cf.invalidations()), 1)
        e = self.cf.log()[-1]
        self.assertEqual((e["fault"], e["status"], e["created"]), ("bad_length", 201, True))
        self.cf.inject({"fault": "bad_length", "process": False})
        with self.assertRaises(http.client.IncompleteRead):
            self.raw("POST", BASE, body_xml(["/b"], "bl2"))
        self.assertEqual(len(self.cf.invalidations()), 1)
        # what botocore makes of it depends on its urllib3 (1.x ignores the short
        # body, 2.x raises); either way the retry finds the same invalidation
        self.cf.inject("bad_length")
        try:
            self.create(["/c"], "bl3")
        except botocore.exceptions.BotoCoreError:
            pass
        self.assertEqual(self.create(["/c"], "bl3")["Invalidation"]["Id"],
                         self.cf.invalidations()[-1]["id"])

    def test_chaos_is_reproducible(self):
        def run(seed):
            self.cf.reset()
            self.cf.chaos(seed=seed, rate=0.5, faults=["503", "throttle", "500"])
            out = []
            for i in range(12):
                try:
                    self.c.list_invalidations(DistributionId=DISTRIBUTION)
                    out.append("ok")
                except botocore.exceptions.ClientError as e:
                    out.append(e.response["Error"]["Code"])
            return out
        a, b, c = run(7), run(7), run(8)
        self.assertEqual(a, b)
        self.assertNotEqual(a, c)
        self.assertTrue(any(x != "ok" for x in a) and "ok" in a)
        self.assertEqual([e["fault_source"] for e in self.cf.log() if e["fault"]],
                         ["chaos"] * sum(x != "ok" for x in c))
        self.cf.chaos(rate=0)
        self.c.list_invalidations(DistributionId=DISTRIBUTION)

    def test_control_api_errors(self):
        from tests.standin.standin import StandInError
        with self.assertRaises(StandInError):
            self.cf.inject("no-such-fault")
        with self.assertRaises(StandInError):
            self.cf.configure(no_such_key=1)
        with self.assertRaises(StandInError):
            self.cf.call("GET", "nothing-here")


class TestReset(StandInTestCase):
    """reset(config=True) brings back every piece of state a test can
    change: the C tests share one stand-in per test binary (standin.h)."""

    # App's attributes; a new one must be added here, with a way to
    # change it in test_reset_restores_every_attribute, or to KEPT.
    STATE = {"invalidations", "s3", "seq", "requests", "req_seq", "tls_errors",
             "faults", "chaos", "chaos_rng", "config"}
    KEPT = {"scheme", "lock", "stopping", "reset_event", "base_config"}

    @staticmethod
    def snapshot(app):
        out = {k: v for k, v in vars(app).items() if k in TestReset.STATE}
        store = {k: v for k, v in vars(out.pop("s3")).items()
                 if k not in ("lock", "created")}
        out["s3"] = store
        out["chaos_rng"] = out["chaos_rng"] and out["chaos_rng"].getstate()
        return out

    def test_reset_restores_every_attribute(self):
        fresh = cfstandin.App("https")
        self.assertEqual(set(vars(fresh)), self.STATE | self.KEPT)
        app = cfstandin.App("https")
        app.configure({"clock_offset": 3600, "completion_delay": None,
                       "max_skew": 5, "distributions": [DISTRIBUTION, "EOTHEREXAMPLE"]})
        app.add_faults(["503", {"fault": "hold", "seconds": 9}], op="s3:put")
        app.set_chaos({"rate": 0.5, "seed": 7})
        app.take_fault("get")
        app.take_fault("get")
        app.seed({"distribution": DISTRIBUTION, "invalidations": [
            {"paths": ["/a"], "create_time": "2026-04-30T23:59:59.000Z"}]})
        app.record({"seq_test": 1, "method": "GET", "path": "/", "operation": "other",
                    "signature_ok": None, "status": 403})
        app.tls_errors.append({"error": "x"})
        bucket = cfstandin.s3control.DEFAULT_BUCKET
        app.s3.put(bucket, "k", cfstandin.s3store.Obj(b"x", {}, {}))
        app.s3.create_upload(bucket, "u", {}, {}, None, "COMPOSITE")
        before = self.snapshot(app)
        for k, v in self.snapshot(fresh).items():
            self.assertNotEqual(before[k], v, k)        # the test changed it
        app.reset(config=True)
        self.assertEqual(self.snapshot(app), self.snapshot(fresh))

    def test_reset_ends_a_held_request_unlogged(self):
        self.cf.inject({"fault": "hold", "seconds": 20}, op="s3:put")
        s3c = self.cf.s3_client(read_timeout=30)
        self.addCleanup(close_client, s3c)
        failed = []

        def put():
            try:
                s3c.put_object(Bucket=cfstandin.s3control.DEFAULT_BUCKET, Key="held",
                               Body=b"x")
            except Exception as e:
                failed.append(e)
        t = threading.Thread(target=put)
        t.start()
        deadline = time.monotonic() + 10
        while self.cf.faults() and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(self.cf.faults(), [])          # the PUT is held
        t0 = time.monotonic()
        self.cf.reset(config=True)
        t.join(30)
        self.assertLess(time.monotonic() - t0, 10)      # not the 20 s hold
        self.assertEqual(len(failed), 1)                # dropped, unanswered
        self.assertEqual(self.cf.objects(), [])
        self.assertEqual(self.cf.log(), [])


class TestExitWithPid(unittest.TestCase):
    def test_exits_with_the_process_and_removes_its_dir(self):
        d = os.path.join(self.tmp(), "si")
        holder = subprocess.Popen(["sleep", "60"])
        self.addCleanup(holder.kill)
        cmd = [sys.executable, "-m", "tests.standin.cfstandin", "--dir", d,
               "--plain-http", "--exit-with-pid", str(holder.pid), "--remove-dir"]
        si = subprocess.Popen(cmd, cwd=os.path.join(HERE, "..", ".."),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(si.kill)
        deadline = time.monotonic() + 30
        while not os.path.exists(os.path.join(d, "ready.json")):
            self.assertIsNone(si.poll())
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.02)
        holder.kill()
        holder.wait()
        self.assertEqual(si.wait(10), 0)
        self.assertFalse(os.path.exists(d))

    def tmp(self):
        import tempfile
        d = tempfile.mkdtemp(prefix="cfwsi.")
        self.addCleanup(shutil.rmtree, d, True)
        return d


class TestLifecycle(unittest.TestCase):
    def test_plain_http_and_sigterm(self):
        with StandIn(plain_http=True) as cf:
            self.assertTrue(cf.endpoint.startswith("http://127.0.0.1:"))
            self.assertIsNone(cf.ca_file)
            c = cf.client()
            r = c.create_invalidation(DistributionId=DISTRIBUTION,
                                      InvalidationBatch=batch(["/a"], "p"))
            close_client(c)
            self.assertTrue(r["Location"].startswith("http://127.0.0.1:"))
            d = cf.dir
            cf.keep_dir = True
            self.assertTrue(os.path.exists(os.path.join(d, "ready.json")))
        self.assertEqual(cf.returncode, 0)
        self.assertFalse(os.path.exists(os.path.join(d, "ready.json")))
        with open(os.path.join(d, "standin.log")) as f:
            self.assertIn("stopping", f.read())
        shutil.rmtree(d)

    def test_certificate_is_for_localhost_and_127001(self):
        with StandIn() as cf:
            for name in ("localhost", "127.0.0.1"):
                ctx = ssl.create_default_context(cafile=cf.ca_file)
                with socket.create_connection(("127.0.0.1", cf.port)) as s:
                    with ctx.wrap_socket(s, server_hostname=name) as tls:
                        self.assertTrue(tls.getpeercert())
            # an untrusting client fails the handshake; the server notes it and lives on
            with socket.create_connection(("127.0.0.1", cf.port)) as s:
                with self.assertRaises(ssl.SSLCertVerificationError):
                    ssl.create_default_context().wrap_socket(s, server_hostname="localhost")
            deadline = time.monotonic() + 5
            while not cf.tls_errors() and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertTrue(cf.tls_errors())
            self.assertEqual(cf.call("GET", "health")["ok"], True)

    def test_concurrent_requests(self):
        with StandIn(config={"completion_delay": 0}) as cf:
            errors = []

            def worker(n):
                c = cf.client()
                try:
                    for i in range(5):
                        c.create_invalidation(DistributionId=DISTRIBUTION,
                                              InvalidationBatch=batch(["/t%d/%d" % (n, i)],
                                                                      "c-%d-%d" % (n, i)))
                except Exception as e:        # pragma: no cover
                    errors.append(e)
                finally:
                    close_client(c)
            threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(errors, [])
            self.assertEqual(len(cf.invalidations()), 30)
            self.assertEqual(len({i["id"] for i in cf.invalidations()}), 30)


if __name__ == "__main__":
    unittest.main()
