/* SPDX-License-Identifier: MIT */
#ifndef CFW_CREDS_H
#define CFW_CREDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cfw_err;

/* AWS credentials, found in the AWS CLI's (botocore's) order:
 *
 * 1. AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN,
 *    unless a profile was given explicitly (--profile), which skips the
 *    environment as the CLI does.  A key id without a secret is an error;
 *    AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN is "not supported yet".
 * 2. The profile (--profile, else AWS_DEFAULT_PROFILE, else AWS_PROFILE,
 *    else "default") in the shared credentials file ([name]) and the
 *    config file ([profile name] or [default]):
 *    a. role_arn, web_identity_token_file, sso_account_id or sso_role_name
 *       in either file: an error ("not supported yet", with a workaround);
 *    b. aws_access_key_id and friends in the credentials file;
 *    c. login_session in either file: "not supported yet";
 *    d. credential_process in either file (the credentials file wins);
 *    e. aws_access_key_id and friends in the config file.
 *    Container and instance-metadata credentials are not tried.
 *
 * Both files are read as botocore reads them (awsconfig.h): no line
 * limit, a value kept verbatim after "=" or ":" (trimmed; ';' and '#'
 * start a comment only at the start of a line), and a file the AWS CLI
 * refuses (a key or section given twice, a line that is none of
 * section, key or continuation, a byte order mark, text that is not
 * UTF-8) is an error here too.  Secrets are never put into an error
 * message, and every copy this module makes is wiped with
 * OPENSSL_cleanse before it is freed. */

#define CREDS_REFRESH_MARGIN_S 300 /* refresh this long before expiry */
#define CREDS_MAX_FILE_SIZE    (1024L * 1024)
#define CREDS_SOURCE_LEN       128

struct creds {
  char *access_key_id;     /* owned */
  char *secret_access_key; /* owned; wiped on free */
  char *session_token;     /* owned or NULL; wiped on free */
  int64_t expiration_s;    /* seconds since the epoch; 0: none */
  /* "environment", "profile default in /root/.aws/credentials",
   * "credential_process of profile x"; no secrets; may be cut short. */
  char source[CREDS_SOURCE_LEN];
};

/* Wipes the secrets and frees the strings; *c is left empty and can be
 * filled again.  NULL is fine. */
void creds_free(struct creds *c);

/* Moves *from into *to (freeing what *to held) and empties *from. */
void creds_move(struct creds *to, struct creds *from);

struct creds_opts {
  const char *profile; /* borrowed; --profile, or NULL for AWS_PROFILE or
                          "default" */
  /* Reads the environment; NULL means getenv().  Tests inject one. */
  const char *(*getenv)(const char *name);
};

enum creds_next { CREDS_READY = 0, CREDS_RUN_PROCESS = 1 };

/* The profile step 2 reads: o->profile, else AWS_DEFAULT_PROFILE, else
 * AWS_PROFILE, else "default" (borrowed from o, the environment or a
 * literal).  *named is true for all but the last, whose profile must
 * exist. */
const char *creds_profile(const struct creds_opts *o, bool *named);

/* The path of the shared config file (config: AWS_CONFIG_FILE, else
 * ~/.aws/config) or of the credentials file (AWS_SHARED_CREDENTIALS_FILE,
 * else ~/.aws/credentials), "~/" expanded as the CLI does.  0, or
 * -ENOENT (no home directory) or -ENAMETOOLONG with err set. */
int creds_file_path(const struct creds_opts *o, bool config, char *out,
                    size_t n, struct cfw_err *err);

/* One profile's section of a shared file, read as botocore does
 * (awsconfig.h): the file's bytes and their parse, owned. */
struct awsconfig;
struct creds_section {
  char *data;
  size_t len;
  struct awsconfig *cfg; /* NULL unless the file was read and parsed */
  size_t sect;           /* the section, if found */
  bool exists;           /* the file is there, read or not */
  bool found;            /* it has the profile's section */
};

/* Reads path (config: the config file's rules, else the credentials
 * file's) and finds profile's section in it.  0, also for a missing
 * file; or cfgfile_read's or awsconfig_parse's error (-EFBIG over
 * CREDS_MAX_FILE_SIZE, -EINVAL), or -ENOMEM, with err set.  Free with
 * creds_section_free whatever it returned. */
int creds_section_load(struct creds_section *s, const char *path, bool config,
                       const char *profile, struct cfw_err *err);
void creds_section_free(struct creds_section *s);

/* Walks the chain above as far as it can without running a process.
 * Returns CREDS_READY with *out filled; or CREDS_RUN_PROCESS with
 * *cmd_out set to the credential_process command (owned by the caller,
 * free() it) and only out->source filled, for credproc_start(); or a
 * negative errno with err set: -EINVAL (a partial, unsupported or
 * unreadable configuration), -ENOENT (a named profile is missing, or no
 * credentials anywhere; the message lists what was tried), -EACCES,
 * -E2BIG (a file over CREDS_MAX_FILE_SIZE) or -ENOMEM.  *out must be empty on
 * entry.
 *
 * Reads two small files synchronously: call it at startup or from
 * uv_queue_work, not on the loop thread once the daemon runs. */
int creds_resolve(const struct creds_opts *o, struct creds *out, char **cmd_out,
                  struct cfw_err *err);

/* Fills the keys of an empty c with copies (token may be NULL or "").
 * 0, or -ENOMEM with c left empty. */
int creds_set_keys(struct creds *c, const char *id, const char *secret,
                   const char *token, struct cfw_err *err);

/* Writes "…WXYZ" (the last four characters of id after an ellipsis) into
 * out, for logs.  Ids shorter than 8 characters, and NULL, give "…". */
void creds_mask_key_id(const char *id, char out[8]);

/* True when c expires within CREDS_REFRESH_MARGIN_S of now_s (or has
 * expired), so the caller should run the chain again; false for
 * credentials without expiration.  The caller should rate-limit refreshes:
 * a credential_process may keep returning short-lived credentials. */
bool creds_need_refresh(const struct creds *c, int64_t now_s);

#endif
