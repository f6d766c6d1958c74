# SPDX-License-Identifier: MIT
"""SigV4 header-signature checks shared by the CloudFront and S3 stand-ins.

Each step raises Problem(kind, **info) and leaves the wording to the caller,
because CloudFront and S3 name the same failure differently (CloudFront's
IncompleteSignature is S3's AuthorizationHeaderMalformed, and so on).  The
canonical request, string to sign and signature are botocore's own, computed
over a request rebuilt from exactly the headers the client signed.
"""

import datetime
import hmac
from urllib.parse import urlsplit

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

AMZ_FMT = "%Y%m%dT%H%M%SZ"
ALGORITHM = "AWS4-HMAC-SHA256"


class Problem(Exception):
    """A failed check: kind names it, info holds what a message needs."""

    def __init__(self, kind, **info):
        super().__init__(kind)
        self.kind = kind
        self.info = info


class Parsed:
    """The parts of a request's Authorization header, and its headers."""

    def __init__(self, headers):
        self.headers = list(headers)          # (name, value) as received
        self.lower = {}
        for name, value in self.headers:
            self.lower.setdefault(name.lower(), []).append(value)
        self.authorization = None
        self.params = {}
        self.access_key = self.date = self.region = None
        self.service = self.terminator = None
        self.signed = []
        self.amz = None
        self.amz_dt = None

    def first(self, name):
        values = self.lower.get(name)
        return values[0].strip() if values else None


def _headers_as_given(auth_cls):
    class Verifying(auth_cls):
        """botocore's signer, except that the headers to sign are the ones
        the request holds.  botocore never signs Expect, User-Agent or
        X-Amzn-Trace-Id, but a client may, and AWS checks what it signed;
        the request passed in holds exactly the client's SignedHeaders."""

        def headers_to_sign(self, request):
            header_map = HTTPHeaders()
            for name, value in request.headers.items():
                header_map[name.lower()] = value
            return header_map

    return Verifying


# S3's canonical URI is the path as sent (encoded once); other services
# normalise and encode it again.  botocore's S3SigV4Auth knows the difference.
SIGNERS = {"generic": _headers_as_given(SigV4Auth),
           "s3": _headers_as_given(S3SigV4Auth)}


def parse_authorization(headers, target):
    """Raises missing, presigned, malformed or credential."""
    p = Parsed(headers)
    authz = p.lower.get("authorization")
    if not authz:
        query = urlsplit(target).query
        if "X-Amz-Signature=" in query or "X-Amz-Algorithm=" in query:
            raise Problem("presigned")
        raise Problem("missing")
    if len(authz) > 1:
        raise Problem("malformed", why="more than one Authorization header",
                      value=authz[0], missing=[])
    value = p.authorization = authz[0]
    if not value.startswith(ALGORITHM + " "):
        raise Problem("malformed", why="algorithm", value=value,
                      missing=["Credential", "Signature", "SignedHeaders"])
    for part in value[len(ALGORITHM) + 1:].split(","):
        k, sep, v = part.strip().partition("=")
        if sep:
            p.params[k.strip()] = v.strip()
    missing = [k for k in ("Credential", "SignedHeaders", "Signature")
               if not p.params.get(k)]
    if missing:
        raise Problem("malformed", why="parameters", value=value, missing=missing)
    cred = p.params["Credential"].split("/")
    if len(cred) != 5:
        raise Problem("credential", credential=p.params["Credential"])
    p.access_key, p.date, p.region, p.service, p.terminator = cred
    p.signed = p.params["SignedHeaders"].split(";")
    return p


def parse_date(p):
    """Raises no_date or bad_date."""
    amz = p.first("x-amz-date")
    if not amz:
        raise Problem("no_date")
    try:
        p.amz_dt = datetime.datetime.strptime(amz, AMZ_FMT).replace(
            tzinfo=datetime.timezone.utc)
    except ValueError:
        raise Problem("bad_date", amz=amz)
    p.amz = amz


def check_scope(p, region, service):
    """Raises scope_date, region (region None accepts any), service or
    terminator, in that order."""
    if p.date != p.amz[:8]:
        raise Problem("scope_date", date=p.date, amz=p.amz)
    if region is not None and p.region != region:
        raise Problem("region", got=p.region, want=region)
    if p.service != service:
        raise Problem("service", got=p.service, want=service)
    if p.terminator != "aws4_request":
        raise Problem("terminator", got=p.terminator)


def check_signed_headers(p):
    """Raises signed_headers (not lower case and sorted), host_unsigned or
    header_absent."""
    signed = p.signed
    if signed != sorted(signed) or any(h != h.lower() or not h for h in signed):
        raise Problem("signed_headers")
    if "host" not in signed:
        raise Problem("host_unsigned")
    for h in signed:
        if h not in p.lower:
            raise Problem("header_absent", header=h)


def unsigned_amz_headers(p):
    """x-amz-* headers that are present but not signed (S3 refuses them)."""
    return sorted(h for h in p.lower if h.startswith("x-amz-") and h not in p.signed)


def check_token(p, entry):
    """entry: {"secret", "token"}.  Raises token_bad or token_unsigned."""
    token = p.lower.get("x-amz-security-token")
    want = entry.get("token")
    if want:
        if not token or token[0] != want:
            raise Problem("token_bad", sent=bool(token))
        if "x-amz-security-token" not in p.signed:
            raise Problem("token_unsigned")
    elif token:
        raise Problem("token_bad", sent=True)


def check_signature(p, method, target, body, scheme, entry, signer="generic"):
    """Raises signature with the canonical request and string to sign that
    the signature should have been computed over."""
    host = p.first("host")
    req = AWSRequest(method=method, url="%s://%s%s" % (scheme, host, target),
                     headers={}, data=body)
    for name, value in p.headers:
        if name.lower() in p.signed:
            req.headers[name] = value          # HTTPHeaders: appends repeats
    req.context["timestamp"] = p.amz
    auth = SIGNERS[signer](Credentials(p.access_key, entry["secret"], entry.get("token")),
                           p.service, p.region)
    creq = auth.canonical_request(req)
    sts = auth.string_to_sign(req, creq)
    expected = auth.signature(sts, req)
    if not hmac.compare_digest(expected, p.params["Signature"]):
        raise Problem("signature", canonical_request=creq, string_to_sign=sts,
                      provided=p.params["Signature"])


def check_skew(p, now, max_skew):
    """Raises skew with the signed time's distance from now (seconds,
    negative when it lies in the past)."""
    skew = (p.amz_dt - now).total_seconds()
    if abs(skew) > max_skew:
        raise Problem("skew", skew=skew, now=now, max_skew=max_skew, amz=p.amz)
