# SPDX-License-Identifier: MIT
"""`plan` and `once --dry-run` on real folders (issue 2)."""
import os
import shutil
import unittest

from tests.e2e.cfw import SOURCE_DIR, TempTest, write


class OneShot(TempTest):
    def make_site(self):
        write(self.root, "index.html", "<h1>home</h1>")
        write(self.root, "a/index.html", "<h1>a</h1>")
        write(self.root, "a/b.html", "b")
        write(self.root, "css/site.css", "body{}")

    def plan(self, *extra):
        return self.check(self.cfw("plan", "--state-dir", self.state,
                                   self.root, *extra))

    def once(self, *extra):
        return self.check(self.cfw("once", "--dry-run", "--state-dir",
                                   self.state, self.root, *extra))

    def test_first_run_records_baseline_and_sends_nothing(self):
        self.make_site()
        res = self.once()
        self.assertEqual(res.lines, [])
        self.assertIn("baseline", res.err)
        self.assertTrue(os.path.exists(os.path.join(self.state, "manifest")))
        self.assertEqual(self.plan().lines, [])

    def test_first_plan_without_manifest_changes_nothing(self):
        self.make_site()
        res = self.plan()
        self.assertEqual(res.lines, [])
        self.assertIn("baseline", res.err)
        self.assertFalse(os.path.exists(os.path.join(self.state, "manifest")))

    def test_all_on_first_run_plans_every_file(self):
        self.make_site()
        res = self.plan("--all")
        self.assertEqual(res.lines, ["/", "/a/", "/a/b.html", "/a/index.html",
                                     "/css/site.css", "/index.html"])

    def test_plan_twice_gives_same_output_and_once_empties_it(self):
        self.make_site()
        self.once()
        write(self.root, "a/b.html", "b2")
        first = self.plan()
        self.assertEqual(first.lines, ["/a/b.html"])
        self.assertEqual(self.plan().out, first.out)
        sent = self.once()
        self.assertEqual(sent.lines, ["/a/b.html"])
        self.assertEqual(self.plan().lines, [])

    def test_same_bytes_rewrite_plans_nothing(self):
        self.make_site()
        self.once()
        for rel in ("index.html", "a/index.html", "a/b.html", "css/site.css"):
            path = os.path.join(self.root, rel)
            with open(path, "rb") as f:
                data = f.read()
            os.unlink(path)  # new inode, new mtime, same bytes
            write(self.root, rel, data)
        res = self.plan()
        self.assertEqual(res.lines, [])

    def test_deleted_file_is_planned(self):
        self.make_site()
        self.once()
        os.unlink(os.path.join(self.root, "a/b.html"))
        self.assertEqual(self.plan().lines, ["/a/b.html"])

    def test_index_html_yields_both_urls(self):
        self.make_site()
        self.once()
        write(self.root, "a/index.html", "changed")
        write(self.root, "index.html", "changed")
        self.assertEqual(self.plan().lines,
                         ["/", "/a/", "/a/index.html", "/index.html"])

    def test_new_and_encoded_names(self):
        self.make_site()
        self.once()
        write(self.root, "docs/café menu.html", "x")
        write(self.root, "q?#.html", "x")
        self.assertEqual(self.plan().lines, [
            "/docs/caf%C3%A9%20menu.html", "/q%3F%23.html"])

    def test_an_exclude_added_later_leaves_what_it_covers_alone(self):
        # Excluded means untouched, as on a first run's bucket (and as
        # `aws s3 sync --delete` and rsync treat excluded files): a file
        # still on disk is no deletion because an exclude now covers it,
        # and lifting the exclude sends nothing for the same bytes.
        self.make_site()
        self.once()
        self.assertEqual(self.plan("--exclude", "a/").lines, [])
        self.assertEqual(self.once("--exclude", "a/").lines, [])
        self.assertEqual(self.plan().lines, [])
        # A change made while excluded waits for the exclude to go.
        write(self.root, "a/b.html", "b2")
        self.assertEqual(self.once("--exclude", "b.html").lines, [])
        self.assertEqual(self.plan().lines, ["/a/b.html"])

    def test_excluded_files_are_ignored(self):
        self.make_site()
        self.once()
        write(self.root, "a/.b.html.swp", "x")
        write(self.root, ".git/HEAD", "x")
        write(self.root, "draft.tmp", "x")
        self.assertEqual(self.plan("--exclude", "*.tmp").lines, [])

    def test_url_prefix_and_pretty_urls(self):
        self.make_site()
        # The baseline under the same mapping: a changed one also owes a
        # flush of the old URLs (test_remap.py).
        self.once("--url-prefix", "/blog", "--pretty-urls")
        write(self.root, "a/b.html", "new")
        res = self.plan("--url-prefix", "/blog", "--pretty-urls")
        self.assertEqual(res.lines, ["/blog/a/b", "/blog/a/b.html"])

    def test_status_counts_the_configured_free_paths(self):
        # Issue 12: `status` said "the first 1,000 are free" whatever
        # --monthly-free-paths said, unlike the planner.
        self.make_site()
        self.once()
        res = self.check(self.cfw("status", "--monthly-free-paths", "5",
                                  "--state-dir", self.state, self.root))
        self.assertIn("(the first 5 are free;", res.out)
        res = self.check(self.cfw("status", "--json", "--monthly-free-paths",
                                  "5", "--state-dir", self.state, self.root))
        self.assertIn('"month_free_paths":5,', res.out)

    def test_missing_root_fails_with_state_status(self):
        res = self.cfw("plan", "--state-dir", self.state,
                       os.path.join(self.tmp, "nope"))
        self.assertEqual(res.status, 3, repr(res))
        self.assertIn("nope", res.err)

    def test_corrupt_manifest_is_an_error_not_a_baseline(self):
        self.make_site()
        self.once()
        path = os.path.join(self.state, "manifest")
        with open(path, "r+b") as f:
            f.seek(40)
            b = f.read(1)
            f.seek(40)
            f.write(bytes([b[0] ^ 0x10]))
        write(self.root, "a/b.html", "changed")
        res = self.cfw("once", "--dry-run", "--state-dir", self.state,
                       self.root)
        self.assertEqual(res.status, 3, repr(res))
        self.assertIn("manifest", res.err)
        self.assertEqual(res.lines, [])

    def test_default_state_dir_is_under_xdg_state_home(self):
        self.make_site()
        self.check(self.cfw("once", "--dry-run", self.root))
        base = os.path.join(self.env["XDG_STATE_HOME"], "cfwatch")
        dirs = os.listdir(base)
        self.assertEqual(len(dirs), 1)
        self.assertTrue(os.path.exists(os.path.join(base, dirs[0],
                                                    "manifest")))

    def test_bundled_example_runs(self):
        shutil.rmtree(self.root)
        shutil.copytree(os.path.join(SOURCE_DIR, "examples", "site"),
                        self.root)
        self.once()
        write(self.root, "about/index.html", "<h1>About us</h1>")
        res = self.once()
        self.assertEqual(res.lines, ["/about/", "/about/index.html"])


