# SPDX-License-Identifier: MIT
"""The S3 stand-in's XML: the documents it answers with, shaped like S3's
(namespace http://s3.amazonaws.com/doc/2006-03-01/, no indentation), and the
two request documents it reads (Delete, CompleteMultipartUpload)."""

import datetime
import xml.etree.ElementTree as ET
from urllib.parse import quote
from xml.sax.saxutils import escape

from tests.standin.s3checks import ALGORITHMS, Bad

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'
MALFORMED = ("The XML you provided was not well-formed or did not validate against "
             "our published schema")


def iso(dt):
    """2009-10-12T17:50:30.000Z, S3's timestamp in XML."""
    return dt.astimezone(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def el(name, value):
    return "<%s>%s</%s>" % (name, escape(str(value)), name)


def doc(root, inner):
    return (DECL + '<%s xmlns="%s">%s</%s>' % (root, NS, "".join(inner), root)).encode()


def error(code, message, request_id, host_id, extra=None):
    """<Error><Code/><Message/>[extra elements]<RequestId/><HostId/></Error>"""
    inner = [el("Code", code), el("Message", message)]
    inner += [el(k, v) for k, v in (extra or {}).items()]
    inner += [el("RequestId", request_id), el("HostId", host_id)]
    return (DECL + "<Error>%s</Error>" % "".join(inner)).encode()


def _enc(value, url):
    return quote(value, safe="/") if url else value


def list_objects_v2(bucket, q, page):
    """q: the request's parameters; page: from Store.list_v2."""
    url = q.get("encoding-type") == "url"
    inner = [el("Name", bucket), el("Prefix", _enc(q.get("prefix", ""), url))]
    if q.get("delimiter"):
        inner.append(el("Delimiter", _enc(q["delimiter"], url)))
    inner.append(el("MaxKeys", q["max-keys"]))
    if url:
        inner.append(el("EncodingType", "url"))
    inner.append(el("KeyCount", len(page["contents"]) + len(page["prefixes"])))
    inner.append(el("IsTruncated", "true" if page["truncated"] else "false"))
    if "continuation-token" in q:
        inner.append(el("ContinuationToken", q["continuation-token"]))
    if page["next_token"]:
        inner.append(el("NextContinuationToken", page["next_token"]))
    if q.get("start-after"):
        inner.append(el("StartAfter", _enc(q["start-after"], url)))
    for key, obj in page["contents"]:
        inner.append("<Contents>%s%s%s%s%s%s</Contents>" % (
            el("Key", _enc(key, url)), el("LastModified", iso(obj.last_modified)),
            el("ETag", obj.etag),
            el("ChecksumAlgorithm", obj.checksum["algorithm"]) if obj.checksum else "",
            el("Size", len(obj.data)), el("StorageClass", "STANDARD")))
    for prefix in page["prefixes"]:
        inner.append("<CommonPrefixes>%s</CommonPrefixes>" % el("Prefix", _enc(prefix, url)))
    return doc("ListBucketResult", inner)


def delete_result(results, quiet):
    """results: [(key, None | (code, message))]"""
    inner = []
    for key, problem in results:
        if problem is None:
            if not quiet:
                inner.append("<Deleted>%s</Deleted>" % el("Key", key))
        else:
            inner.append("<Error>%s%s%s</Error>" % (el("Key", key), el("Code", problem[0]),
                                                    el("Message", problem[1])))
    return doc("DeleteResult", inner)


def initiate(bucket, key, upload_id):
    return doc("InitiateMultipartUploadResult",
               [el("Bucket", bucket), el("Key", key), el("UploadId", upload_id)])


def _checksum_elements(alg, value):
    return el("Checksum" + alg, value) if alg and value else ""


def complete(location, bucket, key, obj):
    ck = obj.checksum or {}
    extra = _checksum_elements(ck.get("algorithm"), ck.get("value"))
    if ck:
        extra += el("ChecksumType", ck["type"])
    return doc("CompleteMultipartUploadResult",
               [el("Location", location), el("Bucket", bucket), el("Key", key),
                el("ETag", obj.etag), extra])


def list_parts(bucket, up, parts, marker, max_parts, truncated):
    inner = [el("Bucket", bucket), el("Key", up.key), el("UploadId", up.upload_id),
             el("PartNumberMarker", marker)]
    if truncated and parts:
        inner.append(el("NextPartNumberMarker", parts[-1][0]))
    inner += [el("MaxParts", max_parts), el("IsTruncated", "true" if truncated else "false"),
              el("StorageClass", "STANDARD")]
    if up.checksum_algorithm:
        inner += [el("ChecksumAlgorithm", up.checksum_algorithm),
                  el("ChecksumType", up.checksum_type)]
    for number, part in parts:
        inner.append("<Part>%s%s%s%s%s</Part>" % (
            el("PartNumber", number), el("LastModified", iso(part.last_modified)),
            el("ETag", part.etag), el("Size", len(part.data)),
            _checksum_elements(up.checksum_algorithm, part.checksum)))
    return doc("ListPartsResult", inner)


def list_uploads(bucket, prefix, uploads):
    inner = [el("Bucket", bucket), el("KeyMarker", ""), el("UploadIdMarker", ""),
             el("Prefix", prefix), el("MaxUploads", 1000), el("IsTruncated", "false")]
    for up in uploads:
        inner.append("<Upload>%s%s%s%s</Upload>" % (
            el("Key", up.key), el("UploadId", up.upload_id),
            el("Initiated", iso(up.initiated)), el("StorageClass", "STANDARD")))
    return doc("ListMultipartUploadsResult", inner)


def list_buckets(names, created):
    buckets = "".join("<Bucket>%s%s</Bucket>" % (el("Name", n), el("CreationDate", iso(created)))
                      for n in names)
    return doc("ListAllMyBucketsResult",
               ["<Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a"
                "</ID><DisplayName>standin</DisplayName></Owner>",
                "<Buckets>%s</Buckets>" % buckets])


def location(region):
    # us-east-1 answers an empty LocationConstraint.
    value = "" if region == "us-east-1" else escape(region)
    return (DECL + '<LocationConstraint xmlns="%s">%s</LocationConstraint>'
            % (NS, value)).encode()


def _parse(body):
    if not body.strip():
        raise Bad(400, "MalformedXML", MALFORMED)
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise Bad(400, "MalformedXML", MALFORMED)
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        raise Bad(400, "MalformedXML", MALFORMED)
    return root


def _local(tag):
    return tag.rsplit("}", 1)[-1]


def _child_text(node, name):
    for child in node:
        if _local(child.tag) == name:
            return child.text or ""
    return None


def parse_delete(body, max_keys):
    """<Delete><Object><Key/></Object>...<Quiet/></Delete> -> (keys, quiet)."""
    root = _parse(body)
    if _local(root.tag) != "Delete":
        raise Bad(400, "MalformedXML", MALFORMED)
    keys = []
    for obj in root:
        if _local(obj.tag) != "Object":
            continue
        key = _child_text(obj, "Key")
        if key is None:
            raise Bad(400, "MalformedXML", MALFORMED)
        keys.append(key)
    if not keys or len(keys) > max_keys:
        raise Bad(400, "MalformedXML", MALFORMED)
    quiet = (_child_text(root, "Quiet") or "").strip().lower() == "true"
    return keys, quiet


def parse_complete(body):
    """<CompleteMultipartUpload><Part><PartNumber/><ETag/>[<ChecksumX/>]</Part>
    ... -> [(number, etag, {ALG: value})]"""
    root = _parse(body)
    if _local(root.tag) != "CompleteMultipartUpload":
        raise Bad(400, "MalformedXML", MALFORMED)
    parts = []
    for part in root:
        if _local(part.tag) != "Part":
            continue
        number, etag = _child_text(part, "PartNumber"), _child_text(part, "ETag")
        if number is None or etag is None:
            raise Bad(400, "MalformedXML", MALFORMED)
        try:
            n = int(number.strip())
        except ValueError:
            raise Bad(400, "MalformedXML", MALFORMED)
        sums = {}
        for alg in ALGORITHMS:
            value = _child_text(part, "Checksum" + alg)
            if value is not None:
                sums[alg] = value.strip()
        parts.append((n, etag.strip(), sums))
    if not parts:
        raise Bad(400, "MalformedXML", MALFORMED)
    return parts
