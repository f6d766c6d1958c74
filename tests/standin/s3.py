# SPDX-License-Identifier: MIT
"""The S3 side of the stand-in: path-style requests (/BUCKET/KEY) on the
same port as CloudFront's API.  cfstandin's handler hands a request here
when its path is not CloudFront's and its credential scope does not name
cloudfront; this module routes it to an operation (s3ops), checks its
signature (s3auth) and body, applies a fault if one is due, and writes the
answer the way S3 does (x-amz-request-id, x-amz-id-2, Server: AmazonS3,
<Error> documents).
"""

import base64
import email.utils
import re
import secrets
from urllib.parse import parse_qsl, unquote

from tests.standin import s3auth
from tests.standin import s3checks
from tests.standin import s3ops
from tests.standin import s3xml
from tests.standin.s3checks import Bad

CLOUDFRONT_PREFIX = "/2020-05-31/"
SCOPE_SERVICE = re.compile(r"Credential=[^/,\s]*/[^/,\s]*/[^/,\s]*/([^/,\s]*)/")

# op names for faults and the log; each action belongs to one
OPS = ("s3:put", "s3:get", "s3:head", "s3:delete", "s3:list", "s3:multipart",
       "s3:other")
ACTION_OPS = {
    "PutObject": "s3:put", "GetObject": "s3:get", "HeadObject": "s3:head",
    "HeadBucket": "s3:head", "DeleteObject": "s3:delete", "DeleteObjects": "s3:delete",
    "ListObjectsV2": "s3:list", "ListBuckets": "s3:list", "ListParts": "s3:list",
    "ListMultipartUploads": "s3:list", "CreateMultipartUpload": "s3:multipart",
    "UploadPart": "s3:multipart", "CompleteMultipartUpload": "s3:multipart",
    "AbortMultipartUpload": "s3:multipart", "GetBucketLocation": "s3:other",
}
CONDITIONAL_WRITES = ("PutObject", "CompleteMultipartUpload")
# subresources the stand-in does not serve: 501 NotImplemented
UNSERVED = {"acl", "tagging", "attributes", "retention", "legal-hold", "torrent",
            "restore", "select", "versionId", "versions", "versioning", "policy",
            "cors", "lifecycle", "website", "logging", "notification", "replication",
            "encryption", "object-lock", "accelerate", "requestPayment",
            "ownershipControls", "publicAccessBlock", "analytics", "inventory",
            "metrics", "intelligent-tiering", "uploadId-marker"}

INTERNAL = "We encountered an internal error. Please try again."
# fault name -> (status, code, message) of the S3 error it answers
ERROR_FAULTS = {
    "503": (503, "SlowDown", "Please reduce your request rate."),
    "throttle": (503, "SlowDown", "Please reduce your request rate."),
    "too_many": (503, "SlowDown", "Please reduce your request rate."),
    "500": (500, "InternalError", INTERNAL),
    "access_denied": (403, "AccessDenied", "Access Denied"),
    "request_timeout": (400, "RequestTimeout", "Your socket connection to the server "
                        "was not read from or written to within the timeout period. "
                        "Idle connections will be closed."),
    "conflict": (409, "ConditionalRequestConflict", "A conflicting conditional operation "
                 "is currently in progress against this resource. Please try again."),
}


def is_s3(path, headers):
    """Whether a request is S3's: not under CloudFront's API version, and not
    signed for the cloudfront service."""
    if path.startswith(CLOUDFRONT_PREFIX):
        return False
    m = SCOPE_SERVICE.search(headers.get("Authorization") or "")
    return not (m and m.group(1) == "cloudfront")


def _action(method, bucket, key, q):
    if set(q) & UNSERVED:
        return None
    if bucket is None:
        return "ListBuckets" if method == "GET" else None
    if key == "":
        if method == "GET":
            for sub, action in (("uploads", "ListMultipartUploads"),
                                ("location", "GetBucketLocation")):
                if sub in q:
                    return action
            return "ListObjectsV2" if q.get("list-type") == "2" else None
        if method == "HEAD":
            return "HeadBucket"
        return "DeleteObjects" if method == "POST" and "delete" in q else None
    if method == "PUT":
        return "UploadPart" if "partNumber" in q or "uploadId" in q else "PutObject"
    if method == "GET":
        return "ListParts" if "uploadId" in q else "GetObject"
    if method == "HEAD":
        return "HeadObject"
    if method == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in q else "DeleteObject"
    if method == "POST" and "uploads" in q:
        return "CreateMultipartUpload"
    return "CompleteMultipartUpload" if method == "POST" and "uploadId" in q else None


