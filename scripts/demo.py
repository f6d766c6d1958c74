# SPDX-License-Identifier: MIT
"""The body of scripts/demo: cfwatch watching a live build.  It runs as
`python3 -m scripts.demo` from the source root, which makes the stand-in
(tests.standin) importable.

It starts the local CloudFront stand-in (tests/standin: loopback TLS with
a throwaway CA, SigV4 checked by botocore), runs `cfwatch` in watch mode
on a copy of examples/site with the stand-in's S3 bucket as its origin
(already holding the site, as after an earlier deploy), plays a rebuild
and shows what happens: the daemon's log, the uploads, the invalidation
and the deletion the stand-in received in that order, `cfwatch status`,
and the rebuild's cost next to invalidating /*.  With
CFWATCH_DISTRIBUTION_ID set it talks to real CloudFront instead, with the
user's own credentials, and there is no stand-in.

CFWATCH_BIN names the binary (scripts/demo builds build/cfwatch and sets
it).  Every process started here is stopped on exit, on SIGINT and on
SIGTERM; the daemon also gets SIGTERM if this process dies (prctl), and
the stand-in runs with --exit-with-parent.  Standard library only.
"""
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time

from tests.standin import standin

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

QUIET_MS = 500      # the daemon's debounce: long enough for a rebuild
TIMEOUT_S = 30      # the longest any one step may take
# "No additional charge for the first 1,000 paths requested for
# invalidation each month. Thereafter, $0.005 per path", and /* is one
# path: https://aws.amazon.com/cloudfront/pricing/
FREE_PATHS = 1000
USD_PER_PATH = 0.005
PR_SET_PDEATHSIG = 1  # prctl(2)
OPERATIONS = {"create": "CreateInvalidation", "get": "GetInvalidation",
              "list": "ListInvalidations"}  # the stand-in's log's names
ORIGIN_PREFIX = "site"  # the site's keys in the stand-in's bucket
REGION = "us-east-1"

# The rebuild: a new post, the blog index that now lists it, a fix to a
# page whose name needs percent-encoding, and a tag page that went away.
ADDED = "blog/second-post/index.html"
EDITED = ["blog/index.html", "docs/café menu.html"]
DELETED = "blog/tags/c.html"


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived; the demo cleans up and exits."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class DemoError(Exception):
    """A step failed; the message says which and what to look at."""


_print_lock = threading.Lock()


def say(text="", indent=2):
    """Prints text, each line indented, whole even beside the log thread."""
    with _print_lock:
        for line in text.splitlines() or [""]:
            print(" " * indent + line if line else "", flush=True)


def head(title):
    say("\n== " + title, indent=0)


def wait_until(what, check, timeout=TIMEOUT_S):
    """Polls check() until it returns something true, and returns that."""
    deadline = time.monotonic() + timeout
    while True:
        res = check()
        if res:
            return res
        if time.monotonic() > deadline:
            raise DemoError("%s: not within %d s (see the log above)"
                            % (what, timeout))
        time.sleep(0.05)


def _find_prctl():
    try:
        return ctypes.CDLL(None).prctl
    except (OSError, AttributeError):
        return None  # not Linux: the demo's own cleanup stops the daemon


_prctl = _find_prctl()  # looked up before any fork


