# SPDX-License-Identifier: MIT
"""SigV4 for the S3 stand-in: sigv4check's checks in S3's order, with S3's
error codes and elements.

- Service "s3", and the bucket's region: a wrong one is 400
  AuthorizationHeaderMalformed "...the region 'X' is wrong; expecting 'Y'"
  with a <Region> element, as S3 answers.
- S3's canonical URI is the path as sent, encoded once (botocore's
  S3SigV4Auth), not normalised and encoded again as for other services.
- x-amz-content-sha256 is required and signed; every x-amz-* header sent
  must be signed (403 AccessDenied, HeadersNotSigned).
- The clock may be 15 minutes off (403 RequestTimeTooSkewed with
  RequestTime, ServerTime and MaxAllowedSkewMilliseconds).
"""

from tests.standin import sigv4check
from tests.standin.s3checks import Bad, check_content_sha256

AMZ_FMT = sigv4check.AMZ_FMT
MALFORMED = "The authorization header is malformed; "


def _mapped(pr, region):
    """The Bad that S3 answers for a sigv4check.Problem."""
    i, k = pr.info, pr.kind
    if k == "missing":
        return Bad(403, "AccessDenied", "Access Denied")
    if k == "presigned":
        return Bad(403, "AccessDenied", "Query-string (presigned) authentication is "
                   "not supported by the stand-in.")
    if k == "malformed":
        return Bad(400, "AuthorizationHeaderMalformed", MALFORMED + "%s."
                   % ", ".join("missing %s" % m for m in i["missing"]) if i["missing"]
                   else MALFORMED + i["why"] + ".")
    if k == "credential":
        return Bad(400, "AuthorizationHeaderMalformed", MALFORMED + "the Credential is "
                   "mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/"
                   "aws4_request\".")
    if k in ("no_date", "bad_date"):
        return Bad(403, "AccessDenied", "AWS authentication requires a valid Date or "
                   "x-amz-date header")
    if k == "scope_date":
        return Bad(400, "AuthorizationHeaderMalformed", MALFORMED + "Invalid credential "
                   "date. Date is not the same as X-Amz-Date.")
    if k == "region":
        return Bad(400, "AuthorizationHeaderMalformed", MALFORMED + "the region '%s' is "
                   "wrong; expecting '%s'" % (i["got"], i["want"]), Region=i["want"])
    if k == "service":
        return Bad(400, "AuthorizationHeaderMalformed", MALFORMED + "incorrect service "
                   "\"%s\". This endpoint belongs to \"s3\"." % i["got"])
    if k == "terminator":
        return Bad(400, "AuthorizationHeaderMalformed", MALFORMED + "incorrect terminal "
                   "\"%s\". This endpoint uses \"aws4_request\"." % i["got"])
    if k in ("signed_headers", "host_unsigned", "header_absent"):
        detail = {"signed_headers": "SignedHeaders must be lower case and sorted",
                  "host_unsigned": "the host header is not signed",
                  "header_absent": "the signed header '%s' is absent" % i.get("header")}[k]
        return Bad(403, "SignatureDoesNotMatch", "The request signature we calculated "
                   "does not match the signature you provided. Check your key and "
                   "signing method.", detail=detail)
    if k == "token_bad":
        return Bad(400, "InvalidToken", "The provided token is malformed or otherwise "
                   "invalid.")
    raise AssertionError("unmapped SigV4 problem %s" % k)


def _signature_error(pr, access_key):
    i = pr.info
    sts, creq = i["string_to_sign"], i["canonical_request"]
    return Bad(403, "SignatureDoesNotMatch", "The request signature we calculated does "
               "not match the signature you provided. Check your key and signing method.",
               AWSAccessKeyId=access_key, StringToSign=sts,
               SignatureProvided=i["provided"],
               StringToSignBytes=" ".join("%02x" % b for b in sts.encode()),
               CanonicalRequest=creq,
               CanonicalRequestBytes=" ".join("%02x" % b for b in creq.encode()))


def _skew_error(pr):
    i = pr.info
    return Bad(403, "RequestTimeTooSkewed", "The difference between the request time "
               "and the current time is too large.", RequestTime=i["amz"],
               ServerTime=i["now"].strftime("%Y-%m-%dT%H:%M:%SZ"),
               MaxAllowedSkewMilliseconds=int(i["max_skew"] * 1000))


def verify(method, target, headers, body, scheme, credentials, now, region, max_skew):
    """Check an S3 request's signature; region None accepts any (ListBuckets).
    body: the bytes as sent.  Returns (access key, x-amz-content-sha256);
    raises Bad.  The payload hash itself is checked by the caller, after the
    body is decoded."""
    try:
        p = sigv4check.parse_authorization(headers, target)
        entry = credentials.get(p.access_key)
        if entry is None:
            raise Bad(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does "
                      "not exist in our records.", AWSAccessKeyId=p.access_key)
        sigv4check.parse_date(p)
        sigv4check.check_scope(p, region, "s3")
        sigv4check.check_signed_headers(p)
        sigv4check.check_token(p, entry)
        unsigned = sigv4check.unsigned_amz_headers(p)
        if unsigned:
            raise Bad(403, "AccessDenied", "There were headers present in the request "
                      "which were not signed", HeadersNotSigned=", ".join(unsigned))
        csha = check_content_sha256(p.first("x-amz-content-sha256"))
    except sigv4check.Problem as pr:
        raise _mapped(pr, region)
    try:
        sigv4check.check_signature(p, method, target, body, scheme, entry, signer="s3")
    except sigv4check.Problem as pr:
        raise _signature_error(pr, p.access_key)
    try:
        sigv4check.check_skew(p, now, max_skew)
    except sigv4check.Problem as pr:
        raise _skew_error(pr)
    return p.access_key, csha