class Request:
    """An S3 request as routed before its body is read.  A conditional write
    takes its in-flight token here, so its window opens with its request
    line (s3store: 409 ConditionalRequestConflict)."""

    def __init__(self, h, split, now_iso):
        self.method = h.command
        path = split.path
        name, _, self.raw_key = path[1:].partition("/")
        self.bucket = unquote(name) if name else None
        self.key = unquote(self.raw_key)
        self.q = dict(parse_qsl(split.query, keep_blank_values=True))
        self.action = _action(self.method, self.bucket, self.key, self.q)
        self.op = ACTION_OPS.get(self.action, "s3:other")
        self.request_id = secrets.token_hex(8).upper()
        self.host_id = base64.b64encode(secrets.token_bytes(48)).decode()
        self.entry = {
            "time": now_iso, "service": "s3", "method": self.method, "path": h.path,
            "operation": self.op, "action": self.action or "Unknown",
            "bucket": self.bucket, "key": self.key or None, "distribution": None,
            "request_id": self.request_id, "client": "%s:%s" % h.client_address[:2],
            "access_key": None, "signature_ok": None, "auth_error": None,
            "written": False, "etag": None, "fault": None, "status": None,
            "error_code": None, "detail": None}
        self.token = None
        store, buckets = h.app.s3, h.app.config["buckets"]
        conditional = "If-Match" in h.headers or "If-None-Match" in h.headers
        if self.action in CONDITIONAL_WRITES and conditional and self.bucket in buckets:
            self.token = store.begin(self.bucket, self.key)


# ---------------------------------------------------------------- answers

def error_reply(req, e):
    return s3ops.Reply(e.status, s3xml.error(e.code, e.message, req.request_id,
                                             req.host_id, e.extra),
                       [("Content-Type", "application/xml")], code=e.code)


def head_bytes(h, req, reply, length):
    hdrs = [("x-amz-id-2", req.host_id), ("x-amz-request-id", req.request_id),
            ("Date", email.utils.formatdate(h.app.now().timestamp(), usegmt=True))]
    hdrs += list(reply.headers)
    if reply.status not in (204, 304):
        hdrs.append(("Content-Length", str(length)))
    hdrs.append(("Server", "AmazonS3"))
    if h.close_connection:
        hdrs.append(("Connection", "close"))
    head = "HTTP/1.1 %d %s\r\n" % (reply.status, h.responses.get(reply.status,
                                                                 ("Unknown",))[0])
    return (head + "".join("%s: %s\r\n" % x for x in hdrs) + "\r\n").encode("latin-1")


def wire_bytes(h, req, reply, extra_length=0):
    """(head, body) of reply as sent: a HEAD answer has no body, and its
    Content-Length is the object's."""
    no_body = h.command == "HEAD" or reply.status in (204, 304)
    length = len(reply.body) + extra_length
    if h.command == "HEAD" and reply.length is not None:
        length = reply.length
    return head_bytes(h, req, reply, length), b"" if no_body else reply.body


def send(h, req, reply):
    """Logs the request, then answers it: a client that has its answer
    finds it in the log (the duration is filled in afterwards)."""
    head, body = wire_bytes(h, req, reply)
    h.app.record_once(req.entry)
    h.wfile.write(head + body)


# ---------------------------------------------------------------- processing

def _decode(h, wire, csha):
    """The payload and trailers: an aws-chunked body is unframed (its
    decoded length checked), a hex x-amz-content-sha256 checked against the
    bytes as sent."""
    if csha:
        s3checks.check_payload_hash(csha, wire)
    encoding = (h.headers.get("Content-Encoding") or "").lower()
    if csha != s3checks.STREAMING_UNSIGNED_TRAILER and "aws-chunked" not in encoding:
        return wire, {}
    body, trailers = s3checks.decode_aws_chunked(wire)
    declared = h.headers.get("x-amz-decoded-content-length")
    if declared is not None and declared.strip() != str(len(body)):
        raise Bad(400, "IncompleteBody", "You did not provide the number of bytes "
                  "specified by the Content-Length HTTP header.")
    for name in (h.headers.get("x-amz-trailer") or "").split(","):
        if name.strip() and name.strip().lower() not in trailers:
            raise Bad(400, "MalformedTrailerError", "The request contained trailing data "
                      "that was not well-formed or did not conform to our published "
                      "schema.")
    return body, trailers


def _authenticate(h, req, wire):
    app = h.app
    cfg = app.config
    region = cfg["buckets"][req.bucket]["region"] if req.bucket else None
    entry = req.entry
    try:
        entry["access_key"], csha = s3auth.verify(
            h.command, h.path, list(h.headers.items()), wire, app.scheme,
            cfg["credentials"], app.now(), region, cfg["s3_max_skew"])
    except Bad as e:
        entry["signature_ok"] = False
        entry["auth_error"] = e.code
        raise
    entry["signature_ok"] = True
    return csha


def _refused(cfg, req):
    refuse = cfg["buckets"][req.bucket].get("refuse") if req.bucket else False
    return refuse is True or (isinstance(refuse, list) and req.op in refuse)


