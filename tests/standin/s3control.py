# SPDX-License-Identifier: MIT
"""The S3 stand-in's settings and its part of the control API
(/__standin/s3/...): buckets, objects and uploads, unsigned JSON."""

import base64
import copy
import re

from tests.standin import s3
from tests.standin import s3ops
from tests.standin import s3store

DEFAULT_BUCKET = "amzn-s3-demo-bucket"      # the S3 docs' example bucket
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")

DEFAULT_CONFIG = {
    # name -> {"region", "refuse": false | true | [ops], "refuse_delete": [prefixes]}
    "buckets": {DEFAULT_BUCKET: {"region": "us-east-1", "refuse": False,
                                 "refuse_delete": []}},
    "s3_min_part_size": 5 * 1024 * 1024,     # all parts but the last (EntityTooSmall)
    "s3_max_keys": 1000,                     # a ListObjectsV2 / ListParts page at most
    "s3_max_delete_keys": 1000,              # keys in one DeleteObjects
    "s3_max_skew": 900.0,                    # seconds; S3 allows 15 minutes
    "s3_conflict_on_overlap": True,          # 409 for overlapping conditional writes
}


class NoEndpoint(Exception):
    pass


def _bucket(name, spec, old=None):
    if not isinstance(name, str) or not BUCKET_NAME.match(name) or ".." in name:
        raise ValueError("bucket name %r: 3-63 of a-z 0-9 . -" % (name,))
    if name == "2020-05-31":
        raise ValueError("bucket 2020-05-31 would shadow CloudFront's API")
    out = copy.deepcopy(old) if old else {"region": "us-east-1", "refuse": False,
                                          "refuse_delete": []}
    for k, v in (spec or {}).items():
        if k == "region":
            if not isinstance(v, str) or not v:
                raise ValueError("buckets[%s].region: a region name" % name)
        elif k == "refuse":
            if not (isinstance(v, bool) or (isinstance(v, list) and all(
                    op in s3.OPS for op in v))):
                raise ValueError("buckets[%s].refuse: true, false or a list of %s"
                                 % (name, ", ".join(s3.OPS)))
        elif k == "refuse_delete":
            if not isinstance(v, list) or not all(isinstance(p, str) for p in v):
                raise ValueError("buckets[%s].refuse_delete: key prefixes" % name)
        else:
            raise ValueError("buckets[%s]: unknown setting %r" % (name, k))
        out[k] = copy.deepcopy(v)
    return out


def check_config(key, value):
    """The validated value of an S3 setting; raises ValueError."""
    if key == "buckets":
        if not isinstance(value, dict):
            raise ValueError("buckets: {name: {region, refuse, refuse_delete}}")
        return {name: _bucket(name, spec) for name, spec in value.items()}
    if key == "s3_max_skew":
        return float(value)
    if key == "s3_conflict_on_overlap":
        return bool(value)
    value = int(value)
    if value < 1:
        raise ValueError("%s must be >= 1" % key)
    return value


def _bucket_json(app, name, cfg):
    objects, uploads = app.s3.count(name)
    out = dict(cfg)
    out.update(name=name, objects=objects, uploads=uploads)
    return out


def _one(qs, name):
    values = qs.get(name)
    if not values:
        raise ValueError("missing query parameter %r" % name)
    return values[0]


def _buckets(app, method, qs, data):
    if method == "POST":
        name = data.get("name")
        spec = {k: v for k, v in data.items() if k != "name"}
        with app.lock:
            buckets = copy.deepcopy(app.config["buckets"])
            buckets[name] = _bucket(name, spec, buckets.get(name))
            app.configure({"buckets": buckets})
        return {"bucket": _bucket_json(app, name, app.config["buckets"][name])}
    if method == "DELETE":
        name = _one(qs, "name")
        with app.lock:
            buckets = copy.deepcopy(app.config["buckets"])
            if buckets.pop(name, None) is None:
                raise ValueError("no bucket %r" % name)
            app.configure({"buckets": buckets})
        return {"deleted": name}
    return {"buckets": [_bucket_json(app, n, c)
                        for n, c in sorted(app.config["buckets"].items())]}


def _known_bucket(app, qs, data=None):
    name = data.get("bucket") if data is not None else _one(qs, "bucket")
    if name not in app.config["buckets"]:
        raise ValueError("no bucket %r" % name)
    return name


def _seed(app, bucket, data):
    """Store {key, text | base64, headers} unconditionally."""
    key = data["key"]
    if not isinstance(key, str) or not key:
        raise ValueError("key: a non-empty string")
    if "base64" in data:
        body = base64.b64decode(data["base64"])
    else:
        body = str(data.get("text", "")).encode()
    headers = {k.lower(): v for k, v in (data.get("headers") or {}).items()}
    meta = {k: v for k, v in headers.items() if k.startswith("x-amz-meta-")}
    stored = {k: v for k, v in headers.items() if k in s3store.STORED_HEADERS}
    stored.setdefault("content-type", s3ops.DEFAULT_CONTENT_TYPE)
    return app.s3.put(bucket, key, s3store.Obj(body, stored, meta)).as_json(key)


def _object(app, method, qs, data):
    if method == "POST":
        return {"object": _seed(app, _known_bucket(app, qs, data), data)}
    bucket, key = _known_bucket(app, qs), _one(qs, "key")
    if method == "DELETE":
        return {"deleted": app.s3.delete(bucket, key)}
    obj = app.s3.get(bucket, key)
    if obj is None:
        raise ValueError("no object %r in %s" % (key, bucket))
    return obj.data


def control(app, method, path, qs, data):
    """The answer to /__standin/s3/<path>: a JSON-able dict, or bytes (an
    object's content).  Raises ValueError or KeyError for a bad request and
    NoEndpoint for an unknown endpoint."""
    sub = path[len("/__standin/s3"):].strip("/")
    if sub == "buckets":
        return _buckets(app, method, qs, data)
    if sub == "objects" and method == "POST":
        bucket = _known_bucket(app, qs, data)
        return {"objects": [_seed(app, bucket, o) for o in data.get("objects", [])]}
    if sub == "objects":
        bucket = _known_bucket(app, qs)
        return {"objects": app.s3.objects_json(bucket, qs.get("prefix", [""])[0])}
    if sub == "object":
        return _object(app, method, qs, data)
    if sub == "uploads":
        bucket = _known_bucket(app, qs)
        return {"uploads": [u.as_json() for u in app.s3.uploads_of(bucket)]}
    raise NoEndpoint("no such control endpoint %s %s" % (method, path))
