# SPDX-License-Identifier: MIT
"""StandIn: start cfstandin.py for a test and drive its control API.

    from tests.standin.standin import StandIn
    with StandIn() as cf:
        cf.configure(completion_delay=0)
        cf.inject("503", {"fault": "hang", "seconds": 3}, op="create")
        ... run cfwatch with --endpoint cf.endpoint --ca-file cf.ca_file ...
        assert len(cf.invalidations()) == 1

The same server speaks S3 (path-style, https://127.0.0.1:PORT/BUCKET/KEY):

        cf.create_bucket("site", region="eu-west-1")
        cf.inject("503", op="s3:put")
        ... run cfwatch with its S3 endpoint at cf.endpoint ...
        assert [o["key"] for o in cf.objects("site")] == ["index.html"]

Control calls use urllib + ssl only (verified against the stand-in's CA), so
a test needs no botocore itself; the server process does.
"""

import base64
import importlib.util
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

# The server runs as the module tests.standin.cfstandin, from the source
# root, whatever the caller's directory.
SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SERVER = "tests.standin.cfstandin"

DISTRIBUTION = "EDFDVBD6EXAMPLE"
BUCKET = "amzn-s3-demo-bucket"
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def server_python():
    """An interpreter that can import botocore: $CFSTANDIN_PYTHON, this one, or
    Debian's /usr/bin/python3 (python3-botocore)."""
    env = os.environ.get("CFSTANDIN_PYTHON")
    if env:
        return env
    if importlib.util.find_spec("botocore") is not None:
        return sys.executable
    return "/usr/bin/python3"


class StandInError(RuntimeError):
    pass


