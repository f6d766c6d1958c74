# SPDX-License-Identifier: MIT
"""--excludes: the config changes between daemons, and reloads mid-pass.

The daemons read a config file (-c) beside their options, holding only
`exclude = docs/` or nothing.  A restart after a kill flips it now and
then, so an exclude is added or lifted while changes are pending (and
while batches an earlier daemon recorded are open); and now and then a
running daemon gets SIGHUP with the config as it is, at once or just
after a request went out, so that a reload stops and restarts the site
mid-pass under the stand-in's faults.  The exclude is lifted before the
settle, so (a) to (d) judge the whole tree as usual.  Beside them:

  (h) excluded means untouched (README, "Excludes"): a daemon that runs
      with the exclude never names a file under docs/ in a batch of its
      own (an exact path or a tag item; a wildcard may cover anything),
      neither as a change nor as a deletion, though an exclude added
      later covers files the state knows.  A batch an earlier daemon
      recorded is sent as recorded, whatever the config says now.

The toggles and reloads are drawn from a generator of their own, so the
workload and the kill plan of a seed stay what they are in other modes.
"""
import os
import random
import signal

DIR = "docs"
GLOB = DIR + "/"
TOGGLE_RATE = 0.4  # a restart flips the exclude
RELOAD_RATE = 0.25  # a round without a kill sends SIGHUP
RELOADED = "configuration reloaded"
READY = r": watching \d+ directories"
# How a daemon logs a batch it records (site_jobs.c, at -v -v).
RECORDED = ": batch recorded: "


class Excludes:
    def __init__(self, seed, tmp):
        self.rng = random.Random(seed * 104729 + 3)
        self.path = os.path.join(tmp, "excludes.ini")
        self.on = False
        self.toggles = 0
        self.reloads = 0
        self.write(False)

    def args(self):
        return ["-c", self.path]

    def write(self, on):
        with open(self.path, "w") as f:
            f.write("[cfwatch]\n" + ("exclude = %s\n" % GLOB if on else ""))
        self.on = on

    def before_spawn(self, lift=False):
        """Called while no daemon runs: flips the exclude now and then
        (lift: takes it off).  Returns what it did, or None."""
        if lift:
            if not self.on:
                return None
        elif self.rng.random() >= TOGGLE_RATE:
            return None
        self.write(not self.on)
        self.toggles += 1
        return "exclude %s %s" % (GLOB, "added" if self.on else "lifted")

    def maybe_reload(self, daemon, await_request):
        """Now and then SIGHUPs daemon, at once or once await_request()
        says a request went out; waits for the reload to finish."""
        if self.rng.random() >= RELOAD_RATE:
            return None
        # As systemd reloads only after READY: a SIGHUP before the
        # daemon set its handlers would end it, as it ends any process.
        daemon.wait_for(READY, timeout=30)
        mark = daemon.mark()
        if self.rng.random() < 0.5:
            await_request(daemon, mark)
        daemon.send(signal.SIGHUP)
        daemon.wait_for(RELOADED, start=mark, timeout=30)
        self.reloads += 1
        return "SIGHUP (exclude %s)" % ("on" if self.on else "off")

    # ---- (h)
    @staticmethod
    def recorded_by(life, ref):
        """Whether life recorded the batch whose CallerReference is ref
        (a reference a conflict suffixed, "REF-1", counts as REF): a
        daemon logs each batch it records (site_jobs.c), and sends
        those of earlier daemons as they were recorded."""
        want = "CallerReference " + "-".join(ref.split("-")[:2])
        return any(ln.endswith(want) for ln in life.daemon.log()
                   if RECORDED in ln)

    def check(self, checker, run):
        """Fails any path a daemon running with the exclude made of a
        file under docs/ (see the docstring)."""
        bad = 0
        base = run.base_seq
        for e in checker.creates:
            if not e.get("created") or e["seq"] <= base:
                continue
            life = checker.life_of(e)
            if life is None or not life.excluded:
                continue
            inv = next((i for i in checker.invs
                        if i["id"] == e["invalidation"]), None)
            if inv is None or not self.recorded_by(life,
                                                   inv["caller_reference"]):
                continue
            for p in inv["paths"]:
                if p.endswith("*"):
                    continue
                under = [rel for rel in checker.files_of(p)
                         if rel.split("/")[:-1].count(DIR)]
                if under:
                    bad += 1
                    checker.fail(
                        "invalidation %s (%s) sent %s for %s, which the "
                        "daemon's exclude %s covered" % (
                            inv["id"], inv["create_time"], p,
                            " ".join(under), GLOB))
        run.out.figures["exclude_toggles"] = self.toggles
        run.out.figures["reloads"] = self.reloads
        return bad
