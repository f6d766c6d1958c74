/* SPDX-License-Identifier: MIT */
#include "s3.h"

#include "s3_fixture.h"
#include "test.h"

/* The S3 calls against the stand-in over loopback TLS: what each sends
 * (the stand-in checks every signature with botocore's S3SigV4Auth and
 * every checksum) and what it reads back. */

/* Every S3 request the stand-in saw was signed right. */
static void check_all_signed(const struct standin *si, size_t min)
{
  json_t *log = standin_s3_log(si);
  json_t *e;
  size_t i;

  CHECK(json_array_size(log) >= min);
  json_array_foreach(log, i, e)
  {
    if (!json_is_true(json_object_get(e, "signature_ok")))
      fprintf(stderr, "request %zu: %s %s: %s\n", i,
              json_string_value(json_object_get(e, "method")),
              json_string_value(json_object_get(e, "path")),
              json_string_value(json_object_get(e, "auth_error")));
    CHECK(json_is_true(json_object_get(e, "signature_ok")));
  }
  json_decref(log);
}

static const char *jstr(const json_t *o, const char *path1, const char *path2)
{
  const json_t *v = json_object_get(o, path1);

  if (path2 != NULL)
    v = json_object_get(v, path2);
  return json_is_string(v) ? json_string_value(v) : "(none)";
}

static void put_file(struct s3fx *f, const char *key, int fd, uint64_t size,
                     const unsigned char md[32], const struct s3_put_opts *po,
                     struct s3got *g)
{
  struct cfw_err err = {0};

  memset(g, 0, sizeof(*g));
  g->f = f;
  CHECK_EQ_INT(
      s3_put_file(f->s3, key, fd, size, md, po, s3got_on_result, g, NULL, &err),
      0);
  CHECK_EQ_STR(err.msg, "");
  s3fx_run(f, f->n_done + 1);
}

/* A file shorter than the size it was hashed at (truncated under the
 * upload) is a changed file, not a transient failure: before, the PUT
 * was retried with backoff until the deadline, each attempt failing the
 * same way, and the daemon's pass never settled. */
static void test_file_that_ends_early_is_changed_not_retried(void)
{
  struct s3_client_opts o = {0};
  unsigned char md[32];
  char hex[65];
  struct s3fx f;
  struct s3got g;
  int fd;

  o.retry_for_ms = 30000;
  s3fx_init(&f, NULL, &o);
  fd = s3fx_file(&f, "short", 1000, md, hex);
  put_file(&f, "k", fd, 4000, md, NULL, &g);
  CHECK_EQ_INT(g.outcome, S3_CHANGED);
  CHECK_CONTAINS(g.err.msg, "changed since it was hashed");
  CHECK_EQ_INT(g.attempts, 1);
  CHECK(!standin_has(&f.si, STANDIN_BUCKET, "k"));
  close(fd);
  s3got_free(&g);
  s3fx_done(&f);
}

/* A field of /proc/self/status in KiB ("VmRSS", "VmHWM"). */
static uint64_t proc_status_kib(const char *name)
{
  char line[256];
  size_t n = strlen(name);
  uint64_t kib = 0;
  FILE *in = fopen("/proc/self/status", "r");

  REQUIRE(in != NULL);
  while (fgets(line, sizeof(line), in) != NULL)
    if (strncmp(line, name, n) == 0 && line[n] == ':')
      kib = strtoull(line + n + 1, NULL, 10);
  CHECK_EQ_INT(fclose(in), 0);
  REQUIRE(kib > 0);
  return kib;
}

/* Resets VmHWM to the current RSS (proc(5), clear_refs: 5). */
static void reset_peak_rss(void)
{
  int fd = open("/proc/self/clear_refs", O_WRONLY);

  REQUIRE(fd >= 0);
  CHECK_EQ_INT(write(fd, "5", 1), 1);
  CHECK_EQ_INT(close(fd), 0);
}

/* A PUT streams its file from disk (two 256 KiB chunks of read-ahead,
 * http.h): the peak RSS over the upload of 48 MiB, reset just before,
 * grows by far less than the file (2 MiB; 12 MiB under ASan). */
