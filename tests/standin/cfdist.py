# SPDX-License-Identifier: MIT
"""The stand-in's distributions: their configuration, ListDistributions and
GetDistributionConfig (API 2020-05-31), and the account's monthly usage.

A distribution in the config key `distributions` is an id, or an object:

    {"id": "EDFDVBD6EXAMPLE",
     "origins": [{"id": "site", "domain_name": "b.s3.us-east-1.amazonaws.com",
                  "origin_path": "/prod", "s3": true}],
     "target_origin_id": "site",          # the default cache behavior's
     "default_root_object": "index.html", # "" for none
     "cache_tag_header": null}            # CacheTagConfig/HeaderName

An id alone gets one S3 origin on the default bucket, no origin path,
DefaultRootObject index.html and no CacheTagConfig.

What the API reference and botocore's model (service-2.json, 2020-05-31)
say, and the stand-in does:
- ListDistributions: GET /2020-05-31/distribution?Marker=&MaxItems=; the
  DistributionList has Marker, NextMarker (when IsTruncated: "the ID of
  the last distribution on that page"), MaxItems, IsTruncated, Quantity
  and Items/DistributionSummary; MaxItems defaults to and may be at most
  `list_max_items` (100).  Distributions come in config order.
- GetDistributionConfig: GET /2020-05-31/distribution/{Id}/config; the
  body is the DistributionConfig (the payload), the ETag header its
  version; an unknown id is 404 NoSuchDistribution.
"""

import datetime
import re
from urllib.parse import parse_qs
from xml.sax.saxutils import escape as xml_escape

NS = "http://cloudfront.amazonaws.com/doc/2020-05-31/"
DEFAULT_BUCKET_DOMAIN = "amzn-s3-demo-bucket.s3.us-east-1.amazonaws.com"
ID_RE = re.compile(r"^[A-Z0-9]{1,127}$")


class Refused(Exception):
    """An API error: status, code, message."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


# ---------------------------------------------------------------- config

def _origin(o, i):
    if not isinstance(o, dict) or not isinstance(o.get("domain_name"), str):
        raise ValueError("origins[%d]: an object with a domain_name" % i)
    path = o.get("origin_path", "")
    if not isinstance(path, str) or (path and (not path.startswith("/")
                                               or path.endswith("/"))):
        raise ValueError("origins[%d]: origin_path is \"\" or /dir, without a "
                         "trailing /" % i)
    return {"id": str(o.get("id") or "origin%d" % (i + 1)),
            "domain_name": o["domain_name"], "origin_path": path,
            "s3": bool(o.get("s3", ".s3." in o["domain_name"]
                             and "s3-website" not in o["domain_name"]))}


def _distribution(d):
    if isinstance(d, str):
        d = {"id": d}
    if not isinstance(d, dict) or not isinstance(d.get("id"), str) \
            or not ID_RE.match(d["id"]):
        raise ValueError("distributions: ids, or objects with an id of A-Z 0-9")
    origins = d.get("origins") or [{"id": "S3-amzn-s3-demo-bucket",
                                    "domain_name": DEFAULT_BUCKET_DOMAIN}]
    origins = [_origin(o, i) for i, o in enumerate(origins)]
    target = d.get("target_origin_id") or origins[0]["id"]
    if target not in [o["id"] for o in origins]:
        raise ValueError("%s: target_origin_id %r names no origin" % (d["id"], target))
    header = d.get("cache_tag_header")
    if header is not None and not isinstance(header, str):
        raise ValueError("%s: cache_tag_header is a header name or null" % d["id"])
    root = d.get("default_root_object", "index.html")
    if not isinstance(root, str):
        raise ValueError("%s: default_root_object is a string" % d["id"])
    return {"id": d["id"], "origins": origins, "target_origin_id": target,
            "default_root_object": root, "cache_tag_header": header,
            "domain_name": d.get("domain_name") or "d%s.cloudfront.net" % d["id"].lower()[:13],
            "status": d.get("status", "Deployed"), "enabled": bool(d.get("enabled", True))}


def normalize(value):
    """The config key's value, checked, as a list of full objects."""
    if not isinstance(value, list):
        raise ValueError("distributions: a list of ids or objects")
    out = [_distribution(d) for d in value]
    ids = [d["id"] for d in out]
    if len(set(ids)) != len(ids):
        raise ValueError("distributions: an id is listed twice")
    return out


def ids(cfg):
    return [d["id"] for d in cfg["distributions"]]


def find(cfg, dist_id):
    for d in cfg["distributions"]:
        if d["id"] == dist_id:
            return d
    raise Refused(404, "NoSuchDistribution", "The specified distribution does not exist.")


