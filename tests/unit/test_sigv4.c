/* SPDX-License-Identifier: MIT */
#include "sigv4.h"
#include "strlist.h"
#include "test.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>

/* The fixed inputs of the AWS suite, from tests/vectors/sigv4/README.md.
 * They are AWS's published example credentials, not real ones. */
#define SUITE_KEY_ID  "AKIDEXAMPLE"
#define SUITE_SECRET  "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_REGION  "us-east-1"
#define SUITE_SERVICE "service"
#define SUITE_DATE    "20150830T123600Z"
#define SUITE_CASES   34
/* get-vanilla-with-session-token takes this token as a signer input; it
 * is not in the .req. */
#define VANILLA_TOKEN                                                          \
  "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
#define SUITE_DIR CFW_VECTORS_DIR "/sigv4"
#define STS_DIR   "post-sts-token/post-sts-header-"
#define CF_DIR    CFW_VECTORS_DIR "/cloudfront/sigv4-create-invalidation"
#define CF_SIG                                                                 \
  "ff8eefdaa2f3c00e0d7ff4cdbc1716f56b1bd5ea1a3f981c8a6e83483dfc3d86"
#define MAX_HEADERS 16

/* Not applicable to a non-S3 signer: none.  Every one of the 34 cases
 * applies to CloudFront and must pass.  With s3_style_path, the six
 * normalize-path cases below must fail and the other 28 pass. */
static const char *const s3_failures[] = {
    "normalize-path/get-relative",
    "normalize-path/get-relative-relative",
    "normalize-path/get-slash",
    "normalize-path/get-slash-dot-slash",
    "normalize-path/get-slash-pointless-dot",
    "normalize-path/get-slashes",
};

/* A parsed .req: every pointer points into text. */
struct req_file {
  char *text; /* owned */
  struct sigv4_header headers[MAX_HEADERS];
  struct sigv4_request req;
};

struct case_cfg {
  const char *service;
  const char *token; /* session token given to the signer, or NULL */
  bool s3_style_path;
};

/* snprintf into out; everything formatted here is short, so truncation
 * means a broken tree and ends the case. */
static void fmt_checked(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fmt_checked(char *out, size_t len, const char *fmt, ...)
{
  va_list ap;
  int n;

  va_start(ap, fmt);
  n = vsnprintf(out, len, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= len) {
    fprintf(stderr, "too long for %zu bytes: %s\n", len, fmt);
    exit(2);
  }
}

/* Reads a whole file, NUL-terminated; NULL if it cannot. */
static char *read_all(const char *path, size_t *len_out)
{
  FILE *f = fopen(path, "rb");
  char *p = NULL;
  long len;

  if (f == NULL)
    return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 &&
      fseek(f, 0, SEEK_SET) == 0) {
    p = malloc((size_t)len + 1);
    if (p != NULL && fread(p, 1, (size_t)len, f) != (size_t)len) {
      free(p);
      p = NULL;
    }
    if (p != NULL)
      p[len] = '\0';
    if (len_out != NULL)
      *len_out = (size_t)len;
  }
  if (fclose(f) != 0) {
    free(p);
    p = NULL;
  }
  return p;
}

/* Cuts the request line "METHOD target HTTP/1.1"; the target may hold
 * spaces ("/example space/"), so it runs to the last space. */
static int parse_request_line(char *line, struct sigv4_request *req)
{
  char *sp = strchr(line, ' ');
  char *last = strrchr(line, ' ');
  char *q;

  if (sp == NULL || last == sp)
    return -1;
  *sp = '\0';
  *last = '\0';
  req->method = line;
  req->path = sp + 1;
  q = strchr(sp + 1, '?');
  if (q != NULL) {
    *q = '\0';
    req->query = q + 1;
  }
  return 0;
}

/* Cuts "Name:value" lines; a line starting with a space or tab continues
 * the value before it, and the fold is left for the signer. */
