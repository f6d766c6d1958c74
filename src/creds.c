/* SPDX-License-Identifier: MIT */
#include "creds.h"

#include "err.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The profile keys we read.  Those from CREDS_K_ROLE_ARN on need STS, SSO
 * or the login service, which we do not speak yet; they are the keys that
 * make botocore pick those providers. */
enum creds_key {
  CREDS_K_KEY_ID,
  CREDS_K_SECRET,
  CREDS_K_TOKEN,
  CREDS_K_PROCESS,
  CREDS_K_ROLE_ARN,
  CREDS_K_WEB_IDENTITY,
  CREDS_K_SSO_ACCOUNT_ID,
  CREDS_K_SSO_ROLE_NAME,
  CREDS_K_LOGIN_SESSION, /* after the credentials file, before a process */
  CREDS_K_COUNT
};

static const char *const creds_key_names[CREDS_K_COUNT] = {
    "aws_access_key_id", "aws_secret_access_key",
    "aws_session_token", "credential_process",
    "role_arn",          "web_identity_token_file",
    "sso_account_id",    "sso_role_name",
    "login_session",
};

/* What one file says about the wanted profile. */
struct creds_file {
  char path[PATH_MAX];
  bool is_config; /* sections are [profile x] and [default] */
  bool exists;
  bool section_found;
  char *v[CREDS_K_COUNT]; /* owned; wiped on free */
};

struct creds_chain {
  const char *profile;        /* borrowed from opts or the environment */
  bool named;                 /* --profile or AWS_PROFILE: must exist */
  bool explicit_profile;      /* --profile: the environment was skipped */
  struct creds_file files[2]; /* credentials, then config */
};

/* inih keeps lines in a 200-byte stack buffer, too short for a session
 * token, and strips " ;" comments that the AWS CLI keeps.  So our reader
 * hands inih each key line as "name=\x1fN", N indexing the span of the
 * real value in the file, and tracks sections itself (inih also cuts
 * section names at 50 bytes).  It mirrors inih's rule that an indented
 * line after a key continues that key's value. */
struct creds_span {
  size_t off;
  size_t len;
  bool cont; /* a continuation line */
};

struct creds_ini {
  const char *data; /* borrowed file contents */
  size_t len;
  size_t pos;
  unsigned lineno;
  bool prev_name; /* inih would treat an indented line as continuation */
  bool in_target; /* the current section is the wanted profile */
  struct creds_span *spans; /* owned */
  size_t nspans;
  size_t spans_cap;
  int rc; /* first reader or handler failure */
  struct creds_file *f;
  const char *profile;
};

static void creds_wipe_free(char *s)
{
  if (s == NULL)
    return;
  OPENSSL_cleanse(s, strlen(s));
  free(s);
}

static bool creds_set(const char *s)
{
  return s != NULL && *s != '\0';
}

void creds_free(struct creds *c)
{
  if (c == NULL)
    return;
  creds_wipe_free(c->access_key_id);
  creds_wipe_free(c->secret_access_key);
  creds_wipe_free(c->session_token);
  memset(c, 0, sizeof(*c));
}

void creds_move(struct creds *to, struct creds *from)
{
  creds_free(to);
  *to = *from;
  memset(from, 0, sizeof(*from));
}

void creds_mask_key_id(const char *id, char out[8])
{
  size_t n = id != NULL ? strlen(id) : 0;

  memcpy(out, "\xe2\x80\xa6", 4); /* U+2026 and its NUL */
  if (n >= 8)
    memcpy(out + 3, id + n - 4, 5);
}

bool creds_need_refresh(const struct creds *c, int64_t now_s)
{
  if (c == NULL || c->expiration_s <= 0)
    return false;
  return now_s >= c->expiration_s - CREDS_REFRESH_MARGIN_S;
}

