# SPDX-License-Identifier: MIT
"""python3 -m scripts.test_targets BUILD_DIR INCLUDE EXCLUDE: the build
targets that the ctest tests of the configured BUILD_DIR matching INCLUDE
and not EXCLUDE (ctest's -R and -E) run, one a line.

scripts/build builds only these for a variant that runs part of the
suite (ThreadSanitizer's): compiling and linking a unit test that never
runs there costs CI's two cores for nothing.  A test runs what its
command or its environment names inside the build tree: a unit test its
own executable, an end-to-end test cfwatch (CFWATCH_BIN), the botocore
comparison awsconfig_dump.  Every executable here is named after its
target (tests/CMakeLists.txt), so the file's name is the target's.
ctest names the selected tests, with their environment, but leaves out
the command of an executable not built yet, so the commands come from
the CTestTestfile.cmake files that cmake wrote.
"""

import json
import os
import re
import subprocess
import sys

ADD_TEST = re.compile(r'^add_test\(([^ ")]+)((?: "(?:[^"\\]|\\.)*")*)\)$')
QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def ctest_tests(build, include, exclude):
    """ctest's own description of the selected tests (json-v1)."""
    out = subprocess.run(
        ["ctest", "--test-dir", build, "--show-only=json-v1",
         "-R", include, "-E", exclude],
        check=True, capture_output=True, text=True).stdout
    return json.loads(out)["tests"]


def commands(build):
    """Each test's command in the build tree, by the test's name."""
    found = {}
    for top, _, files in os.walk(build):
        if "CTestTestfile.cmake" not in files:
            continue
        with open(os.path.join(top, "CTestTestfile.cmake"),
                  encoding="utf-8") as f:
            for line in f:
                m = ADD_TEST.match(line.strip())
                if m:
                    found[m.group(1)] = QUOTED.findall(m.group(2))
    return found


def words_of(test, cmds):
    """The command's words and the environment's values."""
    words = list(cmds.get(test["name"], []))
    for prop in test.get("properties", []):
        if prop["name"] == "ENVIRONMENT":
            words += [v.split("=", 1)[-1] for v in prop["value"]]
    return words


def targets(build, include, exclude):
    """The names of the files the tests run from the build tree (not yet
    built: a directory there, such as the fuzzers' work, is no target)."""
    root = os.path.realpath(build) + os.sep
    cmds = commands(build)
    found = set()
    for test in ctest_tests(build, include, exclude):
        if test["name"] not in cmds:
            raise SystemExit("test_targets: no command for " + test["name"])
        for word in words_of(test, cmds):
            path = os.path.realpath(word)
            if path.startswith(root) and not os.path.isdir(path):
                found.add(os.path.basename(path))
    return sorted(found)


def main(argv):
    if len(argv) != 4:
        print(__doc__.split("\n\n")[0], file=sys.stderr)
        return 2
    names = targets(argv[1], argv[2], argv[3])
    if not names:
        print("test_targets: no test selected in " + argv[1],
              file=sys.stderr)
        return 1
    print("\n".join(names))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
