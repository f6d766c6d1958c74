# SPDX-License-Identifier: MIT
"""The tree as the chaos test made it, and the URL paths of its files."""
import datetime
import os


def stand_in_time(s):
    """The stand-in's "2026-11-25T08:09:45.099Z" in seconds since the
    epoch (its clock is this machine's)."""
    return datetime.datetime.strptime(
        s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()


def urls(rel):
    """The URL paths of one file under the default mapping (the workload
    uses only names that need no encoding)."""
    if os.path.basename(rel) == "index.html":
        d = os.path.dirname(rel)
        return ["/" + d + "/" if d else "/", "/" + rel]
    return ["/" + rel]


def url_file(path):
    """The file an exact URL path names."""
    rel = path[1:]
    if rel == "" or rel.endswith("/"):
        rel += "index.html"
    return rel


class Model:
    """The tree as the test made it: the current bytes of every file and,
    from the baseline on, each file's history of states (bytes, or None
    for absent) with the interval [t0, t1] (time.time()) within which each
    state began."""

    def __init__(self, root):
        self.root = root
        self.cur = {}
        self.hist = None  # rel -> [(t0, t1, state)], after baseline()
        self.changes = 0
        self.noops = 0
        # rel -> [(t0, t1)] of writes that kept its bytes: no change, but
        # a new stat, which a daemon may rightly take for one (site_moved).
        self.rewrites = {}

    def baseline(self):
        self.hist = {rel: [(float("-inf"), float("-inf"), data)]
                     for rel, data in self.cur.items()}

    def record(self, rel, state, t0, t1):
        if self.cur.get(rel) == state:
            return
        if state is None:
            del self.cur[rel]
        else:
            self.cur[rel] = state
        if self.hist is None:
            return
        self.hist.setdefault(rel, [(float("-inf"), float("-inf"), None)])
        self.hist[rel].append((t0, t1, state))
        self.changes += 1

    def first(self, rel):
        return self.hist[rel][0][2]

    def changed(self, rel):
        return rel in self.hist and len(self.hist[rel]) > 1

    def states_in(self, rel, lo, hi):
        """The states rel may have held at some moment of [lo, hi]."""
        h = self.hist.get(rel, [(float("-inf"), float("-inf"), None)])
        out = set()
        for i, (t0, _, state) in enumerate(h):
            end = h[i + 1][1] if i + 1 < len(h) else float("inf")
            if t0 <= hi and end >= lo:
                out.add(state)
        return out

    def changes_in(self, rel, lo, hi):
        """Whether rel may have changed at some moment of [lo, hi]."""
        return any(t0 <= hi and t1 >= lo
                   for t0, t1, _ in self.hist.get(rel, [])[1:])

    def rewrote(self, rel, t0, t1):
        """rel was written with the bytes it had, within [t0, t1]."""
        self.noops += 1
        if self.hist is not None:
            self.rewrites.setdefault(rel, []).append((t0, t1))

    def rewritten_in(self, rel, lo, hi):
        """Whether rel was rewritten with the same bytes at some moment
        of [lo, hi]."""
        return any(t0 <= hi and t1 >= lo
                   for t0, t1 in self.rewrites.get(rel, []))

    def dirs(self):
        out = set()
        for rel in self.cur:
            d = os.path.dirname(rel)
            while d:
                out.add(d)
                d = os.path.dirname(d)
        return sorted(out)

