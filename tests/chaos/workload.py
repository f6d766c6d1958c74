# SPDX-License-Identifier: MIT
"""The chaos test's workload: seeded random changes to a real tree."""
import os
import random
import shutil
import time

from tests.chaos.model import Model


class Workload:
    """Seeded random changes to a real tree, recorded in a Model.  Every
    random draw comes from rng and none depends on timing, so a seed
    always gives the same operations."""

    DIRS = ["", "blog", "blog/2024", "blog/2025", "docs", "docs/api",
            "docs/api/v2", "assets", "assets/css"]
    NEW_DIRS = ["news", "news/old", "docs/guide", "shop", "shop/items",
                "blog/drafts"]
    OPS = [("edit", 28), ("noop", 14), ("create", 12), ("delete", 9),
           ("rename", 9), ("dirreplace", 10), ("dirrename", 4),
           ("rootreplace", 3), ("burst", 11)]
    # With big (an S3 origin): files the daemon uploads in parts
    # (origin.MULTIPART_BYTES), written now and then.
    BIG = ["assets/intro.mp4", "docs/manual.pdf", "shop/catalogue.pdf"]
    BIG_OP = ("big", 8)
    BIG_MIN = (5 << 20) + 1
    BIG_MAX = 8 << 20

    def __init__(self, seed, root, scratch, big=False):
        self.rng = random.Random(seed)
        self.big = big
        self.ops = self.OPS + ([self.BIG_OP] if big else [])
        self.seed = seed
        self.model = Model(root)
        self.root = root
        self.scratch = scratch  # same file system, outside the root
        self.serial = 0
        os.makedirs(scratch, exist_ok=True)

    def content(self, rel):
        self.serial += 1
        return ("<p>%s seed %d v%d</p>\n%s" % (
            rel, self.seed, self.serial,
            "x" * self.rng.randrange(0, 300))).encode()

    def big_content(self, rel):
        """A file of 5 to 8 MiB: a first line that makes it unique, then
        filler."""
        self.serial += 1
        head = ("%s seed %d v%d\n" % (rel, self.seed, self.serial)).encode()
        return head + b"." * (self.rng.randrange(self.BIG_MIN, self.BIG_MAX)
                              - len(head))

    def path(self, rel):
        return os.path.join(self.root, rel)

    def pick(self):
        files = sorted(self.model.cur)
        return self.rng.choice(files) if files else None

    def new_name(self):
        d = self.rng.choice(self.DIRS + self.NEW_DIRS)
        if self.rng.random() < 0.2:
            name = "index.html"
        else:
            name = "p%d.%s" % (self.rng.randrange(40),
                               self.rng.choice(["html", "html", "css"]))
        return os.path.join(d, name) if d else name

    # ---- primitive operations, each recorded with its time
    def write(self, rel, data, atomic):
        """A real write: atomic (temp file outside the root, renamed in) or
        in place (truncate, then write)."""
        path = self.path(rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if atomic:
            tmp = os.path.join(self.scratch, "tmp")
            with open(tmp, "wb") as f:
                f.write(data)
            t0 = time.time()
            os.rename(tmp, path)
        else:
            t0 = time.time()
            with open(path, "wb") as f:
                f.write(data)
        self.model.record(rel, data, t0, time.time())

    def rewrite_same(self, rel, atomic):
        """Writes the bytes the file already has, so that at no moment
        does it hold other bytes: renamed over, or overwritten without
        truncation.  Events and a new stat, but no change."""
        path = self.path(rel)
        data = self.model.cur[rel]
        t0 = time.time()
        if atomic:
            tmp = os.path.join(self.scratch, "tmp")
            with open(tmp, "wb") as f:
                f.write(data)
            os.rename(tmp, path)
        else:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
        self.model.rewrote(rel, t0, time.time())

    def unlink(self, rel):
        t0 = time.time()
        os.unlink(self.path(rel))
        self.model.record(rel, None, t0, time.time())

    def rename(self, src, dst):
        os.makedirs(os.path.dirname(self.path(dst)), exist_ok=True)
        data = self.model.cur[src]
        t0 = time.time()
        os.rename(self.path(src), self.path(dst))
        t1 = time.time()
        self.model.record(src, None, t0, t1)
        self.model.record(dst, data, t0, t1)

    def remove_tree(self, d):
        """rm -rf, one unlink at a time, each recorded with its time."""
        top = self.path(d)
        for dirpath, dirnames, filenames in os.walk(top, topdown=False):
            for name in filenames:
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, self.root)
                t0 = time.time()
                os.unlink(full)
                self.model.record(rel, None, t0, time.time())
            for name in dirnames:
                os.rmdir(os.path.join(dirpath, name))
        os.rmdir(top)

    def move_tree(self, src_abs, dst_abs, rels_from, rels_to):
        """One rename of a whole directory: rels_from vanish, rels_to
        (rel -> bytes) appear, at the same moment."""
        t0 = time.time()
        os.rename(src_abs, dst_abs)
        t1 = time.time()
        for rel in rels_from:
            self.model.record(rel, None, t0, t1)
        for rel, data in sorted(rels_to.items()):
            self.model.record(rel, data, t0, t1)

    # ---- the tree at the start
    def initial(self):
        for d in self.DIRS:
            names = ["index.html"] + ["p%d.html" % i for i in
                                      range(self.rng.randrange(1, 5))]
            if d.startswith("assets"):
                names.append("site.css")
            for name in names:
                rel = os.path.join(d, name) if d else name
                self.write(rel, self.content(rel), atomic=False)
        for rel in self.BIG[:2] if self.big else []:
            self.write(rel, self.big_content(rel), atomic=False)

    # ---- the random steps
    def step(self):
        """One random operation; returns a short description."""
        op = self.rng.choices([o for o, _ in self.ops],
                              [w for _, w in self.ops])[0]
        return getattr(self, "op_" + op)()

    def op_edit(self):
        rel = self.pick()
        if rel is None:
            return self.op_create()
        atomic = self.rng.random() < 0.5
        self.write(rel, self.content(rel), atomic)
        return "edit %s%s" % (rel, " (atomic)" if atomic else "")

    def op_big(self):
        """A big file written anew (or made): uploaded in parts."""
        rel = self.rng.choice(self.BIG)
        atomic = self.rng.random() < 0.5
        self.write(rel, self.big_content(rel), atomic)
        return "big %s%s" % (rel, " (atomic)" if atomic else "")

    def op_noop(self):
        rel = self.pick()
        if rel is None:
            return "noop (empty tree)"
        atomic = self.rng.random() < 0.5
        self.rewrite_same(rel, atomic)
        return "same bytes %s%s" % (rel, " (atomic)" if atomic else "")

    def op_touch(self):
        """Same bytes under a new inode: what a rebuild does to a file it
        did not change."""
        rel = self.pick()
        if rel is None:
            return "touch (empty tree)"
        self.rewrite_same(rel, atomic=True)
        return "same bytes %s (atomic)" % rel

    def op_create(self):
        rel = self.new_name()
        atomic = self.rng.random() < 0.5
        self.write(rel, self.content(rel), atomic)
        return "create %s" % rel

    def op_delete(self):
        rel = self.pick()
        if rel is None:
            return "delete (empty tree)"
        self.unlink(rel)
        return "delete %s" % rel

    def op_rename(self):
        src = self.pick()
        if src is None:
            return "rename (empty tree)"
        if self.rng.random() < 0.3:
            dst = self.pick()  # over an existing file
        else:
            dst = self.new_name()
        if dst == src or os.path.isdir(self.path(dst)):
            return "rename %s (skipped)" % src
        self.rename(src, dst)
        return "rename %s -> %s" % (src, dst)

    def rebuild(self, old):
        """What a generator would write for a tree whose files were old
        (rel -> bytes, relative to the tree): most the same, some edited,
        some gone, a few new."""
        new = {}
        for rel in sorted(old):
            r = self.rng.random()
            if r < 0.55:
                new[rel] = old[rel]
            elif r < 0.8:
                new[rel] = self.content(rel)
        for _ in range(self.rng.randrange(3)):
            rel = "p%d.html" % self.rng.randrange(40, 60)
            new[rel] = self.content(rel)
        return new

    def replace_dir(self, d):
        prefix = d + "/" if d else ""
        old = {rel[len(prefix):]: data for rel, data in self.model.cur.items()
               if rel.startswith(prefix)}
        new = self.rebuild(old)
        if self.rng.random() < 0.5:
            # rm -rf d && build: everything goes, then comes back.
            if os.path.isdir(self.path(d)):
                self.remove_tree(d)
            os.makedirs(self.path(d), exist_ok=True)
            for rel, data in sorted(new.items()):
                self.write(prefix + rel, data, atomic=False)
            return "replace %s/ in place (%d -> %d files)" % (
                d, len(old), len(new))
        # Build beside, then swap: two renames.
        stage = os.path.join(self.scratch, "stage")
        trash = os.path.join(self.scratch, "trash")
        shutil.rmtree(stage, ignore_errors=True)
        shutil.rmtree(trash, ignore_errors=True)
        os.makedirs(stage)  # even if the rebuild is empty
        for rel, data in new.items():
            path = os.path.join(stage, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
        self.move_tree(self.path(d), trash, [prefix + r for r in old], {})
        self.move_tree(stage, self.path(d), [],
                       {prefix + r: v for r, v in new.items()})
        shutil.rmtree(trash)
        return "replace %s/ by a swap (%d -> %d files)" % (
            d, len(old), len(new))

    def op_dirreplace(self):
        dirs = self.model.dirs()
        if not dirs:
            return self.op_create()
        return self.replace_dir(self.rng.choice(dirs))

    def op_rootreplace(self):
        return self.replace_dir("")

    def op_dirrename(self):
        dirs = self.model.dirs()
        if not dirs:
            return self.op_create()
        src = self.rng.choice(dirs)
        dst = self.rng.choice(self.NEW_DIRS) + "%d" % self.rng.randrange(5)
        if os.path.exists(self.path(dst)) or dst.startswith(src + "/"):
            return "rename %s/ (skipped)" % src
        os.makedirs(os.path.dirname(self.path(dst)), exist_ok=True)
        moved = {rel: data for rel, data in self.model.cur.items()
                 if rel.startswith(src + "/")}
        self.move_tree(self.path(src), self.path(dst), sorted(moved),
                       {dst + rel[len(src):]: data
                        for rel, data in moved.items()})
        return "rename %s/ -> %s/" % (src, dst)

    def op_burst(self):
        n = self.rng.randrange(3, 9)
        done = []
        for _ in range(n):
            if self.rng.random() < 0.7:
                done.append(self.op_edit())
            else:
                done.append(self.op_noop())
        return "burst: " + "; ".join(done)