static int parse_headers(char *p, struct req_file *rf)
{
  char *end;
  char *colon;
  size_t n = 0;

  while (p != NULL && *p != '\0') {
    end = strchr(p, '\n');
    while (end != NULL && (end[1] == ' ' || end[1] == '\t'))
      end = strchr(end + 1, '\n');
    if (end != NULL)
      *end++ = '\0';
    colon = strchr(p, ':');
    if (colon == NULL || n == MAX_HEADERS)
      return -1;
    *colon = '\0';
    rf->headers[n].name = p;
    rf->headers[n].value = colon + 1;
    n++;
    p = end;
  }
  rf->req.headers = rf->headers;
  rf->req.n_headers = n;
  return 0;
}

/* Parses a .req: the body is whatever follows the first empty line; a
 * single trailing LF (two files have one) ends the headers. */
static int parse_req(const char *path, struct req_file *rf)
{
  size_t len = 0;
  char *blank;
  char *nl;

  memset(rf, 0, sizeof(*rf));
  rf->text = read_all(path, &len);
  if (rf->text == NULL)
    return -1;
  blank = strstr(rf->text, "\n\n");
  if (blank != NULL) {
    *blank = '\0';
    rf->req.payload = blank + 2;
    rf->req.payload_len = len - (size_t)(blank + 2 - rf->text);
  } else if (len > 0 && rf->text[len - 1] == '\n') {
    rf->text[len - 1] = '\0';
  }
  nl = strchr(rf->text, '\n');
  if (nl != NULL)
    *nl++ = '\0';
  if (parse_request_line(rf->text, &rf->req) < 0)
    return -1;
  return parse_headers(nl, rf);
}

/* Signs dir/name.req with the suite's inputs and cfg into out. */
static int sign_case(const char *dir, const char *name,
                     const struct case_cfg *cfg, struct sigv4_result *out)
{
  struct sigv4_creds c = {SUITE_KEY_ID, SUITE_SECRET, cfg->token};
  struct sigv4_params p = {SUITE_REGION, cfg->service, SUITE_DATE,
                           cfg->s3_style_path};
  struct cfw_err err = {0};
  struct req_file rf;
  char path[4096];
  int rc;

  fmt_checked(path, sizeof(path), "%s/%s.req", dir, name);
  rc = parse_req(path, &rf);
  if (rc < 0)
    fprintf(stderr, "%s: cannot parse\n", path);
  if (rc == 0)
    rc = sigv4_sign(&rf.req, &c, &p, out, &err);
  if (rc < 0 && err.code != 0)
    fprintf(stderr, "%s: %s\n", name, err.msg);
  free(rf.text);
  return rc;
}

/* Compares got with dir/name.ext; on a mismatch with report set, names
 * the case and the first differing byte, and fails the test. */
static bool matches(const char *dir, const char *name, const char *ext,
                    const char *got, bool report)
{
  char path[4096];
  char *want;
  size_t i = 0;
  bool same;

  fmt_checked(path, sizeof(path), "%s/%s.%s", dir, name, ext);
  want = read_all(path, NULL);
  same = want != NULL && strcmp(got, want) == 0;
  if (!same && report) {
    while (want != NULL && got[i] != '\0' && got[i] == want[i])
      i++;
    fprintf(stderr, "case %s: .%s differs from byte %zu\n", name, ext, i);
    CHECK_EQ_STR(got, want);
  }
  free(want);
  return same;
}

/* Signs one case and checks .creq, .sts and .authz; true if all match. */
static bool run_case(const char *dir, const char *name,
                     const struct case_cfg *cfg, bool report)
{
  struct sigv4_result r;
  bool ok;

  sigv4_result_init(&r);
  ok = sign_case(dir, name, cfg, &r) == 0;
  if (!ok && report)
    CHECK(!"signing failed, see above");
  ok = ok && matches(dir, name, "creq", buf_str(&r.canonical_request), report);
  ok = ok && matches(dir, name, "sts", buf_str(&r.string_to_sign), report);
  ok = ok && matches(dir, name, "authz", buf_str(&r.authorization), report);
  sigv4_result_free(&r);
  return ok;
}

