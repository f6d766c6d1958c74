# SPDX-License-Identifier: MIT
"""The AWS shared files as cfwatch reads them (src/awsconfig.c, through
tests/unit/awsconfig_dump) against botocore reading the same bytes: the
profiles and their values must be the same, or both must refuse the file
(at the same line, where Python names one).

botocore's view of a file is what its session uses:
botocore.configloader.raw_config_parse() for the credentials file, whose
sections are profile names, and load_config()['profiles'] for the config
file ("[profile x]" and "[default]").

Usage, from the source root:

    python3 -m tests.unit.awsconfig_botocore PATH/TO/awsconfig_dump [unittest args]
"""
import configparser
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import unittest

import botocore.configloader
import botocore.exceptions

DUMP = None  # set from argv

LONG = "A" * 300  # past inih's 200-byte line buffer
HUGE = "".join(chr(0x41 + i % 26) for i in range(12000))  # past 8 KiB
LONG_NAME = "profile-name-" + "n" * 80

# str.isspace() but for the line ends "\n" and "\r".
PY_BLANKS = "".join(chr(c) for c in range(0x110000)
                    if chr(c).isspace() and chr(c) not in "\n\r")

# (name, kind, file bytes).  Each is read by both and compared.
CASES = [
    ("comments at line start", "credentials",
     b"# a comment\n; another\n[default]\n  # indented comment\n"
     b"aws_access_key_id = AKIA1\n\t; tab-indented comment\n"
     b"aws_secret_access_key = s\n"),
    ("';' and '#' after a value are part of it", "credentials",
     b"[default]\naws_access_key_id = AKIA1 ; not a comment\n"
     b"aws_secret_access_key = s#x # y ;z\n"),
    ("config: [profile x], [x] and [default]", "config",
     b"[x]\nregion = wrong\n[profile x]\nregion = right\n"
     b"[default]\nregion = d\n[sso-session corp]\nsso_start_url = u\n"),
    ("credentials: [profile x] is a profile named 'profile x'",
     "credentials",
     b"[profile x]\naws_access_key_id = A\n[x]\naws_access_key_id = B\n"),
    ("config: [default] then [profile default], the last wins", "config",
     b"[default]\nregion = a\noutput = json\n"
     b"[profile default]\nregion = b\n"),
    ("config: [profile default] then [default], the last wins", "config",
     b"[profile default]\nregion = b\n[default]\nregion = a\n"),
    ("config: profile names split as a shell does", "config",
     b"[profile \"my dev\"]\nk = 1\n[profile 'a b']\nk = 2\n"
     b"[profile a b]\nk = 3\n[profile]\nk = 4\n[profilex y]\nk = 5\n"
     b"[profile \"unclosed]\nk = 6\n[profile a\\ c]\nk = 7\n"
     b"[ profile z]\nk = 8\n[profile\tt]\nk = 9\n[profile  w ]\nk = 10\n"
     b"[profile \"q\\\"r\"]\nk = 11\n[profile \"\"]\nk = 12\n"),
    ("config: two spellings of one profile, the last wins", "config",
     b"[profile x]\nregion = a\nk = 1\n[profile  x]\nregion = b\n"),
    ("indented sub-section (s3 =)", "config",
     b"[default]\ns3 =\n  max_concurrent_requests = 10\n"
     b"  addressing_style = path\nregion = eu-west-1\n"),
    ("sub-section with blank and comment lines, '=' in values", "config",
     b"[default]\ns3 =\n\n  a = 1\n  # comment\n\n  b = x=y\n  a = 2\n"
     b"  c =\n  =d\nregion = r\n"),
    ("sub-section split at \\v, \\f, \\x1c, U+0085 and U+2028 too", "config",
     "[default]\ns3 =\n  a = 1\x0bb = 2\x0cc = 3\u2028d = 4\x1ce = 5"
     "\x85f = 6\x1fg = 7\n".encode()),
    ("every blank of Python around values and as indent", "credentials",
     ("[default]\nk = " + PY_BLANKS + "v" + PY_BLANKS + "\n" +
      "".join(c + "c%d\n" % i for i, c in enumerate(PY_BLANKS)) +
      "j = \u200bv\ufeff\u180e\n").encode()),
    ("sub-section line without '=' is an error", "credentials",
     b"[default]\ncredential_process =\n    /usr/bin/tool --json\n"),
    ("a bad sub-section in [DEFAULT] is read only if a section lacks it",
     "credentials", b"[DEFAULT]\ns3 =\n  junk\n[a]\ns3 = 1\n[b]\ns3 = 2\n"),
    ("a bad sub-section in [DEFAULT] that a section inherits", "credentials",
     b"[DEFAULT]\ns3 =\n  junk\n[a]\ns3 = 1\n[b]\nk = v\n"),
    ("[DEFAULT] keys go to every section", "credentials",
     b"[DEFAULT]\naws_secret_access_key = shared\nregion = r\n"
     b"[a]\naws_access_key_id = A\n[b]\naws_access_key_id = B\n"
     b"region = own\n[DEFAULT]\noutput = json\n"),
    ("value over 200 bytes", "credentials",
     b"[default]\naws_session_token = " + LONG.encode() + b"\n"),
    ("value over 8 KiB and a long profile name", "config",
     b"[profile " + LONG_NAME.encode() + b"]\naws_session_token = " +
     HUGE.encode() + b"\n[default]\nk = v\n"),
    ("a line of 200 KiB", "credentials",
     b"[default]\nk = " + b"x" * 200000 + b"\nj = 1\n"),
    ("duplicate key, differing in case: an error", "credentials",
     b"[default]\nregion = a\nRegion = b\n"),
    ("duplicate section: an error", "config",
     b"[default]\nregion = a\n[profile b]\n[default]\noutput = json\n"),
    ("duplicate section after a syntax error: Python names the duplicate",
     "credentials", b"[a]\njunk line\n[a]\n"),
    ("UTF-8 byte order mark: an error", "credentials",
     b"\xef\xbb\xbf[default]\naws_access_key_id = A\n"),
    ("CRLF line ends", "credentials",
     b"[default]\r\naws_access_key_id = A\r\n  more\r\n\r\n"
     b"aws_secret_access_key = s\r\n"),
    ("lone CR line ends", "config",
     b"[default]\rregion = a\r  b\r[profile p]\rk = v"),
    ("no newline at the end", "credentials",
     b"[default]\naws_access_key_id = A"),
    ("key case, Kelvin sign, spaces inside keys", "credentials",
     "[Default]\nAWS_Access_Key_ID = A\naws_\u212aey = k\n"
     "aws secret key = s\n  Spaced  Key  =  v  \n".encode()),
    ("empty values and key: value", "credentials",
     b"[default]\naws_session_token =\nregion:\noutput : json\n"
     b"a : b = c\nd = e : f\n"),
    ("section names with spaces and brackets", "credentials",
     b"[my profile]\nk = 1\n[ spaced ]\nk = 2\n[a]b]\nk = 3\n"
     b"[c] trailing\nk = 4\n[]]\nk = 5\n"),
    ("credential_process with quotes, ';' and '#' inside", "config",
     b"[profile p]\ncredential_process = \"/opt/my tool\" --arg 'a;b' "
     b"; echo \"x # y\"\n"),
    ("tabs and Unicode blanks", "credentials",
     "[default]\n\taws_access_key_id\t=\tA\t\n"
     "aws_secret_access_key = s\u00a0\u3000\x1f\n"
     "region = r\x0b\x0c\n".encode()),
    ("continuation lines", "credentials",
     b"[default]\nk = first\n  second\n\n\tthird\n  # comment\n  fourth\n"
     b"\n\nj = 1\n"),
    ("indented keys are keys; deeper ones continue", "credentials",
     b"[default]\n  a = 1\n  b = 2\n    more of b\n  c = 3\n"),
    ("U+3000 indents a line", "credentials",
     "[default]\nk = v\n\u3000j = w\n".encode()),
    ("indented [x] after a key continues it", "config",
     b"[default]\nk = v\n  [profile x]\nj = w\n"),
    ("indented [x] after a header is a header", "config",
     b"[default]\n  [profile x]\nj = w\n"),
    ("a key before any section: an error", "credentials",
     b"\n# c\naws_access_key_id = A\n[default]\n"),
    ("a line without '=': a syntax error at the end", "credentials",
     b"[default]\naws_access_key_id = A\nno equals sign here\n"
     b"aws_secret_access_key = s\n"),
    ("an empty key name: an error", "credentials", b"[default]\n= v\n"),
    ("[] is not a section", "credentials", b"[]\nk = v\n"),
    ("not UTF-8: an error", "credentials", b"[default]\nk = \xff\n"),
    ("a surrogate in UTF-8: an error", "config",
     b"[default]\nk = \xed\xa0\x80\n"),
    ("a NUL byte is a character", "credentials",
     b"[default]\nk = a\x00b\n[x\x00y]\nj = 1\n"),
    ("many sections and keys", "config",
     "".join("[profile p%d]\n" % i + "".join("k%d = v%d\n" % (j, i * j)
                                             for j in range(30))
             for i in range(40)).encode()),
    ("empty file", "config", b""),
    ("only comments and blanks", "credentials", b"\n# x\n\n  ; y\n"),
    ("form feed and vertical tab are blanks", "config",
     b"[default]\x0c\n\x0bregion = r\n"),
    ("sso-session and services sections are no profiles", "config",
     b"[sso-session s]\nk = 1\n[services x]\nk = 2\n[preview]\nk = 3\n"),
]