/* A label, not worth failing for: a long path is cut and ends in "...". */
static void creds_set_source(struct creds *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void creds_set_source(struct creds *c, const char *fmt, ...)
{
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(c->source, sizeof(c->source), fmt, ap);
  va_end(ap);
  if (n < 0)
    c->source[0] = '\0';
  else if ((size_t)n >= sizeof(c->source))
    memcpy(c->source + sizeof(c->source) - 4, "...", 4);
}

int creds_set_keys(struct creds *c, const char *id, const char *secret,
                   const char *token, struct cfw_err *err)
{
  c->access_key_id = strdup(id);
  c->secret_access_key = strdup(secret);
  c->session_token = creds_set(token) ? strdup(token) : NULL;
  if (c->access_key_id == NULL || c->secret_access_key == NULL ||
      (creds_set(token) && c->session_token == NULL)) {
    creds_free(c);
    return cfw_err_set(err, -ENOMEM, "out of memory");
  }
  return 0;
}

/* Reads a whole regular file into *data (owned; wipe it).  A missing file
 * is not an error: f->exists says so. */
static int creds_read_file(struct creds_file *f, char **data, size_t *len,
                           struct cfw_err *err)
{
  struct stat st;
  ssize_t n;
  int fd;

  *data = NULL;
  fd = open(f->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
    return 0;
  if (fd < 0)
    return cfw_err_set(err, -errno, "%s: %s", f->path, strerror(errno));
  f->exists = true;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
      st.st_size > CREDS_MAX_FILE_SIZE) {
    (void)close(fd); /* read-only: nothing to lose */
    return cfw_err_set(err, -EINVAL, "%s: not a regular file under %ld bytes",
                       f->path, CREDS_MAX_FILE_SIZE);
  }
  *data = malloc((size_t)st.st_size + 1);
  if (*data == NULL) {
    (void)close(fd); /* read-only: nothing to lose */
    return cfw_err_set(err, -ENOMEM, "out of memory");
  }
  *len = 0;
  do {
    n = read(fd, *data + *len, (size_t)st.st_size - *len);
    *len += n > 0 ? (size_t)n : 0;
  } while ((n > 0 || (n < 0 && errno == EINTR)) && *len < (size_t)st.st_size);
  if (n < 0 && errno != EINTR)
    n = -errno;
  (void)close(fd); /* read-only: nothing to lose */
  if (n < 0)
    return cfw_err_set(err, (int)n, "%s: %s", f->path, strerror((int)-n));
  if (memchr(*data, '\0', *len) != NULL)
    return cfw_err_set(err, -EINVAL, "%s: holds a NUL byte", f->path);
  return 0;
}

/* Whether "[s]" (n bytes between the brackets) names the profile. */
static bool creds_section_matches(const struct creds_ini *ini, const char *s,
                                  size_t n)
{
  size_t plen = strlen(ini->profile);

  if (!ini->f->is_config || (n == 7 && memcmp(s, "default", 7) == 0))
    return n == plen && memcmp(s, ini->profile, n) == 0;
  /* The CLI splits "profile x" as a shell would: allow extra blanks and
   * one pair of double quotes. */
  if (n < 8 || memcmp(s, "profile", 7) != 0 || !isspace((unsigned char)s[7]))
    return false;
  s += 7;
  n -= 7;
  while (n > 0 && isspace((unsigned char)*s)) {
    s++;
    n--;
  }
  while (n > 0 && isspace((unsigned char)s[n - 1]))
    n--;
  if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
    s++;
    n -= 2;
  }
  return n == plen && memcmp(s, ini->profile, n) == 0;
}

static int creds_ini_span(struct creds_ini *ini, const char *v, size_t n,
                          bool cont)
{
  struct creds_span *p;
  size_t cap;

  if (ini->nspans == ini->spans_cap) {
    cap = ini->spans_cap ? ini->spans_cap * 2 : 16;
    p = realloc(ini->spans, cap * sizeof(*p));
    if (p == NULL)
      return -ENOMEM;
    ini->spans = p;
    ini->spans_cap = cap;
  }
  ini->spans[ini->nspans].off = (size_t)(v - ini->data);
  ini->spans[ini->nspans].len = n;
  ini->spans[ini->nspans].cont = cont;
  ini->nspans++;
  return 0;
}

/* Writes one line for inih into str; name is NULL for a line given as is,
 * else the value [v, e) is replaced by a span reference. */
static int creds_ini_out(struct creds_ini *ini, char *str, size_t num,
                         const char *name, size_t name_len, const char *v,
                         const char *e, bool cont)
{
  int n;

  if (name == NULL) {
    n = snprintf(str, num, "%.*s\n", (int)name_len, v);
  } else {
    ini->rc = creds_ini_span(ini, v, (size_t)(e - v), cont);
    if (ini->rc < 0)
      return ini->rc;
    n = snprintf(str, num, "%s%.*s%s\x1f%zu\n", cont ? " " : "", (int)name_len,
                 name, cont ? "" : "=", ini->nspans - 1);
  }
  if (n < 0 || (size_t)n >= num)
    ini->rc = -E2BIG;
  return ini->rc;
}

/* Classifies the trimmed line [s, e) (line is where it began) as inih
 * would, and writes what inih should see. */