def process(h, req, wire):
    """The answer S3 would give (an error is a Reply too)."""
    cfg = h.app.config
    try:
        if req.action is None:
            if h.command not in ("GET", "PUT", "POST", "DELETE", "HEAD"):
                raise Bad(405, "MethodNotAllowed", "The specified method is not allowed "
                          "against this resource.", Method=h.command)
            raise Bad(501, "NotImplemented", "The stand-in does not implement this "
                      "request.", detail="no S3 operation for %s %s" % (h.command, h.path))
        if req.bucket is not None and req.bucket not in cfg["buckets"]:
            raise Bad(404, "NoSuchBucket", "The specified bucket does not exist",
                      BucketName=req.bucket)
        csha = _authenticate(h, req, wire) if cfg["require_auth"] else None
        if _refused(cfg, req):
            raise Bad(403, "AccessDenied", "Access Denied",
                      detail="bucket %s refuses %s" % (req.bucket, req.op))
        body, trailers = _decode(h, wire, csha)
        lower = {}
        for name, value in h.headers.items():
            lower.setdefault(name.lower(), []).append(value)
        ctx = s3ops.Ctx(h.app, req, body, lower, trailers, req.entry, req.token,
                        "%s://%s" % (h.app.scheme, h.headers.get("Host") or "s3.amazonaws.com"))
        return s3ops.ACTIONS[req.action](ctx)
    except Bad as e:
        req.entry["detail"] = e.detail or e.message
        return error_reply(req, e)


# ---------------------------------------------------------------- faults

def _internal_error(req):
    return error_reply(req, Bad(500, "InternalError", INTERNAL))


def _fault_reply(req, name, fault):
    if name == "error":
        status = int(fault.get("status", 500))
        return error_reply(req, Bad(status, fault.get("code", "InternalError"),
                                    fault.get("message", "Injected error.")))
    return error_reply(req, Bad(*ERROR_FAULTS[name]))


def _padded(reply, size):
    """reply's XML with a comment after the declaration, size bytes in all."""
    decl, _, rest = reply.body.partition(b"\n")
    prefix, suffix = decl + b"\n<!--", b"-->\n" + rest
    pad = max(0, size - len(prefix) - len(suffix))
    return prefix + b" " * pad + suffix


def run(h, req, wire, fault):
    """Answer the request, through fault if one is due."""
    entry = req.entry

    def finish(reply):
        entry["status"], entry["error_code"] = reply.status, reply.code
        send(h, req, reply)

    if not fault:
        return finish(process(h, req, wire))
    name = fault["fault"]
    if name == "hold":
        h.wait(fault.get("seconds", 2))
        return finish(process(h, req, wire))
    reply = None
    if fault["process"] or name in ("delay", "slow"):
        reply = process(h, req, wire)
        entry["processed_status"] = reply.status
    if name in ERROR_FAULTS or name == "error":
        return finish(_fault_reply(req, name, fault))
    if name in ("reset", "lost201", "lost"):
        entry["status"] = "reset"
        h.drop(rst=True)
    if name == "hang":
        entry["status"] = "hang"
        h.wait(fault.get("seconds", 5))
        h.drop(rst=bool(fault.get("rst", False)))
    if name == "delay":
        h.wait(fault.get("seconds", 2))
        return finish(reply)
    if name == "slow":
        entry["status"], entry["error_code"] = reply.status, reply.code
        head, body = wire_bytes(h, req, reply)
        return h.dribble(head + body, float(fault.get("seconds", 3)))
    return _send_broken(h, req, name, fault, reply)


def _send_broken(h, req, name, fault, reply):
    """garbage, huge and bad_length: answers a client must not trust."""
    entry = req.entry
    if name == "garbage":
        status = int(fault.get("status", reply.status if reply else 200))
        junk = (s3xml.DECL + '<ListBucketResult xmlns="%s"><Name>b</Key><<Contents>'
                "&bogus;" % s3xml.NS).encode()
        entry["status"] = status
        return send(h, req, s3ops.Reply(status, junk, [("Content-Type", "application/xml")]))
    if reply is None or not reply.body.startswith(s3xml.DECL.encode()):
        reply = _internal_error(req)
    if name == "huge":
        size = int(fault.get("size", 32 * 1024 * 1024))
        status = int(fault.get("status", reply.status))
        entry["status"], entry["error_code"] = status, reply.code
        return send(h, req, s3ops.Reply(status, _padded(reply, size), reply.headers))
    if name == "bad_length":
        entry["status"], entry["error_code"] = reply.status, reply.code
        head, body = wire_bytes(h, req, reply, extra_length=int(fault.get("extra", 1024)))
        h.wfile.write(head + body)
        h.drop(rst=False)
    raise AssertionError("unhandled fault %s" % name)


def bug_reply(h, req, detail):
    """A stand-in bug must not pass for a network fault: 500 StandInBug."""
    send(h, req, error_reply(req, Bad(500, "StandInBug", detail)))