/* Adds rel (a directory under SUITE_DIR) if it holds <basename>.req, then
 * its subdirectories. */
static void find_cases(const char *rel, struct strlist *out)
{
  char path[4096];
  const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
  struct dirent *d;
  struct stat st;
  DIR *dir;

  fmt_checked(path, sizeof(path), "%s/%s/%s.req", SUITE_DIR, rel, base);
  if (stat(path, &st) == 0)
    CHECK_EQ_INT(strlist_push(out, rel), 0);
  fmt_checked(path, sizeof(path), "%s/%s", SUITE_DIR, rel);
  dir = opendir(path);
  while (dir != NULL && (d = readdir(dir)) != NULL) {
    fmt_checked(path, sizeof(path), "%s/%s/%s", SUITE_DIR, rel, d->d_name);
    if (d->d_name[0] == '.' || stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
      continue;
    fmt_checked(path, sizeof(path), "%s/%s", rel, d->d_name);
    find_cases(path, out);
  }
  if (dir != NULL)
    closedir(dir);
}

/* Lists every case as a path relative to SUITE_DIR, sorted. */
static void list_cases(struct strlist *out)
{
  struct dirent *d;
  DIR *dir = opendir(SUITE_DIR);

  strlist_init(out);
  CHECK(dir != NULL);
  while (dir != NULL && (d = readdir(dir)) != NULL)
    if (d->d_name[0] != '.')
      find_cases(d->d_name, out);
  if (dir != NULL)
    closedir(dir);
  strlist_sort_unique(out);
}

/* Runs case rel (relative to SUITE_DIR) with the suite's service. */
static bool run_suite_case(const char *rel, bool s3, bool report)
{
  char dir[4096];
  const char *name = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
  struct case_cfg cfg = {SUITE_SERVICE, NULL, s3};

  if (strcmp(name, "get-vanilla-with-session-token") == 0)
    cfg.token = VANILLA_TOKEN;
  fmt_checked(dir, sizeof(dir), "%s/%s", SUITE_DIR, rel);
  return run_case(dir, name, &cfg, report);
}

static void test_suite_all_cases_match(void)
{
  struct strlist cases;
  size_t i;

  list_cases(&cases);
  CHECK_EQ_INT(cases.n, SUITE_CASES);
  for (i = 0; i < cases.n; i++)
    run_suite_case(cases.v[i], false, true);
  strlist_free(&cases);
}

static bool is_s3_failure(const char *rel)
{
  size_t i;

  for (i = 0; i < sizeof(s3_failures) / sizeof(s3_failures[0]); i++)
    if (strcmp(rel, s3_failures[i]) == 0)
      return true;
  return false;
}

static void test_s3_style_path_skips_normalisation(void)
{
  struct strlist cases;
  bool ok;
  size_t i;

  list_cases(&cases);
  CHECK_EQ_INT(cases.n, SUITE_CASES);
  for (i = 0; i < cases.n; i++) {
    ok = run_suite_case(cases.v[i], true, false);
    if (ok == is_s3_failure(cases.v[i]))
      fprintf(stderr, "case %s: S3 style %s\n", cases.v[i],
              ok ? "passed, expected a mismatch" : "failed");
    CHECK(ok != is_s3_failure(cases.v[i]));
  }
  strlist_free(&cases);
}

/* Signs the .req of an STS case with token as the signer input. */
static void sign_sts(const char *which, const char *token,
                     struct sigv4_result *r)
{
  struct case_cfg cfg = {SUITE_SERVICE, token, false};
  char dir[4096];
  char name[64];

  fmt_checked(dir, sizeof(dir), "%s/%s%s", SUITE_DIR, STS_DIR, which);
  fmt_checked(name, sizeof(name), "post-sts-header-%s", which);
  CHECK_EQ_INT(sign_case(dir, name, &cfg, r), 0);
}

/* Returns the token the STS cases use, from header-after's .sreq. */
static char *sts_token(void)
{
  char *sreq = read_all(SUITE_DIR "/" STS_DIR "after/post-sts-header-after"
                                  ".sreq",
                        NULL);
  char *p = sreq ? strstr(sreq, "X-Amz-Security-Token:") : NULL;
  char *tok = NULL;

  CHECK(p != NULL);
  if (p != NULL)
    tok = strndup(p + strlen("X-Amz-Security-Token:"),
                  strcspn(p, "\n") - strlen("X-Amz-Security-Token:"));
  free(sreq);
  return tok;
}

static void test_sts_header_before_signs_token(void)
{
  struct sigv4_result r;
  char *tok = sts_token();
  const char *dir = SUITE_DIR "/" STS_DIR "before";

  sigv4_result_init(&r);
  /* The .req carries the header; passing the same token too changes
   * nothing. */
  sign_sts("before", NULL, &r);
  CHECK_CONTAINS(buf_str(&r.authorization),
                 "SignedHeaders=host;x-amz-date;x-amz-security-token,");
  CHECK(matches(dir, "post-sts-header-before", "authz",
                buf_str(&r.authorization), true));
  sign_sts("before", tok, &r);
  CHECK(matches(dir, "post-sts-header-before", "authz",
                buf_str(&r.authorization), true));
  sigv4_result_free(&r);
  free(tok);
}

static void test_sts_header_after_leaves_token_unsigned(void)
{
  struct sigv4_result r;
  char *tok = sts_token();
  const char *after = SUITE_DIR "/" STS_DIR "after";
  const char *before = SUITE_DIR "/" STS_DIR "before";

  sigv4_result_init(&r);
  /* Signed without the token, which the caller adds afterwards. */
  sign_sts("after", NULL, &r);
  CHECK_CONTAINS(buf_str(&r.authorization), "SignedHeaders=host;x-amz-date,");
  CHECK(matches(after, "post-sts-header-after", "authz",
                buf_str(&r.authorization), true));
  /* The same request with the token as a signer input is header-before. */
  sign_sts("after", tok, &r);
  CHECK(matches(before, "post-sts-header-before", "authz",
                buf_str(&r.authorization), true));
  sigv4_result_free(&r);
  free(tok);
}

static void test_session_token_input_is_signed(void)
{
  struct sigv4_result r;
  struct case_cfg cfg = {SUITE_SERVICE, VANILLA_TOKEN, false};
  const char *dir = SUITE_DIR "/get-vanilla-with-session-token";

  sigv4_result_init(&r);
  CHECK_EQ_INT(sign_case(dir, "get-vanilla-with-session-token", &cfg, &r), 0);
  CHECK_CONTAINS(buf_str(&r.canonical_request),
                 "\nx-amz-security-token:" VANILLA_TOKEN "\n");
  /* Its .sreq carries get-vanilla's signature by mistake; .authz rules. */
  CHECK_EQ_STR(r.signature, "07ec1639c89043aa0e3e2de82b96708f"
                            "198cceab042d4a97044c66dd9f74e7f8");
  sigv4_result_free(&r);
}

static void test_cloudfront_vector_matches(void)
{
  struct case_cfg cfg = {"cloudfront", NULL, false};
  struct sigv4_result r;

  CHECK(run_case(CF_DIR, "create-invalidation", &cfg, true));
  sigv4_result_init(&r);
  CHECK_EQ_INT(sign_case(CF_DIR, "create-invalidation", &cfg, &r), 0);
  CHECK_EQ_STR(r.signature, CF_SIG);
  CHECK_EQ_STR(buf_str(&r.authorization),
               "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/"
               "cloudfront/aws4_request, SignedHeaders=content-type;host;"
               "x-amz-date, Signature=" CF_SIG);
  sigv4_result_free(&r);
}

static void test_amz_date_formats_utc(void)
{
  char out[17];

  CHECK_EQ_INT(sigv4_amz_date(1440938160, out), 0);
  CHECK_EQ_STR(out, SUITE_DATE);
  CHECK_EQ_INT(sigv4_amz_date(0, out), 0);
  CHECK_EQ_STR(out, "19700101T000000Z");
  CHECK_EQ_INT(sigv4_amz_date(951782400, out), 0);
  CHECK_EQ_STR(out, "20000229T000000Z");
  CHECK_EQ_INT(sigv4_amz_date(INT64_C(253402300799), out), 0);
  CHECK_EQ_STR(out, "99991231T235959Z");
}

static void test_amz_date_rejects_out_of_range(void)
{
  char out[17];

  CHECK_EQ_INT(sigv4_amz_date(-1, out), -ERANGE);
  CHECK_EQ_INT(sigv4_amz_date(INT64_C(253402300800), out), -ERANGE);
  CHECK_EQ_INT(sigv4_amz_date(INT64_MAX, out), -ERANGE);
  CHECK_EQ_INT(sigv4_amz_date(INT64_MIN, out), -ERANGE);
}

/* A small valid request for the tests below. */
struct fixture {
  struct sigv4_header headers[3];
  struct sigv4_request req;
  struct sigv4_creds creds;
  struct sigv4_params params;
  struct sigv4_result r;
  struct cfw_err err;
};

static void fixture_init(struct fixture *f)
{
  memset(f, 0, sizeof(*f));
  f->headers[0] = (struct sigv4_header){"Host", "example.amazonaws.com"};
  f->headers[1] = (struct sigv4_header){"X-Amz-Date", SUITE_DATE};
  f->req =
      (struct sigv4_request){"GET", "/", NULL, f->headers, 2, NULL, 0, NULL};
  f->creds = (struct sigv4_creds){SUITE_KEY_ID, SUITE_SECRET, NULL};
  f->params =
      (struct sigv4_params){SUITE_REGION, SUITE_SERVICE, SUITE_DATE, false};
  sigv4_result_init(&f->r);
}

static int fixture_sign(struct fixture *f)
{
  return sigv4_sign(&f->req, &f->creds, &f->params, &f->r, &f->err);
}

/* Returns line n (from 0) of the canonical request in out. */
static const char *creq_line(const struct fixture *f, int n, char *out,
                             size_t len)
{
  const char *p = buf_str(&f->r.canonical_request);

  for (; n > 0 && p != NULL; n--) {
    p = strchr(p, '\n');
    p = p != NULL ? p + 1 : NULL;
  }
  fmt_checked(out, len, "%.*s", p ? (int)strcspn(p, "\n") : 0, p ? p : "");
  return out;
}

/* Signs f, expecting -EINVAL with no credential in the message. */
static void expect_einval_without_secrets(struct fixture *f, const char *tok)
{
  CHECK_EQ_INT(fixture_sign(f), -EINVAL);
  CHECK_EQ_INT(f->err.code, -EINVAL);
  CHECK(strncmp(f->err.msg, "sigv4: ", 7) == 0 && f->err.msg[7] != '\0');
  CHECK(strstr(f->err.msg, SUITE_SECRET) == NULL);
  CHECK(strstr(f->err.msg, "wJalr") == NULL);
  CHECK(tok == NULL || strstr(f->err.msg, tok) == NULL);
  CHECK_EQ_STR(buf_str(&f->r.authorization), "");
  CHECK_EQ_STR(f->r.signature, "");
  sigv4_result_free(&f->r);
}

static void test_errors_never_quote_secrets(void)
{
  struct fixture f;

  fixture_init(&f); /* key id and secret swapped */
  f.creds = (struct sigv4_creds){SUITE_SECRET, SUITE_KEY_ID, NULL};
  expect_einval_without_secrets(&f, NULL);
  fixture_init(&f); /* secret passed as the region */
  f.params.region = SUITE_SECRET;
  expect_einval_without_secrets(&f, NULL);
  fixture_init(&f); /* secret with a stray line appended, too long */
  f.creds.secret_access_key =
      SUITE_SECRET SUITE_SECRET SUITE_SECRET SUITE_SECRET "\n";
  expect_einval_without_secrets(&f, NULL);
  fixture_init(&f); /* token header differs from the token input */
  f.headers[2] = (struct sigv4_header){"X-Amz-Security-Token", "tkA"};
  f.req.n_headers = 3;
  f.creds.session_token = "tkB";
  expect_einval_without_secrets(&f, "tk");
  fixture_init(&f); /* token header value that would split the header */
  f.headers[2] = (struct sigv4_header){"X-Amz-Security-Token", "tk\nA"};
  f.req.n_headers = 3;
  expect_einval_without_secrets(&f, "tk");
}

static void test_failed_sign_empties_result(void)
{
  struct fixture f;

  fixture_init(&f);
  CHECK_EQ_INT(fixture_sign(&f), 0);
  CHECK(f.r.signature[0] != '\0');
  f.params.amz_date = "2015-08-30";
  CHECK_EQ_INT(fixture_sign(&f), -EINVAL);
  CHECK_CONTAINS(f.err.msg, "amz_date");
  CHECK_EQ_STR(buf_str(&f.r.canonical_request), "");
  CHECK_EQ_STR(buf_str(&f.r.string_to_sign), "");
  CHECK_EQ_STR(buf_str(&f.r.authorization), "");
  CHECK_EQ_STR(f.r.signature, "");
  sigv4_result_free(&f.r);
}

static void test_result_is_reusable(void)
{
  struct fixture f;
  char first[65];

  fixture_init(&f);
  CHECK_EQ_INT(fixture_sign(&f), 0);
  memcpy(first, f.r.signature, sizeof(first));
  CHECK_EQ_INT(fixture_sign(&f), 0);
  CHECK_EQ_STR(f.r.signature, first);
  /* get-vanilla's signature, from its .authz. */
  CHECK_EQ_STR(first, "5fa00fa31553b73ebf1942676e86291e"
                      "8372ff2a2260956d9b8aae1d763fbf31");
  sigv4_result_free(&f.r);
  sigv4_result_free(&f.r);
  sigv4_result_free(NULL);
}

static void test_path_escapes_are_encoded_again(void)
{
  struct fixture f;
  char line[256];

  fixture_init(&f);
  f.req.path = "/a%20b/c%2Fd";
  CHECK_EQ_INT(fixture_sign(&f), 0);
  CHECK_EQ_STR(creq_line(&f, 1, line, sizeof(line)), "/a%2520b/c%252Fd");
  sigv4_result_free(&f.r);
}

static void test_dot_segments_follow_rfc3986(void)
{
  static const char *const cases[][2] = {
      {"/a/b/..", "/a/"},       {"/a/./b/../c", "/a/c"}, {"/a/.", "/a/"},
      {"/../../a", "/a"},       {"/a//b///", "/a/b/"},   {"/.../a", "/.../a"},
      {"/a/..b/c", "/a/..b/c"},
  };
  struct fixture f;
  char line[256];
  size_t i;

  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    fixture_init(&f);
    f.req.path = cases[i][0];
    CHECK_EQ_INT(fixture_sign(&f), 0);
    CHECK_EQ_STR(creq_line(&f, 1, line, sizeof(line)), cases[i][1]);
    sigv4_result_free(&f.r);
  }
}