static int creds_ini_line(struct creds_ini *ini, char *str, size_t num,
                          const char *line, const char *s, const char *e)
{
  const char *sep;
  const char *name_end;
  const char *close;

  if (s == e || *s == ';' || *s == '#')
    return creds_ini_out(ini, str, num, NULL, 0, "", e, false);
  if (s > line && ini->prev_name)
    return creds_ini_out(ini, str, num, "", 0, s, e, true);
  if (*s == '[') {
    ini->prev_name = false;
    close = memchr(s, ']', (size_t)(e - s));
    ini->in_target = close != NULL &&
                     creds_section_matches(ini, s + 1, (size_t)(close - s - 1));
    ini->f->section_found |= ini->in_target;
    return creds_ini_out(ini, str, num, NULL, (size_t)(e - s), s, e, false);
  }
  sep = s;
  while (sep < e && *sep != '=' && *sep != ':')
    sep++;
  if (sep == e) /* inih reports the missing '=' */
    return creds_ini_out(ini, str, num, NULL, (size_t)(e - s), s, e, false);
  name_end = sep;
  while (name_end > s && isspace((unsigned char)name_end[-1]))
    name_end--;
  ini->prev_name = name_end > s;
  sep++;
  while (sep < e && isspace((unsigned char)*sep))
    sep++;
  return creds_ini_out(ini, str, num, s, (size_t)(name_end - s), sep, e, false);
}

/* inih's fgets-like reader over the file in memory. */
static char *creds_ini_read(char *str, int num, void *stream)
{
  struct creds_ini *ini = stream;
  const char *line = ini->data + ini->pos;
  const char *nl;
  const char *s;
  const char *e;

  if (ini->rc < 0 || ini->pos >= ini->len || num < 2)
    return NULL;
  nl = memchr(line, '\n', ini->len - ini->pos);
  e = nl != NULL ? nl : ini->data + ini->len;
  ini->pos = (size_t)(e - ini->data) + (nl != NULL);
  ini->lineno++;
  while (e > line && isspace((unsigned char)e[-1]))
    e--;
  s = line;
  while (s < e && isspace((unsigned char)*s))
    s++;
  if (creds_ini_line(ini, str, (size_t)num, line, s, e) < 0)
    return NULL;
  return str;
}

static int creds_file_store(struct creds_file *f, enum creds_key k,
                            const char *v, size_t n, bool cont)
{
  char *copy;

  /* "key =" followed by an indented value is the one use of continuation
   * lines that makes sense for these keys. */
  if (cont && creds_set(f->v[k]))
    return 0;
  copy = strndup(v, n);
  if (copy == NULL)
    return -ENOMEM;
  creds_wipe_free(f->v[k]);
  f->v[k] = copy;
  return 0;
}

static int creds_ini_on_pair(void *user, const char *section, const char *name,
                             const char *value)
{
  struct creds_ini *ini = user;
  const struct creds_span *sp;
  uint64_t i;
  size_t k;

  (void)section; /* cut at 50 bytes by inih; the reader tracks it */
  if (!ini->in_target || value[0] != '\x1f' ||
      parse_u64(value + 1, 0, ini->nspans - 1, &i) < 0)
    return 1;
  sp = &ini->spans[i];
  for (k = 0; k < CREDS_K_COUNT; k++) {
    if (strcasecmp(name, creds_key_names[k]) != 0)
      continue;
    ini->rc = creds_file_store(ini->f, (enum creds_key)k, ini->data + sp->off,
                               sp->len, sp->cont);
    return ini->rc == 0;
  }
  return 1;
}

/* Parses f->path, keeping the keys of the wanted profile. */
static int creds_file_load(struct creds_file *f, const char *profile,
                           struct cfw_err *err)
{
  struct creds_ini ini;
  char *data;
  size_t len = 0;
  int rc;

  rc = creds_read_file(f, &data, &len, err);
  if (rc == 0 && data != NULL) {
    memset(&ini, 0, sizeof(ini));
    ini.data = data;
    ini.len = len;
    ini.f = f;
    ini.profile = profile;
    if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
      ini.pos = 3; /* a UTF-8 byte order mark */
    rc = ini_parse_stream(creds_ini_read, &ini, creds_ini_on_pair, &ini);
    free(ini.spans);
    if (ini.rc == -E2BIG)
      rc =
          cfw_err_set(err, -E2BIG, "%s:%u: line too long", f->path, ini.lineno);
    else if (ini.rc < 0 || rc < 0)
      rc = cfw_err_set(err, -ENOMEM, "%s: out of memory", f->path);
    else if (rc > 0)
      rc = cfw_err_set(err, -EINVAL, "%s:%d: syntax error", f->path, rc);
  }
  if (data != NULL)
    OPENSSL_cleanse(data, len);
  free(data);
  return rc;
}

