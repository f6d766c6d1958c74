/* SPDX-License-Identifier: MIT */
/* status_format_json: valid JSON whatever bytes the paths hold. */
#include "buf.h"
#include "jsonmem.h"
#include "status.h"
#include "test.h"

#include <jansson.h>

static json_t *format(const struct status_report *r, struct buf *b)
{
  json_error_t je;
  json_t *doc;

  buf_init(b, (size_t)1024 * 1024);
  CHECK_EQ_INT(status_format_json(r, b), 0);
  CHECK(b->len > 0 && buf_str(b)[b->len - 1] == '\n');
  CHECK(strchr(buf_str(b), '\n') == buf_str(b) + b->len - 1);
  jsonmem_init(); /* before the test's own jansson calls */
  doc = json_loadb(buf_str(b), b->len, JSON_REJECT_DUPLICATES, &je);
  CHECK(doc != NULL);
  if (doc == NULL) {
    (void)fprintf(stderr, "%s\n", je.text); /* the case fails anyway */
    exit(1);
  }
  return doc;
}

static const char *str(const json_t *doc, const char *key)
{
  return json_string_value(json_object_get(doc, key));
}

static void test_fields_and_their_order(void)
{
  struct status_report r;
  struct ledger_entry e[2] = {
      {"I2J0I21PCUYOIK", 1795608000, 3, 1, "Completed", ""},
      {"IEXAMPLE2", 1795609000, 15, 0, "InProgress", ""}};
  struct buf b;
  json_t *doc;

  memset(&r, 0, sizeof(r));
  r.root = "/srv/site/public";
  r.state_dir = "/var/lib/cfwatch";
  r.has_manifest = true;
  r.manifest_files = 120;
  r.pending_files = 2;
  r.pending_paths = 3;
  r.in_flight = 1;
  r.month_paths = 1234;
  r.free_paths = 1000;
  r.unacknowledged = 1;
  r.held = 300;
  r.origin = "s3://www-example-com/site";
  r.pending_uploads = 4;
  r.pending_deletions = 1;
  r.month_cost_usd = 1.17;
  r.ledger.v = e;
  r.ledger.n = 2;
  doc = format(&r, &b);
  CHECK_EQ_STR(buf_str(&b),
               "{\"root\":\"/srv/site/public\",\"state_dir\":"
               "\"/var/lib/cfwatch\",\"state_url\":null,\"state\":null,"
               "\"root_missing\":false,"
               "\"daemon_running\":false,\"has_manifest\":true,"
               "\"origin\":\"s3://www-example-com/site\","
               "\"manifest_files\":120,\"pending_files\":2,"
               "\"pending_paths\":3,\"unacknowledged\":1,"
               "\"held_deletions\":300,\"in_flight\":1,\"month_paths\":1234,"
               "\"month_free_paths\":1000,\"pending_uploads\":4,"
               "\"pending_deletions\":1,\"month_cost_usd\":1.17,"
               "\"month_paths_scope\":\"site\",\"invalidations\":["
               "{\"id\":\"I2J0I21PCUYOIK\",\"created\":1795608000,"
               "\"paths\":3,\"wildcards\":1,\"status\":\"Completed\"},"
               "{\"id\":\"IEXAMPLE2\",\"created\":1795609000,\"paths\":15,"
               "\"wildcards\":0,\"status\":\"InProgress\"}]}\n");
  json_decref(doc);
  buf_free(&b);
}

static void test_cost_is_rounded_to_a_tenth_of_a_cent(void)
{
  struct status_report r;
  struct buf b;
  json_t *doc;

  memset(&r, 0, sizeof(r));
  r.root = "/r";
  r.state_dir = "/s";
  r.month_cost_usd = 0.005 * 3;
  doc = format(&r, &b);
  CHECK(json_real_value(json_object_get(doc, "month_cost_usd")) == 0.015);
  CHECK(strstr(buf_str(&b), "\"month_cost_usd\":0.015,") != NULL);
  json_decref(doc);
  buf_free(&b);
  r.month_cost_usd = 0;
  doc = format(&r, &b);
  CHECK(strstr(buf_str(&b), "\"month_cost_usd\":0.0,") != NULL);
  json_decref(doc);
  buf_free(&b);
}

/* A root or state dir that is not UTF-8 is mapped as jsonout.h says;
 * quotes, backslashes and control bytes are escaped. */
static void test_paths_that_are_not_utf8_stay_valid_json(void)
{
  struct status_report r;
  struct ledger_entry e = {"I\xff\"x", 1, 1, 0, "Completed\xc3", ""};
  struct buf b;
  json_t *doc;
  const json_t *inv;

  memset(&r, 0, sizeof(r));
  r.root = "/srv/caf\xc3\xa9/bad\xff\xfe/back\\slash/\"q\"\n";
  r.state_dir = "/var/\xed\xa0\x80";
  r.ledger.v = &e;
  r.ledger.n = 1;
  doc = format(&r, &b);
  CHECK_EQ_STR(str(doc, "root"),
               "/srv/caf\xc3\xa9/bad\\xff\\xfe/back\\\\slash/\"q\"\n");
  CHECK_EQ_STR(str(doc, "state_dir"), "/var/\\xed\\xa0\\x80");
  inv = json_array_get(json_object_get(doc, "invalidations"), 0);
  CHECK_EQ_STR(str(inv, "id"), "I\\xff\"x");
  CHECK_EQ_STR(str(inv, "status"), "Completed\\xc3");
  json_decref(doc);
  buf_free(&b);
}

static void test_output_cap_is_an_error(void)
{
  struct status_report r;
  struct buf b;

  memset(&r, 0, sizeof(r));
  r.root = "/r";
  r.state_dir = "/s";
  buf_init(&b, 16);
  CHECK_EQ_INT(status_format_json(&r, &b), -E2BIG);
  buf_free(&b);
}

TEST_MAIN(TEST(test_fields_and_their_order),
          TEST(test_cost_is_rounded_to_a_tenth_of_a_cent),
          TEST(test_paths_that_are_not_utf8_stay_valid_json),
          TEST(test_output_cap_is_an_error))
