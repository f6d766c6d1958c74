# SPDX-License-Identifier: MIT
"""Packaging checks: the systemd user unit, the man pages, the bash and
zsh completions and the launchd plist.  A check whose tool is missing
(systemd-analyze, mandoc or groff, zsh) is skipped, not failed; the
.deb build is packaging/debian/test-deb.sh, too slow for here.

The option lists of `cfwatch --help` and conf/cfwatch.ini.example are the
reference: every option, command and key they name must be documented
and completed, so that a new option cannot ship without them."""
import os
import plistlib
import re
import shutil
import subprocess
import tempfile
import textwrap
import unittest

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("CFWATCH_BIN") or os.path.join(SRC, "build", "cfwatch")
UNIT = os.path.join(SRC, "packaging", "systemd", "cfwatch@.service")
SANDBOX = os.path.join(SRC, "packaging", "systemd", "sandbox.conf")
PLIST = os.path.join(SRC, "packaging", "launchd", "com.cfwatch.agent.plist")
MAN1 = os.path.join(SRC, "man", "cfwatch.1")
MAN5 = os.path.join(SRC, "man", "cfwatch.ini.5")
BASH_COMP = os.path.join(SRC, "completions", "cfwatch.bash")
ZSH_COMP = os.path.join(SRC, "completions", "_cfwatch")
CONF_EXAMPLE = os.path.join(SRC, "conf", "cfwatch.ini.example")
COMMANDS = ["once", "plan", "status", "invalidate"]


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def need(tool):
    path = shutil.which(tool)
    if path is None:
        raise unittest.SkipTest("%s is not installed" % tool)
    return path


def help_long_options():
    """The long options `cfwatch --help` lists, e.g. "--state-dir"."""
    if not os.access(BIN, os.X_OK):
        raise unittest.SkipTest("no cfwatch binary at %s" % BIN)
    out = subprocess.run([BIN, "--help"], stdout=subprocess.PIPE,
                         check=True, timeout=10).stdout.decode()
    opts = set(re.findall(r"(--[a-z][a-z0-9-]*)", out))
    if len(opts) < 20:
        raise AssertionError("--help lists only %s" % sorted(opts))
    return opts


def config_keys():
    """The keys conf/cfwatch.ini.example shows (each commented out)."""
    keys = set(re.findall(r"^;([a-z][a-z0-9_]*) =", read(CONF_EXAMPLE),
                          re.M))
    if len(keys) < 15:
        raise AssertionError("the example shows only %s" % sorted(keys))
    return keys


def unit_settings(text):
    """(section, key, value) of each setting of a unit file, in order."""
    out = []
    section = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.append((section, key.strip(), value.strip()))
    return out


class ReferenceTest(unittest.TestCase):
    """The references are whole: every long option the parser accepts
    (src/cli.c) is in --help, and every key the config reads
    (src/config.c) in the example, so that the checks below see them."""

    # -v and -q set the log level on the command line; the man page
    # documents --log-level, which --help leaves out for brevity.
    UNLISTED = {"--log-level"}

    def test_help_lists_every_option_the_parser_accepts(self):
        accepted = {"--" + o for o in re.findall(
            r'^\s*\{"([a-z0-9-]+)", "[a-z0-9_]+", (?:true|false)\},$',
            read(os.path.join(SRC, "src", "cli.c")), re.M)}
        self.assertGreater(len(accepted), 20)
        self.assertEqual(accepted - help_long_options() - self.UNLISTED,
                         set())

    def test_example_shows_every_config_key(self):
        keys = set(re.findall(r'\[K_[A-Z0-9_]+\] = \{"([a-z0-9_]+)"',
                              read(os.path.join(SRC, "src", "config_key.c"))))
        self.assertGreater(len(keys), 20)
        self.assertEqual(keys - config_keys(), set())


