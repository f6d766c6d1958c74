# SPDX-License-Identifier: MIT
"""The benchmark's tables and verdicts: rows of (measure, cfwatch, peer,
ratio, goal, result), rendered as text or Markdown, and a Judge that
turns a figure and its goal into PASS or MISS (how much it missed by is
kept for the summary), and notes gross regressions, which make the run
exit 1 (see GROSS)."""

# A gross regression, as opposed to timing noise: a ratio this many times
# over its goal *and* cfwatch at least "abs_s" slower than the peer in
# absolute terms (tiny trees make ratios of process start-up costs).
GROSS = {
    "ratio_factor": 5.0,
    "abs_s": 0.25,
    "latency_ms": 1000.0,  # over the quiet period
    "wakeups_per_s": 5.0,  # a timer at 200 ms or faster
    "rss_factor": 4.0,  # times the RSS goal (not under a sanitizer)
}
SANITIZER_SLACK = 3.0  # ASan/UBSan builds: thresholds this much looser

PASS = "PASS"
MISS = "MISS"
HEADER = ["measure", "cfwatch", "peer", "ratio", "goal", "result"]


def fmt_s(s):
    if s is None:
        return "—"
    if s < 1:
        return "%.1f ms" % (s * 1000)
    return "%.3f s" % s


def fmt_ms(ms):
    return "—" if ms is None else "%.1f ms" % ms


def fmt_ratio(r):
    return "—" if r is None else "%.2f×" % r


def fmt_mib(m):
    return "—" if m is None else "%.1f MiB" % m


def fmt_bytes(n):
    if n is None:
        return "—"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return "%.1f %s" % (n / size, unit)
    return "%d B" % n


def fmt_count(n):
    return "—" if n is None else "{:,}".format(n)


class Row:
    def __init__(self, measure, cf="—", peer="—", ratio="—", goal="—",
                 result="info"):
        self.cells = [measure, cf, peer, ratio, goal, result]


def render(rows, markdown, header=HEADER):
    cells = [header] + [r.cells if isinstance(r, Row) else r for r in rows]
    if markdown:
        out = ["| " + " | ".join(header) + " |",
               "|" + "|".join("---" for _ in header) + "|"]
        out += ["| " + " | ".join(c) + " |" for c in cells[1:]]
        return "\n".join(out)
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    out = []
    for k, c in enumerate(cells):
        out.append("  ".join(x.ljust(w) for x, w in zip(c, widths)).rstrip())
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


class Judge:
    """Verdicts on goals.  slack loosens the gross-regression thresholds
    (a sanitizer build is slower); missed lists "name: how much" for each
    goal missed, problems the crashes and gross regressions."""

    def __init__(self, sanitized=False):
        self.sanitized = sanitized
        self.slack = SANITIZER_SLACK if sanitized else 1.0
        self.problems = []
        self.missed = []
        self.scope = ""  # the table being judged, e.g. "100k files"

    def miss(self, name, how, gross_msg=None):
        """Records a missed goal; the result cell."""
        self.missed.append("%s%s: %s" % (
            "[%s] " % self.scope if self.scope else "", name, how))
        if gross_msg:
            self.problems.append(gross_msg)
            return MISS + " (gross)"
        return MISS

    def ratio(self, name, cf, peer, goal):
        """(ratio, result) for times cf and peer against ratio goal."""
        ratio = cf / peer if peer > 0 else float("inf")
        if ratio <= goal:
            return ratio, PASS
        gross = None
        if (ratio > goal * GROSS["ratio_factor"] * self.slack and
                cf - peer > GROSS["abs_s"] * self.slack):
            gross = "%s: %.2f× (goal %.1f×): gross regression" % (
                name, ratio, goal)
        how = "%.2f× for ≤ %.2f× (%+.0f%%)" % (ratio, goal,
                                              (ratio / goal - 1) * 100)
        return ratio, self.miss(name, how, gross)

    def at_most(self, name, value, goal, unit, gross_limit=None):
        """The result of value ≤ goal; past gross_limit it is gross."""
        if value <= goal:
            return PASS
        gross = None
        if gross_limit is not None and value > gross_limit * self.slack:
            gross = "%s: %.1f %s (goal %.1f %s): gross regression" % (
                name, value, unit, goal, unit)
        sep = "" if unit == "×" else " "
        how = "%.2f%s%s for ≤ %.2f%s%s (%+.0f%%)" % (
            value, sep, unit, goal, sep, unit,
            (value / goal - 1) * 100 if goal else float("inf"))
        return self.miss(name, how, gross)

    def at_least(self, name, value, goal, unit):
        """The result of value ≥ goal (never gross)."""
        if value >= goal:
            return PASS
        return self.miss(name, "%.1f%s for ≥ %.1f%s (%.0f%% short)" % (
            value, unit, goal, unit, (1 - value / goal) * 100))

    def exact(self, name, got, want):
        """An exact count: a wrong one is a problem, not just a miss."""
        if got == want:
            return PASS
        self.problems.append("%s: %s, expected %s" % (name, got, want))
        return self.miss(name, "%s, expected %s" % (got, want))