def botocore_view(path, kind):
    """What botocore reads: ("ok", profiles) or ("error", line or None)."""
    try:
        if kind == "config":
            return "ok", botocore.configloader.load_config(path)["profiles"]
        return "ok", botocore.configloader.raw_config_parse(path)
    except botocore.exceptions.ConfigParseError as e:
        cause = e.__context__
        if isinstance(cause, configparser.MissingSectionHeaderError):
            return "error", cause.lineno
        if isinstance(cause, configparser.ParsingError):
            return "error", cause.errors[0][0]
        return "error", getattr(cause, "lineno", None)


def run_dump(kind, paths):
    """What cfwatch reads, per path: ("ok", profiles) or ("error", line)."""
    out = subprocess.run([DUMP, kind] + paths, check=True,
                         stdout=subprocess.PIPE).stdout
    views = {}
    for line in out.decode("utf-8").splitlines():
        rec = json.loads(line)
        if "error" in rec:
            m = re.match(re.escape(rec["file"]) + r":(\d+): ", rec["error"])
            views[rec["file"]] = ("error", int(m.group(1)) if m else None,
                                  rec["error"])
        else:
            views[rec["file"]] = ("ok", rec["profiles"], None)
    return views


class Compare(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def write(self, i, data):
        path = os.path.join(self.tmp.name, "f%d" % i)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def compare(self, files):
        """files: [(label, kind, bytes)]; returns how many were errors."""
        paths = {"credentials": [], "config": []}
        labels = {}
        for i, (label, kind, data) in enumerate(files):
            path = self.write(i, data)
            paths[kind].append(path)
            labels[path] = (label, kind, data)
        errors = 0
        for kind in paths:
            if not paths[kind]:
                continue
            ours = run_dump(kind, paths[kind])
            for path in paths[kind]:
                label, _, data = labels[path]
                with self.subTest(label, kind=kind):
                    want = botocore_view(path, kind)
                    got = ours[path]
                    self.assertEqual(got[0], want[0],
                                     "%r: botocore %r, cfwatch %r" %
                                     (data[:300], want, got))
                    if want[0] == "ok":
                        self.assertEqual(got[1], want[1], repr(data[:300]))
                    else:
                        errors += 1
                        if want[1] is not None:
                            self.assertEqual(got[1], want[1], got[2])
        return errors

    def test_table(self):
        self.assertGreaterEqual(len(CASES), 20)
        errors = self.compare(CASES)
        # The table holds both kinds of file, and both outcomes.
        self.assertGreater(errors, 5)
        self.assertLess(errors, len(CASES) - 20)

    def test_generated(self):
        rng = random.Random(20261125)
        files = [("generated %d" % i, rng.choice(["credentials", "config"]),
                  gen_file(rng)) for i in range(3000)]
        errors = self.compare(files)
        # Most files parse: the generator is not testing errors only.
        self.assertLess(errors, len(files) // 2)


BLANKS = [" ", "  ", "\t", "\u00a0", "\u3000", "\x0b", "\x0c", "\x1f", ""]
ENDS = ["\n", "\n", "\n", "\r\n", "\r"]
SECTIONS = ["default", "profile a", "a", "profile \"a b\"", "DEFAULT",
            " a ", "a]", "profile a", "profile  a", "profile", "b c",
            "sso-session s", "Default"]
KEYS = ["aws_access_key_id", "AWS_Secret_Access_Key", "region", "s3", "k",
        "aws_\u212aey", "credential_process", "a b", "x.y"]
VALUES = ["v", "a;b", "a ; b", "x # y", "=", "a=b", "a:b", "", "'q w'",
          "\"/opt/t\" --x", "\u00e9t\u00e9", "a\x00b", "[s]"]


def gen_line(rng):
    """One line of a file that is mostly valid."""
    kind = rng.choices(["section", "key", "cont", "comment", "blank", "sub",
                        "junk"], [3, 8, 2, 2, 2, 2, 0.1])[0]
    b = rng.choice(BLANKS)
    if kind == "section":
        return rng.choice(["", "", " "]) + "[" + rng.choice(SECTIONS) + \
            rng.choice(["", "1", "2", "3"]) + "]" + \
            rng.choice(["", "", " x", "\t"])
    if kind == "key":
        key = rng.choice(KEYS) + ("%d" % rng.randrange(20))
        return rng.choice(["", "", " ", "\t"]) + key + b + \
            rng.choice(["=", "=", ":"]) + rng.choice(BLANKS) + \
            rng.choice(VALUES) + rng.choice(BLANKS)
    if kind == "cont":
        return rng.choice(["  ", "\t", "    ", "\u3000"]) + rng.choice(VALUES)
    if kind == "comment":
        return rng.choice(["", "  "]) + rng.choice(["#", ";"]) + " c"
    if kind == "blank":
        return rng.choice(["", " ", "\t"])
    if kind == "sub":
        return "s3%d =" % rng.randrange(5) + "".join(
            rng.choice(ENDS[:3]) + "  " + rng.choice(["a", "b"]) + " = " +
            rng.choice(VALUES).replace("\x00", "") for _ in range(2))
    return "junk"


def gen_file(rng):
    lines = ["[" + rng.choice(SECTIONS) + "]"]
    lines += [gen_line(rng) for _ in range(rng.randrange(12))]
    text = ""
    for line in lines:
        text += line + rng.choice(ENDS)
    if rng.random() < 0.2:
        text = text.rstrip("\r\n")
    return text.encode("utf-8")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    DUMP = sys.argv.pop(1)
    unittest.main(verbosity=2)
