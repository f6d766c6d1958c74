# SPDX-License-Identifier: MIT
"""A deploy to an S3 origin (issue 14): cfwatch's origin sync against
the AWS CLI, on the same stand-in (tests/standin, over loopback TLS),
in one run.

1. A site of --origin-files files is deployed once by each: `cfwatch
   once --all --origin s3://B/cfwatch` and `aws s3 sync ROOT s3://B/aws`
   (its own first sync), each measured (info).
2. The site is rebuilt as a generator does: every file rewritten, the
   same bytes except 10.  Then `cfwatch once --origin ...` and `aws s3
   sync ...` deploy it: requests (from the stand-in's log), bytes sent
   and received (a counting relay in front of the stand-in), wall time.
   Goals: at least 20× fewer requests, 10× less time.
3. 1,000 new files of 64 KiB each (random bytes) under big/: `cfwatch
   once` against `aws s3 cp --recursive ROOT/big s3://B/aws/big`.  Goal:
   cfwatch's time within 2× of the CLI's.

The stand-in is a Python server: the CPU it used in each step is shown,
since it may bound both clients' speed; so is the relay's."""

import hashlib
import os
import time

from bench.peers import AWS
from bench.procs import BenchError, cpu_s, log, run_cmd
from bench.relay import Relay
from bench.report import Row, fmt_bytes, fmt_count, fmt_ratio, fmt_s
from bench.trees import build_tree, rebuild, spread
from tests.e2e import cfw
from tests.standin.standin import (ACCESS_KEY, DISTRIBUTION, SECRET_KEY,
                                   StandIn)

BUCKET = "bench-site"
REGION = "us-east-1"
N_CHANGED = 10
GOAL_REQUESTS_FACTOR = 20.0  # issue 14: aws requests / cfwatch requests
GOAL_TIME_FACTOR = 10.0  # issue 14: aws time / cfwatch time
GOAL_UPLOAD_RATIO = 2.0  # issue 14: cfwatch time / aws s3 cp time
BIG_BYTES = 64 * 1024


class Step:
    """One client's deploy: its Run plus what the stand-in and the relay
    saw meanwhile."""

    def __init__(self, run, entries, up, down, standin_cpu, relay_cpu):
        self.run = run
        self.wall = run.wall
        self.s3 = sum(1 for e in entries if e.get("service") == "s3")
        self.cf = len(entries) - self.s3
        self.requests = len(entries)
        self.puts = sum(1 for e in entries if e.get("operation") == "s3:put")
        self.failed = [e for e in entries
                       if not isinstance(e.get("status"), int) or
                       e["status"] >= 400]
        self.up = up
        self.down = down
        self.standin_cpu = standin_cpu
        self.relay_cpu = relay_cpu


def title(ctx):
    return "S3 origin: a deploy of a {:,}-file site, cfwatch vs the AWS " \
        "CLI".format(ctx.a.origin_files)


