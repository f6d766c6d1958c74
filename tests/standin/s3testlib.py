# SPDX-License-Identifier: MIT
"""What the S3 self-tests share: one stand-in per test class, a botocore S3
client, raw signed requests, and extra headers for operations that Debian's
botocore does not model yet (If-None-Match / If-Match on PutObject, added to
the S3 model in 2024)."""

import atexit
import contextlib
import hashlib
import http.client
import ssl
import unittest
import xml.etree.ElementTree as ET

import botocore.exceptions
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.standin.standin import ACCESS_KEY, BUCKET, SECRET_KEY, StandIn

MiB = 1024 * 1024
ClientError = botocore.exceptions.ClientError


def close_client(c):
    if hasattr(c, "close"):          # botocore >= 1.26
        c.close()


def error_fields(body):
    """The elements of an <Error> document, as a dict."""
    root = ET.fromstring(body)
    return {child.tag: child.text or "" for child in root}


class Signer(S3SigV4Auth):
    """botocore's S3 signer, sending the x-amz-content-sha256 asked for:
    a value, None for the body's hash, or False for no header at all."""

    def __init__(self, credentials, service, region, payload_hash=None):
        super().__init__(credentials, service, region)
        self.payload_hash = payload_hash

    def payload(self, request):
        return self.payload_hash or super().payload(request)

    def _modify_request_before_signing(self, request):
        if self.payload_hash is False:
            SigV4Auth._modify_request_before_signing(self, request)
        else:
            super()._modify_request_before_signing(request)


@contextlib.contextmanager
def extra_headers(client, operation, headers):
    """Send headers with every call of operation (e.g. "PutObject") inside
    the block.  They are added before signing, so they are signed."""
    def add(request, **kwargs):
        for name, value in headers.items():
            request.headers[name] = value

    event = "before-sign.s3.%s" % operation
    client.meta.events.register_first(event, add)
    try:
        yield
    finally:
        client.meta.events.unregister(event, add)


_shared = []


def shared_standin():
    """One stand-in for every test class of a process (each test resets
    it): starting one costs about a second."""
    if not _shared:
        _shared.append(StandIn())
        atexit.register(_shared[0].stop)
    return _shared[0]


class S3TestCase(unittest.TestCase):
    cf = None

    @classmethod
    def setUpClass(cls):
        cls.cf = shared_standin()
        cls.c = cls.cf.s3_client()

    @classmethod
    def tearDownClass(cls):
        close_client(cls.c)

    def setUp(self):
        self.cf.reset(config=True)
        self.addCleanup(self.assertNoStandInBug)

    def assertNoStandInBug(self):
        bugs = [e for e in self.cf.log() if e["error_code"] == "StandInBug"]
        self.assertEqual(bugs, [])

    def client(self, **kw):
        c = self.cf.s3_client(**kw)
        self.addCleanup(close_client, c)
        return c

    def assertCode(self, ctx, code, status):
        e = ctx.exception
        self.assertEqual(e.response["Error"]["Code"], code, e.response)
        self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], status)

    def put(self, key, body=b"x", client=None, bucket=BUCKET, **kw):
        return (client or self.c).put_object(Bucket=bucket, Key=key, Body=body, **kw)

    def put_if(self, key, body, headers, client=None):
        """PutObject with conditional headers; returns the response."""
        c = client or self.c
        with extra_headers(c, "PutObject", headers):
            return c.put_object(Bucket=BUCKET, Key=key, Body=body)

    def raw(self, method, path, body=b"", headers=None, sign=True, region="us-east-1",
            service="s3", payload_hash=None, secret=SECRET_KEY, unsigned=None):
        """One request by http.client, signed by botocore's S3SigV4Auth.
        payload_hash: the x-amz-content-sha256 to send (default: the body's;
        False: none).  unsigned: headers added after signing.  Returns
        (status, headers, body)."""
        host = "127.0.0.1:%d" % self.cf.port
        hdrs = dict(headers or {})
        if sign:
            if payload_hash is None:
                payload_hash = hashlib.sha256(body).hexdigest()
            req = AWSRequest(method=method, url="https://%s%s" % (host, path),
                             headers=dict(hdrs), data=body)
            Signer(Credentials(ACCESS_KEY, secret), service, region,
                   payload_hash).add_auth(req)
            hdrs = dict(req.headers.items())
        hdrs.update(unsigned or {})
        ctx = ssl.create_default_context(cafile=self.cf.ca_file)
        conn = http.client.HTTPSConnection("127.0.0.1", self.cf.port, context=ctx,
                                           timeout=10)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", host)
            for k, v in hdrs.items():
                if k.lower() != "host":
                    conn.putheader(k, v)
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            r = conn.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            conn.close()

    def raw_error(self, *a, **kw):
        """(status, <Error> fields) of a raw request."""
        status, _, body = self.raw(*a, **kw)
        return status, error_fields(body) if body.strip() else {}
