# SPDX-License-Identifier: MIT
"""The S3 operations the stand-in serves, one function each.  Each takes a
Ctx (the parsed request) and returns a Reply, or raises s3checks.Bad.

References: the Amazon S3 API Reference pages of each operation (PutObject,
GetObject, HeadObject, DeleteObject, DeleteObjects, ListObjectsV2,
CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
AbortMultipartUpload, ListParts) and the S3 User Guide on conditional writes
and on checking object integrity.
"""

import base64
import email.utils
import json
import re

from tests.standin import s3checks
from tests.standin import s3store
from tests.standin import s3xml
from tests.standin.s3checks import ALGORITHMS, Bad

MAX_PART_NUMBER = 10000
DEFAULT_CONTENT_TYPE = "binary/octet-stream"


class Reply:
    def __init__(self, status, body=b"", headers=None, code=None, length=None):
        self.status = status
        self.body = body
        self.headers = headers or []        # [(name, value)]
        self.code = code                    # S3 error code, if an error
        self.length = length                # Content-Length of a HEAD answer


class Ctx:
    """One S3 request, parsed: route (bucket, key, q, action), the decoded
    body, the headers by lower-case name, trailer headers of an aws-chunked
    body, and where to record what happened (entry)."""

    def __init__(self, app, route, body, lower, trailers, entry, token, base_url):
        self.app, self.store, self.cfg = app, app.s3, app.config
        self.route, self.bucket, self.key, self.q = route, route.bucket, route.key, route.q
        self.body, self.lower, self.trailers = body, lower, trailers
        self.entry, self.token, self.base_url = entry, token, base_url

    def header(self, name):
        values = self.lower.get(name)
        return values[0].strip() if values else None


# ---------------------------------------------------------------- helpers

def _checksums(ctx):
    """[(ALG, value)] sent as x-amz-checksum-* headers or trailers."""
    sums = s3checks.checksum_headers(ctx.lower)
    for alg in ALGORITHMS:
        value = ctx.trailers.get("x-amz-checksum-" + alg.lower())
        if value is not None:
            sums.append((alg, value))
    if len(sums) > 1:
        raise Bad(400, "InvalidRequest", "Expecting a single x-amz-checksum- header. "
                  "Multiple checksum Types are not allowed.")
    return sums


def _check_integrity(ctx):
    """Content-MD5 when sent, the x-amz-checksum-* value when sent.  Returns
    (ALG, value) or None."""
    md5 = ctx.header("content-md5")
    if md5 is not None:
        s3checks.check_md5(md5, ctx.body)
    sums = _checksums(ctx)
    for alg, value in sums:
        s3checks.check_checksum(alg, value, ctx.body)
    return sums[0] if sums else None


def _stored_headers(ctx):
    headers, meta = {}, {}
    for name in s3store.STORED_HEADERS:
        value = ctx.header(name)
        if value is None:
            continue
        if name == "content-encoding":
            # aws-chunked only framed the upload; S3 does not keep it.
            value = ",".join(t.strip() for t in value.split(",")
                             if t.strip() and t.strip().lower() != "aws-chunked")
            if not value:
                continue
        headers[name] = value
    headers.setdefault("content-type", DEFAULT_CONTENT_TYPE)
    for name, values in ctx.lower.items():
        if name.startswith("x-amz-meta-"):
            meta[name] = values[0].strip()
    return headers, meta


def _condition(ctx):
    cond = s3store.parse_condition(ctx.header("if-match"), ctx.header("if-none-match"))
    if cond is not None:
        ctx.entry["condition"] = repr(cond)
    return cond


def _checksum_headers(checksum):
    if not checksum:
        return []
    return [("x-amz-checksum-" + checksum["algorithm"].lower(), checksum["value"]),
            ("x-amz-checksum-type", checksum["type"])]


def _xml(status, body, headers=None):
    return Reply(status, body, [("Content-Type", "application/xml")] + (headers or []))


# ---------------------------------------------------------------- objects

