/* SPDX-License-Identifier: MIT */
#include "cfxml.h"

#include "cflimits.h"
#include "test.h"
#include "util.h"

/* Documents under tests/vectors/cloudfront/. */
#define CF_DIR CFW_VECTORS_DIR "/cloudfront/"

/* Reads CF_DIR rel whole, NUL-terminated; exits the case if it cannot. */
static char *read_vector(const char *rel, size_t *len_out)
{
  char path[4096];
  char *data;
  FILE *f;
  long size;

  if (snprintf(path, sizeof(path), "%s%s", CF_DIR, rel) >= (int)sizeof(path))
    exit(2);
  f = fopen(path, "rb");
  if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
      fseek(f, 0, SEEK_SET) != 0) {
    perror(path);
    exit(2);
  }
  data = malloc((size_t)size + 1);
  if (data == NULL || fread(data, 1, (size_t)size, f) != (size_t)size) {
    perror(path);
    exit(2);
  }
  data[size] = '\0';
  if (fclose(f) != 0)
    exit(2);
  if (len_out != NULL)
    *len_out = (size_t)size;
  return data;
}

/* The request documents are indented and start with an XML declaration,
 * while the batch is one line without one.  This drops the declaration
 * and every whitespace run that lies between two tags, in place, so the
 * two compare byte for byte. */
static char *canonical(char *s)
{
  char *out = s;
  const char *p = s;
  const char *q;

  if (strncmp(p, "<?xml", 5) == 0)
    p = strstr(p, "?>") + 2;
  while (*p != '\0') {
    q = p + strspn(p, " \t\r\n");
    if (q != p && (out == s || out[-1] == '>') && (*q == '<' || *q == '\0')) {
      p = q;
      continue;
    }
    *out++ = *p++;
  }
  *out = '\0';
  return s;
}

/* Copies the raw bytes between open and close in doc, or "" if absent. */
static char *between(const char *doc, const char *open, const char *close)
{
  const char *a = strstr(doc, open);
  const char *b;

  if (a == NULL)
    return strdup("");
  a += strlen(open);
  b = strstr(a, close);
  return strndup(a, b != NULL ? (size_t)(b - a) : 0);
}

static void check_batch_equals(const char *rel, const char *caller_ref,
                               const char *const *paths, size_t n)
{
  struct buf b;
  struct cfw_err err = {0};
  char *want = read_vector(rel, NULL);

  buf_init(&b, 1 << 20);
  CHECK_EQ_INT(cfxml_invalidation_batch(&b, caller_ref, paths, n, &err), 0);
  CHECK_EQ_STR(buf_str(&b), canonical(want));
  buf_free(&b);
  free(want);
}

static void test_batch_matches_plain_request_document(void)
{
  static const char *const paths[] = {"/image1.jpg", "/image2.jpg",
                                      "/videos/movie.flv"};

  check_batch_equals("xml/create-invalidation-request.xml", "20120301090001",
                     paths, 3);
}

static void test_batch_matches_xml_escape_request_document(void)
{
  static const char *const paths[] = {"/search/tom&jerry.html",
                                      "/a&b/index.html"};

  check_batch_equals("xml/create-invalidation-request-xml-escape.xml",
                     "20120301090002", paths, 2);
}

static void test_batch_matches_non_ascii_request_document(void)
{
  static const char *const paths[] = {"/images/caf%C3%A9.jpg",
                                      "/%E6%97%A5%E6%9C%AC%E8%AA%9E/index.html",
                                      "/docs/%E1%88%B4/*"};

  check_batch_equals("xml/create-invalidation-request-non-ascii.xml",
                     "20120301090003", paths, 3);
}

static void test_batch_escapes_all_five_markup_characters(void)
{
  static const char *const paths[] = {"/a&'b'"};
  struct buf b;

  buf_init(&b, 4096);
  CHECK_EQ_INT(cfxml_invalidation_batch(&b, "<r\"&\">", paths, 1, NULL), 0);
  CHECK_CONTAINS(buf_str(&b), "<Path>/a&amp;&apos;b&apos;</Path>");
  CHECK_CONTAINS(buf_str(&b), "<CallerReference>&lt;r&quot;&amp;&quot;&gt;"
                              "</CallerReference>");
  buf_free(&b);
}