static void test_put_file_streams_in_bounded_memory(void)
{
  const uint64_t size = (uint64_t)48 << 20;
  uint64_t before_kib;
  uint64_t peak_kib;
  unsigned char md[32];
  struct s3fx f;
  struct s3got g;
  int fd;

  s3fx_init(&f, NULL, NULL);
  fd = s3fx_file(&f, "big", size, md, NULL);
  before_kib = proc_status_kib("VmRSS");
  reset_peak_rss();
  put_file(&f, "big", fd, size, md, NULL, &g);
  peak_kib = proc_status_kib("VmHWM");
  CHECK(fprintf(stderr, "48 MiB PUT: RSS %llu KiB before, peak %llu KiB\n",
                (unsigned long long)before_kib,
                (unsigned long long)peak_kib) > 0);
  CHECK_EQ_INT(g.outcome, S3_OK);
  /* Half the file: under ASan the peak grows by some 12 MiB (its
   * allocator keeps freed blocks a while); a file read whole adds 48. */
  CHECK(peak_kib < before_kib + size / 2 / 1024);
  CHECK(standin_has(&f.si, STANDIN_BUCKET, "big"));
  close(fd);
  s3got_free(&g);
  s3fx_done(&f);
}

static void put_buf(struct s3fx *f, const char *key, const char *text,
                    const struct s3_put_opts *po, struct s3got *g)
{
  struct cfw_err err = {0};

  memset(g, 0, sizeof(*g));
  g->f = f;
  CHECK_EQ_INT(s3_put_buf(f->s3, key, text, strlen(text), po, s3got_on_result,
                          g, NULL, &err),
               0);
  s3fx_run(f, f->n_done + 1);
}

static void test_put_file_stores_bytes_checksum_and_headers(void)
{
  static const struct s3_meta meta[] = {{"cfwatch-sha256", "abc"},
                                        {"Tag", "v1"}};
  struct s3_put_opts po = {0};
  unsigned char md[32];
  char hex[65];
  char b64[45];
  struct s3fx f;
  struct s3got g;
  json_t *o;
  int fd;

  s3fx_init(&f, NULL, NULL);
  fd = s3fx_file(&f, "page", 300001, md, hex);
  s3fx_b64(md, b64);
  po.content_type = "text/html; charset=utf-8";
  po.cache_control = "max-age=60";
  po.content_encoding = "identity";
  po.content_disposition = "inline";
  po.meta = meta;
  po.n_meta = ARRAY_SIZE(meta);
  put_file(&f, "site/a b+c.html", fd, 300001, md, &po, &g);
  CHECK_EQ_INT(g.outcome, S3_OK);
  CHECK_EQ_STR(g.err.msg, "");
  CHECK_EQ_INT(g.attempts, 1);
  CHECK_EQ_STR(g.checksum, b64);
  o = standin_object(&f.si, STANDIN_BUCKET, "site/a b+c.html");
  REQUIRE(o != NULL);
  CHECK_EQ_STR(jstr(o, "sha256", NULL), hex);
  CHECK_EQ_INT(json_integer_value(json_object_get(o, "size")), 300001);
  CHECK_EQ_STR(jstr(o, "etag", NULL), g.etag);
  CHECK_EQ_STR(jstr(o, "checksum", "algorithm"), "SHA256");
  CHECK_EQ_STR(jstr(o, "checksum", "value"), b64);
  CHECK_EQ_STR(jstr(o, "headers", "content-type"), "text/html; charset=utf-8");
  CHECK_EQ_STR(jstr(o, "headers", "cache-control"), "max-age=60");
  CHECK_EQ_STR(jstr(o, "headers", "content-encoding"), "identity");
  CHECK_EQ_STR(jstr(o, "headers", "content-disposition"), "inline");
  CHECK_EQ_STR(jstr(o, "metadata", "x-amz-meta-tag"), "v1");
  CHECK_EQ_STR(jstr(o, "metadata", "x-amz-meta-cfwatch-sha256"), "abc");
  json_decref(o);
  check_all_signed(&f.si, 1);
  close(fd);
  s3got_free(&g);
  s3fx_done(&f);
}

/* The file is rewritten after it was hashed: S3 refuses the bytes and
 * the call says "changed", so the caller puts the file back to pending. */
