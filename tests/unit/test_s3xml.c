/* SPDX-License-Identifier: MIT */
#include "s3xml.h"
#include "test.h"
#include "util.h"

/* S3's documents, shaped as the S3 API reference shows them (and as the
 * stand-in sends them): a declaration, the 2006-03-01 namespace on the
 * root, no indentation. */

#define DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define NS   "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""

static int parse_error(const char *doc, struct s3_error *e, struct cfw_err *err)
{
  return s3xml_parse_error(doc, strlen(doc), e, err);
}

static void test_error_names_code_message_and_region(void)
{
  static const char doc[] =
      DECL "<Error><Code>AuthorizationHeaderMalformed</Code><Message>The "
           "authorization header is malformed; the region 'us-east-1' is "
           "wrong; expecting 'eu-west-1'</Message><Region>eu-west-1</Region>"
           "<RequestId>4442587FB7D0A2F9</RequestId><HostId>x</HostId></Error>";
  struct s3_error e;

  CHECK_EQ_INT(parse_error(doc, &e, NULL), 0);
  CHECK_EQ_STR(e.code, "AuthorizationHeaderMalformed");
  CHECK_CONTAINS(e.message, "expecting 'eu-west-1'");
  CHECK_EQ_STR(e.region, "eu-west-1");
  CHECK_EQ_STR(e.request_id, "4442587FB7D0A2F9");
  CHECK_EQ_STR(e.endpoint, "");
}

static void test_error_permanent_redirect_endpoint(void)
{
  static const char doc[] =
      DECL "<Error><Code>PermanentRedirect</Code><Message>The bucket you "
           "are attempting to access must be addressed using the specified "
           "endpoint.</Message><Endpoint>amzn-s3-demo-bucket.s3.eu-west-1."
           "amazonaws.com</Endpoint><Bucket>amzn-s3-demo-bucket</Bucket>"
           "</Error>";
  struct s3_error e;

  CHECK_EQ_INT(parse_error(doc, &e, NULL), 0);
  CHECK_EQ_STR(e.code, "PermanentRedirect");
  CHECK_EQ_STR(e.endpoint, "amzn-s3-demo-bucket.s3.eu-west-1.amazonaws.com");
}

static void test_error_long_message_is_cut(void)
{
  char doc[2048];
  struct s3_error e;
  char msg[1200];

  memset(msg, 'm', sizeof(msg) - 1);
  msg[sizeof(msg) - 1] = '\0';
  CHECK(snprintf(doc, sizeof(doc),
                 "<Error><Code>SignatureDoesNotMatch</Code><Message>%s"
                 "</Message></Error>",
                 msg) < (int)sizeof(doc));
  CHECK_EQ_INT(parse_error(doc, &e, NULL), 0);
  CHECK(e.message_cut);
  CHECK_EQ_INT(strlen(e.message), sizeof(e.message) - 1);
}

static void test_error_refuses_what_is_not_one(void)
{
  struct cfw_err err = {0};
  struct s3_error e;

  CHECK_EQ_INT(parse_error("not xml", &e, &err), -EBADMSG);
  CHECK_EQ_INT(parse_error("<Error><Message>m</Message></Error>", &e, &err),
               -EBADMSG);
  CHECK_CONTAINS(err.msg, "without <Code>");
  CHECK_EQ_INT(parse_error("<!DOCTYPE x [<!ENTITY a \"b\">]><Error><Code>"
                           "&a;</Code></Error>",
                           &e, &err),
               -EBADMSG);
  CHECK_EQ_STR(e.code, "");
}

static void test_initiate_gives_upload_id(void)
{
  static const char doc[] =
      DECL "<InitiateMultipartUploadResult " NS "><Bucket>b</Bucket><Key>k"
           "</Key><UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRz"
           "IHVwbG9hZA</UploadId></InitiateMultipartUploadResult>";
  char id[S3_UPLOAD_ID_MAX + 1];
  struct cfw_err err = {0};

  CHECK_EQ_INT(s3xml_parse_initiate(doc, strlen(doc), id, sizeof(id), &err), 0);
  CHECK_EQ_STR(id,
               "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");
  CHECK_EQ_INT(s3xml_parse_initiate("<InitiateMultipartUploadResult/>", 32, id,
                                    sizeof(id), &err),
               -EBADMSG);
}