static void test_batch_output_parses_back(void)
{
  static const char *const paths[] = {"/x&y", "/docs/*"};
  struct buf b;
  struct cf_invalidation inv;
  char *doc;

  buf_init(&b, 4096);
  CHECK_EQ_INT(cfxml_invalidation_batch(&b, "ref'1", paths, 2, NULL), 0);
  /* Wrap the batch as CloudFront echoes it, then read it with our parser. */
  CHECK(asprintf(&doc,
                 "<Invalidation><Id>I1</Id><Status>InProgress</Status>"
                 "<CreateTime>t</CreateTime>%s</Invalidation>",
                 buf_str(&b)) > 0);
  cf_invalidation_init(&inv);
  CHECK_EQ_INT(cfxml_parse_invalidation(doc, strlen(doc), &inv, NULL), 0);
  CHECK_EQ_INT(inv.paths.n, 2);
  CHECK_EQ_STR(inv.paths.v[0], "/x&y");
  CHECK_EQ_STR(inv.paths.v[1], "/docs/*");
  CHECK_EQ_STR(inv.caller_reference, "ref'1");
  cf_invalidation_free(&inv);
  free(doc);
  buf_free(&b);
}

static void check_batch_refused(const char *caller_ref, const char *path,
                                const char *why)
{
  const char *paths[] = {path};
  struct cfw_err err = {0};
  struct buf b;

  buf_init(&b, 4096);
  CHECK_EQ_INT(cfxml_invalidation_batch(&b, caller_ref, paths, 1, &err),
               -EINVAL);
  CHECK_CONTAINS(err.msg, why);
  CHECK_EQ_INT(b.len, 0);
  buf_free(&b);
}

static void test_batch_refuses_path_without_leading_slash(void)
{
  check_batch_refused("r", "a/b.html", "a path starts with '/'");
}

/* An item starting with '#' is a cache tag (cfpath.h), sent as it is. */
static void test_batch_carries_a_cache_tag(void)
{
  const char *paths[] = {"#product:tv", "/a"};
  struct cfw_err err = {0};
  struct buf b;

  buf_init(&b, 4096);
  CHECK_EQ_INT(cfxml_invalidation_batch(&b, "r", paths, 2, &err), 0);
  CHECK_CONTAINS(buf_str(&b), "<Quantity>2</Quantity><Items><Path>"
                              "#product:tv</Path><Path>/a</Path>");
  buf_free(&b);
}

static void test_batch_refuses_bad_cache_tag(void)
{
  check_batch_refused("r", "#a,b", "holds no ','");
}

static void test_batch_refuses_unencoded_bytes(void)
{
  check_batch_refused("r", "/a b", "byte 2 must be written %20");
  check_batch_refused("r", "/caf\xc3\xa9", "must be written %C3");
  check_batch_refused("r", "/a\nb", "must be written %0A");
}

static void test_batch_refuses_star_before_end(void)
{
  check_batch_refused("r", "/a*/b", "'*' may only come last");
}

static void test_batch_refuses_bad_caller_reference(void)
{
  check_batch_refused("", "/a", "caller reference");
  check_batch_refused("a\tb", "/a", "control byte");
}