static void test_query_is_reencoded_and_sorted(void)
{
  struct fixture f;
  char line[256];

  fixture_init(&f);
  f.req.query = "b&&a=x+y%2f%7e&a=%20&Marker=";
  CHECK_EQ_INT(fixture_sign(&f), 0);
  CHECK_EQ_STR(creq_line(&f, 2, line, sizeof(line)),
               "Marker=&a=%20&a=x%2By%2F~&b=");
  sigv4_result_free(&f.r);
}

static void test_query_bad_escape_is_einval(void)
{
  static const char *const bad[] = {"a=%zz", "a=%4", "%=1", "a=b%"};
  struct fixture f;
  size_t i;

  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    fixture_init(&f);
    f.req.query = bad[i];
    CHECK_EQ_INT(fixture_sign(&f), -EINVAL);
    CHECK_CONTAINS(f.err.msg, "query");
    sigv4_result_free(&f.r);
  }
}

static void test_bad_headers_are_einval(void)
{
  static const struct sigv4_header bad[] = {
      {"Authorization", "x"}, {"Bad Name", "x"}, {"", "x"},
      {"X-A", "a\rb"},        {"X-A", "a\n"},    {"X-A", NULL},
  };
  struct fixture f;
  size_t i;

  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    fixture_init(&f);
    f.headers[2] = bad[i];
    f.req.n_headers = 3;
    CHECK_EQ_INT(fixture_sign(&f), -EINVAL);
    CHECK_CONTAINS(f.err.msg, "header");
    sigv4_result_free(&f.r);
  }
  fixture_init(&f);
  f.headers[0].name = "X-Not-Host";
  CHECK_EQ_INT(fixture_sign(&f), -EINVAL);
  CHECK_CONTAINS(f.err.msg, "no Host header");
  sigv4_result_free(&f.r);
}