class StandIn:
    """A running cfstandin.py.  Attributes: endpoint, ca_file, port, pid, dir."""

    def __init__(self, dir=None, plain_http=False, host="127.0.0.1", python=None,
                 config=None, start=True, timeout=30, keep_dir=False):
        self._own_dir = dir is None
        self.dir = os.path.abspath(dir or tempfile.mkdtemp(prefix="cfstandin-"))
        self.plain_http = plain_http
        self.host = host
        self.python = python or server_python()
        self.initial_config = config
        self.timeout = timeout
        self.keep_dir = keep_dir
        self.proc = None
        self.endpoint = self.ca_file = self.port = self.pid = None
        self.returncode = None
        self._ctx = None
        if start:
            self.start()

    # ---- lifecycle
    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        ready = os.path.join(self.dir, "ready.json")
        if os.path.exists(ready):
            os.remove(ready)
        cmd = [self.python, "-m", SERVER, "--dir", self.dir, "--port", "0", "--host", self.host,
               "--exit-with-parent"]
        if self.plain_http:
            cmd.append("--plain-http")
        if self.initial_config:
            path = os.path.join(self.dir, "initial-config.json")
            with open(path, "w") as f:
                json.dump(self.initial_config, f)
            cmd += ["--config", path]
        out = open(os.path.join(self.dir, "stdout.log"), "ab")
        try:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=SOURCE_DIR)
        finally:
            out.close()
        deadline = time.monotonic() + self.timeout
        while not os.path.exists(ready):
            if self.proc.poll() is not None:
                raise StandInError("cfstandin exited with %s: %s"
                                   % (self.proc.returncode, self._tail()))
            if time.monotonic() > deadline:
                self.stop()
                raise StandInError("cfstandin not ready after %ss: %s"
                                   % (self.timeout, self._tail()))
            time.sleep(0.02)
        with open(ready) as f:
            info = json.load(f)
        self.port, self.pid, self.ca_file = info["port"], info["pid"], info["ca_file"]
        self.endpoint = info["endpoint"]
        if self.ca_file:
            self._ctx = ssl.create_default_context(cafile=self.ca_file)
        return self

    def _tail(self):
        parts = []
        for name in ("stdout.log", "standin.log"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    parts.append(f.read()[-2000:])
            except OSError:
                pass
        return "\n".join(parts)

    def stop(self, timeout=10):
        """SIGTERM the server and wait; returns its exit status."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self.returncode = self.proc.returncode
        if self._own_dir and not self.keep_dir and os.path.isdir(self.dir):
            shutil.rmtree(self.dir, ignore_errors=True)
        return self.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # ---- control API
    def call(self, method, path, obj=None, timeout=30):
        return json.loads(self.call_raw(method, path, obj, timeout).decode())

    def call_raw(self, method, path, obj=None, timeout=30):
        """A control call's answer as bytes."""
        data = None if obj is None else json.dumps(obj).encode()
        req = urllib.request.Request(self.endpoint + "/__standin/" + path.lstrip("/"),
                                     data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=self._ctx) as r:
                return r.read()
        except urllib.error.HTTPError as e:
            raise StandInError("%s %s: %s %s" % (method, path, e.code,
                                                 e.read().decode(errors="replace")))

    def configure(self, **kw):
        """Merge settings (see README): distributions, credentials, limits,
        completion_delay, clock_offset, ...  Returns the whole config."""
        return self.call("POST", "config", kw)

    def config(self):
        return self.call("GET", "config")

    def inject(self, *faults, op=None):
        """Queue faults: names ("503") or dicts ({"fault": "hang", "seconds": 3,
        "op": "get", "count": 2, "process": True}).  op applies to all that do
        not name one: a CloudFront op (create, get, list, other), an S3 op
        (s3:put, s3:get, s3:head, s3:delete, s3:list, s3:multipart, s3:other)
        or "s3" for any S3 request; an S3 fault may also name its "action"
        ("CompleteMultipartUpload").  Returns the queue."""
        return self.call("POST", "faults", {"faults": list(faults), "op": op})["faults"]

    def faults(self):
        return self.call("GET", "faults")["faults"]

    def clear_faults(self):
        return self.call("DELETE", "faults")["faults"]

    def chaos(self, seed=0, rate=0.0, faults=None, op=None):
        """Random faults: each API request gets one with probability rate
        (0 switches it off), drawn by random.Random(seed)."""
        body = {"seed": seed, "rate": rate, "op": op}
        if faults is not None:
            body["faults"] = list(faults)
        return self.call("POST", "chaos", body)["chaos"]

    def invalidations(self, distribution=None):
        q = "?distribution=" + urllib.parse.quote(distribution) if distribution else ""
        return self.call("GET", "invalidations" + q)["invalidations"]

    def log(self, since=0, service=None):
        """Requests logged after seq since; service "s3" or "cloudfront"
        keeps only that service's."""
        out = self.call("GET", "log?since=%d" % since)["requests"]
        return [e for e in out if service is None or e.get("service") == service]

    def tls_errors(self):
        return self.call("GET", "log")["tls_errors"]

    def reset(self, config=False):
        """Forget invalidations, S3 objects and uploads, log, faults and chaos
        (and config, buckets included, if asked)."""
        return self.call("POST", "reset", {"config": bool(config)})

    def complete_all(self, id=None, distribution=None):
        """Complete in-progress invalidations now; returns their ids."""
        body = {}
        if id:
            body["id"] = id
        if distribution:
            body["distribution"] = distribution
        return self.call("POST", "complete", body)["completed"]

    def seed(self, distribution, invalidations):
        """Make invalidations as if sent earlier: [{"paths": [...],
        "create_time": "2026-04-30T23:59:59.000Z", "status": "Completed",
        "caller_reference": ...}], oldest first.  Returns their ids."""
        return self.call("POST", "seed", {"distribution": distribution,
                                          "invalidations": list(invalidations)})["ids"]

    def usage(self, month=None):
        """The account's invalidation paths in month ("2026-05"; default: the
        stand-in clock's): {"month", "paths", "invalidations",
        "by_distribution"}, every item counted as one path."""
        q = "?month=" + urllib.parse.quote(month) if month else ""
        return self.call("GET", "usage" + q)

    def set_clock(self, offset=None, at=None):
        """Shift the server clock by offset seconds, or to `at` (YYYYMMDDTHHMMSSZ)."""
        body = {"at": at} if at else {"offset": offset or 0}
        return self.call("POST", "clock", body)

    # ---- S3
    def buckets(self):
        """[{name, region, refuse, refuse_delete, objects, uploads}]"""
        return self.call("GET", "s3/buckets")["buckets"]

    def create_bucket(self, name, **settings):
        """Create or change a bucket: region ("us-east-1"), refuse (True, or
        a list of S3 ops answered 403 AccessDenied), refuse_delete (key
        prefixes DeleteObjects refuses per key).  Returns the bucket."""
        body = dict(settings)
        body["name"] = name
        return self.call("POST", "s3/buckets", body)["bucket"]

    configure_bucket = create_bucket

    def delete_bucket(self, name):
        return self.call("DELETE", "s3/buckets?name=" + urllib.parse.quote(name))

    def objects(self, bucket=BUCKET, prefix=""):
        """The bucket's objects: [{key, size, etag, last_modified, headers,
        metadata, checksum, parts, sha256, md5, generation}], by key."""
        q = urllib.parse.urlencode({"bucket": bucket, "prefix": prefix})
        return self.call("GET", "s3/objects?" + q)["objects"]

    def object_bytes(self, key, bucket=BUCKET):
        q = urllib.parse.urlencode({"bucket": bucket, "key": key})
        return self.call_raw("GET", "s3/object?" + q)

    def put_object(self, key, data, bucket=BUCKET, headers=None):
        """Store an object without S3's rules (a test's starting state)."""
        if isinstance(data, str):
            data = data.encode()
        body = {"bucket": bucket, "key": key, "headers": headers or {},
                "base64": base64.b64encode(data).decode()}
        return self.call("POST", "s3/object", body)["object"]

    def put_objects(self, objects, bucket=BUCKET):
        """Store many at once: {key: bytes or str}."""
        items = [{"key": k, "base64": base64.b64encode(
            v.encode() if isinstance(v, str) else v).decode()} for k, v in objects.items()]
        return self.call("POST", "s3/objects", {"bucket": bucket, "objects": items})["objects"]

    def delete_object(self, key, bucket=BUCKET):
        q = urllib.parse.urlencode({"bucket": bucket, "key": key})
        return self.call("DELETE", "s3/object?" + q)["deleted"]

    def uploads(self, bucket=BUCKET):
        """Multipart uploads in progress: [{upload_id, key, parts, ...}]"""
        q = urllib.parse.urlencode({"bucket": bucket})
        return self.call("GET", "s3/uploads?" + q)["uploads"]

    def aws_env(self, access_key=ACCESS_KEY, secret_key=SECRET_KEY, region="us-east-1"):
        """Environment for the AWS CLI (aws --endpoint-url cf.endpoint ...):
        these credentials, this CA, no config files, no instance metadata."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID=access_key, AWS_SECRET_ACCESS_KEY=secret_key,
                   AWS_DEFAULT_REGION=region, AWS_CONFIG_FILE=os.devnull,
                   AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_PAGER="",
                   AWS_EC2_METADATA_DISABLED="true", AWS_MAX_ATTEMPTS="1")
        if self.ca_file:
            env["AWS_CA_BUNDLE"] = self.ca_file
        return env

    # ---- convenience for Python tests
    def client(self, access_key=ACCESS_KEY, secret_key=SECRET_KEY, token=None,
               attempts=1, read_timeout=10, **config):
        """A botocore CloudFront client for this stand-in (needs botocore here)."""
        import botocore.session
        from botocore.config import Config
        cfg = Config(retries={"total_max_attempts": attempts}, read_timeout=read_timeout,
                     connect_timeout=5, **config)
        return botocore.session.get_session().create_client(
            "cloudfront", endpoint_url=self.endpoint, region_name="us-east-1",
            verify=self.ca_file if self.ca_file else False, aws_access_key_id=access_key,
            aws_secret_access_key=secret_key, aws_session_token=token, config=cfg)

    def s3_client(self, access_key=ACCESS_KEY, secret_key=SECRET_KEY, token=None,
                  region="us-east-1", attempts=1, read_timeout=10, **config):
        """A botocore S3 client for this stand-in: path-style addressing,
        retries off (needs botocore here)."""
        import botocore.session
        from botocore.config import Config
        cfg = Config(retries={"total_max_attempts": attempts}, read_timeout=read_timeout,
                     connect_timeout=5, s3={"addressing_style": "path"}, **config)
        return botocore.session.get_session().create_client(
            "s3", endpoint_url=self.endpoint, region_name=region,
            verify=self.ca_file if self.ca_file else False, aws_access_key_id=access_key,
            aws_secret_access_key=secret_key, aws_session_token=token, config=cfg)
