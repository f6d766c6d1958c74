# SPDX-License-Identifier: MIT
"""Integrity checks of the S3 stand-in: Content-MD5, x-amz-checksum-*,
x-amz-content-sha256 and the aws-chunked body encoding.

The checksum algorithms are the five S3 knows (CRC32, CRC32C, CRC64NVME,
SHA1, SHA256); a value is the base64 of the big-endian digest.  CRC32C and
CRC64NVME come from awscrt when it is installed (Debian's awscli pulls it
in), else from a table-driven loop here.
"""

import base64
import binascii
import hashlib
import re
import zlib

try:
    from awscrt import checksums as _crt
except ImportError:          # pragma: no cover - depends on the machine
    _crt = None

ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")
DIGEST_BYTES = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED = "UNSIGNED-PAYLOAD"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
# The values S3 accepts for x-amz-content-sha256 besides a hex SHA-256.  The
# signed streaming forms are refused by the stand-in (NotImplemented): no
# client it serves sends them over TLS.
STREAMING_SIGNED = ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
                    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


class Bad(Exception):
    """A refused request: status, S3 error code, message, extra elements of
    the error document, and a detail for the stand-in's log only."""

    def __init__(self, status, code, message, detail=None, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra
        self.detail = detail


def _table(poly, bits):
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c & ((1 << bits) - 1))
    return table


_CRC32C_TABLE = _table(0x82F63B78, 32)
_CRC64NVME_TABLE = _table(0x9A6C9329AC4BC9B5, 64)


def _reflected_crc(data, table, mask):
    c = mask
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ mask


def crc32c(data):
    if _crt is not None:
        return _crt.crc32c(data)
    return _reflected_crc(data, _CRC32C_TABLE, 0xFFFFFFFF)


def crc64nvme(data):
    if _crt is not None and hasattr(_crt, "crc64nvme"):
        return _crt.crc64nvme(data)
    return _reflected_crc(data, _CRC64NVME_TABLE, 0xFFFFFFFFFFFFFFFF)


def digest(algorithm, data):
    """The raw digest of data (bytes)."""
    if algorithm == "CRC32":
        return (zlib.crc32(data) & 0xFFFFFFFF).to_bytes(4, "big")
    if algorithm == "CRC32C":
        return crc32c(data).to_bytes(4, "big")
    if algorithm == "CRC64NVME":
        return crc64nvme(data).to_bytes(8, "big")
    return hashlib.new(algorithm.lower(), data).digest()


def checksum(algorithm, data):
    """The base64 value S3 shows for data."""
    return base64.b64encode(digest(algorithm, data)).decode()


def composite(algorithm, part_digests):
    """A multipart object's COMPOSITE checksum: the checksum of the parts'
    raw checksums, then "-N"."""
    return "%s-%d" % (checksum(algorithm, b"".join(part_digests)), len(part_digests))


def _b64(value, length):
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == length else None


def check_md5(value, body):
    """Content-MD5: 400 InvalidDigest when it is not a base64 MD5, 400
    BadDigest when it is not the body's."""
    raw = _b64(value.strip(), 16)
    if raw is None:
        raise Bad(400, "InvalidDigest", "The Content-MD5 you specified is not valid.")
    got = hashlib.md5(body).digest()
    if raw != got:
        raise Bad(400, "BadDigest",
                  "The Content-MD5 you specified did not match what we received.",
                  ExpectedDigest=raw.hex(),
                  CalculatedDigest=base64.b64encode(got).decode())


def checksum_headers(lower):
    """[(ALGORITHM, value)] of the x-amz-checksum-<alg> headers present."""
    out = []
    for alg in ALGORITHMS:
        values = lower.get("x-amz-checksum-" + alg.lower())
        if values:
            out.append((alg, values[0].strip()))
    return out


def check_checksum(algorithm, value, body):
    """One x-amz-checksum-<alg> value: 400 InvalidRequest when malformed, 400
    BadDigest when it is not the body's (S3's wording)."""
    raw = _b64(value, DIGEST_BYTES[algorithm])
    if raw is None:
        raise Bad(400, "InvalidRequest", "Value for x-amz-checksum-%s header is invalid."
                  % algorithm.lower())
    if raw != digest(algorithm, body):
        raise Bad(400, "BadDigest", "The %s you specified did not match the "
                  "calculated checksum." % algorithm)


def check_content_sha256(value):
    """x-amz-content-sha256 is required by S3 and must be a hex SHA-256 or one
    of the named forms.  Returns the value."""
    if value is None:
        raise Bad(400, "InvalidRequest",
                  "Missing required header for this request: x-amz-content-sha256")
    if value in (UNSIGNED, STREAMING_UNSIGNED_TRAILER) or HEX64.match(value):
        return value
    if value in STREAMING_SIGNED:
        raise Bad(501, "NotImplemented", "A header you provided implies functionality "
                  "that is not implemented", Header="x-amz-content-sha256")
    raise Bad(400, "InvalidArgument",
              "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
              "STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "
              "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
              "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, "
              "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 "
              "value.", ArgumentName="x-amz-content-sha256", ArgumentValue=value)


def check_payload_hash(value, wire_body):
    """A hex x-amz-content-sha256 must be the hash of the bytes sent."""
    if not HEX64.match(value):
        return
    got = hashlib.sha256(wire_body).hexdigest()
    if got != value:
        raise Bad(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' "
                  "header does not match what was computed.",
                  ClientComputedContentSHA256=value, S3ComputedContentSHA256=got)


def decode_aws_chunked(data):
    """The payload and trailer headers of an aws-chunked body (unsigned
    chunks: "hex-size\\r\\nbytes\\r\\n" ... "0\\r\\n", then trailer lines and
    an empty line)."""
    out, pos = [], 0
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            raise Bad(400, "IncompleteBody", "The request body terminated unexpectedly")
        size_text = data[pos:eol].split(b";")[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise Bad(400, "InvalidChunkSizeError",
                      "Only the last chunk is allowed to have a size less than 8192 bytes")
        pos = eol + 2
        if size == 0:
            break
        out.append(data[pos:pos + size])
        if len(out[-1]) != size or data[pos + size:pos + size + 2] != b"\r\n":
            raise Bad(400, "IncompleteBody", "The request body terminated unexpectedly")
        pos += size + 2
    trailers = {}
    for line in data[pos:].split(b"\r\n"):
        if line.strip():
            name, _, value = line.decode("latin-1").partition(":")
            trailers[name.strip().lower()] = value.strip()
    return b"".join(out), trailers
