# SPDX-License-Identifier: MIT
"""The trees the benchmark measures: a static-site-like build output of
N small files (1-8 KB, half HTML, some binary) in ~N/100 directories a
few levels deep, every file unique; and the ways a build rewrites it
(same bytes, new bytes, same bytes but for a few files)."""

import argparse
import os
import random
import re

# Files whose mtime or ctime lies within this of a scan are "racy" and
# always hashed (include/tree.h: TREE_RACY_WINDOW_NS is 2 s); the tree must
# be older than this before a manifest is recorded.
RACY_WAIT_S = 2.5

FILES_PER_DIR = 100  # ~1,000 directories for 100k files
SECTIONS = ["blog", "docs", "tags", "categories", "news", "products",
            "assets/img", "assets/css", "assets/js", "api"]
# weight, extension, smallest and largest size, binary content
KINDS = [
    (50, ".html", 2048, 8192, False),
    (8, ".css", 1024, 6144, False),
    (10, ".js", 1024, 8192, False),
    (8, ".png", 1024, 8192, True),
    (6, ".jpg", 1024, 8192, True),
    (4, ".webp", 1024, 8192, True),
    (4, ".svg", 1024, 4096, False),
    (6, ".json", 1024, 4096, False),
    (2, ".xml", 1024, 8192, False),
    (2, ".txt", 1024, 2048, False),
]
WORDS = ("the of and to in is for on with as by at from that this be are "
         "static site cache edge content build page post tag index html "
         "style script image layout header footer nav article section "
         "lorem ipsum dolor sit amet consectetur adipiscing elit").split()


class Tree:
    """A built tree: root, its sorted relative file paths, its
    directory count (the root included) and its size in bytes."""

    def __init__(self, root, paths, n_dirs, n_bytes):
        self.root = root
        self.paths = paths
        self.n_dirs = n_dirs
        self.n_bytes = n_bytes

    def path(self, rel):
        return os.path.join(self.root, rel)


def parse_count(text):
    """'100000', '100k' or '1M' as an int."""
    m = re.fullmatch(r"(\d+)([kKmM]?)", text.strip())
    if not m:
        raise argparse.ArgumentTypeError("not a file count: " + text)
    mult = {"": 1, "k": 1000, "m": 1000000}[m.group(2).lower()]
    n = int(m.group(1)) * mult
    if n < 100:
        raise argparse.ArgumentTypeError("at least 100 files: " + text)
    return n


def parse_counts(text):
    return [parse_count(t) for t in text.split(",")]


def make_dirs(rng, n_dirs):
    """n_dirs relative directory paths ("" is the root), a few levels
    deep like a generator's output: section/slug and section/slug/page-N."""
    dirs = [""]
    i = 0
    while len(dirs) < n_dirs:
        sec = SECTIONS[i % len(SECTIONS)]
        if i % 7 == 3 and len(dirs) > len(SECTIONS):
            parent = dirs[rng.randrange(1, len(dirs))]
            dirs.append("%s/page-%d" % (parent, i))
        else:
            dirs.append("%s/%s-%04d" % (sec, rng.choice(WORDS), i))
        i += 1
    return dirs


def text_block(rng, size):
    out = []
    total = 0
    while total < size:
        w = rng.choice(WORDS)
        out.append(w)
        total += len(w) + 1
    return (" ".join(out)).encode()[:size]


def build_tree(root, n_files, seed):
    """Writes n_files small files (1-8 KB, mostly HTML, some binary) into
    ~n_files/FILES_PER_DIR directories under root; a Tree."""
    rng = random.Random(seed)
    n_dirs = max(1, round(n_files / FILES_PER_DIR))
    dirs = make_dirs(rng, n_dirs)
    for d in dirs:
        os.makedirs(os.path.join(root, d), exist_ok=True)
    text = text_block(rng, 256 * 1024)
    blob = rng.randbytes(256 * 1024)
    weights = [k[0] for k in KINDS]
    paths = []
    total = 0
    for j in range(n_files):
        d = dirs[j % n_dirs]
        if j < n_dirs:
            kind = KINDS[0]
            name = "index.html"
        else:
            kind = rng.choices(KINDS, weights)[0]
            name = "%s-%d%s" % (rng.choice(WORDS), j, kind[1])
        rel = d + "/" + name if d else name
        size = rng.randint(kind[2], kind[3])
        head = ("<!-- %s -->\n" % rel).encode()
        src = blob if kind[4] else text
        off = rng.randrange(0, len(src) - size)
        data = head + src[off:off + size - len(head)]
        with open(os.path.join(root, rel), "wb") as f:
            f.write(data)
        total += len(data)
        paths.append(rel)
    paths.sort()
    every = {d[:i] for d in dirs for i in range(len(d) + 1)
             if i == len(d) or d[i] == "/"}
    return Tree(root, paths, len(every), total)


def rewrite_same(tree, rels):
    """Rewrites each file of rels in place with its own bytes, as a
    generator does on every build."""
    for rel in rels:
        p = tree.path(rel)
        with open(p, "rb") as f:
            data = f.read()
        with open(p, "wb") as f:
            f.write(data)


def rewrite_new(tree, rels, tag):
    """Rewrites each file of rels in place with new bytes (a marker line
    naming tag appended to its content).  Returns the bytes written."""
    mark = ("\n<!-- rebuild %s -->\n" % tag).encode()
    total = 0
    for rel in rels:
        p = tree.path(rel)
        with open(p, "rb") as f:
            data = f.read()
        data = data.split(b"\n<!-- rebuild ", 1)[0] + mark
        with open(p, "wb") as f:
            f.write(data)
        total += len(data)
    return total


def rebuild(tree, changed, tag):
    """A site rebuild: every file rewritten in place, with the same bytes
    except the files of changed (new bytes)."""
    chosen = set(changed)
    rewrite_same(tree, (r for r in tree.paths if r not in chosen))
    rewrite_new(tree, sorted(chosen), tag)


def spread(paths, k):
    """k paths spread evenly over paths."""
    step = max(1, len(paths) // k)
    return paths[::step][:k]