static const char *creds_env(const struct creds_opts *o, const char *name)
{
  const char *v = o->getenv != NULL ? o->getenv(name) : getenv(name);

  return creds_set(v) ? v : NULL;
}

/* Expands a leading "~/" as the CLI does, with $HOME or the passwd entry. */
static int creds_path(const struct creds_opts *o, const char *var,
                      const char *dflt, char *out, size_t n,
                      struct cfw_err *err)
{
  const char *v = creds_env(o, var);
  const char *home = creds_env(o, "HOME");
  struct passwd pw;
  struct passwd *pwp = NULL;
  char pwbuf[4096];
  int len;

  if (v == NULL)
    v = dflt;
  if (v[0] != '~' || (v[1] != '/' && v[1] != '\0')) {
    home = "";
  } else if (home == NULL) {
    if (getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &pwp) != 0 ||
        pwp == NULL)
      return cfw_err_set(err, -ENOENT, "no home directory for %s", v);
    home = pw.pw_dir;
  }
  len = snprintf(out, n, "%s%s", home, v + (*home != '\0'));
  if (len < 0 || (size_t)len >= n)
    return cfw_err_set(err, -ENAMETOOLONG, "path too long: %s", v);
  return 0;
}

static void creds_chain_free(struct creds_chain *ch)
{
  size_t i;
  size_t k;

  for (i = 0; i < ARRAY_SIZE(ch->files); i++) {
    for (k = 0; k < CREDS_K_COUNT; k++)
      creds_wipe_free(ch->files[i].v[k]);
  }
}

/* The environment; 1 if it held credentials, 0 if not, or an error. */
static int creds_from_env(const struct creds_opts *o, struct creds *out,
                          struct cfw_err *err)
{
  const char *id = creds_env(o, "AWS_ACCESS_KEY_ID");
  const char *secret = creds_env(o, "AWS_SECRET_ACCESS_KEY");
  char masked[8];

  if (id == NULL)
    return 0;
  if (secret == NULL) {
    creds_mask_key_id(id, masked);
    return cfw_err_set(err, -EINVAL,
                       "AWS_ACCESS_KEY_ID (%s) is set but "
                       "AWS_SECRET_ACCESS_KEY is not",
                       masked);
  }
  if (creds_set_keys(out, id, secret, creds_env(o, "AWS_SESSION_TOKEN"), err) <
      0)
    return -ENOMEM;
  creds_set_source(out, "environment");
  return 1;
}

/* EKS and similar set these for botocore's web identity provider, which
 * comes before the profile; say so rather than use other credentials. */
static int creds_env_web_identity(const struct creds_opts *o,
                                  struct cfw_err *err)
{
  if (creds_env(o, "AWS_WEB_IDENTITY_TOKEN_FILE") == NULL ||
      creds_env(o, "AWS_ROLE_ARN") == NULL)
    return 0;
  return cfw_err_set(err, -EINVAL,
                     "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are set "
                     "(web identity), which cfwatch does not support yet; "
                     "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use "
                     "a profile with credential_process");
}

/* Static keys of one file; 1 if found, 0 if none, or an error. */
static int creds_from_file(const struct creds_chain *ch,
                           const struct creds_file *f, struct creds *out,
                           struct cfw_err *err)
{
  const char *const *v = (const char *const *)f->v;
  char masked[8];

  if (!creds_set(v[CREDS_K_KEY_ID]))
    return 0;
  if (!creds_set(v[CREDS_K_SECRET])) {
    creds_mask_key_id(v[CREDS_K_KEY_ID], masked);
    return cfw_err_set(err, -EINVAL,
                       "profile %s in %s: aws_access_key_id (%s) without "
                       "aws_secret_access_key",
                       ch->profile, f->path, masked);
  }
  if (creds_set_keys(out, v[CREDS_K_KEY_ID], v[CREDS_K_SECRET],
                     v[CREDS_K_TOKEN], err) < 0)
    return -ENOMEM;
  creds_set_source(out, "profile %s in %s", ch->profile, f->path);
  return 1;
}

/* The first key in [from, to) set in either file is an error. */
static int creds_unsupported(const struct creds_chain *ch, size_t from,
                             size_t to, struct cfw_err *err)
{
  size_t k;
  size_t i;

  for (k = from; k < to; k++) {
    for (i = 0; i < ARRAY_SIZE(ch->files); i++) {
      if (!creds_set(ch->files[i].v[k]))
        continue;
      return cfw_err_set(err, -EINVAL,
                         "profile %s uses %s (in %s), which cfwatch does "
                         "not support yet; use credential_process with `aws "
                         "configure export-credentials --profile %s "
                         "--format process`",
                         ch->profile, creds_key_names[k], ch->files[i].path,
                         ch->profile);
    }
  }
  return 0;
}

