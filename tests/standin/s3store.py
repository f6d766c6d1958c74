# SPDX-License-Identifier: MIT
"""The S3 stand-in's state: objects, multipart uploads, and the rules of
conditional writes and listing.  No HTTP here; the handler (s3.py) calls in
with what it parsed and turns s3checks.Bad into an S3 error document.

Conditional writes follow the S3 User Guide, "How to prevent object
overwrites with conditional writes", section "Conditional write behavior":
- If-None-Match: * creates only if the key is absent, else 412.
- If-Match: ETAG replaces only that version, else 412; an absent key is 404
  NoSuchKey.
- Concurrent requests may answer 409 ConditionalRequestConflict.  Here a
  conditional write answers 409 when another write or a delete of its key
  was committed while it was in flight (from its request line to its
  commit); when that was a delete and the condition is If-Match, 404.
- CompleteMultipartUpload evaluates the condition at completion, but a
  delete of the key since CreateMultipartUpload gives 409 (If-None-Match) or
  404 (If-Match), as the guide's "Concurrent deletes during multipart
  uploads" says.
"""

import base64
import copy
import datetime
import hashlib
import json
import secrets
import threading

from tests.standin import s3checks
from tests.standin.s3checks import Bad

STORED_HEADERS = ("content-type", "cache-control", "content-encoding",
                  "content-disposition", "content-language", "expires")


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


class Obj:
    def __init__(self, data, headers, metadata, checksum=None, etag=None, parts=None):
        self.data = data
        self.etag = etag or '"%s"' % hashlib.md5(data).hexdigest()
        self.headers = dict(headers)        # lower-case name -> value
        self.metadata = dict(metadata)      # x-amz-meta-NAME -> value, NAME lower
        self.checksum = checksum            # None | {algorithm, value, type}
        self.parts = parts                  # None, or the number of parts
        self.last_modified = _now().replace(microsecond=0)
        self.gen = 0

    def as_json(self, key):
        return {"key": key, "size": len(self.data), "etag": self.etag,
                "last_modified": self.last_modified.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "headers": dict(self.headers), "metadata": dict(self.metadata),
                "checksum": copy.deepcopy(self.checksum), "parts": self.parts,
                "sha256": hashlib.sha256(self.data).hexdigest(),
                "md5": hashlib.md5(self.data).hexdigest(), "generation": self.gen}


class Part:
    def __init__(self, data, checksum):
        self.data = data
        self.etag = '"%s"' % hashlib.md5(data).hexdigest()
        self.checksum = checksum            # base64 value of the upload's algorithm
        self.last_modified = _now().replace(microsecond=0)


class Upload:
    def __init__(self, bucket, key, headers, metadata, algorithm, ctype, del_gen):
        self.upload_id = base64.urlsafe_b64encode(secrets.token_bytes(48)).decode()
        self.bucket, self.key = bucket, key
        self.headers, self.metadata = headers, metadata
        self.checksum_algorithm = algorithm  # None or one of s3checks.ALGORITHMS
        self.checksum_type = ctype           # COMPOSITE or FULL_OBJECT
        self.del_gen = del_gen               # deletes of the key when it began
        self.parts = {}                      # number -> Part
        self.initiated = _now()

    def as_json(self):
        return {"upload_id": self.upload_id, "bucket": self.bucket, "key": self.key,
                "initiated": self.initiated.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "checksum_algorithm": self.checksum_algorithm,
                "parts": [{"number": n, "size": len(p.data), "etag": p.etag}
                          for n, p in sorted(self.parts.items())]}


class Condition:
    """A write's precondition: kind "if-none-match" or "if-match", and the
    ETag for if-match."""

    def __init__(self, kind, value):
        self.kind, self.value = kind, value

    def __repr__(self):
        return "%s: %s" % ("If-None-Match" if self.kind == "if-none-match" else "If-Match",
                           self.value)


def parse_condition(if_match, if_none_match):
    """None, or the Condition a write carries.  If-None-Match takes only "*"
    (S3 answers 501 NotImplemented otherwise), and the two together are
    refused the same way."""
    if if_none_match is not None and if_match is not None:
        raise Bad(501, "NotImplemented", "A header you provided implies functionality "
                  "that is not implemented", Header="If-Match")
    if if_none_match is not None:
        if if_none_match.strip() != "*":
            raise Bad(501, "NotImplemented", "A header you provided implies "
                      "functionality that is not implemented", Header="If-None-Match")
        return Condition("if-none-match", "*")
    if if_match is not None:
        return Condition("if-match", if_match.strip())
    return None


def etag_matches(wanted, etag):
    wanted = wanted.strip()
    return wanted == "*" or wanted.strip('"') == etag.strip('"')


