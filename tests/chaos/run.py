# SPDX-License-Identifier: MIT
"""One chaos seed: a tree, a state dir and a succession of daemons,
SIGKILLed at chosen moments and restarted."""
import glob
import json
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time

from tests.chaos import origin
from tests.chaos.checker import Checker
from tests.chaos.disk import Disk
from tests.chaos import excludes
from tests.chaos.excludes import Excludes
from tests.chaos.remap import Remap
from tests.chaos.inotify import Inotify
from tests.chaos.outcome import Failure, Outcome
from tests.chaos.s3checker import S3Checker
from tests.chaos.workload import Workload
from tests.e2e import cfw
from tests.e2e.daemon import Daemon
from tests.standin.standin import ACCESS_KEY, DISTRIBUTION, SECRET_KEY

QUIET_MS = 200
# The --two-dists mode's distributions: the stand-in's default and one
# more.
TWO_DISTS = [DISTRIBUTION, "EAPEXEXAMPLE02"]
MAX_DELAY_MS = 1000
# Faults the stand-in draws from (README "Faults").  Hangs and slow
# answers are short so that a kill often lands while one is in flight.
# Lost 201s are listed twice: a replay across a kill is what the
# CallerReference is for.
FAULTS = ["503", "500", "throttle", "reset", "lost201", "lost201",
          "garbage", "bad_length", {"fault": "slow", "seconds": 1},
          {"fault": "hang", "seconds": 1.5}]
FAULT_RATE = 0.3
KILL_RATE = 0.3
# Kill modes and their weights; see Run.kill().
KILL_MODES = [("quiet", 2), ("request", 3), ("response", 2), ("journal", 2),
              ("snapshot", 1),
              ("lost201", 2), ("failed", 2), ("random", 1)]
# How long a kill waits for the moment it aims at before killing anyway.
# --s3-state: the state's bucket; a fault that answers a state PUT as
# another writer's win (the pass restarts from a new pull), beside the
# S3 faults of origin mode; and how often a kill also loses the cache.
STATE_BUCKET = "www-example-com-state"
STATE_CONFLICT = {"fault": "error", "status": 412,
                  "code": "PreconditionFailed", "op": "s3:put"}
LOSE_CACHE_RATE = 0.3
# --full-disk: how often a round fills the state's disk, or frees it.
DISK_RATE = 0.25
KILL_WAIT_S = 2.5
SETTLE_QUIET_S = 1.5
SETTLE_TIMEOUT_S = 120
# A restarted daemon starts this long after the kill; see
# checker.Checker.life_of.
RESTART_DELAY_S = 0.05

REQUEST_SENT = re.compile(r"trace: http #\d+: > \d+ bytes of body")
RESPONSE_201 = re.compile(r"trace: http #\d+: < HTTP/\S+ 201")
REQUEST_START = re.compile(r"trace: http #\d+: \*\s+Trying ")
REQUEST_DONE = re.compile(r"CloudFront \S+: .* in \d+ ms \(")
RETRYING = re.compile(r"warn: CloudFront: .*; retrying$")
SCANNED = re.compile(r": scanned \d+ files")
BATCH_DONE = re.compile(r": batch: \d+ files, \d+ paths, invalidation ")
SANITIZER = re.compile(r"ERROR: AddressSanitizer|runtime error:|"
                       r"ERROR: LeakSanitizer|WARNING: ThreadSanitizer")


class Life:
    """One daemon process: when it was started and killed (time.time()).
    Its stderr lines, each with the window it was written in, are
    daemon.lines("err")."""

    def __init__(self, daemon, excluded=False):
        self.daemon = daemon
        self.spawn = daemon.started
        self.death = None
        self.excluded = excluded  # ran with --excludes' exclude

    def ended(self, t):
        """After the process ended (the daemon was reaped, and its last
        lines read): t is when it was killed or stopped."""
        if self.death is None:
            self.death = t


