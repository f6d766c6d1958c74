# SPDX-License-Identifier: MIT
"""With --cache-tags: when a '#tag' item invalidates a file.

A tag item drops the cached objects that carry the tag.  The edges may
hold, of a file, any version its key had from the last invalidation that
covered all its URL paths on: the one current then (what was cached
before is gone) and each written after, and a 403/404 while the key was
absent.  So a tag item of an invalidation covers the file only if every
one of those carried the tag: the last path invalidation before it
exists, and from it on the key was never absent and every write of it
carried the tag (the stand-in logs each write's metadata).  Judged in
the stand-in log's order (seq), as the stand-in applied the requests."""
from tests.chaos import origin


class TagCheck:
    def __init__(self, log, invs, rels, path_covers):
        self.path_covers = path_covers  # (paths, rel) -> bool
        self.items = {origin.tag_item(rel): rel for rel in rels}
        self.made = {}  # invalidation id -> seq of the request creating it
        for e in log:
            if e.get("operation") == "create" and e.get("created"):
                self.made.setdefault(e["invalidation"], e["seq"])
        self.paths = {i["id"]: i["paths"] for i in invs}
        self.events = {}  # key -> [(seq, carries the tag)], absent: False
        for e in log:
            if e.get("service") != "s3":
                continue
            if e.get("action") in origin.WRITES and e.get("written"):
                meta = e.get("metadata") or {}
                carries = (meta.get(origin.TAG_HEADER)
                           == origin.tag_item(origin.rel_of(e["key"]) or "")[1:])
                self.events.setdefault(e["key"], []).append((e["seq"], carries))
            elif e.get("action") in origin.DELETES:
                for k in e.get("deleted") or []:
                    self.events.setdefault(k, []).append((e["seq"], False))

    def covers(self, inv, rel):
        if origin.tag_item(rel) not in inv["paths"]:
            return False
        seq = self.made.get(inv["id"])
        if seq is None:
            return False
        before = [s for i, s in self.made.items()
                  if s < seq and self.path_covers(self.paths.get(i, []), rel)]
        if not before:
            return False
        p = max(before)
        events = self.events.get(origin.key(rel), [])
        held = [c for s, c in events if s < p]
        during = [c for s, c in events if p < s < seq]
        return bool(held) and held[-1] and all(during)

    def file_of(self, item):
        """The file whose tag item is item, or None."""
        return self.items.get(item)