class SystemdUnitTest(unittest.TestCase):
    def test_unit_is_the_user_template_asked_for(self):
        got = unit_settings(read(UNIT))
        for want in [
                ("Service", "Type", "notify"),
                ("Service", "ExecStart",
                 "/usr/bin/cfwatch -c %h/.config/cfwatch/%i.ini"),
                ("Service", "ExecReload", "/bin/kill -HUP $MAINPID"),
                ("Service", "Restart", "on-failure"),
                ("Service", "WatchdogSec", "60"),
                ("Service", "NoNewPrivileges", "yes"),
                ("Service", "StandardError", "journal"),
                ("Install", "WantedBy", "default.target")]:
            self.assertIn(want, got)
        keys = {k for _, k, _ in got}
        # A user manager would refuse these, or they would move state into
        # ~/.config (StateDirectory= before systemd 254).
        for bad in ["User", "Group", "StateDirectory", "PrivateUsers"]:
            self.assertNotIn(bad, keys)

    def verify(self, with_sandbox):
        """systemd-analyze verify of cfwatch@site.service; prints nothing
        when the unit is clean."""
        need("systemd-analyze")
        with tempfile.TemporaryDirectory() as d:
            # ExecStart must name an executable file, so point it at the
            # built binary (or any executable) instead of /usr/bin.
            exe = BIN if os.access(BIN, os.X_OK) else shutil.which("true")
            with open(os.path.join(d, "cfwatch@.service"), "w") as f:
                f.write(read(UNIT).replace("/usr/bin/cfwatch", exe))
            if with_sandbox:
                os.mkdir(os.path.join(d, "cfwatch@.service.d"))
                shutil.copy(SANDBOX, os.path.join(d, "cfwatch@.service.d"))
            run_dir = os.path.join(d, "run")
            os.mkdir(run_dir, 0o700)
            env = dict(os.environ, XDG_RUNTIME_DIR=run_dir,
                       SYSTEMD_UNIT_PATH=d + ":", SYSTEMD_LOG_LEVEL="notice")
            p = subprocess.run(
                ["systemd-analyze", "--user", "verify", "--man=no",
                 "cfwatch@site.service"], env=env, cwd=d, timeout=30,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out = p.stdout.decode()
        if "Failed to initialize manager" in out:
            self.skipTest("systemd-analyze cannot run here: " + out.strip())
        # verify warns about bad lines but still exits 0: both must hold.
        self.assertEqual((p.returncode, out), (0, ""))

    def test_unit_verifies_clean(self):
        self.verify(with_sandbox=False)

    def test_unit_with_sandbox_dropin_verifies_clean(self):
        self.verify(with_sandbox=True)


class ManPageTest(unittest.TestCase):
    def lint(self, page):
        if shutil.which("mandoc"):
            cmd = ["mandoc", "-Tlint", "-W", "warning", page]
        elif shutil.which("groff"):
            cmd = ["groff", "-mdoc", "-ww", "-z", page]
        else:
            self.skipTest("neither mandoc nor groff is installed")
        p = subprocess.run(cmd, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        self.assertEqual((p.returncode, p.stdout.decode()), (0, ""))

    def test_cfwatch_1_lints_clean(self):
        self.lint(MAN1)

    def test_cfwatch_ini_5_lints_clean(self):
        self.lint(MAN5)

    def test_cfwatch_1_documents_every_option_and_command(self):
        page = read(MAN1)
        for opt in help_long_options():
            self.assertRegex(page, r"\bFl Fl %s\b" % re.escape(opt[2:]))
        for cmd in COMMANDS:
            self.assertIn(".Cm " + cmd, page)
        for sect in ["EXIT STATUS", "ENVIRONMENT", "FILES", "SIGNALS",
                     "EXAMPLES"]:
            self.assertIn(".Sh " + sect, page)
        for status in range(6):
            self.assertRegex(page, r"\n\.It %d\n" % status)
        for var in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                    "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
                    "AWS_CONFIG_FILE",
                    "AWS_SHARED_CREDENTIALS_FILE", "XDG_STATE_HOME"]:
            self.assertIn(var, page)

    def test_cfwatch_ini_5_documents_every_key(self):
        page = read(MAN5)
        for key in config_keys():
            self.assertIn(".It Cm %s No = " % key, page)
        self.assertIn(".It Cm [site Ar name ]", page)


class BashCompletionTest(unittest.TestCase):
    def complete(self, *words, cwd=None, env=None):
        """What _cfwatch offers for the command line `words`, the last
        word being the one completed."""
        script = textwrap.dedent("""\
            source "$1"; shift
            COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
            COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
            complete -p cfwatch >&2
            _cfwatch
            printf '%s\\n' "${COMPREPLY[@]}"
            """)
        p = subprocess.run(["bash", "--norc", "-c", script, "bash",
                            BASH_COMP, "cfwatch"] + list(words),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           cwd=cwd, env=dict(os.environ, **(env or {})),
                           timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.assertIn("complete -F _cfwatch cfwatch", p.stderr.decode())
        # printf prints one empty line for an empty COMPREPLY.
        return sorted(w for w in p.stdout.decode().splitlines() if w)

    def test_syntax(self):
        subprocess.run(["bash", "-n", BASH_COMP], check=True, timeout=10)

    def test_pl_completes_to_plan(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(self.complete("pl", cwd=d), ["plan"])

    def test_first_word_offers_commands_and_directories(self):
        with tempfile.TemporaryDirectory() as d:
            os.mkdir(os.path.join(d, "public"))
            open(os.path.join(d, "notes.txt"), "w").close()
            self.assertEqual(self.complete("", cwd=d),
                             sorted(COMMANDS + ["public"]))

    def test_command_only_in_first_word(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(self.complete("-v", "pl", cwd=d), [])

    def test_file_and_directory_arguments(self):
        with tempfile.TemporaryDirectory() as d:
            os.mkdir(os.path.join(d, "state"))
            open(os.path.join(d, "site.ini"), "w").close()
            self.assertEqual(self.complete("-c", "", cwd=d),
                             ["site.ini", "state"])
            self.assertEqual(self.complete("--config", "=", "si", cwd=d),
                             ["site.ini"])
            self.assertEqual(self.complete("once", "--state-dir", "", cwd=d),
                             ["state"])
            self.assertEqual(self.complete("plan", "", cwd=d), ["state"])

    def test_values(self):
        self.assertEqual(self.complete("--log-format", ""), ["json", "text"])
        self.assertEqual(self.complete("--log-level", "d"), ["debug"])
        self.assertEqual(self.complete("-d", ""), [])
        self.assertEqual(self.complete("invalidate", "/a"), [])

    def test_profiles_from_aws_files(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "config"), "w") as f:
                f.write("[default]\n[profile pub]\n[sso-session corp]\n")
            with open(os.path.join(d, "credentials"), "w") as f:
                f.write("[ci]\n[default]\n")
            env = {"AWS_CONFIG_FILE": os.path.join(d, "config"),
                   "AWS_SHARED_CREDENTIALS_FILE":
                       os.path.join(d, "credentials")}
            self.assertEqual(self.complete("--profile", "", env=env),
                             ["ci", "default", "pub"])

    def test_command_options(self):
        self.assertEqual(self.complete("status", "--j"), ["--json"])
        self.assertEqual(self.complete("plan", "--j"), [])
        self.assertEqual(self.complete("once", "--wa"), ["--wait"])
        # The planner's options only where something is planned.
        self.assertEqual(self.complete("once", "--w"),
                         ["--wait", "--wildcard-threshold"])
        self.assertEqual(self.complete("plan", "--never"),
                         ["--never-wildcard"])
        self.assertEqual(self.complete("invalidate", "--never"), [])
        self.assertEqual(self.complete("status", "--monthly"), [])

    def test_every_help_option_is_offered(self):
        offered = set()
        for cmd in [[]] + [[c] for c in COMMANDS]:
            offered.update(self.complete(*(cmd + ["--"])))
        self.assertEqual(help_long_options() - offered, set())


ZSH_DRIVER = r"""
# Types "$2<TAB><RET>" into an interactive zsh whose fpath starts with
# $1, where cfwatch is a function printing its arguments, and prints
# the screen until they show: the line as completion left it.  Waits at
# most 10 s.
zmodload zsh/zpty || exit 3
zpty z zsh -f -i
zpty -w z "PS1='%% '; fpath=(${(q)1} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z 'cfwatch() { print -r -- "ARGS<$*>"; }; print RE""ADY'
out=
integer t=SECONDS
while (( SECONDS - t < 10 )) && [[ $out != *READY* ]]; do
  zpty -r -t z chunk && out+=$chunk || sleep 0.05
done
zpty -n -w z "$2"$'\t\n'
out=
t=SECONDS
while (( SECONDS - t < 10 )) && [[ $out != *'ARGS<'*'>'* ]]; do
  zpty -r -t z chunk && out+=$chunk || sleep 0.05
done
zpty -d z
print -r -- $out
"""


class ZshCompletionTest(unittest.TestCase):
    def test_syntax(self):
        zsh = need("zsh")
        subprocess.run([zsh, "-n", ZSH_COMP], check=True, timeout=10)

    def complete(self, line):
        """The arguments cfwatch gets after typing line, TAB and RETURN
        in an interactive zsh."""
        zsh = need("zsh")
        with tempfile.TemporaryDirectory() as d:
            fdir = os.path.join(d, "fpath")
            os.mkdir(fdir)
            shutil.copy(ZSH_COMP, fdir)
            work = os.path.join(d, "work")
            os.mkdir(work)
            p = subprocess.run([zsh, "-f", "-c", ZSH_DRIVER, "zsh", fdir,
                                line], cwd=work, timeout=30,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=dict(os.environ, HOME=d, TERM="dumb"))
        if p.returncode == 3:
            self.skipTest("zsh has no zsh/zpty module")
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 0, out)
        # An error inside the completion function shows on the screen.
        self.assertNotIn("_cfwatch", out)
        m = re.search(r"ARGS<([^>]*)>", out)
        self.assertIsNotNone(m, "cfwatch never ran: %r" % out)
        return m.group(1)

    def test_pl_completes_to_plan(self):
        self.assertEqual(self.complete("cfwatch pl"), "plan")

    def test_command_option(self):
        self.assertEqual(self.complete("cfwatch status --js"),
                         "status --json")

    def test_option_value(self):
        self.assertEqual(self.complete("cfwatch --log-level=de"),
                         "--log-level=debug")

    def test_planner_option(self):
        self.assertEqual(self.complete("cfwatch plan --never-w"),
                         "plan --never-wildcard")

    def test_every_help_option_is_declared(self):
        text = read(ZSH_COMP)
        for opt in help_long_options():
            self.assertRegex(text, r"['{,*)]%s[=\[}]" % re.escape(opt))


class LaunchdPlistTest(unittest.TestCase):
    def test_plist_parses_and_keeps_alive(self):
        with open(PLIST, "rb") as f:
            d = plistlib.load(f)
        self.assertEqual(d["Label"], "com.cfwatch.agent")
        self.assertEqual(d["ProgramArguments"][0], "@BINDIR@/cfwatch")
        self.assertIn("KeepAlive", d)
        self.assertTrue(d["RunAtLoad"])
        self.assertEqual(d["StandardErrorPath"],
                         "@HOME@/Library/Logs/cfwatch.log")

    def test_plist_installed_form_has_absolute_paths(self):
        text = read(PLIST).replace("@HOME@", "/Users/ann").replace(
            "@BINDIR@", "/opt/homebrew/bin")
        d = plistlib.loads(text.encode())
        self.assertNotIn("@", text.split("-->", 1)[1])
        for path in d["ProgramArguments"][:1] + d["ProgramArguments"][2:] + [
                d["StandardErrorPath"], d["StandardOutPath"]]:
            self.assertTrue(path.startswith("/"), path)

    def test_plutil_lint(self):
        plutil = need("plutil")
        subprocess.run([plutil, "-lint", PLIST], check=True, timeout=10)


if __name__ == "__main__":
    unittest.main()


class LicenceTest(unittest.TestCase):
    """Issue 17: MIT, stated where a user or a packager looks."""

    CHECK = os.path.join(SRC, "scripts", "check-licence")

    def repo(self, files):
        d = tempfile.mkdtemp(prefix="cfw-licence-")
        self.addCleanup(shutil.rmtree, d)
        subprocess.run(["git", "init", "-q", d], check=True)
        for rel, text in files.items():
            path = os.path.join(d, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        return d

    def check(self, d):
        return subprocess.run([self.CHECK, d], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=30)

    def test_this_checkout_is_clean(self):
        res = self.check(SRC)
        self.assertEqual(res.returncode, 0, res.stdout.decode())

    def test_new_source_file_without_the_line_fails(self):
        d = self.repo({"src/ok.c": "/* SPDX-License-Identifier: MIT */\n",
                       "src/new.c": "int x;\n",
                       "tests/vectors/v.py": "x = 1\n"})
        res = self.check(d)
        self.assertEqual(res.returncode, 1)
        out = res.stdout.decode()
        self.assertIn("src/new.c", out)
        self.assertNotIn("src/ok.c", out)
        self.assertNotIn("vectors", out)

    def test_tool_configs_without_the_line_fail(self):
        # The checker's own and the build's: each carries the line in
        # this checkout, so a new one must too.
        names = [".clang-format", ".clang-tidy", ".gitignore",
                 "tests/tsan.supp", "tests/fuzz/new.dict"]
        res = self.check(self.repo({n: "x\n" for n in names}))
        self.assertEqual(res.returncode, 1)
        self.assertEqual(sorted(res.stdout.decode().splitlines()[:-1]),
                         sorted(names))

    def test_script_after_its_shebang_passes(self):
        d = self.repo({"scripts/x": "#!/bin/sh\n# SPDX-License-Identifier: "
                       "MIT\n"})
        self.assertEqual(self.check(d).returncode, 0)

    def test_licence_file_and_debian_copyright(self):
        self.assertIn("MIT License", read(os.path.join(SRC, "LICENSE")))
        self.assertIn("The cfwatch authors", read(os.path.join(SRC,
                                                              "LICENSE")))
        cp = read(os.path.join(SRC, "packaging", "debian", "debian",
                               "copyright"))
        self.assertRegex(cp, r"Files: \*\nCopyright: 2026 The cfwatch "
                         r"authors\nLicense: MIT\n")
        self.assertIn("\nLicense: MIT\n Permission is hereby granted", cp)
        self.assertNotIn("none-yet", cp)