static void test_file_changed_after_hashing_is_changed(void)
{
  unsigned char md[32];
  unsigned char md2[32];
  struct s3fx f;
  struct s3got g;
  int fd;

  s3fx_init(&f, NULL, NULL);
  fd = s3fx_file(&f, "page", 5000, md, NULL);
  close(s3fx_file(&f, "page2", 5000, md2, NULL));
  REQUIRE(pwrite(fd, "changed!", 8, 100) == 8);
  put_file(&f, "page.html", fd, 5000, md, NULL, &g);
  CHECK_EQ_INT(g.outcome, S3_CHANGED);
  CHECK_EQ_STR(g.code, "XAmzContentSHA256Mismatch");
  CHECK_CONTAINS(g.err.msg, "changed since it was hashed");
  CHECK_CONTAINS(g.err.msg, "s3://" STANDIN_BUCKET "/page.html");
  CHECK_EQ_INT(g.attempts, 1);
  CHECK(!standin_has(&f.si, STANDIN_BUCKET, "page.html"));
  close(fd);
  s3got_free(&g);
  s3fx_done(&f);
}

static void get(struct s3fx *f, const char *key, size_t max, struct s3got *g)
{
  struct cfw_err err = {0};

  memset(g, 0, sizeof(*g));
  g->f = f;
  CHECK_EQ_INT(s3_get(f->s3, key, max, s3got_on_result, g, NULL, &err), 0);
  s3fx_run(f, f->n_done + 1);
}

static void head(struct s3fx *f, const char *key, struct s3got *g)
{
  struct cfw_err err = {0};

  memset(g, 0, sizeof(*g));
  g->f = f;
  CHECK_EQ_INT(s3_head(f->s3, key, s3got_on_result, g, NULL, &err), 0);
  s3fx_run(f, f->n_done + 1);
}

static void test_put_buf_then_get_and_head(void)
{
  static const struct s3_meta meta[] = {{"Generation", "7"}};
  struct s3_put_opts po = {0};
  unsigned char md[32];
  char b64[45];
  struct s3fx f;
  struct s3got g;
  struct s3got h;

  s3fx_init(&f, NULL, NULL);
  po.meta = meta;
  po.n_meta = 1;
  put_buf(&f, "state/manifest", "{\"v\": 1}\n", &po, &g);
  CHECK_EQ_INT(g.outcome, S3_OK);
  get(&f, "state/manifest", 0, &h);
  CHECK_EQ_INT(h.outcome, S3_OK);
  CHECK_EQ_INT(h.body_len, 9);
  CHECK_EQ_STR(h.body, "{\"v\": 1}\n");
  CHECK_EQ_STR(h.info.etag, g.etag);
  CHECK_EQ_INT(h.info.size, 9);
  CHECK_EQ_STR(h.info.content_type, "binary/octet-stream");
  REQUIRE(EVP_Digest("{\"v\": 1}\n", 9, md, NULL, EVP_sha256(), NULL) == 1);
  s3fx_b64(md, b64);
  CHECK_EQ_STR(h.info.checksum, b64);
  s3got_free(&h);
  head(&f, "state/manifest", &h);
  CHECK_EQ_INT(h.outcome, S3_OK);
  CHECK_EQ_INT(h.info.size, 9);
  CHECK_EQ_STR(h.info.etag, g.etag);
  CHECK_EQ_STR(h.info.checksum, b64);
  REQUIRE(h.info.n_meta == 1);
  CHECK_EQ_STR(h.info.meta[0].name, "generation");
  CHECK_EQ_STR(h.info.meta[0].value, "7");
  check_all_signed(&f.si, 3);
  s3got_free(&g);
  s3got_free(&h);
  s3fx_done(&f);
}

static void get_range(struct s3fx *f, const char *key, uint64_t off, size_t len,
                      const char *if_match, struct s3got *g)
{
  struct cfw_err err = {0};

  memset(g, 0, sizeof(*g));
  g->f = f;
  CHECK_EQ_INT(s3_get_range(f->s3, key, off, len, if_match, s3got_on_result, g,
                            NULL, &err),
               0);
  s3fx_run(f, f->n_done + 1);
}

