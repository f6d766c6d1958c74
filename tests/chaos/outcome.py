# SPDX-License-Identifier: MIT
"""What one chaos seed gave, and the table of several."""
import os
import shlex

from tests.e2e import cfw


class Failure(AssertionError):
    pass


class Outcome:
    """What one seed gave: failures, notes and figures."""

    def __init__(self, seed, rounds, binary, options=()):
        self.seed = seed
        self.rounds = rounds
        self.binary = binary
        self.options = list(options)  # non-default options, for the replay
        self.failures = []
        self.notes = []
        self.figures = {}
        self.workdir = None

    def replay(self):
        """The command that runs this seed again (from the source root,
        which it names)."""
        return " ".join(["cd", shlex.quote(cfw.SOURCE_DIR), "&&", "python3",
                         "-m", "tests.chaos", "--seed", str(self.seed),
                         "--rounds", str(self.rounds), "--binary",
                         shlex.quote(os.path.abspath(self.binary))] +
                        self.options + ["-v"])

    def message(self):
        lines = ["chaos seed %d: %d failure(s)" % (self.seed,
                                                   len(self.failures))]
        lines += ["  " + f for f in self.failures[:40]]
        if len(self.failures) > 40:
            lines.append("  ... %d more" % (len(self.failures) - 40))
        lines.append("figures: " + self.summary())
        if self.workdir:
            lines.append("logs kept in " + self.workdir)
        lines.append("replay: " + self.replay())
        return "\n".join(lines)

    def summary(self):
        f = self.figures
        return ("seed %d: %d rounds, %d kills (%d mid-request, %d after a "
                "201, %d mid-snapshot-write), %d faults, %d changes "
                "(%d same-bytes writes), %d invalidations, %d replays, "
                "paths sent %d / needed %d (%d wildcards evicting %d "
                "unchanged files), %d exempt (%d stale risk)%s, %.0f s" % (
                    self.seed, self.rounds, f.get("kills", 0),
                    f.get("kills_mid_request", 0),
                    f.get("kills_after_201", 0),
                    f.get("kills_mid_manifest", 0), f.get("faults", 0),
                    f.get("changes", 0), f.get("noops", 0),
                    f.get("invalidations", 0), f.get("replays", 0),
                    f.get("paths_sent", 0), f.get("paths_needed", 0),
                    f.get("wildcards", 0), f.get("evicted", 0),
                    f.get("exempt", 0), f.get("stale_risk", 0),
                    self.origin_summary() + self.state_summary() +
                    self.disk_summary() + self.excludes_summary(),
                    f.get("elapsed_s", 0)))

    def state_summary(self):
        """The state in S3's figures (--s3-state only)."""
        f = self.figures
        if "state_restarts" not in f:
            return ""
        return ("; state in S3: %d passes restarted by a conflict, %d "
                "caches lost" % (f["state_restarts"], f["caches_lost"]))

    def excludes_summary(self):
        """The config's changes (--excludes, --remap)."""
        f = self.figures
        if "remap_flips" in f:
            return ("; pretty_urls flipped %d times, %d reloads, %d flushes "
                    "of /*, new mapping recorded %d times" % (
                        f["remap_flips"], f["reloads"], f["remap_flushes"],
                        f["remap_recorded"]))
        if "exclude_toggles" not in f:
            return ""
        return "; exclude added or lifted %d times, %d reloads" % (
            f["exclude_toggles"], f["reloads"])

    def disk_summary(self):
        """The full disk's figures (--full-disk only)."""
        f = self.figures
        if "disk_fills" not in f:
            return ""
        return "; the state's disk filled %d times, full %.1f s in all" % (
            f["disk_fills"], f["disk_full_s"])

    def origin_summary(self):
        """The S3 origin's figures (origin mode only)."""
        f = self.figures
        if "s3_requests" not in f:
            return ""
        return ("; S3 origin: kills %d mid-upload, %d mid-multipart, %d "
                "uploaded, %d before a delete, %d mid-delete; %d S3 "
                "requests, %d faulted; %d objects written (%d multipart), "
                "%d deleted, %d uploads left behind; %d (file, "
                "invalidation) orders checked, %d skipped, %d wide "
                "windows" % (
                    f.get("kills_mid_upload", 0),
                    f.get("kills_mid_multipart", 0),
                    f.get("kills_uploaded", 0),
                    f.get("kills_before_delete", 0),
                    f.get("kills_mid_delete", 0), f["s3_requests"],
                    f.get("s3_faults", 0), f.get("s3_writes", 0),
                    f.get("s3_multipart", 0), f.get("s3_deleted", 0),
                    f.get("s3_leftover_uploads", 0),
                    f.get("s3_pairs_checked", 0),
                    f.get("s3_pairs_skipped", 0),
                    f.get("s3_wide_windows", 0))) + (
                        "; %d cache tag items" % f["tag_items"]
                        if f.get("tag_items") else "")


def print_table(outs):
    cols = [("seed", None), ("kills", "kills"),
            ("mid-req", "kills_mid_request"), ("after-201", "kills_after_201"),
            ("mid-mfst", "kills_mid_manifest"), ("faults", "faults"),
            ("changes", "changes"), ("noops", "noops"),
            ("invs", "invalidations"), ("replays", "replays"),
            ("sent", "paths_sent"), ("needed", "paths_needed"),
            ("exempt", "exempt"), ("risk", "stale_risk"),
            ("secs", "elapsed_s"), ("result", None)]
    print(" ".join("%9s" % c for c, _ in cols))
    for o in outs:
        row = []
        for c, k in cols:
            if c == "seed":
                row.append("%9d" % o.seed)
            elif c == "result":
                row.append("%9s" % ("FAIL" if o.failures else "pass"))
            else:
                row.append("%9.0f" % o.figures.get(k, 0))
        print(" ".join(row))
    tot = {k: sum(o.figures.get(k, 0) for o in outs) for _, k in cols if k}
    print(" ".join(["%9s" % "total"] +
                   ["%9.0f" % tot[k] for _, k in cols[1:-1]] + ["%9s" % ""]))