static void test_batch_refuses_empty_path_list(void)
{
  struct cfw_err err = {0};
  struct buf b;

  buf_init(&b, 4096);
  CHECK_EQ_INT(cfxml_invalidation_batch(&b, "r", NULL, 0, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "without paths");
  buf_free(&b);
}

static void test_batch_refuses_path_over_cloudfront_length(void)
{
  char *path = malloc(CF_MAX_PATH_LEN + 2);

  memset(path, 'a', CF_MAX_PATH_LEN + 1);
  path[0] = '/';
  path[CF_MAX_PATH_LEN + 1] = '\0';
  check_batch_refused("r", path, "longer than 4000 characters");
  path[CF_MAX_PATH_LEN] = '\0';
  {
    const char *paths[] = {path};
    struct buf b;

    buf_init(&b, 1 << 20);
    CHECK_EQ_INT(cfxml_invalidation_batch(&b, "r", paths, 1, NULL), 0);
    buf_free(&b);
  }
  free(path);
}

static void test_batch_refuses_more_wildcards_than_allowed(void)
{
  const char *paths[CF_MAX_WILDCARDS_IN_PROGRESS + 1];
  struct cfw_err err = {0};
  struct buf b;
  size_t i;

  for (i = 0; i < ARRAY_SIZE(paths); i++)
    paths[i] = "/a/*";
  buf_init(&b, 1 << 20);
  CHECK_EQ_INT(
      cfxml_invalidation_batch(&b, "r", paths, ARRAY_SIZE(paths), &err),
      -E2BIG);
  CHECK_CONTAINS(err.msg, "wildcard");
  CHECK_EQ_INT(
      cfxml_invalidation_batch(&b, "r", paths, ARRAY_SIZE(paths) - 1, &err), 0);
  buf_free(&b);
}

static void test_batch_over_buffer_cap_leaves_buffer_unchanged(void)
{
  static const char *const paths[] = {"/image1.jpg"};
  struct cfw_err err = {0};
  struct buf b;

  buf_init(&b, 100);
  CHECK_EQ_INT(buf_adds(&b, "head"), 0);
  CHECK_EQ_INT(cfxml_invalidation_batch(&b, "r", paths, 1, &err), -E2BIG);
  CHECK_EQ_STR(buf_str(&b), "head");
  CHECK_EQ_INT(b.len, 4);
  CHECK_CONTAINS(err.msg, "over 100 bytes");
  buf_free(&b);
}

static void check_parses_invalidation(const char *rel,
                                      struct cf_invalidation *inv)
{
  struct cfw_err err = {0};
  size_t len;
  char *doc = read_vector(rel, &len);

  cf_invalidation_init(inv);
  CHECK_EQ_INT(cfxml_parse_invalidation(doc, len, inv, &err), 0);
  CHECK_EQ_STR(err.msg, "");
  free(doc);
}

static void check_plain_batch(const struct cf_invalidation *inv)
{
  CHECK_EQ_STR(inv->caller_reference, "20120301090001");
  CHECK_EQ_INT(inv->quantity, 3);
  CHECK_EQ_INT(inv->paths.n, 3);
  if (inv->paths.n != 3)
    return;
  CHECK_EQ_STR(inv->paths.v[0], "/image1.jpg");
  CHECK_EQ_STR(inv->paths.v[1], "/image2.jpg");
  CHECK_EQ_STR(inv->paths.v[2], "/videos/movie.flv");
}

static void test_parse_create_response_201(void)
{
  struct cf_invalidation inv;

  check_parses_invalidation("xml/create-invalidation-response-201.xml", &inv);
  CHECK_EQ_STR(inv.id, "IDFDVBD632BHDS5");
  CHECK_EQ_STR(inv.status, "InProgress");
  CHECK_EQ_STR(inv.create_time, "2019-12-05T18:45:12.150Z");
  check_plain_batch(&inv);
  cf_invalidation_free(&inv);
}

static void test_parse_get_in_progress(void)
{
  struct cf_invalidation inv;

  check_parses_invalidation("xml/get-invalidation-response-inprogress.xml",
                            &inv);
  CHECK_EQ_STR(inv.id, "IDFDVBD632BHDS5");
  CHECK_EQ_STR(inv.status, "InProgress");
  check_plain_batch(&inv);
  cf_invalidation_free(&inv);
}

static void test_parse_get_completed_unescapes_ampersands(void)
{
  struct cf_invalidation inv;

  check_parses_invalidation("xml/get-invalidation-response-completed.xml",
                            &inv);
  CHECK_EQ_STR(inv.id, "I2J0I21PCUYOIK");
  CHECK_EQ_STR(inv.status, "Completed");
  CHECK_EQ_STR(inv.create_time, "2019-12-05T18:40:49Z");
  CHECK_EQ_STR(inv.caller_reference, "20120301090002");
  CHECK_EQ_INT(inv.paths.n, 2);
  if (inv.paths.n == 2) {
    CHECK_EQ_STR(inv.paths.v[0], "/search/tom&jerry.html");
    CHECK_EQ_STR(inv.paths.v[1], "/a&b/index.html");
  }
  cf_invalidation_free(&inv);
}

static void test_parse_list_reads_paging_fields_newest_first(void)
{
  struct cf_invalidation_list l;
  struct cfw_err err = {0};
  size_t len;
  char *doc = read_vector("xml/list-invalidations-response.xml", &len);

  cf_invalidation_list_init(&l);
  CHECK_EQ_INT(cfxml_parse_invalidation_list(doc, len, &l, &err), 0);
  CHECK(l.is_truncated);
  CHECK_EQ_STR(l.next_marker, "I2J0I21PCUYOIK");
  CHECK_EQ_INT(l.quantity, 2);
  CHECK_EQ_INT(l.n, 2);
  if (l.n == 2) {
    CHECK_EQ_STR(l.items[0].id, "IDFDVBD632BHDS5");
    CHECK_EQ_STR(l.items[0].status, "InProgress");
    CHECK_EQ_STR(l.items[0].create_time, "2019-12-05T18:45:12.150Z");
    CHECK_EQ_STR(l.items[1].id, "I2J0I21PCUYOIK");
    CHECK_EQ_STR(l.items[1].status, "Completed");
    CHECK_EQ_STR(l.items[1].create_time, "2019-12-05T18:40:49Z");
  }
  cf_invalidation_list_free(&l);
  free(doc);
}

static void test_parse_empty_last_list_page(void)
{
  static const char doc[] =
      "<InvalidationList><Marker>I2</Marker><MaxItems>100</MaxItems>"
      "<IsTruncated>false</IsTruncated><Quantity>0</Quantity>"
      "</InvalidationList>";
  struct cf_invalidation_list l;

  cf_invalidation_list_init(&l);
  CHECK_EQ_INT(cfxml_parse_invalidation_list(doc, strlen(doc), &l, NULL), 0);
  CHECK(!l.is_truncated);
  CHECK_EQ_INT(l.n, 0);
  CHECK_EQ_STR(l.next_marker, "");
  cf_invalidation_list_free(&l);
}

static void test_parse_list_refuses_truncated_without_next_marker(void)
{
  static const char doc[] =
      "<InvalidationList><IsTruncated>true</IsTruncated>"
      "<NextMarker></NextMarker><Quantity>0</Quantity></InvalidationList>";
  struct cf_invalidation_list l;
  struct cfw_err err = {0};

  cf_invalidation_list_init(&l);
  CHECK_EQ_INT(cfxml_parse_invalidation_list(doc, strlen(doc), &l, &err),
               -EBADMSG);
  CHECK_CONTAINS(err.msg, "without <NextMarker>");
  cf_invalidation_list_free(&l);
}

static void test_parse_list_holds_many_summaries(void)
{
  struct cf_invalidation_list l;
  struct buf b;
  size_t i;

  buf_init(&b, 1 << 20);
  CHECK_EQ_INT(buf_adds(&b, "<InvalidationList><Items>"), 0);
  for (i = 0; i < CFXML_MAX_LIST_ITEMS; i++)
    CHECK_EQ_INT(buf_addf(&b,
                          "<InvalidationSummary><Id>I%zu</Id><Status>"
                          "Completed</Status><CreateTime>t</CreateTime>"
                          "</InvalidationSummary>",
                          i),
                 0);
  CHECK_EQ_INT(buf_addf(&b,
                        "</Items><IsTruncated>false</IsTruncated>"
                        "<Quantity>%d</Quantity></InvalidationList>",
                        CFXML_MAX_LIST_ITEMS),
               0);
  cf_invalidation_list_init(&l);
  CHECK_EQ_INT(cfxml_parse_invalidation_list(buf_str(&b), b.len, &l, NULL), 0);
  CHECK_EQ_INT(l.n, CFXML_MAX_LIST_ITEMS);
  if (l.n == CFXML_MAX_LIST_ITEMS)
    CHECK_EQ_STR(l.items[CFXML_MAX_LIST_ITEMS - 1].id, "I999");
  cf_invalidation_list_free(&l);
  buf_free(&b);
}

/* Fills the columns of one tab-separated line, in place. */
static size_t split_tabs(char *line, char **cols, size_t max)
{
  size_t n = 0;
  char *tab;

  while (n < max) {
    cols[n++] = line;
    tab = strchr(line, '\t');
    if (tab == NULL)
      break;
    *tab = '\0';
    line = tab + 1;
  }
  return n;
}

/* The oracle is the raw text between the tags, which equals the parsed
 * text only while the document holds no entity references. */
static void check_error_document(const char *rel, const char *code,
                                 const char *type)
{
  struct cf_error e;
  struct cfw_err err = {0};
  size_t len;
  char *doc = read_vector(rel, &len);
  char *message = between(doc, "<Message>", "</Message>");
  char *request_id = between(doc, "<RequestId>", "</RequestId>");

  CHECK(strchr(doc, '&') == NULL);
  CHECK_EQ_INT(cfxml_parse_error(doc, len, &e, &err), 0);
  CHECK_EQ_STR(e.code, code);
  CHECK_EQ_STR(e.type, type);
  CHECK_EQ_STR(e.message, message);
  CHECK(strlen(e.message) > 0);
  CHECK_EQ_STR(e.request_id, request_id);
  CHECK_CONTAINS(e.request_id, "4f0c1f3e-0a2b-4c6d-8e9f-");
  CHECK(!e.message_truncated);
  if (test_failures > 0)
    fprintf(stderr, "  in %s\n", rel);
  free(message);
  free(request_id);
  free(doc);
}

static void test_parse_every_error_document_in_index(void)
{
  char *index = read_vector("index.tsv", NULL);
  char *line = index;
  char *nl;
  char *cols[7] = {NULL};
  size_t n_errors = 0;

  for (; line != NULL && *line != '\0'; line = nl != NULL ? nl + 1 : NULL) {
    nl = strchr(line, '\n');
    if (nl != NULL)
      *nl = '\0';
    if (strncmp(line, "xml/error-", 10) != 0)
      continue;
    if (split_tabs(line, cols, ARRAY_SIZE(cols)) != ARRAY_SIZE(cols)) {
      TEST_FAIL_("index.tsv: short row %s", line);
      continue;
    }
    check_error_document(cols[0], cols[3], cols[4]);
    n_errors++;
  }
  CHECK_EQ_INT(n_errors, 14);
  free(index);
}

static void test_parse_error_keeps_multiline_signature_message(void)
{
  struct cf_error e;
  size_t len;
  char *doc = read_vector("xml/error-signature-does-not-match.xml", &len);

  CHECK_EQ_INT(cfxml_parse_error(doc, len, &e, NULL), 0);
  CHECK_EQ_STR(e.code, "SignatureDoesNotMatch");
  CHECK(strncmp(e.message, "The request signature we calculated", 35) == 0);
  CHECK_CONTAINS(e.message, "details.\n\nThe Canonical String for this "
                            "request should have been\n'POST\n/2020-05-31/");
  CHECK_CONTAINS(e.message, "\n20150830/us-east-1/cloudfront/aws4_request\n");
  len = strlen(e.message);
  CHECK(len > 2 && strcmp(e.message + len - 2, "'\n") == 0);
  free(doc);
}

static void test_parse_error_truncates_long_message_at_character(void)
{
  struct cf_error e;
  struct buf b;
  size_t i;

  /* 4,094 ASCII bytes, then two-byte characters: the first fits whole
   * only if it ends at byte 4,095, which it does not. */
  buf_init(&b, 1 << 20);
  CHECK_EQ_INT(buf_adds(&b, "<ErrorResponse><Error><Code>C</Code><Message>"),
               0);
  for (i = 0; i < sizeof(e.message) - 2; i++)
    CHECK_EQ_INT(buf_addc(&b, 'x'), 0);
  for (i = 0; i < 100; i++)
    CHECK_EQ_INT(buf_adds(&b, "\xc3\xa9"), 0);
  CHECK_EQ_INT(buf_adds(&b, "</Message></Error></ErrorResponse>"), 0);
  CHECK_EQ_INT(cfxml_parse_error(buf_str(&b), b.len, &e, NULL), 0);
  CHECK(e.message_truncated);
  CHECK_EQ_INT(strlen(e.message), sizeof(e.message) - 2);
  CHECK_EQ_STR(e.code, "C");
  buf_free(&b);
}

static void test_parse_error_accepts_bare_error_root(void)
{
  static const char doc[] = "<?xml version=\"1.0\"?>\n<Error><Code>Throttling"
                            "</Code><Message>Rate exceeded</Message>"
                            "<RequestId>r1</RequestId></Error>";
  struct cf_error e;

  CHECK_EQ_INT(cfxml_parse_error(doc, strlen(doc), &e, NULL), 0);
  CHECK_EQ_STR(e.code, "Throttling");
  CHECK_EQ_STR(e.message, "Rate exceeded");
  CHECK_EQ_STR(e.request_id, "r1");
  CHECK_EQ_STR(e.type, "");
}

static void test_parse_error_requires_code(void)
{
  static const char doc[] = "<ErrorResponse><Error><Message>m</Message>"
                            "</Error></ErrorResponse>";
  struct cf_error e;
  struct cfw_err err = {0};

  CHECK_EQ_INT(cfxml_parse_error(doc, strlen(doc), &e, &err), -EBADMSG);
  CHECK_CONTAINS(err.msg, "<Error> without <Code>");
  CHECK_EQ_STR(e.message, "");
}

/* Parses doc as an Invalidation and expects rc and a message holding why;
 * out must come back empty. */
static void check_invalidation_refused(const char *doc, size_t len, int rc,
                                       const char *why)
{
  struct cf_invalidation inv;
  struct cfw_err err = {0};

  cf_invalidation_init(&inv);
  CHECK_EQ_INT(cfxml_parse_invalidation(doc, len, &inv, &err), rc);
  CHECK_CONTAINS(err.msg, why);
  CHECK_EQ_INT(inv.paths.n, 0);
  CHECK_EQ_STR(inv.id, "");
  cf_invalidation_free(&inv);
}

#define INV_HEAD "<Invalidation><Id>I1</Id><Status>Completed</Status>"
#define INV_TIME "<CreateTime>2019-12-05T18:40:49Z</CreateTime>"
#define INV_BATCH_1                                                            \
  "<InvalidationBatch><Paths><Quantity>1</Quantity><Items><Path>/a</Path>"     \
  "</Items></Paths><CallerReference>r</CallerReference></InvalidationBatch>"

static void test_parse_without_namespace(void)
{
  static const char doc[] = INV_HEAD INV_TIME INV_BATCH_1 "</Invalidation>";
  struct cf_invalidation inv;

  cf_invalidation_init(&inv);
  CHECK_EQ_INT(cfxml_parse_invalidation(doc, strlen(doc), &inv, NULL), 0);
  CHECK_EQ_STR(inv.id, "I1");
  CHECK_EQ_INT(inv.paths.n, 1);
  cf_invalidation_free(&inv);
}

static void test_parse_with_namespace_prefix(void)
{
  static const char doc[] =
      "<cf:Invalidation xmlns:cf=\"" CFXML_NAMESPACE "\"><cf:Id>I9</cf:Id>"
      "<cf:Status>InProgress</cf:Status><cf:CreateTime>t</cf:CreateTime>"
      "<cf:InvalidationBatch><cf:Paths><cf:Quantity>0</cf:Quantity>"
      "</cf:Paths><cf:CallerReference>r</cf:CallerReference>"
      "</cf:InvalidationBatch></cf:Invalidation>";
  struct cf_invalidation inv;

  cf_invalidation_init(&inv);
  CHECK_EQ_INT(cfxml_parse_invalidation(doc, strlen(doc), &inv, NULL), 0);
  CHECK_EQ_STR(inv.id, "I9");
  CHECK_EQ_STR(inv.status, "InProgress");
  CHECK_EQ_INT(inv.paths.n, 0);
  cf_invalidation_free(&inv);
}

static void test_parse_ignores_order_and_unknown_elements(void)
{
  static const char doc[] =
      "<Invalidation><InvalidationBatch><CallerReference>r</CallerReference>"
      "<Extra><Id>not-this</Id></Extra><Paths><Items><Path>/a</Path>"
      "<Path>/b</Path></Items><Quantity>2</Quantity></Paths>"
      "</InvalidationBatch><Status>InProgress</Status><Future a=\"1\"/>"
      "<CreateTime>t</CreateTime><Id>I2</Id></Invalidation>";
  struct cf_invalidation inv;

  cf_invalidation_init(&inv);
  CHECK_EQ_INT(cfxml_parse_invalidation(doc, strlen(doc), &inv, NULL), 0);
  CHECK_EQ_STR(inv.id, "I2");
  CHECK_EQ_INT(inv.paths.n, 2);
  if (inv.paths.n == 2)
    CHECK_EQ_STR(inv.paths.v[1], "/b");
  cf_invalidation_free(&inv);
}

static void test_parse_replaces_previous_contents(void)
{
  static const char doc[] = INV_HEAD INV_TIME INV_BATCH_1 "</Invalidation>";
  struct cf_invalidation inv;

  cf_invalidation_init(&inv);
  CHECK_EQ_INT(cfxml_parse_invalidation(doc, strlen(doc), &inv, NULL), 0);
  CHECK_EQ_INT(cfxml_parse_invalidation(doc, strlen(doc), &inv, NULL), 0);
  CHECK_EQ_INT(inv.paths.n, 1);
  CHECK_EQ_INT(cfxml_parse_invalidation("<", 1, &inv, NULL), -EBADMSG);
  CHECK_EQ_INT(inv.paths.n, 0);
  cf_invalidation_free(&inv);
  cf_invalidation_free(NULL);
  cf_invalidation_list_free(NULL);
}

static void test_parse_malformed_xml_names_line_and_column(void)
{
  static const char doc[] =
      "<?xml version=\"1.0\"?>\n<Invalidation>\n  <Id>I1</Idx>\n";

  check_invalidation_refused(doc, strlen(doc), -EBADMSG,
                             "line 3, column 11: mismatched tag");
}

static void test_parse_truncated_document_fails(void)
{
  size_t len;
  char *doc = read_vector("xml/get-invalidation-response-inprogress.xml", &len);

  check_invalidation_refused(doc, len / 2, -EBADMSG, "line 8, column 10");
  check_invalidation_refused(doc, (size_t)(strstr(doc, "</Inv") - doc),
                             -EBADMSG, "no element found");
  check_invalidation_refused(doc, 0, -EBADMSG, "line 1, column 1");
  free(doc);
}

static void test_parse_invalidation_refuses_error_response_root(void)
{
  size_t len;
  char *doc = read_vector("xml/error-throttling.xml", &len);

  check_invalidation_refused(
      doc, len, -EBADMSG,
      "line 2, column 1: root element is <ErrorResponse>, expected "
      "<Invalidation>");
  free(doc);
}

static void test_parse_refuses_doctype_with_entities(void)
{
  static const char doc[] =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE Invalidation [\n"
      " <!ENTITY a \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\">\n"
      " <!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
      " <!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n"
      "]>\n<Invalidation><Id>&c;</Id></Invalidation>";
  struct cf_error e;
  struct cfw_err err = {0};

  check_invalidation_refused(doc, strlen(doc), -EBADMSG, "DOCTYPE refused");
  CHECK_EQ_INT(cfxml_parse_error(doc, strlen(doc), &e, &err), -EBADMSG);
  CHECK_CONTAINS(err.msg, "line 2");
}

static void test_parse_refuses_undeclared_entity(void)
{
  static const char doc[] = "<Invalidation><Id>&x;</Id></Invalidation>";

  check_invalidation_refused(doc, strlen(doc), -EBADMSG, "undefined entity");
}

static void test_parse_refuses_over_cap_body(void)
{
  size_t len = CFXML_MAX_INVALIDATION_BODY + 1;
  char *doc = calloc(1, len);
  struct cf_error e;
  struct cfw_err err = {0};

  CHECK(doc != NULL);
  CHECK_EQ_INT(cfxml_parse_error(doc, CFXML_MAX_ERROR_BODY + 1, &e, &err),
               -E2BIG);
  CHECK_CONTAINS(err.msg, "1048577 bytes is over 1048576");
  check_invalidation_refused(doc, len, -E2BIG, "is over");
  free(doc);
}

static void test_parse_refuses_deep_nesting(void)
{
  struct buf b;
  size_t i;

  buf_init(&b, 1 << 20);
  CHECK_EQ_INT(buf_adds(&b, "<Invalidation>"), 0);
  for (i = 0; i < 100000; i++)
    CHECK_EQ_INT(buf_adds(&b, "<a>"), 0);
  check_invalidation_refused(buf_str(&b), b.len, -EBADMSG,
                             "nested deeper than 16");
  buf_free(&b);
}

static void test_parse_refuses_overlong_id(void)
{
  char doc[256];
  int n;

  n = snprintf(doc, sizeof(doc), "<Invalidation><Id>%064d</Id>", 0);
  CHECK(n > 0 && (size_t)n < sizeof(doc));
  check_invalidation_refused(doc, strlen(doc), -EBADMSG,
                             "<Id> longer than 63 bytes");
}

static void test_parse_refuses_duplicate_id(void)
{
  static const char doc[] =
      INV_HEAD "<Id>I2</Id>" INV_TIME INV_BATCH_1 "</Invalidation>";

  check_invalidation_refused(doc, strlen(doc), -EBADMSG, "duplicate <Id>");
}

static void test_parse_refuses_missing_status(void)
{
  static const char doc[] =
      "<Invalidation><Id>I1</Id>" INV_TIME INV_BATCH_1 "</Invalidation>";

  check_invalidation_refused(doc, strlen(doc), -EBADMSG,
                             "<Invalidation> without <Status>");
}

static void test_parse_refuses_quantity_mismatch(void)
{
  static const char doc[] = INV_HEAD INV_TIME
      "<InvalidationBatch><Paths><Quantity>2</Quantity><Items><Path>/a</Path>"
      "</Items></Paths><CallerReference>r</CallerReference>"
      "</InvalidationBatch></Invalidation>";

  check_invalidation_refused(doc, strlen(doc), -EBADMSG,
                             "<Quantity> is 2 but 1 <Path>");
}

static void test_parse_refuses_bad_quantity(void)
{
  static const char doc[] = INV_HEAD INV_TIME
      "<InvalidationBatch><Paths><Quantity>-1</Quantity></Paths>"
      "<CallerReference>r</CallerReference></InvalidationBatch>"
      "</Invalidation>";

  check_invalidation_refused(doc, strlen(doc), -EBADMSG,
                             "<Quantity> \"-1\" is not a count");
}

static void test_parse_refuses_nul_byte(void)
{
  static const char doc[] = "<Invalidation><Id>I\0</Id></Invalidation>";

  check_invalidation_refused(doc, sizeof(doc) - 1, -EBADMSG, "line 1");
}

TEST_MAIN(
    TEST(test_batch_matches_plain_request_document),
    TEST(test_batch_matches_xml_escape_request_document),
    TEST(test_batch_matches_non_ascii_request_document),
    TEST(test_batch_escapes_all_five_markup_characters),
    TEST(test_batch_output_parses_back),
    TEST(test_batch_refuses_path_without_leading_slash),
    TEST(test_batch_carries_a_cache_tag),
    TEST(test_batch_refuses_bad_cache_tag),
    TEST(test_batch_refuses_unencoded_bytes),
    TEST(test_batch_refuses_star_before_end),
    TEST(test_batch_refuses_bad_caller_reference),
    TEST(test_batch_refuses_empty_path_list),
    TEST(test_batch_refuses_path_over_cloudfront_length),
    TEST(test_batch_refuses_more_wildcards_than_allowed),
    TEST(test_batch_over_buffer_cap_leaves_buffer_unchanged),
    TEST(test_parse_create_response_201), TEST(test_parse_get_in_progress),
    TEST(test_parse_get_completed_unescapes_ampersands),
    TEST(test_parse_list_reads_paging_fields_newest_first),
    TEST(test_parse_empty_last_list_page),
    TEST(test_parse_list_refuses_truncated_without_next_marker),
    TEST(test_parse_list_holds_many_summaries),
    TEST(test_parse_every_error_document_in_index),
    TEST(test_parse_error_keeps_multiline_signature_message),
    TEST(test_parse_error_truncates_long_message_at_character),
    TEST(test_parse_error_accepts_bare_error_root),
    TEST(test_parse_error_requires_code), TEST(test_parse_without_namespace),
    TEST(test_parse_with_namespace_prefix),
    TEST(test_parse_ignores_order_and_unknown_elements),
    TEST(test_parse_replaces_previous_contents),
    TEST(test_parse_malformed_xml_names_line_and_column),
    TEST(test_parse_truncated_document_fails),
    TEST(test_parse_invalidation_refuses_error_response_root),
    TEST(test_parse_refuses_doctype_with_entities),
    TEST(test_parse_refuses_undeclared_entity),
    TEST(test_parse_refuses_over_cap_body),
    TEST(test_parse_refuses_deep_nesting), TEST(test_parse_refuses_overlong_id),
    TEST(test_parse_refuses_duplicate_id),
    TEST(test_parse_refuses_missing_status),
    TEST(test_parse_refuses_quantity_mismatch),
    TEST(test_parse_refuses_bad_quantity), TEST(test_parse_refuses_nul_byte))