static void test_complete_body_lists_parts_in_order(void)
{
  struct s3_part parts[2] = {{1, "\"a54357aff0632cce46d942af68356b38\"",
                              "zRjtDDNIS+xxtaNhdYVtW7UwQLr8Rk4GqJWp3v7PXr0="},
                             {2, "\"0c78aef83f66abc1fa1e8477f296d394\"", ""}};
  struct cfw_err err = {0};
  struct buf b;

  buf_init(&b, 4096);
  CHECK_EQ_INT(s3xml_complete_body(&b, parts, 2, &err), 0);
  CHECK_EQ_STR(buf_str(&b),
               "<CompleteMultipartUpload " NS "><Part><PartNumber>1"
               "</PartNumber><ETag>&quot;a54357aff0632cce46d942af68356b38"
               "&quot;</ETag><ChecksumSHA256>zRjtDDNIS+xxtaNhdYVtW7UwQLr8Rk4G"
               "qJWp3v7PXr0=</ChecksumSHA256></Part><Part><PartNumber>2"
               "</PartNumber><ETag>&quot;0c78aef83f66abc1fa1e8477f296d394"
               "&quot;</ETag></Part></CompleteMultipartUpload>");
  parts[1].number = 1;
  CHECK_EQ_INT(s3xml_complete_body(&b, parts, 2, &err), -EINVAL);
  CHECK_EQ_INT(s3xml_complete_body(&b, parts, 0, &err), -EINVAL);
  buf_free(&b);
}

/* S3 may fail a completion after its 200 status line went out. */
static void test_complete_result_or_error_in_200(void)
{
  static const char ok[] =
      DECL "<CompleteMultipartUploadResult " NS "><Location>https://x/b/k"
           "</Location><Bucket>b</Bucket><Key>k</Key><ETag>\"3858f62230ac3c91"
           "5f300c664312c11f-9\"</ETag><ChecksumSHA256>abc=-9</ChecksumSHA256>"
           "</CompleteMultipartUploadResult>";
  static const char bad[] =
      DECL "<Error><Code>InternalError</Code><Message>We encountered an "
           "internal error. Please try again.</Message></Error>";
  struct s3_complete_result r;
  struct s3_error e;

  CHECK_EQ_INT(s3xml_parse_complete(ok, strlen(ok), &r, &e, NULL), 0);
  CHECK_EQ_STR(r.etag, "\"3858f62230ac3c915f300c664312c11f-9\"");
  CHECK_EQ_STR(r.checksum, "abc=-9");
  CHECK_EQ_INT(s3xml_parse_complete(bad, strlen(bad), &r, &e, NULL), 1);
  CHECK_EQ_STR(e.code, "InternalError");
}

static void test_delete_body_escapes_keys(void)
{
  static const char *const keys[] = {"a&b<c>.html", "x\ry\nz\t\"q'"};
  struct cfw_err err = {0};
  struct buf b;

  buf_init(&b, 4096);
  CHECK_EQ_INT(s3xml_delete_body(&b, keys, 2, true, &err), 0);
  CHECK_EQ_STR(buf_str(&b),
               "<Delete " NS "><Quiet>true</Quiet><Object><Key>a&amp;b&lt;c"
               "&gt;.html</Key></Object><Object><Key>x&#13;y&#10;z&#9;&quot;"
               "q&apos;</Key></Object></Delete>");
  buf_free(&b);
}

static void test_delete_body_refuses_bad_input(void)
{
  static const char *const ctl[] = {"ok", "bad\x01"};
  static const char *const empty[] = {""};
  const char *many[S3_DELETE_MAX + 1];
  struct cfw_err err = {0};
  struct buf b;
  size_t i;

  for (i = 0; i < ARRAY_SIZE(many); i++)
    many[i] = "k";
  buf_init(&b, 1 << 20);
  CHECK_EQ_INT(s3xml_delete_body(&b, ctl, 2, false, &err), -EINVAL);
  CHECK_CONTAINS(err.msg, "key #1");
  CHECK_EQ_INT(s3xml_delete_body(&b, empty, 1, false, &err), -EINVAL);
  CHECK_EQ_INT(s3xml_delete_body(&b, many, ARRAY_SIZE(many), false, &err),
               -EINVAL);
  CHECK_EQ_INT(s3xml_delete_body(&b, many, S3_DELETE_MAX, false, &err), 0);
  CHECK_EQ_INT(b.len > 0, 1);
  buf_free(&b);
}

static void test_delete_result_lists_errors(void)
{
  static const char doc[] =
      DECL "<DeleteResult " NS "><Deleted><Key>a</Key></Deleted><Error><Key>"
           "keep/x y</Key><Code>AccessDenied</Code><Message>Access Denied"
           "</Message></Error><Deleted><Key>b</Key></Deleted><Error><Key>"
           "keep/z</Key><Code>InternalError</Code><Message>m</Message></Error>"
           "</DeleteResult>";
  struct s3_delete_result r;

  s3_delete_result_init(&r);
  CHECK_EQ_INT(s3xml_parse_delete(doc, strlen(doc), &r, NULL), 0);
  CHECK_EQ_INT(r.n_deleted, 2);
  REQUIRE(r.n_errors == 2);
  CHECK_EQ_STR(r.errors[0].key, "keep/x y");
  CHECK_EQ_STR(r.errors[0].code, "AccessDenied");
  CHECK_EQ_STR(r.errors[0].message, "Access Denied");
  CHECK_EQ_STR(r.errors[1].key, "keep/z");
  CHECK_EQ_STR(r.errors[1].code, "InternalError");
  s3_delete_result_free(&r);
}