def die_with_parent():
    """Runs in the daemon's child before exec: Linux sends it SIGTERM if
    the demo dies without cleaning up, even by SIGKILL."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Cfwatch:
    """The daemon and the one-shot commands, all run in the scratch folder
    with relative paths, so that what they print stays short."""

    def __init__(self, binary, work, env, site_args):
        self.binary = binary
        self.work = work
        self.env = env
        self.site_args = site_args  # -d, endpoint, state dir, ROOT
        self.proc = None
        self.threads = []
        self.batches = 0  # "batch:" lines the log has shown
        self.errors = 0   # "error:" lines

    def start(self):
        cmd = [self.binary, "--quiet-ms", str(QUIET_MS)] + self.site_args
        say(" \\\n    ".join(textwrap.wrap(
            "$ cfwatch " + " ".join(cmd[1:]), 70, break_long_words=False,
            break_on_hyphens=False)))
        self.proc = subprocess.Popen(
            cmd, cwd=self.work, env=self.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            preexec_fn=die_with_parent)
        say("(cfwatch pid %d)" % self.proc.pid)
        for pipe in (self.proc.stdout, self.proc.stderr):
            t = threading.Thread(target=self._relay, args=(pipe,), daemon=True)
            t.start()
            self.threads.append(t)

    def _relay(self, pipe):
        """Shows each line the daemon writes as it comes."""
        for raw in pipe:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if ": batch: " in line:
                self.batches += 1
            elif ": error: " in line:
                self.errors += 1
            say("| " + self.short(line))
        pipe.close()

    def short(self, text):
        """text with the scratch folder's paths made relative to it."""
        return text.replace(self.work + "/", "")

    def run(self, *args):
        """`cfwatch ARGS` to completion; its stdout (stderr too on failure)."""
        res = subprocess.run([self.binary] + list(args), cwd=self.work,
                             env=self.env, stdin=subprocess.DEVNULL,
                             capture_output=True, timeout=TIMEOUT_S)
        if res.returncode != 0:
            raise DemoError("cfwatch %s: exit %d\n%s%s" % (
                " ".join(args), res.returncode, res.stdout.decode(),
                res.stderr.decode()))
        return res.stdout.decode()

    def status(self):
        """`cfwatch status --json`, once the daemon is known to be well."""
        if self.proc.poll() is not None:
            raise DemoError("cfwatch exited %d (see its log above)"
                            % self.proc.returncode)
        if self.errors:
            raise DemoError("cfwatch reported an error (above): see "
                            "Troubleshooting in README.md")
        return json.loads(self.run("status", "--json", *self.site_args))

    def stop(self):
        """SIGTERM, then SIGKILL after 15 s; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for t in self.threads:
            t.join(5)
        return self.proc.returncode


def cfwatch_env(real):
    """The daemon's environment: the user's, for real CloudFront; else the
    stand-in's example key and nothing else of AWS_* (a session token or
    profile of the user's would spoil the signature)."""
    env = dict(os.environ)
    if real:
        return env
    for k in list(env):
        if k.startswith("AWS_"):
            del env[k]
    env["AWS_ACCESS_KEY_ID"] = standin.ACCESS_KEY
    env["AWS_SECRET_ACCESS_KEY"] = standin.SECRET_KEY
    return env


def start_standin(cf):
    """Starts cf, a StandIn made with start=False (so that whoever made it
    can stop it even if this is interrupted half-way)."""
    head("1. A local CloudFront stand-in")
    if subprocess.run([cf.python, "-c", "import botocore"],
                      stderr=subprocess.DEVNULL).returncode != 0:
        raise DemoError("the stand-in needs python3-botocore: run "
                        "scripts/install-deps as root")
    cf.start()
    say("%s  (pid %d)\n"
        "loopback TLS with a throwaway CA; each request's SigV4 signature is\n"
        "checked with botocore; distribution %s, key %s"
        % (cf.endpoint, cf.pid, standin.DISTRIBUTION, standin.ACCESS_KEY))


def rewrite(path, data):
    with open(path, "wb") as f:
        f.write(data)


def play_rebuild(public):
    """Rewrites every file in place with the same bytes, as Hugo and
    Jekyll do, then makes the real changes.  Returns the files' count."""
    files = [os.path.join(d, n) for d, _, ns in os.walk(public) for n in ns]
    for path in files:
        with open(path, "rb") as f:
            rewrite(path, f.read())
    for rel in EDITED:
        with open(os.path.join(public, rel), "ab") as f:
            f.write(b"<p>Updated.</p>\n")
    os.makedirs(os.path.join(public, os.path.dirname(ADDED)))
    rewrite(os.path.join(public, ADDED),
            b"<!doctype html>\n<h1>Second post</h1>\n")
    os.unlink(os.path.join(public, DELETED))
    return len(files)


