# SPDX-License-Identifier: MIT
"""Self-tests of the S3 stand-in driven by the AWS CLI (Debian's awscli,
installed by scripts/install-deps --test): aws s3 cp/sync/ls/rm and aws
s3api, as a user would run them against --endpoint-url.

    python3 -m unittest -v tests.standin.test_s3_cli
"""

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from tests.standin.s3testlib import BUCKET, MiB, S3TestCase

AWS = "/usr/bin/aws" if os.path.exists("/usr/bin/aws") else shutil.which("aws")
# Parts of 5 MiB from 5 MiB on, so an 11 MiB file is a 3-part upload.
CLI_CONFIG = """[default]
s3 =
  multipart_threshold = 5MB
  multipart_chunksize = 5MB
"""


@unittest.skipUnless(AWS, "no aws CLI (scripts/install-deps --test installs awscli)")
class TestAwsCli(S3TestCase):
    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="s3cli-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.config = os.path.join(self.dir, "aws-config")
        with open(self.config, "w") as f:
            f.write(CLI_CONFIG)

    def aws(self, *args, ok=True, **env_kw):
        env = self.cf.aws_env(**env_kw)
        env["AWS_CONFIG_FILE"] = self.config
        r = subprocess.run([AWS, "--endpoint-url", self.cf.endpoint] + list(args),
                           env=env, capture_output=True, text=True, timeout=120)
        if ok:
            self.assertEqual(r.returncode, 0, "%s\n%s\n%s" % (args, r.stdout, r.stderr))
        return r

    def write(self, rel, data):
        path = os.path.join(self.dir, "site", rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def objects(self):
        return {o["key"]: o for o in self.cf.objects()}

    def test_s3_sync_cp_ls_rm(self):
        big = os.urandom(11 * MiB)
        self.write("index.html", b"<h1>v1</h1>")
        self.write("css/a.css", b"a{}")
        self.write("big.bin", big)
        site = os.path.join(self.dir, "site")
        # aws s3 sync uploads a file of the same size again if its mtime
        # is later than the object's LastModified, which S3 (and the
        # stand-in) gives in whole seconds: a sync done within the second
        # of the writes would send big.bin again below.  The files are
        # made ten seconds older than that second.
        old = int(time.time()) - 10
        for rel in ("index.html", "css/a.css", "big.bin"):
            os.utime(os.path.join(site, rel), (old, old))
        self.aws("s3", "sync", site, "s3://%s/site/" % BUCKET)
        objs = self.objects()
        self.assertEqual(sorted(objs), ["site/big.bin", "site/css/a.css", "site/index.html"])
        self.assertEqual(objs["site/big.bin"]["sha256"], hashlib.sha256(big).hexdigest())
        self.assertEqual(objs["site/big.bin"]["parts"], 3)
        self.assertTrue(objs["site/big.bin"]["etag"].endswith('-3"'))
        self.assertEqual(objs["site/index.html"]["headers"]["content-type"], "text/html")
        out = self.aws("s3", "ls", "--recursive", "s3://%s/site/" % BUCKET).stdout
        self.assertEqual(sorted(line.split()[-1] for line in out.splitlines()),
                         ["site/big.bin", "site/css/a.css", "site/index.html"])
        # sync sends exactly what changed, and --delete removes what went
        seq = self.cf.log()[-1]["seq"]
        self.write("index.html", b"<h1>v2 is longer</h1>")
        os.remove(os.path.join(site, "css", "a.css"))
        self.aws("s3", "sync", "--delete", site, "s3://%s/site/" % BUCKET)
        writes = [(e["action"], e["key"]) for e in self.cf.log(since=seq)
                  if e["action"] in ("PutObject", "DeleteObject", "DeleteObjects",
                                     "CreateMultipartUpload")]
        self.assertEqual(sorted(writes), [("DeleteObject", "site/css/a.css"),
                                          ("PutObject", "site/index.html")])
        self.assertEqual(self.cf.object_bytes("site/index.html"), b"<h1>v2 is longer</h1>")
        back = os.path.join(self.dir, "back.bin")
        self.aws("s3", "cp", "s3://%s/site/big.bin" % BUCKET, back)
        with open(back, "rb") as f:
            self.assertEqual(f.read(), big)
        self.aws("s3", "rm", "--recursive", "s3://%s/site/" % BUCKET)
        self.assertEqual(self.cf.objects(), [])
        bad = [e for e in self.cf.log() if e["signature_ok"] is not True]
        self.assertEqual(bad, [])

    def test_s3api(self):
        path = self.write("a.txt", b"hello")
        out = json.loads(self.aws(
            "s3api", "put-object", "--bucket", BUCKET, "--key", "a.txt", "--body", path,
            "--content-type", "text/plain", "--cache-control", "max-age=5",
            "--metadata", "hash=abc", "--checksum-algorithm", "SHA256").stdout)
        self.assertEqual(out["ETag"], '"%s"' % hashlib.md5(b"hello").hexdigest())
        o = self.objects()["a.txt"]
        self.assertEqual((o["headers"]["cache-control"], o["metadata"],
                          o["checksum"]["algorithm"]),
                         ("max-age=5", {"x-amz-meta-hash": "abc"}, "SHA256"))
        self.cf.put_objects({"p/%d" % i: "x" for i in range(5)})
        seq = self.cf.log()[-1]["seq"]
        out = json.loads(self.aws("s3api", "list-objects-v2", "--bucket", BUCKET,
                                  "--prefix", "p/", "--page-size", "2").stdout)
        self.assertEqual([c["Key"] for c in out["Contents"]], ["p/%d" % i for i in range(5)])
        self.assertEqual(len(self.cf.log(since=seq)), 3)         # three pages
        out = json.loads(self.aws(
            "s3api", "delete-objects", "--bucket", BUCKET, "--delete",
            json.dumps({"Objects": [{"Key": "p/%d" % i} for i in range(5)]})).stdout)
        self.assertEqual(len(out["Deleted"]), 5)
        self.assertEqual(list(self.objects()), ["a.txt"])
        self.multipart_with_s3api()
        r = self.aws("s3api", "get-object", "--bucket", BUCKET, "--key", "a.txt",
                     os.path.join(self.dir, "out"), ok=False, secret_key="wrong")
        self.assertEqual(r.returncode, 254)
        self.assertIn("SignatureDoesNotMatch", r.stderr)

    def multipart_with_s3api(self):
        self.cf.configure(s3_min_part_size=1024)       # small parts, quicker
        parts = [os.urandom(4096), b"end"]
        files = [self.write("part%d" % n, data) for n, data in enumerate(parts, 1)]
        up = json.loads(self.aws("s3api", "create-multipart-upload", "--bucket", BUCKET,
                                 "--key", "mp.bin").stdout)
        done = []
        for n, path in enumerate(files, 1):
            r = json.loads(self.aws("s3api", "upload-part", "--bucket", BUCKET, "--key",
                                    "mp.bin", "--upload-id", up["UploadId"],
                                    "--part-number", str(n), "--body", path).stdout)
            done.append({"PartNumber": n, "ETag": r["ETag"]})
        out = json.loads(self.aws(
            "s3api", "complete-multipart-upload", "--bucket", BUCKET, "--key", "mp.bin",
            "--upload-id", up["UploadId"],
            "--multipart-upload", json.dumps({"Parts": done})).stdout)
        self.assertTrue(out["ETag"].endswith('-2"'))
        self.assertEqual(self.cf.object_bytes("mp.bin"), b"".join(parts))


if __name__ == "__main__":
    unittest.main()