class Origin:
    """The three steps on one stand-in and relay, each client with its
    own prefix of BUCKET; rows into ctx.rows."""

    def __init__(self, ctx, sd, relay):
        self.c = ctx
        self.sd = sd
        self.relay = relay
        self.endpoint = "https://127.0.0.1:%d" % relay.port
        self.state = ctx.state_dir("origin")
        base = os.path.join(ctx.work, "origin")
        self.tree = None  # built by run()
        self.base = base
        self.last_seq = 0  # the stand-in's log, read up to here
        self.cf_env = cfw.clean_env({
            "LC_ALL": "C", "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "HOME": base, "XDG_STATE_HOME": os.path.join(base, "xdg")})
        self.aws_env = sd.aws_env(region=REGION)

    def cfwatch(self, *extra):
        return self.c.cf(
            "once", "-d", DISTRIBUTION, "--endpoint", self.endpoint,
            "--ca-file", self.sd.ca_file, "--state-dir", self.state,
            "--origin", "s3://%s/cfwatch" % BUCKET, "--region", REGION,
            "--s3-endpoint", self.endpoint, *extra, self.tree.root)

    def aws(self, *args):
        return [AWS, "--endpoint-url", self.endpoint, "s3"] + list(args) + [
            "--only-show-errors"]

    def step(self, argv, env, what):
        """Runs argv as one measured step."""
        log("origin: " + what)
        since = self.last_seq
        up0, down0, _ = self.relay.counts()
        sc0, rc0 = cpu_s(self.sd.pid), cpu_s(self.relay.pid)
        r = run_cmd(argv, timeout=7200, env=env)
        if r.rcs != [0]:
            raise BenchError("%s: exit status %s\n%s" % (
                what, r.rcs, r.err[-2000:]))
        up1, down1, _ = self.relay.counts()
        entries = self.sd.log(since)
        if entries:
            self.last_seq = entries[-1]["seq"]
        s = Step(r, entries, up1 - up0, down1 - down0,
                 cpu_s(self.sd.pid) - sc0, cpu_s(self.relay.pid) - rc0)
        if s.failed:
            raise BenchError("%s: %d requests failed, e.g. %r" % (
                what, len(s.failed), s.failed[0]))
        return s

    # -- the steps

    def run(self):
        n = self.c.a.origin_files
        log("origin: building a %d-file site" % n)
        self.tree = build_tree(os.path.join(self.base, "site"), n,
                               self.c.a.seed + 1)
        self.c.fig.update(files=n, dirs=self.tree.n_dirs,
                          bytes=self.tree.n_bytes)
        self.first_deploy()
        self.rebuild_deploy()
        self.upload()

    def aws_sync(self):
        return self.aws("sync", self.tree.root, "s3://%s/aws" % BUCKET)

    def first_deploy(self):
        """Each client's first deploy of the whole site (info)."""
        cf = self.step(self.cfwatch("--all"), self.cf_env,
                       "cfwatch: first deploy")
        aws = self.step(self.aws_sync(), self.aws_env,
                        "aws s3 sync: first sync")
        self.first_rows(cf, aws)

    def rebuild_deploy(self):
        """A rebuild that rewrites every file and changes N_CHANGED."""
        time.sleep(1.1)  # S3 times have whole seconds: after the sync's
        changed = spread(self.tree.paths, N_CHANGED)
        log("origin: rebuilding the site, %d files changed" % len(changed))
        rebuild(self.tree, changed, "origin")
        cf = self.step(self.cfwatch(), self.cf_env, "cfwatch: the rebuild")
        aws = self.step(self.aws_sync(), self.aws_env,
                        "aws s3 sync: the rebuild")
        self.check_puts(cf, len(changed), "cfwatch, the rebuild")
        self.check_objects(changed)
        self.rebuild_rows(cf, aws, len(changed))

    def upload(self):
        """--upload-files new files: cfwatch's whole deploy against
        `aws s3 cp --recursive` of just those."""
        big, k = self.make_big(), self.c.a.upload_files
        cf = self.step(self.cfwatch(), self.cf_env,
                       "cfwatch: %d new files" % k)
        aws = self.step(self.aws("cp", "--recursive", big,
                                 "s3://%s/aws/big" % BUCKET), self.aws_env,
                        "aws s3 cp --recursive: %d new files" % k)
        self.check_puts(cf, k, "cfwatch, %d new files" % k)
        self.check_puts(aws, k, "aws s3 cp, %d new files" % k)
        self.upload_rows(cf, aws)

    def make_big(self):
        big = self.tree.path("big")
        os.makedirs(big)
        for i in range(self.c.a.upload_files):
            with open(os.path.join(big, "blob-%04d.bin" % i), "wb") as f:
                f.write(os.urandom(BIG_BYTES))
        return big

    @staticmethod
    def check_puts(step, want, what):
        if step.puts != want:
            raise BenchError("%s: %d PUTs, expected %d" % (what, step.puts,
                                                          want))

    def check_objects(self, changed):
        """Both prefixes hold the new bytes of every changed file."""
        for rel in changed:
            with open(self.tree.path(rel), "rb") as f:
                want = hashlib.sha256(f.read()).hexdigest()
            for prefix in ("cfwatch/", "aws/"):
                objs = self.sd.objects(BUCKET, prefix + rel)
                got = [o["sha256"] for o in objs if o["key"] == prefix + rel]
                if got != [want]:
                    raise BenchError("s3://%s/%s%s holds %s, not %s" % (
                        BUCKET, prefix, rel, got, want))

    # -- the rows

    def first_rows(self, cf, aws):
        rows = self.c.rows
        rows.append(Row("first deploy (`once --all`, `s3 sync`): wall time",
                        fmt_s(cf.wall), fmt_s(aws.wall),
                        fmt_ratio(cf.wall / aws.wall)))
        rows.append(Row("  requests (S3 + CloudFront)", req_cell(cf),
                        req_cell(aws)))
        self.common_rows(cf, aws)

    def rebuild_rows(self, cf, aws, k):
        c = self.c
        fewer = aws.requests / cf.requests
        res = c.judge.at_least("origin: fewer requests", fewer,
                               GOAL_REQUESTS_FACTOR, "×")
        c.rows.append(Row(
            "rebuild ({:,} rewritten, {} changed): requests (S3 + CF)".format(
                len(self.tree.paths), k),
            req_cell(cf), req_cell(aws), "%.0f× fewer" % fewer,
            "≥ %.0f× fewer (#14)" % GOAL_REQUESTS_FACTOR, res))
        less = aws.wall / cf.wall
        res = c.judge.at_least("origin: less time", less,
                               GOAL_TIME_FACTOR, "×")
        c.rows.append(Row("  wall time", fmt_s(cf.wall), fmt_s(aws.wall),
                          "%.1f× less" % less,
                          "≥ %.0f× less (#14)" % GOAL_TIME_FACTOR, res))
        c.rows.append(Row("  of which PUTs", fmt_count(cf.puts),
                          fmt_count(aws.puts)))
        self.common_rows(cf, aws)

    def upload_rows(self, cf, aws):
        c, n = self.c, self.c.a.upload_files
        ratio, res = c.judge.ratio("origin: %d-file upload time" % n,
                                   cf.wall, aws.wall, GOAL_UPLOAD_RATIO)
        mb = n * BIG_BYTES / 1e6
        c.rows.append(Row(
            "{:,} new files × {} KiB (`once`, `s3 cp --recursive`)".format(
                n, BIG_BYTES // 1024),
            fmt_s(cf.wall), fmt_s(aws.wall), fmt_ratio(ratio),
            "≤ %.0f× (#14)" % GOAL_UPLOAD_RATIO, res))
        c.rows.append(Row("  throughput (%.1f MB / wall time)" % mb,
                          "%.1f MB/s" % (mb / cf.wall),
                          "%.1f MB/s" % (mb / aws.wall)))
        c.rows.append(Row("  requests (S3 + CloudFront)", req_cell(cf),
                          req_cell(aws)))
        self.common_rows(cf, aws)

    def common_rows(self, cf, aws):
        """Bytes, and the CPU of the client, the stand-in and the relay."""
        rows = self.c.rows
        rows.append(Row("  bytes sent / received (TLS, at the relay)",
                        "%s / %s" % (fmt_bytes(cf.up), fmt_bytes(cf.down)),
                        "%s / %s" % (fmt_bytes(aws.up),
                                     fmt_bytes(aws.down))))
        rows.append(Row("  CPU user+sys of the client", fmt_s(cf.run.cpu),
                        fmt_s(aws.run.cpu)))
        rows.append(Row("  stand-in CPU (share of the wall time)",
                        cpu_cell(cf), cpu_cell(aws)))
        rows.append(Row("  relay CPU", fmt_s(cf.relay_cpu),
                        fmt_s(aws.relay_cpu)))


def req_cell(step):
    return "%s (%s + %s)" % (fmt_count(step.requests), fmt_count(step.s3),
                             fmt_count(step.cf))


def cpu_cell(step):
    return "%s (%.0f%%)" % (fmt_s(step.standin_cpu),
                            100 * step.standin_cpu / step.wall)


def run(ctx):
    """The origin part, into ctx.rows."""
    if AWS is None:
        ctx.rows.append(Row("the AWS CLI is not installed (scripts/"
                            "install-deps --test)", result="n/a"))
        return
    sd = StandIn(config={"completion_delay": 0})
    relay = None
    try:
        relay = Relay(sd.port)
        sd.create_bucket(BUCKET, region=REGION)
        Origin(ctx, sd, relay).run()
    finally:
        if relay is not None:
            relay.stop()
        sd.stop()