def tag_warnings(cfg, dist_id, paths):
    """A tag sent to a distribution without CacheTagConfig drops nothing:
    "Distributions without this configuration ignore cache tag headers
    from the origin" (invalidation-specifying-tags.html)."""
    try:
        d = find(cfg, dist_id)
    except Refused:
        return []
    if d["cache_tag_header"]:
        return []
    return ["%r: the distribution has no CacheTagConfig, so no object carries "
            "a tag and this item invalidates nothing" % p
            for p in paths if p.startswith("#")]


# ---------------------------------------------------------------- documents

def _el(name, value):
    return "<%s>%s</%s>" % (name, xml_escape(str(value)), name)


def _empty(name):
    return "<%s><Quantity>0</Quantity></%s>" % (name, name)


def _origin_xml(o):
    kind = ("<S3OriginConfig><OriginAccessIdentity></OriginAccessIdentity>"
            "</S3OriginConfig>" if o["s3"] else
            "<CustomOriginConfig><HTTPPort>80</HTTPPort><HTTPSPort>443</HTTPSPort>"
            "<OriginProtocolPolicy>http-only</OriginProtocolPolicy>"
            "<OriginSslProtocols><Quantity>1</Quantity><Items>"
            "<SslProtocol>TLSv1.2</SslProtocol></Items></OriginSslProtocols>"
            "<OriginReadTimeout>30</OriginReadTimeout>"
            "<OriginKeepaliveTimeout>5</OriginKeepaliveTimeout></CustomOriginConfig>")
    return ("<Origin>" + _el("Id", o["id"]) + _el("DomainName", o["domain_name"])
            + _el("OriginPath", o["origin_path"]) + _empty("CustomHeaders") + kind
            + "<ConnectionAttempts>3</ConnectionAttempts>"
            "<ConnectionTimeout>10</ConnectionTimeout>"
            "<OriginShield><Enabled>false</Enabled></OriginShield>"
            "<OriginAccessControlId></OriginAccessControlId></Origin>")


def _shared_xml(d):
    """Origins to Restrictions: what a summary and a config both hold, in
    the model's order."""
    origins = "".join(_origin_xml(o) for o in d["origins"])
    behavior = ("<DefaultCacheBehavior>" + _el("TargetOriginId", d["target_origin_id"])
                + "<TrustedSigners><Enabled>false</Enabled><Quantity>0</Quantity>"
                "</TrustedSigners><TrustedKeyGroups><Enabled>false</Enabled>"
                "<Quantity>0</Quantity></TrustedKeyGroups>"
                "<ViewerProtocolPolicy>redirect-to-https</ViewerProtocolPolicy>"
                "<AllowedMethods><Quantity>2</Quantity><Items><Method>HEAD</Method>"
                "<Method>GET</Method></Items><CachedMethods><Quantity>2</Quantity>"
                "<Items><Method>HEAD</Method><Method>GET</Method></Items>"
                "</CachedMethods></AllowedMethods>"
                "<SmoothStreaming>false</SmoothStreaming><Compress>true</Compress>"
                + _empty("LambdaFunctionAssociations") + _empty("FunctionAssociations")
                + "<FieldLevelEncryptionId></FieldLevelEncryptionId>"
                "<CachePolicyId>658327ea-f89d-4fab-a63d-7e88639e58f6</CachePolicyId>"
                "</DefaultCacheBehavior>")
    return ("<Origins><Quantity>%d</Quantity><Items>%s</Items></Origins>"
            % (len(d["origins"]), origins) + _empty("OriginGroups") + behavior
            + _empty("CacheBehaviors") + _empty("CustomErrorResponses"))


def _tail_xml(d):
    return ("<PriceClass>PriceClass_All</PriceClass>"
            + _el("Enabled", "true" if d["enabled"] else "false")
            + "<ViewerCertificate><CloudFrontDefaultCertificate>true"
            "</CloudFrontDefaultCertificate><SSLSupportMethod>vip</SSLSupportMethod>"
            "<MinimumProtocolVersion>TLSv1</MinimumProtocolVersion>"
            "<CertificateSource>cloudfront</CertificateSource></ViewerCertificate>"
            "<Restrictions><GeoRestriction><RestrictionType>none</RestrictionType>"
            "<Quantity>0</Quantity></GeoRestriction></Restrictions>")


def render_config(d):
    tags = ("<CacheTagConfig>" + _el("HeaderName", d["cache_tag_header"])
            + "</CacheTagConfig>" if d["cache_tag_header"] else "")
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<DistributionConfig xmlns="%s">'
            % NS + _el("CallerReference", "cfstandin-" + d["id"]) + _empty("Aliases")
            + _el("DefaultRootObject", d["default_root_object"]) + _shared_xml(d)
            + _el("Comment", "") + "<Logging><Enabled>false</Enabled>"
            "<IncludeCookies>false</IncludeCookies><Bucket></Bucket><Prefix></Prefix>"
            "</Logging>" + _tail_xml(d) + "<WebACLId></WebACLId>"
            "<HttpVersion>http2</HttpVersion><IsIPV6Enabled>true</IsIPV6Enabled>"
            "<Staging>false</Staging>" + tags + "</DistributionConfig>\n")
    return body.encode("utf-8")