class Run:
    """One seed: a tree, a state dir, a succession of daemons."""

    def __init__(self, seed, rounds, binary, cf, verbose=False,
                 fault_rate=FAULT_RATE, kill_rate=KILL_RATE, strict=False,
                 s3=False, dists=None, tags=False, shared=False,
                 full_disk=False, pass_files=None, excludes=False,
                 remap=False):
        self.seed = seed
        self.rounds = rounds
        self.binary = os.path.abspath(binary)
        self.cf = cf
        self.verbose = verbose
        self.fault_rate = fault_rate
        self.kill_rate = kill_rate
        self.strict = strict
        self.s3 = s3 or tags  # an S3 origin (origin.py)
        self.tags = tags  # ... with cache_tag_header (origin.TAG_HEADER)
        # Several distributions (--two-dists): every batch goes to each.
        self.dists = list(dists or [DISTRIBUTION])
        self.kill_modes = KILL_MODES + (origin.KILL_MODES if s3 else [])
        self.base_seq = 0  # the stand-in's requests before the baseline
        options = ["--origin"] if s3 and not tags else []
        if tags:
            options.append("--cache-tags")
        if fault_rate != FAULT_RATE:
            options += ["--fault-rate", str(fault_rate)]
        if kill_rate != KILL_RATE:
            options += ["--kill-rate", str(kill_rate)]
        if strict:
            options.append("--strict")
        if len(self.dists) > 1:
            options.append("--two-dists")
        # The state in S3 (--s3-state): the state dir is only a cache.
        self.shared = shared
        if shared:
            options.append("--s3-state")
        if full_disk:
            options.append("--full-disk")
        # Bounded passes (--pass-files): a change of more files goes in
        # passes that follow each other, and kills fall between them.
        self.pass_files = pass_files
        if pass_files is not None:
            options += ["--pass-files", str(pass_files)]
        if excludes:
            options.append("--excludes")
        if remap:
            options.append("--remap")
        self.out = Outcome(seed, rounds, binary, options)
        self.tmp = tempfile.mkdtemp(prefix="cfwchaos.%d." % seed)
        self.root = os.path.join(self.tmp, "public")
        self.state = os.path.join(self.tmp, "state")
        self.env = {"HOME": self.tmp,
                    "XDG_STATE_HOME": os.path.join(self.tmp, "xdg"),
                    "AWS_ACCESS_KEY_ID": ACCESS_KEY,
                    "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                    # Compactions every few batches, so kills fall into
                    # them too (state.h).
                    "CFWATCH_TEST_COMPACT_BYTES": "2048"}
        if s3:
            self.env["CFWATCH_TEST_MULTIPART_BYTES"] = str(
                origin.MULTIPART_BYTES)
        if shared:
            self.state_url = "s3://%s/chaos/%d" % (STATE_BUCKET, seed)
            self.env["XDG_CACHE_HOME"] = os.path.join(self.tmp, "cache")
            self.state = None  # the cache, once the baseline made it
        self.caches_lost = 0
        # The state dir (or the state in S3's cache) on a disk that
        # fills (--full-disk, disk.py).
        self.disk = None
        if full_disk:
            self.disk = Disk(os.path.join(self.tmp, "statefs"))
            if shared:
                self.env["XDG_CACHE_HOME"] = os.path.join(self.disk.path,
                                                          "cache")
            else:
                self.state = os.path.join(self.disk.path, "state")
        self.work = Workload(seed, self.root, os.path.join(self.tmp, "scr"),
                             big=s3)
        # --excludes: a config file whose exclude changes (excludes.py).
        self.excl = Excludes(seed, self.tmp) if excludes else None
        # --remap: the same, of pretty_urls (remap.py).
        if remap:
            self.excl = Remap(seed, self.tmp)
        self.krng = random.Random(seed * 7919 + 1)  # the kill plan
        self.daemon = None
        self.lives = []  # a Life per process
        self.kills = []  # (mode, time, classification)

    def say(self, msg):
        if self.verbose:
            print("  [%d] %s" % (self.seed, msg), file=sys.stderr, flush=True)

    def fail(self, msg):
        self.out.failures.append(msg)

    # ---- daemons
    def cf_args(self):
        dists = [a for d in self.dists for a in ("-d", d)]
        args = dists + ["--endpoint", self.cf.endpoint,
                        "--ca-file", self.cf.ca_file, "--state-dir",
                        self.state_url if self.shared else self.state]
        if self.pass_files is not None:
            args += ["--pass-files", str(self.pass_files)]
        if self.excl:
            args += self.excl.args()
        if self.s3:
            return args + origin.daemon_args(self.cf, self.tags)
        if self.shared:
            args += ["--region", origin.REGION, "--s3-endpoint",
                     self.cf.endpoint]
        return args

    def find_cache(self):
        """The state in S3's cache dir, under XDG_CACHE_HOME, or None."""
        found = glob.glob(os.path.join(self.env["XDG_CACHE_HOME"], "cfwatch",
                                       "*", "manifest"))
        return os.path.dirname(found[0]) if found else None

    def lose_cache(self):
        """A lost cache (an evicted CI cache, a new runner): the next
        daemon pulls the whole state from S3."""
        shutil.rmtree(self.state, ignore_errors=True)
        self.caches_lost += 1
        return "the state's cache lost"

    def spawn(self):
        if self.lives and time.time() < self.lives[-1].death + RESTART_DELAY_S:
            time.sleep(RESTART_DELAY_S)
        args = ["-v", "-v"] + self.cf_args() + [
            "--quiet-ms", QUIET_MS, "--max-delay-ms", MAX_DELAY_MS, self.root]
        self.daemon = Daemon(self.tmp, *args, env=self.env,
                             binary=self.binary)
        self.lives.append(Life(self.daemon,
                               excluded=bool(self.excl and self.excl.on)))

    def check_alive(self):
        if self.daemon.proc.poll() is not None:
            d = self.daemon
            raise Failure("cfwatch pid %d ended on its own with status %s:"
                          "\n%s" % (d.pid, d.proc.returncode,
                                    "\n".join(d.log()[-30:])))

    def kill(self, mode):
        """SIGKILLs the daemon at the moment mode aims at:
        quiet: within the quiet window of the change just made;
        request: just after a request's body went out;
        response: the moment a 201 has arrived;
        journal: the moment a record is appended to the journal (an
          intent before its request, a commit after its 201), or a few
          ms later;
        snapshot: the moment a new snapshot's temp file appears (a
          compaction: the test makes them frequent), or a few ms later;
        lost201: in the backoff after a lost 201: the next daemon must
          replay that invalidation, not create another;
        failed: in the backoff after a 503: the next daemon must send
          the batch;
        random: at any moment of the next 1.5 s;
        and with an S3 origin those of origin.kill_wait."""
        self.check_alive()
        d = self.daemon
        mark = d.mark()
        tmp_before = self.manifest_tmp()
        delay = self.krng.random()
        hit = True
        if mode in dict(origin.KILL_MODES):
            hit = origin.kill_wait(self, mode, d, mark, delay, KILL_WAIT_S)
        elif mode == "quiet":
            time.sleep(delay * QUIET_MS / 1000)
        elif mode == "request":
            hit = self.await_line(d, REQUEST_SENT, mark)
            time.sleep(delay * 0.03)
        elif mode == "response":
            hit = self.await_line(d, RESPONSE_201, mark)
        elif mode == "lost201":
            # The next request creates its invalidation but its answer is
            # lost; the kill comes in the backoff (at least 500 ms) before
            # the daemon would replay it.
            self.cf.inject("lost201", op="create")
            hit = self.await_line(d, RETRYING, mark)
            time.sleep(delay * 0.4)
        elif mode == "failed":
            # The same after a 503: nothing was created, and the next
            # daemon must send the batch.
            self.cf.inject("503", op="create")
            hit = self.await_line(d, RETRYING, mark)
            time.sleep(delay * 0.4)
        elif mode in ("journal", "snapshot") and not os.path.isdir(
                self.state):
            time.sleep(delay * 1.5)  # a lost cache not made again yet
        elif mode in ("journal", "snapshot"):
            # A record or a snapshot takes about a millisecond (an fsync):
            # half of these kills come at once, from inside the wait.
            want = "journal" if mode == "journal" else "manifest.tmp"

            def at_once(name, mask):
                if name != want:
                    return False
                if delay < 0.5:
                    os.kill(d.pid, signal.SIGKILL)
                return True

            ino = Inotify(self.state, Inotify.IN_CREATE | Inotify.IN_MODIFY)
            try:
                hit = ino.wait(at_once, KILL_WAIT_S)
            finally:
                ino.close()
            if delay >= 0.5:
                time.sleep((delay - 0.5) * 0.004)
        else:
            time.sleep(delay * 1.5)
        t = time.time()
        d.kill()
        self.lives[-1].ended(t)
        self.check_ended_by_kill(d)
        self.kills.append((mode, t, self.classify_kill(d, tmp_before)))
        self.say("kill (%s%s): %s" % (
            mode, "" if hit is True else ", at %s" % hit if hit
            else ", timed out", ", ".join(self.kills[-1][2]) or "idle"))

    @staticmethod
    def await_line(d, pattern, mark):
        """Whether a line matching pattern came after mark within
        KILL_WAIT_S (False also when the daemon ended)."""
        return d.wait_for(pattern, start=mark, timeout=KILL_WAIT_S,
                          fail=False) is not None

    def check_ended_by_kill(self, d):
        if d.proc.returncode != -signal.SIGKILL:
            raise Failure("cfwatch pid %d ended with status %s before it was "
                          "killed:\n%s" % (d.pid, d.proc.returncode,
                                           "\n".join(d.log()[-30:])))

    def manifest_tmp(self):
        """The identity of the manifest's temp file, or None."""
        if self.state is None:
            return None
        try:
            st = os.stat(os.path.join(self.state, "manifest.tmp"))
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_ctime_ns)

    def classify_kill(self, d, tmp_before):
        """What the killed daemon was doing, from its trace and the state
        dir (a temp file made since the kill began and not yet renamed
        means the kill cut a manifest write)."""
        log = d.log()
        tags = []
        last_start = max((i for i, line in enumerate(log)
                          if REQUEST_START.search(line)), default=-1)
        if last_start >= 0 and not any(REQUEST_DONE.search(line)
                                       for line in log[last_start:]):
            tags.append("mid-request")
        last_201 = max((i for i, line in enumerate(log)
                        if RESPONSE_201.search(line)), default=-1)
        if last_201 >= 0 and not any(BATCH_DONE.search(line)
                                     for line in log[last_201:]):
            tags.append("after-201")
        tmp = self.manifest_tmp()
        if tmp is not None and tmp != tmp_before:
            tags.append("mid-snapshot-write")
        if self.s3:
            tags += origin.classify(log)
        return tags

    def plan(self):
        res = cfw.run("plan", *self.cf_args(), self.root, env=self.env,
                      timeout=60, binary=self.binary)
        if res.status != 0:
            raise Failure("cfwatch plan failed: %r" % res)
        return res.lines

    # ---- phases
    def start(self):
        self.work.initial()
        if self.s3:
            self.start_origin()
        else:
            self.spawn()
            self.daemon.wait_for("recording a baseline", timeout=30)
        deadline = time.monotonic() + 30
        while not self.baselined():
            if time.monotonic() > deadline:
                raise Failure("no manifest after the baseline:\n%r"
                              % self.daemon)
            time.sleep(0.01)
        self.work.model.baseline()
        faults = origin.faults(FAULTS) if self.s3 or self.shared else FAULTS
        if self.shared:
            faults = faults + [STATE_CONFLICT] * 3
        self.cf.chaos(seed=self.seed, rate=self.fault_rate, faults=faults)

    def baselined(self):
        if self.shared:
            self.state = self.find_cache()
            # The baseline is recorded once S3 holds it: the cache's
            # manifest comes first.
            return self.state is not None and any(
                o["key"].endswith("/manifest")
                for o in self.cf.objects(STATE_BUCKET))
        return os.path.exists(os.path.join(self.state, "manifest"))

    def start_origin(self):
        """The bucket starts with the tree: a daemon's baseline uploads
        nothing (the origin is taken to hold it), so `once --all` deploys
        it first.  The checker leaves out what it sent (base_seq)."""
        self.cf.create_bucket(origin.BUCKET, region=origin.REGION)
        if self.tags:
            self.cf.configure(distributions=[{
                "id": DISTRIBUTION, "cache_tag_header": origin.TAG_HEADER}])
        res = cfw.run("once", "--all", *self.cf_args(), self.root,
                      env=self.env, timeout=120, binary=self.binary)
        if res.status != 0:
            raise Failure("cfwatch once --all failed: %r" % res)
        self.base_seq = self.cf.log()[-1]["seq"]
        self.spawn()
        self.daemon.wait_for(SCANNED.pattern, timeout=30)

    def rounds_(self):
        for i in range(self.rounds):
            what = self.work.step()
            r = self.krng.random()
            mode = self.krng.choices([m for m, _ in self.kill_modes],
                                     [w for _, w in self.kill_modes])[0]
            if self.s3 and self.krng.random() < 0.6 and \
                    what.startswith("big "):
                mode = "multipart"  # a big file changed: aim at its upload
            extra = self.krng.random() < 0.4
            pause = self.krng.choice([0, 0.05, 0.15, 0.3, 0.6]) * \
                self.krng.random()
            self.say("round %d: %s" % (i, what))
            if self.disk and self.krng.random() < DISK_RATE:
                self.say(self.disk.toggle())
            if r < self.kill_rate:
                self.kill(mode)
                if mode == "lost201":
                    # Nothing changes until the next daemon has diffed the
                    # tree, so that its batch is the one the killed daemon
                    # was retrying: a replay, not a new invalidation.  A
                    # rebuild still rewrites files with the same bytes
                    # meanwhile, which changes no batch.
                    self.say("while stopped: %s" % self.work.op_touch())
                    self.spawn()
                    self.daemon.wait_for(SCANNED.pattern, timeout=30)
                    continue
                if extra:  # a change while no daemon runs
                    self.say("while stopped: %s" % self.work.step())
                if self.shared and self.krng.random() < LOSE_CACHE_RATE:
                    self.say("while stopped: %s" % self.lose_cache())
                self.toggle_exclude()
                self.spawn()
            elif self.excl:
                self.check_alive()
                what = self.excl.maybe_reload(
                    self.daemon, lambda d, mark: self.await_line(
                        d, REQUEST_SENT, mark))
                if what:
                    self.say(what)
            time.sleep(pause)
        self.check_alive()
        if self.excl and self.excl.on:
            # The settle judges the whole tree: the exclude goes first.
            self.kill("quiet")
            self.toggle_exclude(lift=True)
            self.spawn()
            # The settle's `plan` takes a state in S3's cache lock while
            # no daemon holds it: a daemon starting then would find it
            # taken and exit (status 5), so the settle waits for it.
            self.daemon.wait_for(excludes.READY, timeout=30)

    def toggle_exclude(self, lift=False):
        """--excludes: between two daemons, the config may change."""
        if self.excl:
            what = self.excl.before_spawn(lift=lift)
            if what:
                self.say("while stopped: " + what)

    def settle(self):
        """Stops the faults and waits until the daemon has nothing left:
        plan empty, and neither the daemon's log nor the stand-in's moved
        for SETTLE_QUIET_S.  A full disk is freed first, and nothing
        else happens: the daemon must find the room by itself."""
        if self.disk:
            self.say(self.disk.free() or "the state's disk has room")
        self.cf.chaos(rate=0)
        self.cf.clear_faults()
        t_end = time.monotonic() + SETTLE_TIMEOUT_S
        last = None
        since = time.monotonic()
        seq = 0
        while True:
            self.check_alive()
            new = self.cf.log(since=seq)
            if new:
                seq = new[-1]["seq"]
            sig = (seq, self.daemon.mark())
            if sig != last:
                last, since = sig, time.monotonic()
            plan = self.plan()
            if not plan and time.monotonic() - since >= SETTLE_QUIET_S:
                return
            if time.monotonic() > t_end:
                raise Failure("not settled %d s after the faults stopped; "
                              "plan: %s\n%s" % (
                                  SETTLE_TIMEOUT_S, " ".join(plan[:20]),
                                  "\n".join(self.daemon.log()[-40:])))
            time.sleep(0.2)

    def stop(self):
        d = self.daemon
        t = time.time()
        status = d.stop(signal.SIGTERM, timeout=30)
        self.lives[-1].ended(t)
        if status != 0:
            self.fail("SIGTERM: cfwatch ended with status %s:\n%s" % (
                status, "\n".join(d.log()[-20:])))
        plan = self.plan()
        if plan:
            self.fail("after the daemon stopped, plan still lists %d paths: "
                      "%s" % (len(plan), " ".join(plan[:20])))

    def execute(self):
        t0 = time.monotonic()
        self.cf.reset(config=True)
        self.cf.configure(completion_delay=0)
        if self.shared:
            self.cf.create_bucket(STATE_BUCKET, region=origin.REGION)
        if len(self.dists) > 1:
            self.cf.configure(distributions=self.dists)
        try:
            try:
                if self.disk:
                    self.disk.mount()
                self.start()
                self.rounds_()
                self.settle()
                self.stop()
            except AssertionError as e:  # Failure, or Daemon's waits
                self.fail(str(e))
            finally:
                for life in self.lives:
                    life.daemon.kill()
                    life.ended(time.time())
            checker = self.check_dists()
            if self.s3 and self.work.model.hist is not None:
                S3Checker(self, checker).check()
        finally:
            self.release_disk()
            self.out.figures["elapsed_s"] = time.monotonic() - t0
            self.out.figures.update(self.kill_figures())
        return self.out

    def check_dists(self):
        """Checks each distribution; returns the first one's checker.
        The figures that count requests and invalidations add up."""
        if len(self.dists) == 1:
            checker = Checker(self)
            checker.check()
            return checker
        first = None
        sums = {}
        for d in self.dists:
            checker = Checker(self, d, primary=first is None)
            checker.check()
            first = first or checker
            for k in ("requests", "invalidations", "replays", "paths_sent"):
                sums[k] = sums.get(k, 0) + self.out.figures.get(k, 0)
        self.out.figures.update(sums)
        return first

    def release_disk(self):
        """Unmounts the disk, keeping a failed run's state beside the
        logs."""
        if not self.disk:
            return
        if self.out.failures and self.state and os.path.isdir(self.state):
            shutil.copytree(self.state, os.path.join(self.tmp, "state.kept"),
                            ignore_dangling_symlinks=True)
        self.disk.free()
        self.disk.umount()

    def kill_figures(self):
        tags = [t for _, _, tt in self.kills for t in tt]
        out = {"kills": len(self.kills),
               "kills_mid_request": tags.count("mid-request"),
               "kills_after_201": tags.count("after-201"),
               "kills_mid_manifest": tags.count("mid-snapshot-write")}
        if self.disk:
            out.update(self.disk.figures())
        if self.shared:
            out["caches_lost"] = self.caches_lost
            out["state_restarts"] = sum(
                line.count("another writer moved the state")
                for life in self.lives for line in life.daemon.log())
        if self.pass_files is not None:
            out["passes_followed"] = sum(
                line.count("another pass follows")
                for life in self.lives for line in life.daemon.log())
        if self.s3:
            for tag in ("mid-upload", "mid-multipart", "uploaded",
                        "before-delete", "mid-delete"):
                out["kills_" + tag.replace("-", "_")] = tags.count(tag)
        return out

    def sanitizer_reports(self):
        for life in self.lives:
            d = life.daemon
            for line in d.log():
                if SANITIZER.search(line):
                    self.fail("sanitizer report in pid %d: %s" % (d.pid, line))
                    break

    def cleanup(self, keep):
        if keep or self.out.failures:
            self.out.workdir = self.tmp
            self.dump()
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def dump(self):
        """What a failure needs to be understood, beside the daemon logs."""
        with open(os.path.join(self.tmp, "standin.json"), "w") as f:
            json.dump({"log": self.cf.log(),
                       "invalidations": self.cf.invalidations(),
                       "objects": self.cf.objects(origin.BUCKET)
                       if self.s3 else [],
                       "uploads": self.cf.uploads(origin.BUCKET)
                       if self.s3 else []}, f, indent=1)
        with open(os.path.join(self.tmp, "result.txt"), "w") as f:
            f.write(self.out.message() + "\n")
            f.write("\n".join("note: " + n for n in self.out.notes) + "\n")
        for life in self.lives:
            # Each stderr line with the window it was written in.
            with open(life.daemon.err_path + ".times", "w") as f:
                for ln in life.daemon.lines("err"):
                    f.write("%.6f %.6f %s\n" % (ln.lo, ln.hi, ln.text))
        with open(os.path.join(self.tmp, "model.txt"), "w") as f:
            for life in self.lives:
                f.write("daemon pid %d: %.6f .. %.6f (%s)\n" % (
                    life.daemon.pid, life.spawn, life.death,
                    life.daemon.err_path))
            for mode, t, tags in self.kills:
                f.write("kill %s at %.6f: %s\n" % (mode, t, ", ".join(tags)))
            m = self.work.model
            for rel in sorted(m.hist):
                f.write("%s\n" % rel)
                for t0, t1, state in m.hist[rel]:
                    f.write("  %.6f %.6f %s\n" % (
                        t0, t1, "absent" if state is None
                        else state.split(b"\n")[0].decode()))



def run_seed(seed, rounds, binary, cf, verbose=False, keep=False, **kw):
    """Runs one seed against the stand-in cf; returns an Outcome."""
    run = Run(seed, rounds, binary, cf, verbose=verbose, **kw)
    out = run.execute()
    run.cleanup(keep)
    return out