class Demo:
    """One run: the scratch folder, the stand-in (or real CloudFront) and
    the daemon.  cleanup() stops whatever was started."""

    def __init__(self, binary, real_id):
        self.binary = binary
        self.real_id = real_id
        self.work = tempfile.mkdtemp(prefix="cfwatch-demo.")
        self.public = os.path.join(self.work, "public")
        self.cf = None
        self.daemon = None

    def site_args(self):
        if self.real_id:
            return ["-d", self.real_id, "--state-dir", "state", "public"]
        return ["-d", standin.DISTRIBUTION, "--endpoint", self.cf.endpoint,
                "--ca-file", os.path.relpath(self.cf.ca_file, self.work),
                "--origin", "s3://%s/%s" % (standin.BUCKET, ORIGIN_PREFIX),
                "--region", REGION, "--s3-endpoint", self.cf.endpoint,
                "--state-dir", "state", "public"]

    def seed_origin(self):
        """The bucket as an earlier deploy left it: every file of the
        site under the prefix.  cfwatch's first pass compares the tree
        with it (the bucket is the ground truth) and finds nothing to
        send."""
        self.cf.create_bucket(standin.BUCKET, region=REGION)
        objects = {}
        for d, _, names in os.walk(self.public):
            for n in names:
                path = os.path.join(d, n)
                rel = os.path.relpath(path, self.public)
                with open(path, "rb") as f:
                    objects[ORIGIN_PREFIX + "/" + rel] = f.read()
        self.cf.put_objects(objects, bucket=standin.BUCKET)
        say("its S3 origin s3://%s/%s already holds the site's %d files\n"
            "(an earlier deploy): cfwatch compares the tree with the bucket"
            % (standin.BUCKET, ORIGIN_PREFIX, len(objects)))

    def start(self):
        if self.real_id:
            head("1. Real CloudFront: distribution " + self.real_id)
            say("with your credentials, found as the AWS CLI finds them;\n"
                "this sends one real invalidation of a few paths")
        else:
            self.cf = standin.StandIn(dir=os.path.join(self.work, "standin"),
                                      start=False)
            start_standin(self.cf)
        head("2. cfwatch watches a copy of examples/site")
        shutil.copytree(os.path.join(SOURCE_DIR, "examples", "site"),
                        self.public)
        say("in %s (paths below are relative to it)" % self.work)
        if not self.real_id:
            self.seed_origin()
        self.daemon = Cfwatch(self.binary, self.work,
                              cfwatch_env(self.real_id), self.site_args())
        self.daemon.start()
        wait_until("the daemon's baseline", self.baseline_done)

    def baseline_done(self):
        st = self.daemon.status()
        return st["daemon_running"] and st["has_manifest"]

    def cached_urls(self):
        """Every URL of the site as it is now, as cfwatch maps it: the
        objects a warm cache holds."""
        return self.daemon.run("plan", "--all", "--never-wildcard",
                               "--state-dir", "urls", "public").split()

    def rebuild(self):
        """Plays the rebuild and returns the invalidation's URL paths."""
        if self.real_id:  # no control API: a dry run's plan says the paths
            self.daemon.run("once", "--dry-run", "--state-dir", "shadow",
                            "public")
        total = play_rebuild(self.public)
        head("3. A rebuild rewrites all %d files; 4 really change" % total)
        say("same bytes: %d files; edited: %s;\nadded: %s; deleted: %s"
            % (total - len(EDITED) - 1, ", ".join(EDITED), ADDED, DELETED))
        wait_until("the rebuild's invalidation", self.batch_done)
        # The daemon logs the batch after the 201: show it first.
        deadline = time.monotonic() + 5
        while not self.daemon.batches and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.real_id:
            return self.show_accepted()
        return self.show_standin()

    def batch_done(self):
        st = self.daemon.status()
        if self.real_id:
            sent = st["invalidations"]
        else:
            sent = self.cf.invalidations()
        return (sent and st["pending_files"] == 0 and
                st.get("pending_uploads", 0) == 0 and
                st.get("pending_deletions", 0) == 0)

    def show_standin(self):
        """What the stand-in received, from its control API."""
        head("4. What the stand-in received (its control API)")
        invs = self.cf.invalidations()
        n = len(invs)
        say("%d invalidation%s for %s" % (n, "" if n == 1 else "s",
                                          standin.DISTRIBUTION))
        for inv in invs:
            say("%s (%s), CallerReference %s\npaths (%d):"
                % (inv["id"], inv["status"], inv["caller_reference"],
                   len(inv["paths"])))
            say("\n".join(inv["paths"]), indent=4)
        log = self.cf.log()
        reqs = [r for r in log if r.get("service") != "s3" and
                r["operation"] != "other"]
        good = sum(1 for r in reqs if r["signature_ok"])
        ops = ", ".join(OPERATIONS.get(r["operation"], r["operation"])
                        for r in reqs)
        say("%d signed requests (%s): %d signatures valid"
            % (len(reqs), ops, good))
        self.show_origin(log)
        return invs[-1]["paths"]

    def show_origin(self, log):
        """The rebuild at the origin, in the order the stand-in saw it:
        uploads, then the invalidation, then the deletion."""
        start = max(r["seq"] for r in log if r.get("service") == "s3" and
                    r["action"] == "ListObjectsV2")
        steps = [r for r in log if r["seq"] > start and (
            r["operation"] == "create" or r.get("action") in
            ("PutObject", "DeleteObjects"))]
        say("the rebuild, in the order the stand-in received it:")
        for r in steps:
            if r["operation"] == "create":
                say("CreateInvalidation", indent=4)
            elif r["action"] == "PutObject":
                say("PutObject      %s" % r["key"], indent=4)
            else:
                say("DeleteObjects  (after the invalidation was accepted)",
                    indent=4)
        keys = [o["key"] for o in self.cf.objects(standin.BUCKET)]
        added = ORIGIN_PREFIX + "/" + ADDED
        gone = ORIGIN_PREFIX + "/" + DELETED
        if added not in keys or gone in keys:
            raise DemoError("the bucket does not hold the rebuild: %s"
                            % sorted(keys))
        say("the bucket now holds %d objects: %s is there, %s is not"
            % (len(keys), added, gone))

    def show_accepted(self):
        """Real CloudFront: the invalidation as cfwatch recorded it, and
        its paths as `cfwatch plan` gives them for the same change set."""
        head("4. What CloudFront accepted (cfwatch status --json)")
        for inv in self.daemon.status()["invalidations"]:
            say("%s (%s), %d paths" % (inv["id"], inv["status"],
                                       inv["paths"]))
        paths = self.daemon.run("plan", "--state-dir", "shadow",
                                "public").split()
        say("paths, as `cfwatch plan` gives them for this rebuild:")
        say("\n".join(paths), indent=4)
        return paths

    def show_status(self):
        head("5. cfwatch status")
        say(self.daemon.short(self.daemon.run("status",
                                              *self.daemon.site_args)))

    def cleanup(self):
        """Stops the daemon and the stand-in, removes the scratch folder.
        Signals are ignored meanwhile, so a second ^C cannot cut it short;
        each stop is bounded by a timeout."""
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, signal.SIG_IGN)
        if self.daemon is not None and self.daemon.proc is not None:
            head("Stopping")
            code = self.daemon.stop()
            say("cfwatch exited %d" % code)
        if self.cf is not None:
            say("stand-in exited %s" % self.cf.stop())
        shutil.rmtree(self.work, ignore_errors=True)


