# SPDX-License-Identifier: MIT
"""The S3 region as the AWS CLI finds it: --region, then the config's
region, then AWS_REGION, AWS_DEFAULT_REGION, the profile's region in
the AWS config file, then us-east-1 (src/awsregion.c).  Real cfwatch
processes against the stand-in, whose S3 refuses a request signed for
another region than the bucket's with 400 AuthorizationHeaderMalformed
naming the right one, as S3 does, and whose CloudFront accepts only
us-east-1 signatures."""
import os
import unittest

from tests.e2e.cfw import StandInTest, write
from tests.standin.standin import DISTRIBUTION

BUCKET = "www-example-com"
REGION = "eu-central-1"  # the bucket's; not the stand-in's default
STATE_BUCKET = "www-example-com-state"
SITE = {"index.html": "<h1>home</h1>", "css/site.css": "body{}"}
FOLLOWED = "following it"


class RegionTest(StandInTest):
    def setUp(self):
        super().setUp()
        self.cf.create_bucket(BUCKET, region=REGION)
        for rel, data in SITE.items():
            write(self.root, rel, data)

    def args(self, *extra):
        return ["-d", DISTRIBUTION, "--endpoint", self.cf.endpoint,
                "--ca-file", self.cf.ca_file, "--state-dir", self.state,
                "--origin", "s3://%s/site" % BUCKET,
                "--s3-endpoint", self.cf.endpoint, "-v"] + list(extra)

    def once(self, *extra, **env):
        return self.cfw("once", "--all", *self.args(*extra), self.root,
                        env=dict(self.env, **env))

    def s3_auth_errors(self):
        return [e.get("auth_error") for e in self.cf.log()
                if e.get("service") == "s3" and e.get("auth_error")]

    def assert_deployed_without_redirect(self, res, source):
        self.check(res)
        self.assertNotIn(FOLLOWED, res.err)
        self.assertEqual(self.s3_auth_errors(), [])
        self.assertIn("S3 bucket %s: region %s (from %s)"
                      % (BUCKET, REGION, source), res.err)
        keys = sorted(o["key"] for o in self.cf.objects(BUCKET))
        self.assertEqual(keys, sorted("site/" + k for k in SITE))
        # CloudFront is global: still signed for us-east-1, and accepted.
        self.assertEqual(len(self.cf.invalidations()), 1, res.err)

    def aws_config(self, text):
        return write(self.tmp, "aws/config", text)


class FromEnvironment(RegionTest):
    def test_aws_region_names_the_bucket_region(self):
        # No --region; AWS_REGION=eu-central-1.  Replies: 200 to each
        # PUT (signed for eu-central-1 at once), 201 to the invalidation.
        res = self.once(AWS_REGION=REGION)
        self.assert_deployed_without_redirect(res, "AWS_REGION")

    def test_aws_default_region_when_aws_region_is_unset(self):
        res = self.once(AWS_DEFAULT_REGION=REGION)
        self.assert_deployed_without_redirect(res, "AWS_DEFAULT_REGION")

    def test_aws_region_beats_aws_default_region(self):
        res = self.once(AWS_REGION=REGION, AWS_DEFAULT_REGION="us-west-2")
        self.assert_deployed_without_redirect(res, "AWS_REGION")

    def test_region_option_beats_aws_region(self):
        res = self.once("--region", REGION, AWS_REGION="us-west-2")
        self.assert_deployed_without_redirect(res, "--region")

    def test_config_region_beats_aws_region(self):
        ini = write(self.tmp, "cfwatch.ini",
                    "[cfwatch]\nregion = %s\n" % REGION)
        res = self.once("--config", ini, AWS_REGION="us-west-2")
        self.assert_deployed_without_redirect(res, "%s:2: region" % ini)

    def test_bad_aws_region_fails_with_a_clear_message(self):
        # Nothing is sent: exit 2 before any request.
        res = self.once(AWS_REGION="eu west")
        self.assertEqual(res.status, 2, repr(res))
        self.assertIn('AWS_REGION: "eu west": a region looks like eu-west-1',
                      res.err)
        self.assertEqual([e for e in self.cf.log()
                          if e.get("service") == "s3"], [])
        self.assertEqual(self.cf.invalidations(), [])


class FromProfile(RegionTest):
    def test_profile_region_in_the_aws_config_file(self):
        path = self.aws_config("[default]\nregion = %s\n" % REGION)
        res = self.once(AWS_CONFIG_FILE=path)
        self.assert_deployed_without_redirect(
            res, "profile default in %s:2: region" % path)

    def test_aws_profile_names_the_section(self):
        path = self.aws_config("[default]\nregion = us-west-2\n\n"
                               "[profile site]\nregion = %s\n" % REGION)
        res = self.once(AWS_CONFIG_FILE=path, AWS_PROFILE="site")
        self.assert_deployed_without_redirect(
            res, "profile site in %s:5: region" % path)

    def test_environment_beats_the_profile(self):
        path = self.aws_config("[default]\nregion = us-west-2\n")
        res = self.once(AWS_CONFIG_FILE=path, AWS_REGION=REGION)
        self.assert_deployed_without_redirect(res, "AWS_REGION")

    def test_bad_profile_region_names_the_file_and_line(self):
        path = self.aws_config("[default]\nregion = Frankfurt\n")
        res = self.once(AWS_CONFIG_FILE=path)
        self.assertEqual(res.status, 2, repr(res))
        self.assertIn('profile default in %s:2: region: "Frankfurt"' % path,
                      res.err)
        self.assertEqual(self.cf.invalidations(), [])


class WrongRegion(RegionTest):
    def test_wrong_region_is_followed_once_naming_its_source(self):
        # AWS_REGION names another region than the bucket's: the first
        # PUT is refused (400 AuthorizationHeaderMalformed, Region
        # eu-central-1), cfwatch follows it with one warning that says
        # where the wrong region came from, and deploys.
        res = self.once(AWS_REGION="us-west-2")
        self.check(res)
        warnings = [ln for ln in res.err.splitlines() if FOLLOWED in ln]
        self.assertEqual(len(warnings), 1, res.err)
        self.assertIn("is in region %s, not us-west-2 (from AWS_REGION)"
                      % REGION, warnings[0])
        self.assertEqual(len(self.s3_auth_errors()), 1)
        keys = sorted(o["key"] for o in self.cf.objects(BUCKET))
        self.assertEqual(keys, sorted("site/" + k for k in SITE))

    def test_default_region_is_named_as_the_default(self):
        res = self.once()
        self.check(res)
        self.assertIn("not us-east-1 (from the default)", res.err)


class StateInS3(RegionTest):
    def test_state_bucket_takes_the_same_region(self):
        # The state's bucket is in eu-central-1 as well; AWS_REGION names
        # it, so neither client is redirected.
        self.cf.create_bucket(STATE_BUCKET, region=REGION)
        args = [a if a != self.state else "s3://%s/cfwatch/site" % STATE_BUCKET
                for a in self.args()]
        env = dict(self.env, AWS_REGION=REGION,
                   XDG_CACHE_HOME=os.path.join(self.tmp, "cache"))
        res = self.check(self.cfw("once", "--all", *args, self.root, env=env))
        self.assertNotIn(FOLLOWED, res.err)
        self.assertEqual(self.s3_auth_errors(), [])
        self.assertIn("S3 bucket %s: region %s (from AWS_REGION)"
                      % (STATE_BUCKET, REGION), res.err)
        self.assertTrue(self.cf.objects(STATE_BUCKET), res.err)


if __name__ == "__main__":
    unittest.main()