/* A part of an object, with the whole's size; pinned to an ETag. */
static void test_get_range_gives_a_part_and_the_total(void)
{
  struct s3fx f;
  struct s3got g;
  struct s3got h;

  s3fx_init(&f, NULL, NULL);
  put_buf(&f, "state/manifest", "0123456789", NULL, &g);
  REQUIRE(g.outcome == S3_OK);
  get_range(&f, "state/manifest", 2, 4, g.etag, &h);
  CHECK_EQ_INT(h.outcome, S3_OK);
  CHECK_EQ_INT(h.status, 206);
  CHECK_EQ_INT(h.body_len, 4);
  CHECK(memcmp(h.body, "2345", 4) == 0);
  CHECK_EQ_INT(h.info.total, 10);
  s3got_free(&h);
  get_range(&f, "state/manifest", 8, 4, NULL, &h); /* past the end */
  CHECK_EQ_INT(h.body_len, 2);
  CHECK_EQ_INT(h.info.total, 10);
  s3got_free(&h);
  get_range(&f, "state/manifest", 0, 4, "\"not-it\"", &h);
  CHECK_EQ_INT(h.outcome, S3_PRECONDITION);
  s3got_free(&h);
  s3got_free(&g);
  s3fx_done(&f);
}

static void test_get_over_cap_fails_and_missing_is_not_found(void)
{
  struct s3fx f;
  struct s3got g;

  s3fx_init(&f, NULL, NULL);
  put_buf(&f, "big", "0123456789", NULL, &g);
  s3got_free(&g);
  get(&f, "big", 9, &g);
  CHECK_EQ_INT(g.outcome, S3_FAILED);
  CHECK_EQ_INT(g.err.code, -E2BIG);
  s3got_free(&g);
  get(&f, "nothing/here", 0, &g);
  CHECK_EQ_INT(g.outcome, S3_NOT_FOUND);
  CHECK_EQ_STR(g.code, "NoSuchKey");
  CHECK_EQ_INT(g.err.code, -ENOENT);
  s3got_free(&g);
  head(&f, "nothing/here", &g);
  CHECK_EQ_INT(g.outcome, S3_NOT_FOUND);
  CHECK_EQ_INT(g.status, 404);
  s3got_free(&g);
  s3fx_done(&f);
}

/* If-None-Match: * creates once; If-Match replaces only the version it
 * names: the lock for state shared between machines. */
static void test_conditional_writes(void)
{
  struct s3_put_opts po = {0};
  char etag[S3_ETAG_MAX + 1];
  struct s3fx f;
  struct s3got g;

  s3fx_init(&f, NULL, NULL);
  po.if_none_match = true;
  put_buf(&f, "state/lock", "one", &po, &g);
  CHECK_EQ_INT(g.outcome, S3_OK);
  str_copy(etag, sizeof(etag), g.etag);
  s3got_free(&g);
  put_buf(&f, "state/lock", "two", &po, &g);
  CHECK_EQ_INT(g.outcome, S3_PRECONDITION);
  CHECK_EQ_INT(g.status, 412);
  CHECK_EQ_STR(g.code, "PreconditionFailed");
  s3got_free(&g);
  po.if_none_match = false;
  po.if_match = etag;
  put_buf(&f, "state/lock", "three", &po, &g);
  CHECK_EQ_INT(g.outcome, S3_OK);
  s3got_free(&g);
  put_buf(&f, "state/lock", "four", &po, &g); /* etag is stale now */
  CHECK_EQ_INT(g.outcome, S3_PRECONDITION);
  s3got_free(&g);
  put_buf(&f, "state/absent", "five", &po, &g);
  CHECK_EQ_INT(g.outcome, S3_NOT_FOUND);
  s3got_free(&g);
  get(&f, "state/lock", 0, &g);
  CHECK_EQ_STR(g.body, "three");
  s3got_free(&g);
  s3fx_done(&f);
}

/* Stores n objects p/00000 ... through the control API. */
static void store_keys(struct s3fx *f, const char *prefix, size_t n)
{
  struct buf b;
  size_t i;

  buf_init(&b, (size_t)16 << 20);
  CHECK_EQ_INT(
      buf_addf(&b, "{\"bucket\": \"%s\", \"objects\": [", STANDIN_BUCKET), 0);
  for (i = 0; i < n; i++)
    CHECK_EQ_INT(buf_addf(&b, "%s{\"key\": \"%s%05zu\", \"text\": \"%zu\"}",
                          i ? ", " : "", prefix, i, i),
                 0);
  CHECK_EQ_INT(buf_adds(&b, "]}"), 0);
  standin_post(&f->si, "s3/objects", buf_str(&b));
  buf_free(&b);
}