def put_object(ctx):
    if ctx.header("x-amz-copy-source") is not None:
        raise Bad(501, "NotImplemented", "The stand-in does not implement CopyObject.")
    given = _check_integrity(ctx)
    headers, meta = _stored_headers(ctx)
    checksum = None
    if given:
        checksum = {"algorithm": given[0], "value": given[1], "type": "FULL_OBJECT"}
    obj = s3store.Obj(ctx.body, headers, meta, checksum)
    cond = _condition(ctx)
    ctx.store.put(ctx.bucket, ctx.key, obj, cond, ctx.token,
                  ctx.cfg["s3_conflict_on_overlap"])
    ctx.entry.update(written=True, etag=obj.etag, size=len(ctx.body),
                     metadata=dict(obj.metadata))
    return Reply(200, b"", [("ETag", obj.etag)] + _checksum_headers(checksum))


def _object_headers(obj, ctx):
    h = [("ETag", obj.etag),
         ("Last-Modified", email.utils.format_datetime(obj.last_modified, usegmt=True)),
         ("Accept-Ranges", "bytes")]
    h += [(name.title(), value) for name, value in sorted(obj.headers.items())]
    h += sorted(obj.metadata.items())
    if (ctx.header("x-amz-checksum-mode") or "").upper() == "ENABLED":
        h += _checksum_headers(obj.checksum)
    return h


def _read_conditions(ctx, obj):
    """GET/HEAD's If-Match (412) and If-None-Match (304)."""
    if_match, if_none = ctx.header("if-match"), ctx.header("if-none-match")
    if if_match is not None and not any(s3store.etag_matches(v, obj.etag)
                                        for v in if_match.split(",")):
        raise Bad(412, "PreconditionFailed", "At least one of the pre-conditions you "
                  "specified did not hold", Condition="If-Match")
    if if_none is not None and any(s3store.etag_matches(v, obj.etag)
                                   for v in if_none.split(",")):
        return Reply(304, b"", [("ETag", obj.etag)])
    return None


def _range(spec, size):
    m = re.match(r"^bytes=(\d*)-(\d*)$", spec.strip())
    if not m or (m.group(1) == "" and m.group(2) == ""):
        return None                           # ignored, as HTTP says
    if m.group(1) == "":
        n = int(m.group(2))
        start, end = max(0, size - n), size - 1
        if n == 0:
            start = size
    else:
        start = int(m.group(1))
        end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
    if start >= size or start > end:
        raise Bad(416, "InvalidRange", "The requested range is not satisfiable",
                  RangeRequested=spec, ActualObjectSize=size)
    return start, end


def _existing(ctx):
    obj = ctx.store.get(ctx.bucket, ctx.key)
    if obj is None:
        raise Bad(404, "NoSuchKey", "The specified key does not exist.", Key=ctx.key)
    return obj


def get_object(ctx, head=False):
    obj = _existing(ctx)
    early = _read_conditions(ctx, obj)
    if early is not None:
        return early
    headers = _object_headers(obj, ctx)
    spec = ctx.header("range")
    rng = _range(spec, len(obj.data)) if spec and not head else None
    if rng is None:
        ctx.entry["size"] = len(obj.data)
        if head:
            return Reply(200, b"", headers, length=len(obj.data))
        return Reply(200, obj.data, headers)
    start, end = rng
    headers = [h for h in headers if not h[0].startswith("x-amz-checksum-")]
    headers.append(("Content-Range", "bytes %d-%d/%d" % (start, end, len(obj.data))))
    ctx.entry["size"] = end - start + 1
    return Reply(206, obj.data[start:end + 1], headers)


def head_object(ctx):
    return get_object(ctx, head=True)


def delete_object(ctx):
    if _delete_refused(ctx.cfg["buckets"][ctx.bucket], ctx.key):
        raise Bad(403, "AccessDenied", "Access Denied",
                  detail="refuse_delete covers %s" % ctx.key)
    existed = ctx.store.delete(ctx.bucket, ctx.key, ctx.header("if-match"))
    ctx.entry["deleted"] = [ctx.key] if existed else []
    return Reply(204)


def _delete_refused(bucket_cfg, key):
    return any(key.startswith(p) for p in bucket_cfg.get("refuse_delete") or [])


