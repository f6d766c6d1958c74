/* SPDX-License-Identifier: MIT */
#ifndef CFW_AWSREGION_H
#define CFW_AWSREGION_H

struct cfw_err;

/* The region of cfwatch's S3 clients (an origin's, a state in S3's),
 * found as the AWS CLI v2 finds its own, first set wins:
 *
 *   1. cfwatch's own: --region, else region = in cfwatch's config;
 *   2. AWS_REGION, then AWS_DEFAULT_REGION;
 *   3. region in the profile's section (the profile the credentials
 *      chain reads, creds.h: --profile, AWS_PROFILE, else "default"), in
 *      the shared credentials file, then in the config file;
 *   4. us-east-1.
 *
 * That is botocore's chain for the session variable "region" in the
 * AWS CLI v2 (awscli/botocore/configprovider.py,
 * BOTOCORE_DEFAUT_SESSION_VARIABLES: instance variable, then the
 * environment variables ['AWS_REGION', 'AWS_DEFAULT_REGION'], then the
 * profile's "region"), with step 1 standing for the CLI's --region.  The
 * profile's keys are those of Session.full_config, which adds the
 * credentials file's section to the config file's, its keys winning
 * (awscli/botocore/session.py).  The AWS CLI's documentation says the
 * same: "AWS_REGION ... overrides the values for the environment
 * variable AWS_DEFAULT_REGION and the profile setting region"
 * (docs.aws.amazon.com/cli/latest/userguide/cli-configure-envvars.html).
 *
 * Where cfwatch parts from botocore: an empty variable or value counts
 * as unset here (botocore would stop at it and then use no region, which
 * for S3 is us-east-1 as well), the same as creds.c treats AWS_PROFILE.
 * A named profile that neither file holds is an error only when step 3
 * is reached, where botocore raises ProfileNotFound.
 *
 * CloudFront is global: its client always signs for us-east-1
 * (cloudfront.h), whatever this says. */

#define AWSREGION_DEFAULT    "us-east-1"
#define AWSREGION_MAX        64
#define AWSREGION_SOURCE_LEN 256

struct awsregion_opts {
  /* Borrowed; cfwatch's own region and where it was set ("--region",
   * "cfwatch.ini:7: region"); region NULL if neither set it. */
  const char *region;
  const char *source;
  const char *profile; /* borrowed; as creds_opts.profile */
  /* Reads the environment; NULL means getenv().  Tests inject one. */
  const char *(*getenv)(const char *name);
};

struct awsregion {
  char name[AWSREGION_MAX]; /* "eu-west-1" */
  /* Where it came from, for logs and warnings: o->source, "AWS_REGION",
   * "AWS_DEFAULT_REGION", "profile dev in /home/u/.aws/config:3" or
   * "the default"; a long path is cut and ends in "...". */
  char source[AWSREGION_SOURCE_LEN];
};

/* Walks the steps above and fills *out.  Returns 0; or -EINVAL with err
 * naming the source, class CFW_CLASS_USAGE: a value that is not a
 * region ("AWS_REGION: \"eu west\": a region looks like eu-west-1"), a
 * profile's region that is a sub-section, a named profile in neither
 * file, or a shared file the AWS CLI refuses (awsconfig.h); or another
 * negative errno (a file that cannot be read, -ENOMEM) with err set.
 *
 * Reads up to two small files synchronously, and only when steps 1 and
 * 2 find nothing: call it at start-up, not from the running loop. */
int awsregion_resolve(const struct awsregion_opts *o, struct awsregion *out,
                      struct cfw_err *err);

#endif