def show_cost(cached, sent):
    """The rebuild's invalidation next to invalidating /*: each URL is
    its own cached object, and /* evicts them all."""
    head("6. This rebuild: exact paths compared with /*")
    n = len(cached)
    evicted = len(set(sent) & set(cached))
    rows = [("", "cfwatch", "/*"),
            ("cached objects evicted", "%d of %d" % (evicted, n),
             "%d of %d" % (n, n)),
            ("unchanged objects kept", "%d" % (n - evicted), "0"),
            ("paths counted", "%d" % len(sent), "1")]
    say("\n".join("%-24s %-10s %s" % r for r in rows))
    say("After /*, the next request for each of the %d unchanged objects\n"
        "is a miss at every edge location and goes to the origin.\n"
        "Paths: the first %s a month are free, then $%.3f each;\n"
        "%d-path rebuilds like this one stay free %d times a month."
        % (n - evicted, format(FREE_PATHS, ","), USD_PER_PATH, len(sent),
           FREE_PATHS // max(len(sent), 1)))


def show_next(binary, real):
    head("Next: your own site")
    shown = os.path.relpath(binary, SOURCE_DIR)
    if shown.startswith(".."):
        shown = binary
    watch = "%s -d E2QWRUHAPOMQZL ./public" % shown
    if real:
        say("Watch your own build folder the same way:\n  " + watch)
        return
    say("1. Give your AWS user or role the minimum IAM policy in README.md\n"
        "   (cloudfront:CreateInvalidation, GetInvalidation and\n"
        "   ListInvalidations on the distribution; with an S3 origin, also\n"
        "   s3:PutObject, s3:DeleteObject, s3:AbortMultipartUpload and\n"
        "   s3:ListBucket).\n"
        "2. Export its credentials as the AWS CLI finds them:\n"
        "   AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE.\n"
        "3. Run this demo against it (one invalidation, a few paths):\n"
        "     CFWATCH_DISTRIBUTION_ID=E2QWRUHAPOMQZL scripts/demo\n"
        "   or watch your own build folder:\n"
        "     " + watch + "\n"
        "   adding --origin s3://BUCKET/PREFIX to upload what changed first.")


def on_signal(signum, frame):
    raise Interrupted(signum)


def run(demo):
    demo.start()
    cached = demo.cached_urls()
    sent = demo.rebuild()
    demo.show_status()
    show_cost(cached, sent)


def main():
    sys.stdout.reconfigure(line_buffering=True)
    binary = os.path.abspath(os.environ.get("CFWATCH_BIN") or
                             os.path.join(SOURCE_DIR, "build", "cfwatch"))
    if not os.access(binary, os.X_OK):
        print("demo: no cfwatch binary at %s (scripts/build plain)" % binary,
              file=sys.stderr)
        return 1
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, on_signal)
    started = time.monotonic()
    demo = Demo(binary, os.environ.get("CFWATCH_DISTRIBUTION_ID"))
    status = 0
    try:
        run(demo)
    except DemoError as e:
        print("demo: %s" % e, file=sys.stderr)
        status = 1
    except Interrupted as e:
        print("\ndemo: %s: cleaning up" % e, file=sys.stderr)
        status = 128 + e.signum
    finally:
        demo.cleanup()
    if status == 0:
        show_next(binary, demo.real_id)
        say("\n(demo done in %.1f s)" % (time.monotonic() - started), 0)
    return status


if __name__ == "__main__":
    sys.exit(main())