def _summary_xml(d, modified):
    return ("<DistributionSummary>" + _el("Id", d["id"])
            + _el("ARN", "arn:aws:cloudfront::123456789012:distribution/" + d["id"])
            + _el("Status", d["status"]) + _el("LastModifiedTime", modified)
            + _el("DomainName", d["domain_name"]) + _empty("Aliases") + _shared_xml(d)
            + _el("Comment", "") + _tail_xml(d) + "<WebACLId></WebACLId>"
            "<HttpVersion>http2</HttpVersion><IsIPV6Enabled>true</IsIPV6Enabled>"
            "<Staging>false</Staging></DistributionSummary>")


def render_list(marker, next_marker, max_items, truncated, dists, modified):
    items = "".join(_summary_xml(d, modified) for d in dists)
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<DistributionList xmlns="%s">'
            % NS + _el("Marker", marker)
            + (_el("NextMarker", next_marker) if truncated else "")
            + _el("MaxItems", max_items) + _el("IsTruncated", "true" if truncated else "false")
            + _el("Quantity", len(dists)) + ("<Items>%s</Items>" % items if dists else "")
            + "</DistributionList>\n")
    return body.encode("utf-8")


# ---------------------------------------------------------------- API

def max_items(query, limit):
    """The MaxItems of a list request: the default is limit, as is the most."""
    raw = parse_qs(query, keep_blank_values=True).get("MaxItems", [""])[0]
    if raw == "":
        return limit
    try:
        n = int(raw)
    except ValueError:
        raise Refused(400, "InvalidArgument", "Invalid value for MaxItems: %s" % raw)
    if n < 0 or n > limit:
        raise Refused(400, "InvalidArgument", "MaxItems must be between 0 and %d." % limit)
    return n


def list_distributions(cfg, query, now):
    """(status, body, headers) for a ListDistributions request."""
    n = max_items(query, cfg["list_max_items"])
    marker = parse_qs(query, keep_blank_values=True).get("Marker", [""])[0]
    dists = cfg["distributions"]
    start = 0
    if marker:
        if marker not in ids(cfg):
            raise Refused(400, "InvalidArgument", "Invalid Marker: %s" % marker)
        start = ids(cfg).index(marker) + 1
    page = dists[start:start + n]
    truncated = start + n < len(dists)
    next_marker = page[-1]["id"] if truncated and page else ""
    modified = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return 200, render_list(marker, next_marker, n, truncated, page, modified), []


def get_config(cfg, dist_id):
    """(status, body, headers) for a GetDistributionConfig request."""
    d = find(cfg, dist_id)
    return 200, render_config(d), [("ETag", "E2QWRUHAEXAMPLE")]


# ---------------------------------------------------------------- account

def month_of(dt):
    return dt.strftime("%Y-%m")


def usage(invalidations, month):
    """The account's invalidation paths in month ("2026-05"), as CloudFront
    bills them: every item of every invalidation created that month, a
    wildcard or a tag as one path ("Pay for file invalidation"), over all
    distributions.  A replay creates nothing and costs nothing."""
    by_dist = {}
    count = 0
    for inv in invalidations:
        if month_of(inv.create_dt) != month:
            continue
        by_dist[inv.dist] = by_dist.get(inv.dist, 0) + len(inv.paths)
        count += 1
    return {"month": month, "paths": sum(by_dist.values()),
            "invalidations": count, "by_distribution": by_dist}


def parse_time(s):
    """"2026-04-30T23:59:59.000Z" (or without the fraction) -> aware datetime."""
    for fmt in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.datetime.strptime(s, fmt).replace(
                tzinfo=datetime.timezone.utc)
        except ValueError:
            pass
    raise ValueError("create_time %r: not YYYY-MM-DDTHH:MM:SS[.fff]Z" % s)


def seed_specs(cfg, body):
    """Checks a seed request: {"distribution": id, "invalidations":
    [{"paths": [...], "create_time": ..., "status": ..., "caller_reference":
    ...}]}, oldest first.  Returns (dist, [(paths, create_dt, status, ref)])."""
    dist = body.get("distribution")
    if dist not in ids(cfg):
        raise ValueError("seed: unknown distribution %r" % dist)
    out = []
    for i, spec in enumerate(body.get("invalidations") or []):
        paths = spec.get("paths")
        if not isinstance(paths, list) or not paths or \
                not all(isinstance(p, str) for p in paths):
            raise ValueError("seed[%d]: paths is a non-empty list of strings" % i)
        status = spec.get("status", "Completed")
        if status not in ("Completed", "InProgress"):
            raise ValueError("seed[%d]: status is Completed or InProgress" % i)
        out.append((paths, parse_time(spec["create_time"]), status,
                    spec.get("caller_reference") or "seed-%d" % i))
    return dist, out