def delete_objects(ctx):
    if ctx.header("content-md5") is None and not _checksums(ctx):
        raise Bad(400, "InvalidRequest", "Missing required header for this request: "
                  "Content-MD5 OR x-amz-checksum-*")
    _check_integrity(ctx)
    keys, quiet = s3xml.parse_delete(ctx.body, ctx.cfg["s3_max_delete_keys"])
    bucket_cfg = ctx.cfg["buckets"][ctx.bucket]
    results, deleted = [], []
    for key in keys:
        if _delete_refused(bucket_cfg, key):
            results.append((key, ("AccessDenied", "Access Denied")))
            continue
        if ctx.store.delete(ctx.bucket, key):
            deleted.append(key)
        results.append((key, None))
    ctx.entry.update(deleted=deleted, quiet=quiet,
                     refused=[k for k, p in results if p is not None])
    return _xml(200, s3xml.delete_result(results, quiet))


# ---------------------------------------------------------------- listing

def _int_param(q, name, default, lo, hi, message):
    raw = q.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not lo <= value <= hi:
        raise Bad(400, "InvalidArgument", message, ArgumentName=name, ArgumentValue=raw)
    return value


def _token(raw):
    try:
        t = json.loads(base64.urlsafe_b64decode(raw.encode()).decode())
        return str(t["after"]), bool(t["prefix"])
    except (ValueError, KeyError, TypeError, UnicodeError):
        raise Bad(400, "InvalidArgument", "The continuation token provided is incorrect",
                  ArgumentName="continuation-token", ArgumentValue=raw)


def list_objects_v2(ctx):
    q = dict(ctx.q)
    if q.get("encoding-type") not in (None, "url"):
        raise Bad(400, "InvalidArgument", "Invalid Encoding Method specified in Request",
                  ArgumentName="encoding-type", ArgumentValue=q["encoding-type"])
    max_keys = _int_param(q, "max-keys", 1000, 0, 2 ** 31 - 1,
                          "Provided max-keys not an integer or within integer range")
    q["max-keys"] = max_keys
    after, after_is_prefix = q.get("start-after") or "", False
    if "continuation-token" in q:
        after, after_is_prefix = _token(q["continuation-token"])
    page = ctx.store.list_v2(ctx.bucket, q.get("prefix", ""), q.get("delimiter", ""),
                             min(max_keys, ctx.cfg["s3_max_keys"]), after,
                             after_is_prefix)
    ctx.entry["listed"] = len(page["contents"]) + len(page["prefixes"])
    return _xml(200, s3xml.list_objects_v2(ctx.bucket, q, page))


def list_buckets(ctx):
    return _xml(200, s3xml.list_buckets(sorted(ctx.cfg["buckets"]), ctx.store.created))


def head_bucket(ctx):
    return Reply(200, b"", [("x-amz-bucket-region",
                             ctx.cfg["buckets"][ctx.bucket]["region"])], length=0)


def get_bucket_location(ctx):
    return _xml(200, s3xml.location(ctx.cfg["buckets"][ctx.bucket]["region"]))


# ---------------------------------------------------------------- multipart

def create_multipart_upload(ctx):
    alg = ctx.header("x-amz-checksum-algorithm")
    ctype = (ctx.header("x-amz-checksum-type") or "").upper() or None
    if alg is not None:
        alg = alg.upper()
        if alg not in ALGORITHMS:
            raise Bad(400, "InvalidRequest", "Checksum algorithm provided is unsupported. "
                      "Please try again with any of the valid types: [%s]"
                      % ", ".join(ALGORITHMS))
        ctype = ctype or ("FULL_OBJECT" if alg == "CRC64NVME" else "COMPOSITE")
        if ctype not in ("COMPOSITE", "FULL_OBJECT") or (
                ctype == "FULL_OBJECT" and alg.startswith("SHA")) or (
                ctype == "COMPOSITE" and alg == "CRC64NVME"):
            raise Bad(400, "InvalidRequest", "The %s checksum type cannot be used with "
                      "the %s checksum algorithm." % (ctype, alg.lower()))
    headers, meta = _stored_headers(ctx)
    up = ctx.store.create_upload(ctx.bucket, ctx.key, headers, meta, alg,
                                 ctype if alg else None)
    ctx.entry["upload_id"] = up.upload_id
    extra = []
    if alg:
        extra = [("x-amz-checksum-algorithm", alg), ("x-amz-checksum-type", ctype)]
    return _xml(200, s3xml.initiate(ctx.bucket, ctx.key, up.upload_id), extra)


