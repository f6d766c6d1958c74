# SPDX-License-Identifier: MIT
"""cfstandin — a local stand-in for the Amazon CloudFront invalidation API.

Serves CreateInvalidation, GetInvalidation and ListInvalidations (API
2020-05-31) over real TLS on loopback, verifies every request's SigV4
signature with botocore's own signer, enforces the service's invalidation
rules and limits, and injects faults on demand through an unsigned JSON
control API under /__standin/.  Test-only: never expose it to a network.
From the source root (it is part of the package tests.standin):

    python3 -m tests.standin.cfstandin --dir DIR [--port 0] [--host 127.0.0.1] [--plain-http]

See README.md next to this file for the control API and the fault names.
Standard library + botocore only.
"""

import argparse
import copy
import datetime
import email.utils
import hashlib
import http.server
import json
import logging
import os
import random
import re
import secrets
import select
import shutil
import signal
import socket
import ssl
import string
import struct
import subprocess
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape as xml_escape

from tests.standin import cfdist
from tests.standin import cfitems
from tests.standin import s3
from tests.standin import s3control
from tests.standin import s3store
from tests.standin import sigv4check

API_VERSION = "2020-05-31"
NS = "http://cloudfront.amazonaws.com/doc/2020-05-31/"
SERVICE = "cloudfront"
REGION = "us-east-1"
AMZ_FMT = "%Y%m%dT%H%M%SZ"

DEFAULT_DISTRIBUTION = "EDFDVBD6EXAMPLE"
DEFAULT_ACCESS_KEY = "AKIDEXAMPLE"
DEFAULT_SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

DEFAULT_CONFIG = {
    "distributions": cfdist.normalize([DEFAULT_DISTRIBUTION]),  # see cfdist.py
    # access key -> {"secret": ..., "token": None | required session token}
    "credentials": {DEFAULT_ACCESS_KEY: {"secret": DEFAULT_SECRET_KEY, "token": None}},
    "max_file_paths_in_progress": 3000,
    "max_wildcard_paths_in_progress": 15,
    "max_path_length": 4000,
    "max_body_bytes": 16 * 1024 * 1024,      # larger bodies -> 413 BatchTooLarge
    "completion_delay": 2.0,                  # seconds; 0 = at once; null = only via control API
    "clock_offset": 0.0,                      # seconds added to the server clock
    "max_skew": 300.0,                        # seconds, like AWS (5 min)
    "skew_error_code": "SignatureDoesNotMatch",  # or "RequestTimeTooSkewed"
    "caller_reference_conflict": "InvalidArgument",  # or "InvalidationBatchAlreadyExists"
    "strict_paths": True,                     # reject unencoded unsafe / non-ASCII characters
    "require_auth": True,
    "list_max_items": 100,                    # default and maximum MaxItems
}

DEFAULT_CONFIG.update(copy.deepcopy(s3control.DEFAULT_CONFIG))

# "s3" matches every S3 op
OPS = ("create", "get", "list", "list_distributions", "get_config",
       "other") + s3.OPS + ("s3",)
ACTIONS = {"create": "CreateInvalidation", "get": "GetInvalidation",
           "list": "ListInvalidations", "list_distributions": "ListDistributions",
           "get_config": "GetDistributionConfig", "other": "Unknown"}

# fault name -> whether the request is really processed by default
FAULTS = {
    "503": False, "500": False, "throttle": False, "access_denied": False,
    "too_many": False, "error": False, "reset": False, "hang": False,
    "delay": True, "slow": True, "lost201": True, "huge": False,
    "garbage": False, "bad_length": True,
    # mostly for S3: RequestTimeout, ConditionalRequestConflict, a response
    # lost after the request was handled, and a request held before it is
    "request_timeout": False, "conflict": False, "lost": True, "hold": True,
    # a 201 naming another batch (another CallerReference and other
    # paths), as a broken proxy could: nothing is created
    "other201": False,
}
DEFAULT_CHAOS_FAULTS = ["503", "500", "throttle", "reset", "lost201",
                        "bad_length", "garbage", "slow"]

# RFC 1738 "unsafe" characters that CloudFront wants percent-encoded (~ handled apart)
UNSAFE = set(' <>"#{}|\\^[]`')
HEX = set("0123456789abcdefABCDEF")
INVALID_PATHS_MSG = "Your request contains one or more invalid invalidation paths."

log = logging.getLogger("cfstandin")


class Dropped(Exception):
    """The connection was closed on purpose (fault); stop handling it."""


class ApiError(Exception):
    def __init__(self, status, code, message, etype="Sender", detail=None):
        super().__init__(message)
        self.status, self.code, self.message, self.etype = status, code, message, etype
        self.detail = detail


def err(status, code, message, etype="Sender", detail=None):
    return ApiError(status, code, message, etype, detail)


# ---------------------------------------------------------------- documents

def iso_ms(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def render_error(code, message, request_id, etype="Sender"):
    return ('<?xml version="1.0"?>\n<ErrorResponse xmlns="%s"><Error><Type>%s</Type>'
            '<Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId>'
            '</ErrorResponse>' % (NS, etype, xml_escape(code), xml_escape(message),
                                  request_id)).encode("utf-8")


def render_invalidation(inv_id, status, create_time, paths, caller_reference):
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<Invalidation xmlns="%s">' % NS,
             '   <Id>%s</Id>' % inv_id,
             '   <Status>%s</Status>' % status,
             '   <CreateTime>%s</CreateTime>' % create_time,
             '   <InvalidationBatch>',
             '      <Paths>',
             '         <Quantity>%d</Quantity>' % len(paths),
             '         <Items>']
    lines += ['            <Path>%s</Path>' % xml_escape(p) for p in paths]
    lines += ['         </Items>',
              '      </Paths>',
              '      <CallerReference>%s</CallerReference>' % xml_escape(caller_reference),
              '   </InvalidationBatch>',
              '</Invalidation>', '']
    return "\n".join(lines).encode("utf-8")


def render_list(marker, next_marker, max_items, truncated, summaries):
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<InvalidationList xmlns="%s">' % NS,
             '   <Marker>%s</Marker>' % xml_escape(marker)]
    if truncated:
        lines.append('   <NextMarker>%s</NextMarker>' % xml_escape(next_marker))
    lines += ['   <MaxItems>%d</MaxItems>' % max_items,
              '   <IsTruncated>%s</IsTruncated>' % ("true" if truncated else "false"),
              '   <Quantity>%d</Quantity>' % len(summaries)]
    if summaries:
        lines.append('   <Items>')
        for inv_id, ctime, status in summaries:
            lines += ['      <InvalidationSummary>',
                      '         <Id>%s</Id>' % inv_id,
                      '         <CreateTime>%s</CreateTime>' % ctime,
                      '         <Status>%s</Status>' % status,
                      '      </InvalidationSummary>']
        lines.append('   </Items>')
    lines += ['</InvalidationList>', '']
    return "\n".join(lines).encode("utf-8")