static const char *creds_file_state(const struct creds_file *f)
{
  if (!f->exists)
    return "no such file";
  if (!f->section_found)
    return "no such profile";
  return "no keys or credential_process";
}

/* The error when nothing gave credentials: it lists what was tried. */
static int creds_none(const struct creds_chain *ch, struct cfw_err *err)
{
  const struct creds_file *cf = &ch->files[0];
  const struct creds_file *cfg = &ch->files[1];

  if (ch->named && !cf->section_found && !cfg->section_found)
    return cfw_err_set(err, -ENOENT,
                       "profile %s not found: searched %s (%s) and %s (%s)",
                       ch->profile, cf->path, creds_file_state(cf), cfg->path,
                       creds_file_state(cfg));
  return cfw_err_set(
      err, -ENOENT,
      "no AWS credentials found; tried %sprofile %s in %s "
      "(%s) and %s (%s)",
      ch->explicit_profile ? "" : "environment (no AWS_ACCESS_KEY_ID), ",
      ch->profile, cf->path, creds_file_state(cf), cfg->path,
      creds_file_state(cfg));
}

/* Steps 2a to 2d of the chain in creds.h. */
static int creds_from_profile(const struct creds_chain *ch, struct creds *out,
                              char **cmd_out, struct cfw_err *err)
{
  const struct creds_file *cf = &ch->files[0];
  const struct creds_file *cfg = &ch->files[1];
  const char *cmd;
  int rc;

  rc = creds_unsupported(ch, CREDS_K_ROLE_ARN, CREDS_K_LOGIN_SESSION, err);
  if (rc == 0)
    rc = creds_from_file(ch, cf, out, err);
  if (rc == 0)
    rc = creds_unsupported(ch, CREDS_K_LOGIN_SESSION, CREDS_K_COUNT, err);
  if (rc != 0)
    return rc < 0 ? rc : CREDS_READY;
  cmd = creds_set(cf->v[CREDS_K_PROCESS]) ? cf->v[CREDS_K_PROCESS]
                                          : cfg->v[CREDS_K_PROCESS];
  if (creds_set(cmd)) {
    *cmd_out = strdup(cmd);
    if (*cmd_out == NULL)
      return cfw_err_set(err, -ENOMEM, "out of memory");
    creds_set_source(out, "credential_process of profile %s", ch->profile);
    return CREDS_RUN_PROCESS;
  }
  rc = creds_from_file(ch, cfg, out, err);
  if (rc != 0)
    return rc < 0 ? rc : CREDS_READY;
  return creds_none(ch, err);
}

static int creds_load_profile(const struct creds_opts *o,
                              struct creds_chain *ch, struct cfw_err *err)
{
  struct creds_file *cf = &ch->files[0];
  struct creds_file *cfg = &ch->files[1];
  int rc;

  ch->profile = o->profile;
  ch->named = creds_set(o->profile);
  ch->explicit_profile = ch->named;
  if (!ch->named) {
    ch->profile = creds_env(o, "AWS_PROFILE");
    ch->named = ch->profile != NULL;
  }
  if (!ch->named)
    ch->profile = "default";
  cfg->is_config = true;
  rc = creds_path(o, "AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials",
                  cf->path, sizeof(cf->path), err);
  if (rc == 0)
    rc = creds_path(o, "AWS_CONFIG_FILE", "~/.aws/config", cfg->path,
                    sizeof(cfg->path), err);
  if (rc == 0)
    rc = creds_file_load(cf, ch->profile, err);
  if (rc == 0)
    rc = creds_file_load(cfg, ch->profile, err);
  return rc;
}

int creds_resolve(const struct creds_opts *o, struct creds *out, char **cmd_out,
                  struct cfw_err *err)
{
  struct creds_chain ch;
  int rc = 0;

  *cmd_out = NULL;
  /* An explicit --profile skips the environment, as in the AWS CLI. */
  if (!creds_set(o->profile))
    rc = creds_from_env(o, out, err);
  if (rc == 0 && !creds_set(o->profile))
    rc = creds_env_web_identity(o, err);
  if (rc != 0)
    return rc < 0 ? rc : CREDS_READY;
  memset(&ch, 0, sizeof(ch));
  rc = creds_load_profile(o, &ch, err);
  if (rc == 0)
    rc = creds_from_profile(&ch, out, cmd_out, err);
  creds_chain_free(&ch);
  return rc;
}