static void test_header_values_fold_and_collapse(void)
{
  struct fixture f;
  char line[256];

  fixture_init(&f);
  f.headers[2] = (struct sigv4_header){"X-A", " \t a \r\n\t b\n  c  d \t"};
  f.req.n_headers = 3;
  CHECK_EQ_INT(fixture_sign(&f), 0);
  CHECK_EQ_STR(creq_line(&f, 4, line, sizeof(line)), "x-a:a b c d");
  sigv4_result_free(&f.r);
}

static void test_oversized_request_is_e2big(void)
{
  struct fixture f;
  char *big = malloc(SIGV4_TEXT_MAX + 1);

  CHECK(big != NULL);
  if (big == NULL)
    return;
  memset(big, 'v', SIGV4_TEXT_MAX);
  big[SIGV4_TEXT_MAX] = '\0';
  fixture_init(&f);
  f.headers[2] = (struct sigv4_header){"X-Big", big};
  f.req.n_headers = 3;
  CHECK_EQ_INT(fixture_sign(&f), -E2BIG);
  CHECK_CONTAINS(f.err.msg, "bytes");
  sigv4_result_free(&f.r);
  free(big);
}

TEST_MAIN(TEST(test_suite_all_cases_match),
          TEST(test_s3_style_path_skips_normalisation),
          TEST(test_sts_header_before_signs_token),
          TEST(test_sts_header_after_leaves_token_unsigned),
          TEST(test_session_token_input_is_signed),
          TEST(test_cloudfront_vector_matches), TEST(test_amz_date_formats_utc),
          TEST(test_amz_date_rejects_out_of_range),
          TEST(test_errors_never_quote_secrets),
          TEST(test_failed_sign_empties_result), TEST(test_result_is_reusable),
          TEST(test_path_escapes_are_encoded_again),
          TEST(test_dot_segments_follow_rfc3986),
          TEST(test_query_is_reencoded_and_sorted),
          TEST(test_query_bad_escape_is_einval),
          TEST(test_bad_headers_are_einval),
          TEST(test_header_values_fold_and_collapse),
          TEST(test_oversized_request_is_e2big))