class Reply:
    def __init__(self, status, body=b"", headers=None, code=None):
        self.status = status
        self.body = body
        self.headers = headers or []     # list of (name, value), Content-* added on send
        self.code = code                 # error code, if an error


def error_reply(e, request_id):
    return Reply(e.status, render_error(e.code, e.message, request_id, e.etype),
                 code=e.code)


# ---------------------------------------------------------------- SigV4

def _cf_auth_error(pr, service, region):
    """CloudFront's wording for a failed SigV4 check (sigv4check.Problem)."""
    i, k = pr.info, pr.kind
    if k == "presigned":
        return err(403, "AccessDenied", "Query-string (presigned) authentication "
                   "is not supported by the stand-in.")
    if k == "missing":
        return err(403, "MissingAuthenticationToken", "Missing Authentication Token")
    if k == "malformed" and i["why"] == "more than one Authorization header":
        return err(400, "IncompleteSignature", "More than one Authorization header.")
    if k == "malformed":
        auth = (i["value"].split(" ")[0] if i["why"] == "algorithm"
                else "AWS4-HMAC-SHA256")
        return err(400, "IncompleteSignature",
                   " ".join("Authorization header requires '%s' parameter." % m
                            for m in i["missing"]) + " Authorization=%s" % auth)
    if k == "credential":
        return err(400, "IncompleteSignature",
                   "Credential should be scoped to a valid region, service and "
                   "terminator: '%s'" % i["credential"])
    if k in ("unknown_key", "token_bad"):
        return err(403, "InvalidClientTokenId",
                   "The security token included in the request is invalid.")
    if k == "bad_date":
        return err(400, "IncompleteSignature", "X-Amz-Date must be in the ISO8601 "
                   "Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    if k == "scope_date":
        return err(403, "SignatureDoesNotMatch",
                   "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                   "version of date from HTTP: '%s' != '%s', from '%s'."
                   % (i["date"], i["amz"][:8], i["amz"]))
    messages = {
        "region": "Credential should be scoped to a valid region, not '%s'. "
                  % i.get("got"),
        "service": "Credential should be scoped to correct service: '%s'. " % service,
        "terminator": "Credential should be scoped with a valid terminator: "
                      "'aws4_request', not '%s'. " % i.get("got"),
        "signed_headers": "SignedHeaders must be lower case, sorted and separated "
                          "by ';'.",
        "host_unsigned": "'Host' or ':authority' must be a 'SignedHeader' in the "
                         "AWS Authorization.",
        "header_absent": "The signed header '%s' is not present in the request."
                         % i.get("header"),
        "token_unsigned": "X-Amz-Security-Token is present but is not a "
                          "SignedHeader.",
    }
    if k in messages:
        return err(403, "SignatureDoesNotMatch", messages[k])
    if k == "signature":
        return err(403, "SignatureDoesNotMatch",
                   "The request signature we calculated does not match the signature "
                   "you provided. Check your AWS Secret Access Key and signing method. "
                   "Consult the service documentation for details.\n\nThe Canonical "
                   "String for this request should have been\n'%s'\n\nThe "
                   "String-to-Sign should have been\n'%s'\n"
                   % (i["canonical_request"], i["string_to_sign"]))
    raise AssertionError("unmapped SigV4 problem %s" % k)


def _cf_skew_error(pr, skew_code):
    i = pr.info
    max_skew, now, amz = i["max_skew"], i["now"], i["amz"]
    mins = int(max_skew // 60)
    nows = now.strftime(AMZ_FMT)
    if i["skew"] < 0:
        bound = (now - datetime.timedelta(seconds=max_skew)).strftime(AMZ_FMT)
        msg = "Signature expired: %s is now earlier than %s (%s - %d min.)" % (
            amz, bound, nows, mins)
    else:
        bound = (now + datetime.timedelta(seconds=max_skew)).strftime(AMZ_FMT)
        msg = "Signature not yet current: %s is still later than %s (%s + %d min.)" % (
            amz, bound, nows, mins)
    if skew_code == "RequestTimeTooSkewed":
        msg = ("The difference between the request time and the current time is too "
               "large. " + msg)
    return err(403, skew_code, msg)


def verify_sigv4(method, target, headers, body, scheme, credentials, now,
                 max_skew=300.0, skew_code="SignatureDoesNotMatch",
                 service=SERVICE, region=REGION):
    """Check a request's SigV4 Authorization header.

    headers: list of (name, value) as received.  credentials: access key ->
    {"secret", "token"}.  now: aware datetime (the server's, possibly shifted).
    Returns the access key; raises ApiError.  The checks are sigv4check's,
    in CloudFront's order and with its wording.
    """
    try:
        p = sigv4check.parse_authorization(headers, target)
        entry = credentials.get(p.access_key)
        if entry is None:
            raise sigv4check.Problem("unknown_key")
        try:
            sigv4check.parse_date(p)
        except sigv4check.Problem as pr:
            if pr.kind == "no_date":
                raise err(400, "IncompleteSignature",
                          "Authorization header requires existence of either a "
                          "'X-Amz-Date' or a 'Date' header. Authorization=%s"
                          % p.authorization.split(",")[0])
            raise
        sigv4check.check_scope(p, region, service)
        sigv4check.check_signed_headers(p)
        sigv4check.check_token(p, entry)
        csha = p.first("x-amz-content-sha256")
        if (csha and csha != "UNSIGNED-PAYLOAD"
                and csha != hashlib.sha256(body).hexdigest()):
            raise err(400, "XAmzContentSHA256Mismatch",
                      "The provided 'x-amz-content-sha256' header does not match what "
                      "was computed.")
        sigv4check.check_signature(p, method, target, body, scheme, entry)
    except sigv4check.Problem as pr:
        raise _cf_auth_error(pr, service, region)
    try:
        sigv4check.check_skew(p, now, max_skew)
    except sigv4check.Problem as pr:
        raise _cf_skew_error(pr, skew_code)
    return p.access_key


# ---------------------------------------------------------------- request body

def parse_batch(body):
    """InvalidationBatch XML -> (paths, caller_reference)."""
    if not body.strip():
        raise err(400, "MissingBody", "This operation requires a body. Ensure that the "
                  "body is present and the Content-Type header is set.")
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise err(400, "MalformedInput", "DTDs are not allowed.")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        raise err(400, "MalformedInput", "Invalid XML: %s" % e)

    def null(where):
        return err(400, "MalformedXML", "1 validation error detected: Value null at '%s' "
                   "failed to satisfy constraint: Member must not be null" % where)

    if root.tag != "{%s}InvalidationBatch" % NS:
        raise null("invalidationBatch")
    q = lambda n: "{%s}%s" % (NS, n)
    paths_el = root.find(q("Paths"))
    if paths_el is None:
        raise null("invalidationBatch.paths")
    ref_el = root.find(q("CallerReference"))
    if ref_el is None:
        raise null("invalidationBatch.callerReference")
    qty_el = paths_el.find(q("Quantity"))
    if qty_el is None:
        raise null("invalidationBatch.paths.quantity")
    try:
        quantity = int((qty_el.text or "").strip())
    except ValueError:
        raise err(400, "MalformedInput", "Invalid value for Quantity: '%s'" % qty_el.text)
    items_el = paths_el.find(q("Items"))
    items = []
    if items_el is not None:
        for child in items_el:
            if child.tag != q("Path"):
                raise err(400, "MalformedInput", "Unexpected list element termination")
            items.append(child.text or "")
    if quantity != len(items):
        raise err(400, "InconsistentQuantities",
                  "The value of Quantity and the size of Items don't match.")
    ref = ref_el.text or ""
    if not ref.strip():
        raise err(400, "InvalidArgument", "CallerReference must not be empty.")
    return items, ref


def path_problem(p, max_len, strict):
    """Why CloudFront would refuse this invalidation path, or None."""
    if cfitems.is_tag(p):
        return cfitems.tag_problem(p)
    if not p.startswith("/"):
        return "path %r does not begin with '/'" % p
    if len(p) > max_len:
        return "path of %d characters is longer than %d" % (len(p), max_len)
    if "*" in p[:-1]:
        return "path %r has '*' before its last character" % p
    if "~" in p:
        return "path %r contains a literal '~'" % p
    if strict:
        for i, ch in enumerate(p):
            if ord(ch) < 0x21 or ord(ch) >= 0x7F or ch in UNSAFE:
                return "path %r contains the unencoded character %r" % (p, ch)
            if ch == "%" and not (len(p) > i + 2 and p[i + 1] in HEX and p[i + 2] in HEX):
                return "path %r has a '%%' that is not a %%XX escape" % p
    return None


def path_warnings(p):
    """Paths CloudFront accepts but which would not invalidate what was meant."""
    out = []
    if cfitems.is_tag(p):
        return out      # a tag is taken as it is: nothing in it is an escape
    for m in re.finditer(r"%([0-9A-Fa-f]{2})", p):
        b = int(m.group(1), 16)
        if b == 0x7E:
            out.append("%r: '%%7E' is accepted but reportedly does not invalidate "
                       "'~' objects" % p)
        # '?' must be encoded too when it is part of a name: a literal one
        # would start a query string.
        elif 0x21 <= b < 0x7F and chr(b) not in UNSAFE and chr(b) not in "%?":
            out.append("%r: '%s' encodes %r, which must not be encoded (CloudFront "
                       "would not invalidate the cached object)" % (p, m.group(0), chr(b)))
    return out


# ---------------------------------------------------------------- state

class Invalidation:
    def __init__(self, inv_id, dist, ref, paths, create_dt, seq, warnings):
        self.id, self.dist, self.ref, self.paths = inv_id, dist, ref, list(paths)
        self.create_dt, self.seq = create_dt, seq
        self.create_time = iso_ms(create_dt)
        self.created_mono = time.monotonic()
        self.status = "InProgress"
        self.completed_at = None
        self.replays = 0
        self.warnings = warnings

    def as_json(self):
        return {"id": self.id, "distribution": self.dist, "caller_reference": self.ref,
                "paths": self.paths, "create_time": self.create_time,
                "status": self.status, "completed_time": self.completed_at,
                "replays": self.replays, "warnings": self.warnings,
                "file_paths": sum(1 for p in self.paths
                                  if cfitems.kind(p) != "wildcard"),
                "wildcard_paths": sum(1 for p in self.paths
                                      if cfitems.kind(p) == "wildcard"),
                "tag_paths": sum(1 for p in self.paths if cfitems.kind(p) == "tag")}


def normalize_fault(spec, op=None):
    if isinstance(spec, str):
        spec = {"fault": spec}
    if not isinstance(spec, dict):
        raise ValueError("a fault is a name or an object with 'fault'")
    spec = dict(spec)
    name = spec.get("fault")
    if name is not None:
        name = str(name)
    if name not in FAULTS:
        raise ValueError("unknown fault %r (known: %s)" % (name, ", ".join(FAULTS)))
    spec["fault"] = name
    if op is not None and "op" not in spec:
        spec["op"] = op
    if name == "lost201" and "op" not in spec:
        spec["op"] = "create"
    if spec.get("op") is not None and spec["op"] not in OPS:
        raise ValueError("unknown op %r (known: %s)" % (spec["op"], ", ".join(OPS)))
    if spec.get("action") is not None and spec["action"] not in s3.ACTION_OPS:
        raise ValueError("unknown S3 action %r (known: %s)"
                         % (spec["action"], ", ".join(s3.ACTION_OPS)))
    dist = spec.get("distribution")
    if dist is not None and (not isinstance(dist, str) or not dist):
        raise ValueError("distribution: a distribution id")
    spec.setdefault("op", None)
    spec.setdefault("process", FAULTS[name])
    count = int(spec.get("count", 1))
    if count < 1:
        raise ValueError("count must be >= 1")
    spec["count"] = count
    return spec


class App:
    def __init__(self, scheme, config=None):
        self.scheme = scheme
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        # Set by reset (then replaced): a request taken before a reset
        # waits on the event of its epoch (Handler.wait), so that one
        # held by a fault ends at the reset and changes nothing after it.
        self.reset_event = threading.Event()
        self.base_config = copy.deepcopy(DEFAULT_CONFIG)
        if config:
            self.base_config = self._merged(self.base_config, config)
        self.config = copy.deepcopy(self.base_config)
        self._clear_state()

    def _clear_state(self):
        """Every piece of per-test state (config apart): reset restores
        all of it, so that C tests can share one stand-in (standin.h).
        test_standin.TestReset lists the attributes it knows of."""
        self.invalidations = {}      # id -> Invalidation
        self.s3 = s3store.Store()    # objects and uploads; buckets are config
        self.seq = 0
        self.requests = []
        self.req_seq = 0
        self.tls_errors = []
        self.faults = []
        self.chaos = None
        self.chaos_rng = None

    # ---- config
    @staticmethod
    def _merged(cfg, update):
        cfg = copy.deepcopy(cfg)
        for key, value in update.items():
            if key not in DEFAULT_CONFIG:
                raise ValueError("unknown config key %r" % key)
            if key == "distributions":
                value = cfdist.normalize(value)
            elif key == "credentials":
                if not isinstance(value, dict):
                    raise ValueError("credentials: {access_key: secret | {secret, token}}")
                creds = {}
                for ak, v in value.items():
                    if isinstance(v, str):
                        v = {"secret": v}
                    if not isinstance(v, dict) or not isinstance(v.get("secret"), str):
                        raise ValueError("credentials[%r]: needs a secret" % ak)
                    creds[ak] = {"secret": v["secret"], "token": v.get("token")}
                value = creds
            elif key == "completion_delay":
                if value is not None:
                    value = float(value)
                    if value < 0:
                        raise ValueError("completion_delay must be >= 0 or null")
            elif key in ("clock_offset", "max_skew"):
                value = float(value)
            elif key in ("max_file_paths_in_progress", "max_wildcard_paths_in_progress",
                         "max_path_length", "max_body_bytes", "list_max_items"):
                value = int(value)
            elif key in ("strict_paths", "require_auth"):
                value = bool(value)
            elif key == "caller_reference_conflict":
                if value not in ("InvalidArgument", "InvalidationBatchAlreadyExists"):
                    raise ValueError("caller_reference_conflict: InvalidArgument or "
                                     "InvalidationBatchAlreadyExists")
            elif key in s3control.DEFAULT_CONFIG:
                value = s3control.check_config(key, value)
            elif key == "skew_error_code":
                if value not in ("SignatureDoesNotMatch", "RequestTimeTooSkewed"):
                    raise ValueError("skew_error_code: SignatureDoesNotMatch or "
                                     "RequestTimeTooSkewed")
            cfg[key] = value
        return cfg

    def configure(self, update):
        with self.lock:
            self.config = self._merged(self.config, update)
            for bucket in list(self.s3.objects):
                if bucket not in self.config["buckets"]:
                    self.s3.drop_bucket(bucket)
            return self.public_config()

    def public_config(self):
        return copy.deepcopy(self.config)

    def now(self):
        return (datetime.datetime.now(datetime.timezone.utc)
                + datetime.timedelta(seconds=self.config["clock_offset"]))

    def reset(self, config=False):
        with self.lock:
            old, self.reset_event = self.reset_event, threading.Event()
            old.set()
            self._clear_state()
            if config:
                self.config = copy.deepcopy(self.base_config)

    # ---- faults
    def add_faults(self, specs, op=None):
        new = [normalize_fault(s, op) for s in specs]
        with self.lock:
            self.faults.extend(new)
            return copy.deepcopy(self.faults)

    def set_chaos(self, body):
        rate = float(body.get("rate", 0))
        if rate <= 0:
            with self.lock:
                self.chaos = None
                self.chaos_rng = None
            return None
        if rate > 1:
            raise ValueError("rate is a probability in (0, 1]")
        op = body.get("op")
        specs = [normalize_fault(s, op) for s in body.get("faults") or DEFAULT_CHAOS_FAULTS]
        seed = body.get("seed", 0)
        with self.lock:
            self.chaos = {"seed": seed, "rate": rate, "op": op, "faults": specs,
                          "considered": 0, "injected": 0}
            self.chaos_rng = random.Random(seed)
            return copy.deepcopy(self.chaos)

    @staticmethod
    def _fault_matches(f, op, action, dist=None):
        return ((f["op"] is None or f["op"] == op
                 or (f["op"] == "s3" and op.startswith("s3:")))
                and f.get("action") in (None, action)
                and f.get("distribution") in (None, dist))

    def take_fault(self, op, action=None, dist=None):
        """The fault for a request of op (and S3 action, or CloudFront
        distribution), if one is due."""
        with self.lock:
            for i, f in enumerate(self.faults):
                if self._fault_matches(f, op, action, dist):
                    f["count"] -= 1
                    if f["count"] <= 0:
                        del self.faults[i]
                    out = dict(f)
                    out["source"] = "queue"
                    return out
            ch = self.chaos
            if ch and self._fault_matches({"op": ch["op"]}, op, action):
                ch["considered"] += 1
                # always draw twice so the sequence depends on the seed only
                hit = self.chaos_rng.random() < ch["rate"]
                pick = self.chaos_rng.randrange(len(ch["faults"]))
                candidates = [f for f in ch["faults"]
                              if self._fault_matches(f, op, action, dist)]
                if hit and candidates:
                    ch["injected"] += 1
                    f = candidates[pick % len(candidates)]
                    out = dict(f)
                    out["source"] = "chaos"
                    return out
            return None

    # ---- invalidations
    def _refresh(self, inv):
        delay = self.config["completion_delay"]
        if (inv.status == "InProgress" and delay is not None
                and time.monotonic() >= inv.created_mono + delay):
            self._complete(inv)

    def _complete(self, inv):
        inv.status = "Completed"
        inv.completed_at = iso_ms(self.now())

    def complete(self, inv_id=None, dist=None):
        done = []
        with self.lock:
            for inv in self.invalidations.values():
                if inv_id and inv.id != inv_id:
                    continue
                if dist and inv.dist != dist:
                    continue
                self._refresh(inv)
                if inv.status == "InProgress":
                    self._complete(inv)
                    done.append(inv.id)
        return done

    def list_invalidations(self, dist=None):
        with self.lock:
            out = []
            for inv in sorted(self.invalidations.values(), key=lambda i: i.seq):
                self._refresh(inv)
                if dist is None or inv.dist == dist:
                    out.append(inv.as_json())
            return out

    def _new_id(self):
        alphabet = string.ascii_uppercase + string.digits
        while True:
            inv_id = "I" + "".join(secrets.choice(alphabet) for _ in range(13))
            if inv_id not in self.invalidations:
                return inv_id

    def _check_dist(self, dist):
        if dist not in cfdist.ids(self.config):
            raise err(404, "NoSuchDistribution", "The specified distribution does not exist.")

    def location(self, host, dist, inv_id):
        return "%s://%s/%s/distribution/%s/invalidation/%s" % (
            self.scheme, host, API_VERSION, dist, inv_id)

    def create(self, dist, body, host, entry):
        cfg = self.config
        self._check_dist(dist)
        if len(body) > cfg["max_body_bytes"]:
            raise err(413, "BatchTooLarge", "Invalidation batch specified is too large.")
        paths, ref = parse_batch(body)
        if not paths:
            raise err(400, "InvalidArgument", INVALID_PATHS_MSG,
                      detail="the batch has no paths")
        for p in paths:
            why = path_problem(p, cfg["max_path_length"], cfg["strict_paths"])
            if why:
                raise err(400, "InvalidArgument", INVALID_PATHS_MSG, detail=why)
        seen = set()
        for p in paths:
            if p in seen:
                raise err(400, "InvalidArgument", INVALID_PATHS_MSG,
                          detail="duplicate path %r" % p)
            seen.add(p)
        with self.lock:
            for inv in self.invalidations.values():
                if inv.dist == dist and inv.ref == ref:
                    if sorted(inv.paths) == sorted(paths):
                        self._refresh(inv)
                        inv.replays += 1
                        entry["invalidation"] = inv.id
                        entry["replay"] = True
                        return Reply(201, render_invalidation(
                            inv.id, inv.status, inv.create_time, inv.paths, inv.ref),
                            [("Location", self.location(host, dist, inv.id))])
                    if cfg["caller_reference_conflict"] == "InvalidationBatchAlreadyExists":
                        raise err(409, "InvalidationBatchAlreadyExists",
                                  "The CallerReference %s was already used for a different "
                                  "invalidation batch." % ref,
                                  detail="caller reference of %s reused" % inv.id)
                    raise err(400, "InvalidArgument",
                              "Your request contains a caller reference that was used for "
                              "a previous invalidation batch for the same distribution.",
                              detail="caller reference of %s reused" % inv.id)
            files = sum(1 for p in paths if not p.endswith("*"))
            wild = len(paths) - files
            busy_files = busy_wild = 0
            for inv in self.invalidations.values():
                if inv.dist != dist:
                    continue
                self._refresh(inv)
                if inv.status == "InProgress":
                    for p in inv.paths:
                        if p.endswith("*"):
                            busy_wild += 1
                        else:
                            busy_files += 1
            if (busy_files + files > cfg["max_file_paths_in_progress"]
                    or busy_wild + wild > cfg["max_wildcard_paths_in_progress"]):
                raise err(400, "TooManyInvalidationsInProgress",
                          "Processing your request will cause you to exceed the maximum "
                          "number of in-progress invalidations.",
                          detail="in progress: %d files + %d wildcards; batch: %d + %d"
                          % (busy_files, busy_wild, files, wild))
            self.seq += 1
            warnings = [w for p in paths for w in path_warnings(p)]
            warnings += cfdist.tag_warnings(cfg, dist, paths)
            inv = Invalidation(self._new_id(), dist, ref, paths, self.now(), self.seq,
                               warnings)
            self.invalidations[inv.id] = inv
            entry["invalidation"] = inv.id
            entry["created"] = True
            if warnings:
                entry["warnings"] = warnings
            body = render_invalidation(inv.id, "InProgress", inv.create_time, inv.paths,
                                       inv.ref)
            return Reply(201, body, [("Location", self.location(host, dist, inv.id))])

    def get(self, dist, inv_id):
        with self.lock:
            self._check_dist(dist)
            inv = self.invalidations.get(inv_id)
            if inv is None or inv.dist != dist:
                raise err(404, "NoSuchInvalidation", "The specified invalidation does not exist.")
            self._refresh(inv)
            return Reply(200, render_invalidation(inv.id, inv.status, inv.create_time,
                                                  inv.paths, inv.ref))

    def list(self, dist, query):
        qs = parse_qs(query, keep_blank_values=True)
        marker = qs.get("Marker", [""])[0]
        limit = self.config["list_max_items"]
        raw_max = qs.get("MaxItems", [None])[0]
        if raw_max in (None, ""):
            max_items = limit
        else:
            try:
                max_items = int(raw_max)
            except ValueError:
                raise err(400, "InvalidArgument", "Invalid value for MaxItems: %s" % raw_max)
            if max_items < 0 or max_items > limit:
                raise err(400, "InvalidArgument",
                          "MaxItems must be between 0 and %d." % limit)
        with self.lock:
            self._check_dist(dist)
            invs = sorted((i for i in self.invalidations.values() if i.dist == dist),
                          key=lambda i: -i.seq)
            start = 0
            if marker:
                ids = [i.id for i in invs]
                if marker not in ids:
                    raise err(400, "InvalidArgument", "Invalid Marker: %s" % marker)
                start = ids.index(marker) + 1
            page = invs[start:start + max_items]
            for inv in page:
                self._refresh(inv)
            truncated = start + max_items < len(invs)
            next_marker = page[-1].id if (truncated and page) else ""
            return Reply(200, render_list(marker, next_marker, max_items, truncated,
                                          [(i.id, i.create_time, i.status) for i in page]))

    def seed(self, body):
        """Invalidations made as if earlier, for tests of the account's
        month (cfdist.seed_specs); listed after those already there."""
        dist, specs = cfdist.seed_specs(self.config, body)
        made = []
        with self.lock:
            for paths, create_dt, status, ref in specs:
                self.seq += 1
                inv = Invalidation(self._new_id(), dist, ref, paths, create_dt,
                                   self.seq, [])
                if status == "Completed":
                    self._complete(inv)
                else:
                    inv.created_mono = float("inf")   # never completes by itself
                self.invalidations[inv.id] = inv
                made.append(inv.id)
        return made

    def usage(self, month=None):
        with self.lock:
            return cfdist.usage(list(self.invalidations.values()),
                                month or cfdist.month_of(self.now()))

    def record_once(self, entry):
        """record(entry) unless it was recorded already (s3.send logs a
        request before it answers)."""
        with self.lock:
            if "seq" in entry:
                return
        self.record(entry)

    def record(self, entry):
        with self.lock:
            # A request from before a reset is not logged after it.
            if entry.pop("_epoch", self.reset_event) is not self.reset_event:
                entry["seq"] = None
                return
            self.req_seq += 1
            entry["seq"] = self.req_seq
            self.requests.append(entry)
        log.info("#%d %s %s op=%s sig=%s status=%s code=%s inv=%s%s fault=%s %s",
                 entry["seq"], entry["method"], entry["path"], entry["operation"],
                 entry["signature_ok"], entry["status"], entry.get("error_code"),
                 entry.get("invalidation"), " (replay)" if entry.get("replay") else "",
                 entry.get("fault"), entry.get("detail") or "")


# ---------------------------------------------------------------- HTTP

API_RE = re.compile(r"^/%s/distribution/([^/]+)/invalidation(?:/([^/]+))?/?$" % API_VERSION)
DIST_RE = re.compile(r"^/%s/distribution(?:/([^/]+)/config)?/?$" % API_VERSION)
REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 403: "Forbidden",
           404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
           413: "Request Entity Too Large", 500: "Internal Server Error",
           502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "CloudFront"
    sys_version = ""
    timeout = 120            # idle keep-alive connections are closed after this

    def log_message(self, fmt, *args):
        log.debug("%s %s", self.client_address[0], fmt % args)

    def handle(self):
        try:
            super().handle()
        except (Dropped, ConnectionError, ssl.SSLError, OSError, ValueError):
            pass

    def finish(self):
        try:
            super().finish()
        except (OSError, ValueError):
            pass

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = lambda self: self.dispatch()

    @property
    def app(self):
        return self.server.app

    # ---- raw I/O helpers
    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > 64 * 1024 * 1024:
            raise ValueError("request body too large")
        return self.rfile.read(length) if length else b""

    def raw_response(self, reply, request_id, extra_length=0):
        hdrs = [("x-amz-request-id", request_id)] + list(reply.headers)
        hdrs += [("Content-Type", "text/xml"),
                 ("Content-Length", str(len(reply.body) + extra_length)),
                 ("Date", email.utils.formatdate(self.app.now().timestamp(), usegmt=True))]
        if self.close_connection:
            hdrs.append(("Connection", "close"))
        head = "HTTP/1.1 %d %s\r\n" % (reply.status, REASONS.get(reply.status, "Unknown"))
        head += "".join("%s: %s\r\n" % h for h in hdrs) + "\r\n"
        return head.encode("latin-1"), reply.body

    def log_first(self):
        """Logs the request being answered before the answer goes (as
        s3.send does): a client that acts on the answer, say deletes an
        object once its invalidation was created, finds that act after
        the request in the log's order.  For every way of answering:
        whole, dribbled, or a dropped connection."""
        entry = getattr(self, "cur_entry", None)
        if entry is not None:
            self.app.record_once(entry)

    def send_reply(self, reply, request_id):
        head, body = self.raw_response(reply, request_id)
        self.log_first()
        self.wfile.write(head + (body if self.command != "HEAD" else b""))

    def drop(self, rst):
        """Close the connection without (further) response; RST if rst."""
        self.log_first()
        self.close_connection = True
        sock = self.connection
        try:
            if rst:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            try:
                self.rfile.close()
            except Exception:
                pass
            sock.close()
        except OSError:
            pass
        raise Dropped()

    def wait(self, seconds):
        """Sleeps for a fault, until a stop or a reset.  After a reset the
        request belongs to a test that is over: its connection is dropped
        with nothing done (not logged either: App.record)."""
        ev = getattr(self, "epoch", None) or self.app.reset_event
        ev.wait(max(0.0, float(seconds)))
        if ev.is_set() and not self.app.stopping.is_set():
            self.drop(rst=True)

    # ---- dispatch
    def dispatch(self):
        t0 = time.monotonic()
        self.epoch = self.app.reset_event
        split = urlsplit(self.path)
        if not split.path.startswith("/__standin") and s3.is_s3(split.path, self.headers):
            return self.dispatch_s3(split, t0)
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        if split.path.startswith("/__standin/") or split.path == "/__standin":
            return self.control(split, body)
        request_id = str(uuid.uuid4())
        op, dist, inv_id = "other", None, None
        m = API_RE.match(split.path)
        if m:
            dist = unquote(m.group(1))
            inv_id = unquote(m.group(2)) if m.group(2) else None
            if self.command == "POST" and inv_id is None:
                op = "create"
            elif self.command == "GET" and inv_id is not None:
                op = "get"
            elif self.command == "GET":
                op = "list"
        m = DIST_RE.match(split.path)
        if m and self.command == "GET":
            dist = unquote(m.group(1)) if m.group(1) else None
            op = "get_config" if dist else "list_distributions"
        entry = {"time": iso_ms(datetime.datetime.now(datetime.timezone.utc)),
                 "service": "cloudfront", "method": self.command, "path": self.path, "operation": op,
                 "distribution": dist, "request_id": request_id,
                 "client": "%s:%s" % self.client_address[:2],
                 "access_key": None, "signature_ok": None, "auth_error": None,
                 "invalidation": None, "created": False, "replay": False,
                 "fault": None, "status": None, "error_code": None, "detail": None,
                 "_epoch": self.epoch}
        if inv_id:
            entry["requested_invalidation"] = inv_id
        fault = self.app.take_fault(op, dist=dist)
        if fault:
            entry["fault"] = fault["fault"]
            entry["fault_source"] = fault["source"]
        self.cur_entry = entry
        try:
            self.run(op, dist, inv_id, split, body, request_id, entry, fault)
        except (Dropped, OSError):
            raise
        except Exception as e:
            # a bug here must not pass for a network fault: say so, loudly
            log.exception("stand-in bug while handling %s %s", self.command, self.path)
            entry["status"], entry["error_code"] = 500, "StandInBug"
            entry["detail"] = "stand-in bug: %r" % e
            self.close_connection = True
            try:
                self.send_reply(Reply(500, render_error("StandInBug", entry["detail"],
                                                        request_id, "Receiver")), request_id)
            except OSError:
                pass
        finally:
            self.cur_entry = None
            entry["duration_ms"] = int((time.monotonic() - t0) * 1000)
            self.app.record_once(entry)

    def dispatch_s3(self, split, t0):
        """An S3 request: routed (and a conditional write's in-flight window
        opened) before its body is read, then answered by s3.run."""
        req = s3.Request(self, split, iso_ms(datetime.datetime.now(datetime.timezone.utc)))
        req.entry["_epoch"] = self.epoch
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        fault = self.app.take_fault(req.op, req.action)
        if fault:
            req.entry["fault"] = fault["fault"]
            req.entry["fault_source"] = fault["source"]
        self.cur_entry = req.entry
        try:
            s3.run(self, req, body, fault)
        except (Dropped, OSError):
            raise
        except Exception as e:
            log.exception("stand-in bug while handling %s %s", self.command, self.path)
            req.entry["status"], req.entry["error_code"] = 500, "StandInBug"
            req.entry["detail"] = "stand-in bug: %r" % e
            self.close_connection = True
            try:
                s3.bug_reply(self, req, req.entry["detail"])
            except OSError:
                pass
        finally:
            self.cur_entry = None
            req.entry["duration_ms"] = int((time.monotonic() - t0) * 1000)
            self.app.record_once(req.entry)

    def dribble(self, data, seconds):
        """Write data in about 20 pieces a second over seconds."""
        self.log_first()
        steps = max(1, min(len(data), int(seconds * 20)))
        chunk = -(-len(data) // steps)
        for i in range(0, len(data), chunk):
            self.wfile.write(data[i:i + chunk])
            self.wait(seconds / steps)

    def process(self, op, dist, inv_id, split, body, request_id, entry):
        app = self.app
        try:
            if app.config["require_auth"]:
                hdrs = list(self.headers.items())
                cfg = app.config
                try:
                    entry["access_key"] = verify_sigv4(
                        self.command, self.path, hdrs, body, app.scheme,
                        cfg["credentials"], app.now(), cfg["max_skew"],
                        cfg["skew_error_code"])
                    entry["signature_ok"] = True
                except ApiError as e:
                    entry["signature_ok"] = False
                    entry["auth_error"] = e.code
                    raise
            host = self.headers.get("Host") or "cloudfront.amazonaws.com"
            if op == "create":
                return app.create(dist, body, host, entry)
            if op == "get":
                return app.get(dist, inv_id)
            if op == "list":
                return app.list(dist, split.query)
            if op in ("list_distributions", "get_config"):
                return self.dist_reply(op, dist, split.query)
            if API_RE.match(split.path):
                raise err(405, "MethodNotAllowed", "The specified method is not allowed "
                          "against this resource.")
            raise err(404, "NoSuchResource", "A resource that was specified is not valid.")
        except ApiError as e:
            entry["detail"] = e.detail or e.message
            return error_reply(e, request_id)

    def dist_reply(self, op, dist, query):
        app = self.app
        try:
            with app.lock:
                if op == "get_config":
                    status, body, hdrs = cfdist.get_config(app.config, dist)
                else:
                    status, body, hdrs = cfdist.list_distributions(
                        app.config, query, app.now())
        except cfdist.Refused as e:
            raise err(e.status, e.code, e.message)
        return Reply(status, body, hdrs)

    def run(self, op, dist, inv_id, split, body, request_id, entry, fault):
        def finish(reply, **kw):
            entry["status"] = reply.status
            entry["error_code"] = reply.code
            self.send_reply(reply, request_id)

        if not fault:
            return finish(self.process(op, dist, inv_id, split, body, request_id, entry))
        name = fault["fault"]
        if name == "hold":
            self.wait(fault.get("seconds", 2))
            return finish(self.process(op, dist, inv_id, split, body, request_id, entry))
        reply = None
        if fault["process"] or name in ("delay", "slow"):
            reply = self.process(op, dist, inv_id, split, body, request_id, entry)
            entry["processed_status"] = reply.status
        action = ACTIONS[op]

        def fault_error(status, code, message, etype):
            entry["status"], entry["error_code"] = status, code
            self.send_reply(Reply(status, render_error(code, message, request_id, etype),
                                  code=code), request_id)

        if name == "503":
            return fault_error(503, "ServiceUnavailable",
                               "CloudFront encountered an internal error. Please try again.",
                               "Receiver")
        if name == "500":
            return fault_error(500, "InternalError",
                               "We encountered an internal error. Please try again.",
                               "Receiver")
        if name == "throttle":
            return fault_error(400, "Throttling", "Rate exceeded", "Sender")
        if name == "access_denied":
            return fault_error(
                403, "AccessDenied",
                "User: arn:aws:iam::123456789012:user/cfwatch is not authorized to perform: "
                "cloudfront:%s on resource: arn:aws:cloudfront::123456789012:distribution/%s "
                "because no identity-based policy allows the cloudfront:%s action"
                % (action, dist or "", action), "Sender")
        if name == "request_timeout":
            return fault_error(400, "RequestTimeout", "Your socket connection to the "
                               "server was not read from or written to within the "
                               "timeout period.", "Sender")
        if name == "conflict":
            return fault_error(409, "ConditionalRequestConflict", "A conflicting "
                               "conditional operation is currently in progress against "
                               "this resource. Please try again.", "Sender")
        if name == "too_many":
            return fault_error(400, "TooManyInvalidationsInProgress",
                               "Processing your request will cause you to exceed the "
                               "maximum number of in-progress invalidations.", "Sender")
        if name == "error":
            status = int(fault.get("status", 500))
            return fault_error(status, fault.get("code", "InternalError"),
                               fault.get("message", "Injected error."),
                               fault.get("type", "Receiver" if status >= 500 else "Sender"))
        if name in ("reset", "lost201", "lost"):
            entry["status"] = "reset"
            self.drop(rst=True)
        if name == "hang":
            entry["status"] = "hang"
            self.wait(fault.get("seconds", 5))
            self.drop(rst=bool(fault.get("rst", False)))
        if name == "delay":
            self.wait(fault.get("seconds", 2))
            return finish(reply)
        if name == "slow":
            entry["status"] = reply.status
            entry["error_code"] = reply.code
            head, body_bytes = self.raw_response(reply, request_id)
            self.log_first()
            return self.dribble(head + body_bytes, float(fault.get("seconds", 3)))
        default_status = 201 if op == "create" else 200
        if name == "other201":
            body = render_invalidation("IOTHERBATCH0001", "InProgress",
                                       iso_ms(self.app.now()), ["/not/yours"],
                                       "someone-else")
            entry["status"] = default_status
            return self.send_reply(Reply(default_status, body), request_id)
        if name == "garbage":
            status = int(fault.get("status", reply.status if reply else default_status))
            junk = ('<?xml version="1.0" encoding="UTF-8"?>\n<Invalidation xmlns="%s">\n'
                    '   <Id>IGARBAGE</Status>\n   <<CreateTime>&bogus;' % NS).encode()
            entry["status"] = status
            return self.send_reply(Reply(status, junk), request_id)
        if name == "huge":
            size = int(fault.get("size", 32 * 1024 * 1024))
            if reply is None:
                reply = Reply(500, render_error("InternalError", "We encountered an internal "
                                                "error. Please try again.", request_id,
                                                "Receiver"), code="InternalError")
            status = int(fault.get("status", reply.status))
            decl, _, rest = reply.body.partition(b"\n")
            prefix = decl + b"\n<!--"
            suffix = b"-->\n" + rest
            pad_len = max(0, size - len(prefix) - len(suffix))
            entry["status"], entry["error_code"] = status, reply.code
            head, _ = self.raw_response(Reply(status, b"", reply.headers), request_id,
                                        extra_length=len(prefix) + pad_len + len(suffix))
            self.log_first()
            self.wfile.write(head + prefix)
            block = b" " * 65536
            left = pad_len
            while left > 0:
                n = min(left, len(block))
                self.wfile.write(block[:n])
                left -= n
            self.wfile.write(suffix)
            return
        if name == "bad_length":
            if reply is None:
                reply = Reply(500, render_error("InternalError", "We encountered an internal "
                                                "error. Please try again.", request_id,
                                                "Receiver"), code="InternalError")
            entry["status"], entry["error_code"] = reply.status, reply.code
            head, body_bytes = self.raw_response(
                reply, request_id, extra_length=int(fault.get("extra", 1024)))
            self.log_first()
            self.wfile.write(head + body_bytes)
            self.drop(rst=False)
        raise AssertionError("unhandled fault %s" % name)

    # ---- control API
    def control(self, split, body):
        app = self.app
        path = split.path.rstrip("/")
        qs = parse_qs(split.query)
        try:
            data = json.loads(body.decode("utf-8")) if body.strip() else {}
            if not isinstance(data, (dict, list)):
                raise ValueError("JSON object expected")
            method = self.command
            if path == "/__standin/health":
                out = {"ok": True, "pid": os.getpid()}
            elif path == "/__standin/config":
                out = app.configure(data) if method == "POST" else app.public_config()
            elif path == "/__standin/faults":
                if method == "POST":
                    specs = data if isinstance(data, list) else data.get("faults", [])
                    op = None if isinstance(data, list) else data.get("op")
                    out = {"faults": app.add_faults(specs, op)}
                elif method == "DELETE":
                    with app.lock:
                        app.faults = []
                    out = {"faults": []}
                else:
                    with app.lock:
                        out = {"faults": copy.deepcopy(app.faults)}
            elif path == "/__standin/chaos":
                if method == "POST":
                    out = {"chaos": app.set_chaos(data)}
                else:
                    with app.lock:
                        out = {"chaos": copy.deepcopy(app.chaos)}
            elif path == "/__standin/log":
                since = int(qs.get("since", ["0"])[0])
                with app.lock:
                    out = {"requests": [copy.deepcopy(r) for r in app.requests
                                        if r["seq"] > since],
                           "tls_errors": list(app.tls_errors)}
            elif path == "/__standin/usage":
                out = app.usage(qs.get("month", [None])[0])
            elif path == "/__standin/seed" and method == "POST":
                out = {"ids": app.seed(data)}
            elif path == "/__standin/invalidations":
                out = {"invalidations": app.list_invalidations(
                    qs.get("distribution", [None])[0])}
            elif path == "/__standin/reset" and method == "POST":
                app.reset(config=bool(data.get("config", False)))
                out = {"ok": True}
            elif path == "/__standin/complete" and method == "POST":
                out = {"completed": app.complete(data.get("id"), data.get("distribution"))}
            elif path.startswith("/__standin/s3/"):
                out = s3control.control(app, method, path, qs, data)
                if isinstance(out, bytes):
                    return self.control_raw(200, out)
            elif path == "/__standin/clock":
                if method == "POST":
                    if "at" in data:
                        at = datetime.datetime.strptime(data["at"], AMZ_FMT).replace(
                            tzinfo=datetime.timezone.utc)
                        off = (at - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
                    else:
                        off = float(data.get("offset", 0))
                    app.configure({"clock_offset": off})
                now = app.now()
                out = {"now": now.strftime(AMZ_FMT), "offset": app.config["clock_offset"]}
            else:
                return self.control_reply(404, {"error": "no such control endpoint %s %s"
                                                % (self.command, path)})
            return self.control_reply(200, out)
        except s3control.NoEndpoint as e:
            return self.control_reply(404, {"error": str(e)})
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            return self.control_reply(400, {"error": str(e)})

    def control_reply(self, status, obj):
        self.control_raw(status, json.dumps(obj, indent=1).encode(), "application/json")

    def control_raw(self, status, data, ctype="application/octet-stream"):
        hdr = ("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
               % (status, REASONS.get(status, "X"), ctype, len(data)))
        if self.close_connection:
            hdr += "Connection: close\r\n"
        self.wfile.write(hdr.encode() + b"\r\n" + data)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, app, ssl_ctx):
        self.app = app
        self.ssl_ctx = ssl_ctx
        super().__init__(addr, Handler)

    def finish_request(self, request, client_address):
        conn = request
        if self.ssl_ctx is not None:
            request.settimeout(30)
            try:
                conn = self.ssl_ctx.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as e:
                with self.app.lock:
                    self.app.tls_errors.append({
                        "time": iso_ms(datetime.datetime.now(datetime.timezone.utc)),
                        "client": "%s:%s" % client_address[:2], "error": str(e)})
                log.info("TLS handshake with %s failed: %s", client_address, e)
                return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        log.exception("error while handling %s", client_address)


# ---------------------------------------------------------------- certificates

def ensure_certs(d):
    ca, ca_key = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
    crt, key = os.path.join(d, "server.pem"), os.path.join(d, "server.key")
    if all(os.path.exists(p) for p in (ca, ca_key, crt, key)):
        return ca, crt, key

    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)

    ext = os.path.join(d, "server.ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n"
                "subjectKeyIdentifier=hash\n"
                "authorityKeyIdentifier=keyid,issuer\n")
    tmp = lambda p: p + ".tmp%d" % os.getpid()
    # P-256 keys, as tests/unit/http_test_server.py makes: every stand-in
    # makes a fresh CA, and two RSA-2048 key generations cost 0.4 to
    # 0.7 s of CPU per start (a few ms for P-256), most of the S3 unit
    # tests' time, which start one per case.  The key type is OpenSSL's
    # business, not cfwatch's: libcurl verifies either the same way.
    newkey = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1")
    run("req", "-x509", "-new", "-nodes", *newkey, "-sha256",
        "-days", "3650", "-subj", "/CN=cfwatch test stand-in CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        "-addext", "subjectKeyIdentifier=hash",
        "-keyout", tmp(ca_key), "-out", tmp(ca))
    csr = tmp(os.path.join(d, "server.csr"))
    run("req", "-new", "-nodes", *newkey, "-sha256", "-subj", "/CN=localhost",
        "-keyout", tmp(key), "-out", csr)
    run("x509", "-req", "-in", csr, "-CA", tmp(ca), "-CAkey", tmp(ca_key),
        "-set_serial", "0x" + secrets.token_hex(16), "-days", "825", "-sha256",
        "-extfile", ext, "-out", tmp(crt))
    for p in (ca_key, key, crt, ca):       # ca.pem last: its presence means "complete"
        os.replace(tmp(p), p)
    for p in (csr, ext):
        try:
            os.remove(p)
        except OSError:
            pass
    return ca, crt, key


def write_json_atomic(path, obj):
    tmp = "%s.tmp%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        json.dump(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def watch_pid(pid, stop):
    """Sets stop once process pid has exited: at once through a pidfd
    (Linux 5.3, Python 3.9), else within 0.2 s.  A pid that is already
    gone sets it now."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        fd = -1
    except (AttributeError, OSError):
        fd = None

    def alive():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return True

    def run():
        if fd is not None and fd >= 0:
            select.select([fd], [], [])
            os.close(fd)
        while fd is None and alive() and not stop.wait(0.2):
            pass
        log.info("process %d went away", pid)
        stop.set()

    threading.Thread(target=run, daemon=True).start()


def main(argv=None):
    ap = argparse.ArgumentParser(description="CloudFront invalidation API stand-in (tests only)")
    ap.add_argument("--dir", required=True, help="state dir: certificates, ready.json, log")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--plain-http", action="store_true", help="serve plain HTTP, no TLS")
    ap.add_argument("--config", help="JSON file with initial configuration (control API keys)")
    ap.add_argument("--exit-with-parent", action="store_true",
                    help="exit when the parent process goes away")
    ap.add_argument("--exit-with-pid", type=int, metavar="PID",
                    help="exit when process PID goes away (any process, not only the parent)")
    ap.add_argument("--remove-dir", action="store_true",
                    help="remove --dir and all in it on exit")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)

    os.makedirs(args.dir, exist_ok=True)
    logging.basicConfig(filename=os.path.join(args.dir, "standin.log"),
                        level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s")
    ready = os.path.join(args.dir, "ready.json")
    try:
        os.remove(ready)
    except OSError:
        pass
    init = None
    if args.config:
        with open(args.config) as f:
            init = json.load(f)
    ssl_ctx, ca = None, None
    if not args.plain_http:
        ca, crt, key = ensure_certs(args.dir)
        ssl_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ssl_ctx.load_cert_chain(crt, key)
    app = App("http" if args.plain_http else "https", init)
    server = Server((args.host, args.port), app, ssl_ctx)
    port = server.server_address[1]

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.exit_with_pid:
        watch_pid(args.exit_with_pid, stop)
    # serve_forever looks for shutdown() every poll_interval: at 0.2 s a
    # stop took 0.3 s, paid by every C test case that starts a stand-in.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    host = args.host if ":" not in args.host else "[%s]" % args.host
    write_json_atomic(ready, {"port": port, "ca_file": ca, "pid": os.getpid(),
                              "host": args.host, "scheme": app.scheme,
                              "endpoint": "%s://%s:%d" % (app.scheme, host, port)})
    log.info("listening on %s:%d (%s), pid %d", args.host, port, app.scheme, os.getpid())
    parent = os.getppid()
    while not stop.wait(0.5):
        if args.exit_with_parent and os.getppid() != parent:
            log.info("parent %d went away", parent)
            break
    log.info("stopping")
    app.stopping.set()
    app.reset_event.set()       # ends the waits of faults (Handler.wait)
    server.shutdown()
    server.server_close()
    try:
        os.remove(ready)
    except OSError:
        pass
    logging.shutdown()
    if args.remove_dir:
        shutil.rmtree(args.dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
