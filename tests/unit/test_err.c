/* SPDX-License-Identifier: MIT */
#include "err.h"

#include "confcheck.h"
#include "test.h"

/* A failure passed up through a context prefix stays a failure, even
 * with no err to fill: the old prefix returned err's code, 0 here. */
static void test_wrap_without_err_returns_the_failure(void)
{
  CHECK_EQ_INT(cfw_err_wrap(NULL, -EIO, "%s", "ctx"), -EIO);
}

/* A callee that failed without a message leaves err unset: the code
 * passed up is the callee's, and err gets it too. */
static void test_wrap_of_an_unset_err_takes_the_code(void)
{
  struct cfw_err err;

  cfw_err_clear(&err);
  CHECK_EQ_INT(cfw_err_wrap(&err, -ENOMEM, "planning %s", "a.html"), -ENOMEM);
  CHECK_EQ_INT(err.code, -ENOMEM);
  CHECK_EQ_STR(err.msg, "planning a.html: ");
}

/* A set err keeps its code, message and class under the prefix. */
static void test_wrap_keeps_what_the_callee_said(void)
{
  struct cfw_err err;

  (void)cfw_err_set(&err, -EACCES, "%s", "denied");
  cfw_err_class(&err, CFW_CLASS_REFUSED);
  CHECK_EQ_INT(cfw_err_wrap(&err, -EACCES, "%s", "s3://b/k"), -EACCES);
  CHECK_EQ_INT(err.code, -EACCES);
  CHECK_EQ_INT(err.cls, CFW_CLASS_REFUSED);
  CHECK_EQ_STR(err.msg, "s3://b/k: denied");
  cfw_err_prefix(&err, "site %d", 2);
  CHECK_EQ_STR(err.msg, "site 2: s3://b/k: denied");
  CHECK_EQ_INT(err.code, -EACCES);
}

/* One of the sites that passed a prefixed failure up: with no err, a
 * bad port was accepted as a good endpoint. */
static void test_bad_endpoint_is_refused_with_no_err(void)
{
  CHECK_EQ_INT(confcheck_endpoint("https://127.0.0.1:99999/", NULL), -EINVAL);
  CHECK_EQ_INT(confcheck_endpoint("https://[::1/", NULL), -EINVAL);
  CHECK_EQ_INT(confcheck_endpoint("https://127.0.0.1:8443/", NULL), 0);
}

TEST_MAIN(TEST(test_wrap_without_err_returns_the_failure),
          TEST(test_wrap_of_an_unset_err_takes_the_code),
          TEST(test_wrap_keeps_what_the_callee_said),
          TEST(test_bad_endpoint_is_refused_with_no_err))