#define CONTENTS(k, size)                                                      \
  "<Contents><Key>" k "</Key><LastModified>2009-10-12T17:50:30.000Z"           \
  "</LastModified><ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag>"   \
  "<Size>" size "</Size><StorageClass>STANDARD</StorageClass></Contents>"

static void test_list_page_with_url_encoded_keys(void)
{
  static const char doc[] = DECL
      "<ListBucketResult " NS "><Name>b</Name><Prefix>site/</Prefix>"
      "<KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true"
      "</IsTruncated>" CONTENTS("site/a+b%2Bc.html", "434234") CONTENTS(
          "site/%C3%A9t%C3%A9/index.html",
          "0") "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36"
               "Hy4vbOwM=</NextContinuationToken><EncodingType>url"
               "</EncodingType></ListBucketResult>";
  struct s3_list_page p;

  s3_list_page_init(&p);
  CHECK_EQ_INT(s3xml_parse_list(doc, strlen(doc), &p, NULL), 0);
  REQUIRE(p.n == 2);
  CHECK_EQ_STR(p.items[0].key, "site/a b+c.html");
  CHECK_EQ_INT(p.items[0].size, 434234);
  CHECK_EQ_STR(p.items[0].etag, "\"fba9dede5f27731c9771645a39863328\"");
  CHECK_EQ_STR(p.items[0].last_modified, "2009-10-12T17:50:30.000Z");
  CHECK_EQ_STR(p.items[1].key, "site/\xc3\xa9t\xc3\xa9/index.html");
  CHECK(p.truncated);
  CHECK_EQ_STR(p.next_token, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
  s3_list_page_free(&p);
}

static void test_list_last_page_and_plain_keys(void)
{
  static const char doc[] =
      "<ListBucketResult><IsTruncated>false</IsTruncated>" CONTENTS(
          "a+b", "1") "</ListBucketResult>";
  struct s3_list_page p;

  s3_list_page_init(&p);
  CHECK_EQ_INT(s3xml_parse_list(doc, strlen(doc), &p, NULL), 0);
  REQUIRE(p.n == 1);
  CHECK_EQ_STR(p.items[0].key, "a+b"); /* not url-encoded: as it is */
  CHECK(!p.truncated);
  CHECK(p.next_token == NULL);
  s3_list_page_free(&p);
}

static void test_list_refuses_a_page_that_would_loop(void)
{
  static const char no_token[] =
      "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>";
  static const char bad_size[] =
      "<ListBucketResult><IsTruncated>false</IsTruncated>" CONTENTS(
          "a", "-1") "</ListBucketResult>";
  struct cfw_err err = {0};
  struct s3_list_page p;

  s3_list_page_init(&p);
  CHECK_EQ_INT(s3xml_parse_list(no_token, strlen(no_token), &p, &err),
               -EBADMSG);
  CHECK_CONTAINS(err.msg, "NextContinuationToken");
  CHECK_EQ_INT(s3xml_parse_list(bad_size, strlen(bad_size), &p, &err),
               -EBADMSG);
  CHECK_CONTAINS(err.msg, "Size");
  CHECK_EQ_INT(p.n, 0);
}

static void test_list_refuses_over_a_thousand_keys(void)
{
  struct s3_list_page p;
  struct cfw_err err = {0};
  struct buf b;
  size_t i;

  buf_init(&b, S3XML_MAX_BODY);
  CHECK_EQ_INT(buf_adds(&b, "<ListBucketResult><IsTruncated>false"
                            "</IsTruncated>"),
               0);
  for (i = 0; i <= S3_LIST_MAX; i++)
    CHECK_EQ_INT(buf_adds(&b, CONTENTS("k", "1")), 0);
  CHECK_EQ_INT(buf_adds(&b, "</ListBucketResult>"), 0);
  s3_list_page_init(&p);
  CHECK_EQ_INT(s3xml_parse_list(b.data, b.len, &p, &err), -EBADMSG);
  CHECK_CONTAINS(err.msg, "more than 1000");
  buf_free(&b);
}

TEST_MAIN(TEST(test_error_names_code_message_and_region),
          TEST(test_error_permanent_redirect_endpoint),
          TEST(test_error_long_message_is_cut),
          TEST(test_error_refuses_what_is_not_one),
          TEST(test_initiate_gives_upload_id),
          TEST(test_complete_body_lists_parts_in_order),
          TEST(test_complete_result_or_error_in_200),
          TEST(test_delete_body_escapes_keys),
          TEST(test_delete_body_refuses_bad_input),
          TEST(test_delete_result_lists_errors),
          TEST(test_list_page_with_url_encoded_keys),
          TEST(test_list_last_page_and_plain_keys),
          TEST(test_list_refuses_a_page_that_would_loop),
          TEST(test_list_refuses_over_a_thousand_keys))