def _upload(ctx):
    uid = ctx.q.get("uploadId", "")
    ctx.entry["upload_id"] = uid
    return ctx.store.upload(ctx.bucket, ctx.key, uid)


def upload_part(ctx):
    message = "Part number must be an integer between 1 and 10000, inclusive"
    number = _int_param(ctx.q, "partNumber", None, 1, MAX_PART_NUMBER, message)
    if number is None:
        raise Bad(400, "InvalidArgument", message, ArgumentName="partNumber",
                  ArgumentValue="")
    up = _upload(ctx)
    given = _check_integrity(ctx)
    alg = up.checksum_algorithm
    if given and alg and given[0] != alg:
        raise Bad(400, "InvalidRequest", "Checksum Type mismatch occurred, expected "
                  "checksum Type: %s, actual checksum Type: %s"
                  % (alg.lower(), given[0].lower()))
    value = None
    if alg:
        value = given[1] if given else s3checks.checksum(alg, ctx.body)
    part = s3store.Part(ctx.body, value)
    ctx.store.put_part(up, number, part)
    ctx.entry.update(part_number=number, etag=part.etag, size=len(ctx.body))
    headers = [("ETag", part.etag)]
    if given:
        headers.append(("x-amz-checksum-" + given[0].lower(), given[1]))
    return Reply(200, b"", headers)


def complete_multipart_upload(ctx):
    up = _upload(ctx)
    listed = s3xml.parse_complete(ctx.body)
    cond = _condition(ctx)
    try:
        obj = ctx.store.complete(up, listed, ctx.cfg["s3_min_part_size"], cond,
                                 ctx.token, ctx.cfg["s3_conflict_on_overlap"])
    except Bad as e:
        if e.status == 409:
            ctx.store.abort(up)       # the guide: start the upload again
        raise
    ctx.entry.update(written=True, etag=obj.etag, size=len(obj.data), parts=obj.parts,
                     metadata=dict(obj.metadata))
    location = "%s/%s/%s" % (ctx.base_url, ctx.bucket, ctx.route.raw_key)
    return _xml(200, s3xml.complete(location, ctx.bucket, ctx.key, obj),
                _checksum_headers(obj.checksum))


def abort_multipart_upload(ctx):
    ctx.store.abort(_upload(ctx))
    return Reply(204)


def list_parts(ctx):
    up = _upload(ctx)
    max_parts = _int_param(ctx.q, "max-parts", 1000, 0, 2 ** 31 - 1,
                           "Provided max-parts not an integer or within integer range")
    marker = _int_param(ctx.q, "part-number-marker", 0, 0, 2 ** 31 - 1,
                        "Provided part-number-marker not an integer or within integer "
                        "range")
    cap = min(max_parts, ctx.cfg["s3_max_keys"])
    with ctx.store.lock:
        parts = [(n, p) for n, p in sorted(up.parts.items()) if n > marker]
    page, truncated = parts[:cap], len(parts) > cap
    return _xml(200, s3xml.list_parts(ctx.bucket, up, page, marker, max_parts, truncated))


def list_multipart_uploads(ctx):
    prefix = ctx.q.get("prefix", "")
    return _xml(200, s3xml.list_uploads(ctx.bucket, prefix,
                                        ctx.store.uploads_of(ctx.bucket, prefix)))


ACTIONS = {
    "PutObject": put_object, "GetObject": get_object, "HeadObject": head_object,
    "DeleteObject": delete_object, "DeleteObjects": delete_objects,
    "ListObjectsV2": list_objects_v2, "ListBuckets": list_buckets,
    "HeadBucket": head_bucket, "GetBucketLocation": get_bucket_location,
    "CreateMultipartUpload": create_multipart_upload, "UploadPart": upload_part,
    "CompleteMultipartUpload": complete_multipart_upload,
    "AbortMultipartUpload": abort_multipart_upload, "ListParts": list_parts,
    "ListMultipartUploads": list_multipart_uploads,
}