class CommandLine(TempTest):
    def test_version(self):
        res = self.check(self.cfw("--version"))
        self.assertRegex(res.out, r"^cfwatch \d+\.\d+\.\d+\nMIT License, "
                         r"Copyright \(c\) 2026 The cfwatch authors; "
                         r"no warranty\.\n$")

    def test_help(self):
        res = self.check(self.cfw("--help"))
        self.assertIn("cfwatch once", res.out)

    def test_unknown_option_is_usage_error(self):
        res = self.cfw("plan", "--quiet-msec", "5", self.root)
        self.assertEqual(res.status, 2, repr(res))
        self.assertIn("--quiet-msec", res.err)

    def test_bad_value_is_usage_error(self):
        res = self.cfw("plan", "--quiet-ms", "abc", self.root)
        self.assertEqual(res.status, 2, repr(res))
        self.assertIn("quiet", res.err)

    def test_config_error_names_file_and_line(self):
        conf = write(self.tmp, "cfwatch.ini",
                     "[cfwatch]\nroot = public\nquiet_msec = 5\n")
        res = self.cfw("plan", "-c", conf)
        self.assertEqual(res.status, 2, repr(res))
        self.assertIn("cfwatch.ini:3", res.err)
        self.assertIn("quiet_msec", res.err)

    def test_config_root_is_relative_to_config_file(self):
        write(self.root, "index.html", "x")
        conf = write(self.tmp, "cfwatch.ini",
                     "[cfwatch]\nroot = public\nstate_dir = state\n")
        res = self.check(self.cfw("once", "-c", conf, "--dry-run"))
        self.assertIn("baseline", res.err)
        self.assertTrue(os.path.exists(os.path.join(self.state, "manifest")))

    def test_command_line_overrides_config(self):
        write(self.root, "index.html", "x")
        conf = write(self.tmp, "cfwatch.ini",
                     "[cfwatch]\nroot = public\nstate_dir = elsewhere\n")
        self.check(self.cfw("once", "-c", conf, "--dry-run",
                            "--state-dir", self.state))
        self.assertTrue(os.path.exists(os.path.join(self.state, "manifest")))

    # Issue 11, item 11: `cfwatch -c FILE plan` took "plan" as the root
    # and started a daemon waiting for ./plan for ever (a hung CI job).
    def test_options_may_come_before_the_command(self):
        write(self.root, "index.html", "x")
        conf = write(self.tmp, "cfwatch.ini",
                     "[cfwatch]\nroot = public\nstate_dir = state\n")
        self.check(self.cfw("-c", conf, "once", "--dry-run"))
        write(self.root, "index.html", "y")
        res = self.cfw("-c", conf, "-v", "plan", timeout=20)
        self.assertEqual(res.status, 0, repr(res))
        self.assertEqual(res.lines, ["/", "/index.html"])

    def test_watching_a_root_that_never_existed_is_an_error(self):
        res = self.cfw("--state-dir", self.state,
                       os.path.join(self.tmp, "nope"), timeout=20)
        self.assertEqual(res.status, 3, repr(res))
        self.assertIn("no such directory", res.err)

    def test_json_log_format(self):
        write(self.root, "index.html", "x")
        res = self.check(self.cfw("plan", "--log-format", "json",
                                  "--state-dir", self.state, self.root))
        self.assertRegex(res.err.splitlines()[0],
                         r'^\{"ts":"[0-9T:-]+Z","level":"info","msg":".*"\}$')


if __name__ == "__main__":
    unittest.main()