class Store:
    """Objects and uploads of every bucket.  Thread-safe; each method holds
    the store's lock for its whole work, so a commit is atomic."""

    def __init__(self):
        self.lock = threading.RLock()
        self.objects = {}        # bucket -> {key: Obj}
        self.gens = {}           # (bucket, key) -> [writes+deletes, deletes]
        self.uploads = {}        # upload id -> Upload
        self.created = _now().replace(microsecond=0)

    # ---- generations: what a conditional write saw when it began
    def begin(self, bucket, key):
        """A token for a write in flight: the key's counters now."""
        with self.lock:
            return tuple(self.gens.get((bucket, key), (0, 0)))

    def _bump(self, bucket, key, deleted):
        g = self.gens.setdefault((bucket, key), [0, 0])
        g[0] += 1
        if deleted:
            g[1] += 1
        return g[0]

    def _check(self, bucket, key, cond, token, overlap_conflicts, mpu_del_gen=None):
        cur = self.objects.get(bucket, {}).get(key)
        g = self.gens.get((bucket, key), [0, 0])
        deleted_since = mpu_del_gen is not None and g[1] != mpu_del_gen
        changed = overlap_conflicts and token is not None and g[0] != token[0]
        if deleted_since or changed:
            if cond.kind == "if-match" and cur is None:
                raise Bad(404, "NoSuchKey", "The specified key does not exist.", Key=key)
            raise Bad(409, "ConditionalRequestConflict", "A conflicting conditional "
                      "operation is currently in progress against this resource. "
                      "Please try again.")
        if cond.kind == "if-none-match" and cur is not None:
            raise Bad(412, "PreconditionFailed", "At least one of the pre-conditions you "
                      "specified did not hold", Condition="If-None-Match")
        if cond.kind == "if-match":
            if cur is None:
                raise Bad(404, "NoSuchKey", "The specified key does not exist.", Key=key)
            if not etag_matches(cond.value, cur.etag):
                raise Bad(412, "PreconditionFailed", "At least one of the pre-conditions "
                          "you specified did not hold", Condition="If-Match")

    def put(self, bucket, key, obj, cond=None, token=None, overlap_conflicts=True,
            mpu_del_gen=None):
        """Store obj under key if cond holds; returns obj."""
        with self.lock:
            if cond is not None:
                self._check(bucket, key, cond, token, overlap_conflicts, mpu_del_gen)
            obj.gen = self._bump(bucket, key, deleted=False)
            self.objects.setdefault(bucket, {})[key] = obj
            return obj

    def get(self, bucket, key):
        with self.lock:
            return self.objects.get(bucket, {}).get(key)

    def delete(self, bucket, key, if_match=None):
        """Delete key (absent is fine, as in S3); True if it existed.  With
        if_match, an absent key is 404 and another ETag 412."""
        with self.lock:
            cur = self.objects.get(bucket, {}).get(key)
            if if_match is not None:
                self._check(bucket, key, Condition("if-match", if_match), None, False)
            if cur is None:
                return False
            del self.objects[bucket][key]
            self._bump(bucket, key, deleted=True)
            return True

    def drop_bucket(self, bucket):
        with self.lock:
            self.objects.pop(bucket, None)
            for k in [k for k in self.gens if k[0] == bucket]:
                del self.gens[k]
            for uid in [u for u, up in self.uploads.items() if up.bucket == bucket]:
                del self.uploads[uid]

    def count(self, bucket):
        with self.lock:
            return (len(self.objects.get(bucket, {})),
                    sum(1 for up in self.uploads.values() if up.bucket == bucket))

    def objects_json(self, bucket, prefix=""):
        with self.lock:
            objs = self.objects.get(bucket, {})
            return [objs[k].as_json(k) for k in sorted(objs) if k.startswith(prefix)]

    # ---- listing
    def list_v2(self, bucket, prefix, delimiter, max_keys, after, after_is_prefix):
        """One ListObjectsV2 page: keys in UTF-8 binary order after `after`
        (and not under it when it is a common prefix), rolled up at the
        delimiter.  Keys and common prefixes both count towards max_keys."""
        with self.lock:
            objs = self.objects.get(bucket, {})
            keys = sorted(objs, key=lambda k: k.encode("utf-8"))
            snapshot = {k: objs[k] for k in keys}
        contents, prefixes, last, truncated = [], [], None, False
        for key in keys:
            if not key.startswith(prefix) or (after and key.encode() <= after.encode()):
                continue
            if after_is_prefix and key.startswith(after):
                continue
            rest = key[len(prefix):]
            if delimiter and delimiter in rest:
                cp = prefix + rest[:rest.index(delimiter) + len(delimiter)]
                if prefixes and prefixes[-1] == cp:
                    continue
                item = ("prefix", cp)
            else:
                item = ("key", key)
            if len(contents) + len(prefixes) >= max_keys:
                truncated = True
                break
            if item[0] == "prefix":
                prefixes.append(item[1])
            else:
                contents.append((key, snapshot[key]))
            last = item
        token = None
        if truncated and last is not None:
            token = base64.urlsafe_b64encode(json.dumps(
                {"after": last[1], "prefix": last[0] == "prefix"}).encode()).decode()
        return {"contents": contents, "prefixes": prefixes, "truncated": truncated,
                "next_token": token}

    # ---- multipart
    def create_upload(self, bucket, key, headers, metadata, algorithm, ctype):
        with self.lock:
            del_gen = self.gens.get((bucket, key), [0, 0])[1]
            up = Upload(bucket, key, headers, metadata, algorithm, ctype, del_gen)
            self.uploads[up.upload_id] = up
            return up

    def upload(self, bucket, key, upload_id):
        with self.lock:
            up = self.uploads.get(upload_id)
            if up is None or up.bucket != bucket or up.key != key:
                raise Bad(404, "NoSuchUpload", "The specified upload does not exist. The "
                          "upload ID may be invalid, or the upload may have been aborted "
                          "or completed.", UploadId=upload_id)
            return up

    def put_part(self, up, number, part):
        with self.lock:
            if self.uploads.get(up.upload_id) is not up:
                raise Bad(404, "NoSuchUpload", "The specified upload does not exist. The "
                          "upload ID may be invalid, or the upload may have been aborted "
                          "or completed.", UploadId=up.upload_id)
            up.parts[number] = part

    def abort(self, up):
        with self.lock:
            self.uploads.pop(up.upload_id, None)

    def uploads_of(self, bucket, prefix=""):
        with self.lock:
            return sorted((u for u in self.uploads.values()
                           if u.bucket == bucket and u.key.startswith(prefix)),
                          key=lambda u: (u.key, u.initiated))

    def complete(self, up, listed, min_part, cond, token, overlap_conflicts):
        """Assemble the listed parts [(number, etag, {ALG: value})] into the
        object, if the parts and cond allow; returns the object."""
        with self.lock:
            if self.uploads.get(up.upload_id) is not up:
                raise Bad(404, "NoSuchUpload", "The specified upload does not exist. The "
                          "upload ID may be invalid, or the upload may have been aborted "
                          "or completed.", UploadId=up.upload_id)
            parts = self._listed_parts(up, listed, min_part)
            obj = self._assemble(up, parts)
            self.put(up.bucket, up.key, obj, cond, token, overlap_conflicts,
                     mpu_del_gen=up.del_gen if cond is not None else None)
            del self.uploads[up.upload_id]
            return obj

    def _listed_parts(self, up, listed, min_part):
        numbers = [n for n, _, _ in listed]
        if numbers != sorted(set(numbers)):
            raise Bad(400, "InvalidPartOrder", "The list of parts was not in ascending "
                      "order. Parts must be ordered by part number.", UploadId=up.upload_id)
        parts = []
        for i, (n, etag, sums) in enumerate(listed):
            part = up.parts.get(n)
            if part is None or not etag_matches(etag, part.etag) or any(
                    alg != up.checksum_algorithm or value != part.checksum
                    for alg, value in sums.items()):
                raise Bad(400, "InvalidPart", "One or more of the specified parts could "
                          "not be found.  The part may not have been uploaded, or the "
                          "specified entity tag may not match the part's entity tag.",
                          UploadId=up.upload_id, PartNumber=n, ETag=etag)
            if i < len(listed) - 1 and len(part.data) < min_part:
                raise Bad(400, "EntityTooSmall", "Your proposed upload is smaller than the "
                          "minimum allowed size", ProposedSize=len(part.data),
                          MinSizeAllowed=min_part, PartNumber=n,
                          ETag=part.etag.strip('"'))
            parts.append(part)
        return parts

    @staticmethod
    def _assemble(up, parts):
        data = b"".join(p.data for p in parts)
        md5s = b"".join(bytes.fromhex(p.etag.strip('"')) for p in parts)
        etag = '"%s-%d"' % (hashlib.md5(md5s).hexdigest(), len(parts))
        checksum = None
        alg = up.checksum_algorithm
        if alg and up.checksum_type == "FULL_OBJECT":
            checksum = {"algorithm": alg, "value": s3checks.checksum(alg, data),
                        "type": "FULL_OBJECT"}
        elif alg:
            digests = [base64.b64decode(p.checksum) for p in parts]
            checksum = {"algorithm": alg, "value": s3checks.composite(alg, digests),
                        "type": "COMPOSITE"}
        return Obj(data, up.headers, up.metadata, checksum, etag, parts=len(parts))
