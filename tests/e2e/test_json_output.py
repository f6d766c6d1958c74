# SPDX-License-Identifier: MIT
"""JSON output (`status --json`, `--log-format json`) stays valid JSON
whatever bytes the root path and the file names hold, and maps them the
way README's "JSON output" paragraph says, reversibly."""
import json
import os
import re
import unittest

from tests.e2e.cfw import TempTest, write


def name_bytes(s):  # s: a string from json.loads
    return re.sub(rb"\\(\\|x([0-9a-f]{2}))",
                  lambda m: bytes.fromhex(m[2].decode()) if m[2] else b"\\",
                  s.encode())


def strict_json(text):
    """text (decoded with surrogateescape) parsed as JSON, after checking
    that its bytes are valid UTF-8, as RFC 8259 requires."""
    raw = text.encode("utf-8", "surrogateescape")
    return json.loads(raw.decode("utf-8"))


# A root whose path is not UTF-8 and holds a backslash and the text "\x41".
ROOT = b"caf\xc3\xa9-\xff\xfe-back\\slash-\\x41"
NAMES = [b"bad\xff.html", b"half\xc3.html", b"lit\\xff.html",
         b"new\nline.html", "caf\u00e9.html".encode()]


class JsonOutput(TempTest):
    def setUp(self):
        super().setUp()
        self.broot = os.path.join(os.fsencode(self.tmp), ROOT)
        self.root = os.fsdecode(self.broot)  # surrogateescape: same bytes
        os.makedirs(self.broot)
        for name in NAMES:
            write(self.broot, name, b"x")

    def test_readme_decoder_inverts_the_documented_mapping(self):
        self.assertEqual(name_bytes("bad\\xff.html"), b"bad\xff.html")
        self.assertEqual(name_bytes("a\\\\b"), b"a\\b")
        self.assertEqual(name_bytes("a\\\\xff"), b"a\\xff")
        self.assertEqual(name_bytes("caf\u00e9"), "caf\u00e9".encode())

    def test_status_json_parses_for_a_root_and_names_not_utf8(self):
        self.check(self.cfw("once", "--dry-run", "--state-dir", self.state,
                            self.root))
        write(self.broot, b"more\xfe.html", b"y")
        res = self.check(self.cfw("status", "--json", "--state-dir",
                                  self.state, self.root))
        doc = strict_json(res.out)
        self.assertEqual(name_bytes(doc["root"]), self.broot, repr(res))
        self.assertEqual(name_bytes(doc["state_dir"]),
                         os.fsencode(self.state))
        self.assertIn("\\xff\\xfe-back\\\\slash-\\\\x41", doc["root"])
        self.assertTrue(doc["has_manifest"], doc)
        self.assertEqual(doc["manifest_files"], len(NAMES))
        self.assertEqual(doc["pending_files"], 1, doc)
        self.assertEqual(doc["invalidations"], [])

    def test_json_log_lines_parse_and_name_the_exact_bytes(self):
        for name in (b"out\xff.html", b"lit\\xfe.html", b"ctl\x01.html"):
            os.symlink(b"/etc/passwd", os.path.join(self.broot, name))
        res = self.cfw("plan", "--all", "--log-format", "json",
                       "--state-dir", self.state, self.root)
        self.assertEqual(res.status, 0, repr(res))
        lines = res.err.splitlines()
        self.assertGreater(len(lines), 3, repr(res))
        msgs = [name_bytes(strict_json(ln)["msg"]) for ln in lines]
        warned = [m for m in msgs if b"outside the root" in m]
        self.assertEqual(len(warned), 3, repr(res))
        for name in (b"out\xff.html", b"lit\\xfe.html", b"ctl\x01.html"):
            self.assertTrue(any(m.startswith(self.broot + b"/" + name + b":")
                                for m in warned), (name, warned))

    def test_text_log_keeps_bytes_and_escapes_control_bytes(self):
        os.symlink(b"/etc/passwd", os.path.join(self.broot, b"ctl\x01\xff"))
        res = self.cfw("plan", "--all", "--state-dir", self.state, self.root)
        self.assertEqual(res.status, 0, repr(res))
        raw = res.err.encode("utf-8", "surrogateescape")
        self.assertIn(b"cfwatch: warn: " + self.broot + b"/ctl\\x01\xff: ",
                      raw)


if __name__ == "__main__":
    unittest.main()