static void list(struct s3fx *f, const char *prefix, const char *token,
                 struct s3got *g)
{
  struct cfw_err err = {0};

  memset(g, 0, sizeof(*g));
  g->f = f;
  CHECK_EQ_INT(s3_list(f->s3, prefix, token, s3got_on_result, g, NULL, &err),
               0);
  s3fx_run(f, f->n_done + 1);
}

static void test_list_pages_by_continuation_token(void)
{
  struct s3got g;
  struct s3fx f;
  char *token = NULL;
  size_t total = 0;
  int pages = 0;
  char want[32];

  s3fx_init(&f, NULL, NULL);
  store_keys(&f, "p/", 2500);
  store_keys(&f, "q/", 3);
  do {
    list(&f, "p/", token, &g);
    free(token);
    token = NULL;
    REQUIRE(g.outcome == S3_OK);
    CHECK(g.list.n <= 1000);
    if (g.list.n > 0) {
      (void)snprintf(want, sizeof(want), "p/%05zu", total);
      CHECK_EQ_STR(g.list.items[0].key, want);
      CHECK(g.list.items[0].size >= 1);
      CHECK(g.list.items[0].etag[0] == '"');
      CHECK(g.list.items[0].last_modified[0] != '\0');
    }
    total += g.list.n;
    pages++;
    if (g.list.truncated)
      token = strdup(g.list.next_token);
    s3got_free(&g);
  } while (token != NULL && pages < 10);
  CHECK_EQ_INT(total, 2500);
  CHECK_EQ_INT(pages, 3);
  check_all_signed(&f.si, 3);
  s3fx_done(&f);
}

/* Keys S3 must url-encode in a listing come back as they were put. */
static void test_list_decodes_awkward_keys(void)
{
  static const char *const keys[] = {"k/a b", "k/a+b", "k/caf\xc3\xa9",
                                     "k/x%41y", "k/q?#&="};
  struct s3fx f;
  struct s3got g;
  size_t i;

  s3fx_init(&f, NULL, NULL);
  for (i = 0; i < ARRAY_SIZE(keys); i++) {
    put_buf(&f, keys[i], "x", NULL, &g);
    CHECK_EQ_INT(g.outcome, S3_OK);
    s3got_free(&g);
  }
  list(&f, "k/", NULL, &g);
  REQUIRE(g.list.n == ARRAY_SIZE(keys));
  for (i = 0; i < ARRAY_SIZE(keys); i++)
    CHECK(standin_has(&f.si, STANDIN_BUCKET, g.list.items[i].key));
  CHECK_EQ_STR(g.list.items[0].key, "k/a b");
  CHECK_EQ_STR(g.list.items[1].key, "k/a+b");
  check_all_signed(&f.si, ARRAY_SIZE(keys) + 1);
  s3got_free(&g);
  s3fx_done(&f);
}

static void test_delete_objects_reports_keys_it_kept(void)
{
  static const char *const keys[] = {"d/00000", "d/00001", "keep/3",
                                     "d/absent"};
  struct cfw_err err = {0};
  struct s3fx f;
  struct s3got g = {0};

  s3fx_init(&f, NULL, NULL);
  standin_post(&f.si, "s3/buckets",
               "{\"name\": \"" STANDIN_BUCKET "\", \"refuse_delete\": "
               "[\"keep/\"]}");
  store_keys(&f, "d/", 3);
  standin_post(&f.si, "s3/object",
               "{\"bucket\": \"" STANDIN_BUCKET "\", \"key\": \"keep/3\", "
               "\"text\": \"k\"}");
  g.f = &f;
  CHECK_EQ_INT(s3_delete_objects(f.s3, keys, ARRAY_SIZE(keys), s3got_on_result,
                                 &g, NULL, &err),
               0);
  s3fx_run(&f, 1);
  CHECK_EQ_INT(g.outcome, S3_OK);
  REQUIRE(g.deleted.n_errors == 1);
  CHECK_EQ_STR(g.deleted.errors[0].key, "keep/3");
  CHECK_EQ_STR(g.deleted.errors[0].code, "AccessDenied");
  CHECK_EQ_INT(g.deleted.n_deleted, 0);                  /* Quiet mode */
  CHECK_EQ_INT(standin_count(&f.si, STANDIN_BUCKET), 2); /* and d/00002 */
  CHECK(standin_has(&f.si, STANDIN_BUCKET, "keep/3"));
  check_all_signed(&f.si, 1);
  s3got_free(&g);
  s3fx_done(&f);
}

static void test_bad_arguments_are_refused_before_sending(void)
{
  const char *many[S3_DELETE_MAX + 1];
  char long_key[S3_KEY_MAX + 2];
  struct cfw_err err = {0};
  struct s3fx f;
  size_t i;

  s3fx_init(&f, NULL, NULL);
  memset(long_key, 'k', sizeof(long_key) - 1);
  long_key[sizeof(long_key) - 1] = '\0';
  for (i = 0; i < ARRAY_SIZE(many); i++)
    many[i] = "k";
  CHECK_EQ_INT(
      s3_put_buf(f.s3, "", "x", 1, NULL, s3got_on_result, NULL, NULL, &err),
      -EINVAL);
  CHECK_EQ_INT(s3_put_buf(f.s3, long_key, "x", 1, NULL, s3got_on_result, NULL,
                          NULL, &err),
               -EINVAL);
  CHECK_EQ_INT(s3_delete_objects(f.s3, many, ARRAY_SIZE(many), s3got_on_result,
                                 NULL, NULL, &err),
               -EINVAL);
  CHECK_EQ_INT(s3_mpu_part(f.s3, "k", "id", 0, 0, 0, 1,
                           (const unsigned char *)"01234567890123456789012345"
                                                  "678901",
                           s3got_on_result, NULL, NULL, &err),
               -EINVAL);
  s3fx_done(&f);
}

/* Plain http is for loopback only: nothing is sent elsewhere. */
static void test_plain_http_elsewhere_is_refused(void)
{
  struct s3_client_opts o = {0};
  struct cfw_err err = {0};
  struct s3_client *c = NULL;
  uv_loop_t loop;

  CHECK_EQ_INT(uv_loop_init(&loop), 0);
  o.bucket = STANDIN_BUCKET;
  o.endpoint = "http://s3.example.com";
  CHECK_EQ_INT(s3_client_new(&c, &loop, &o, &err), -EPERM);
  CHECK_CONTAINS(err.msg, "plain http");
  CHECK(c == NULL);
  o.endpoint = "http://127.0.0.1:9";
  CHECK_EQ_INT(s3_client_new(&c, &loop, &o, &err), 0);
  s3_client_destroy(c);
  o.endpoint = "not a url";
  CHECK_EQ_INT(s3_client_new(&c, &loop, &o, &err), -EINVAL);
  o.endpoint = NULL;
  o.region = "EU West";
  CHECK_EQ_INT(s3_client_new(&c, &loop, &o, &err), -EINVAL);
  o.region = NULL;
  o.bucket = "Bad_Bucket";
  CHECK_EQ_INT(s3_client_new(&c, &loop, &o, &err), -EINVAL);
  CHECK_EQ_INT(uv_loop_close(&loop), 0);
}

TEST_MAIN(TEST(test_put_file_stores_bytes_checksum_and_headers),
          TEST(test_file_changed_after_hashing_is_changed),
          TEST(test_put_buf_then_get_and_head),
          TEST(test_get_over_cap_fails_and_missing_is_not_found),
          TEST(test_get_range_gives_a_part_and_the_total),
          TEST(test_conditional_writes),
          TEST(test_list_pages_by_continuation_token),
          TEST(test_list_decodes_awkward_keys),
          TEST(test_delete_objects_reports_keys_it_kept),
          TEST(test_bad_arguments_are_refused_before_sending),
          TEST(test_plain_http_elsewhere_is_refused),
          TEST(test_file_that_ends_early_is_changed_not_retried),
          TEST(test_put_file_streams_in_bounded_memory))
