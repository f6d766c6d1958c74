/* SPDX-License-Identifier: MIT */
/* Fuzzes the parsers of CloudFront's answers: every input goes through
 * cfxml_parse_invalidation, cfxml_parse_invalidation_list and
 * cfxml_parse_error (each refuses the others' roots), and each result is
 * checked against what cfxml.h promises, on success and on failure. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "cflimits.h"
#include "cfxml.h"
#include "fuzz.h"

/* A fixed-size field holds a C string. */
#define FIELD_OK(f) (memchr((f), '\0', sizeof(f)) != NULL)

static bool rc_ok(int rc)
{
  return rc == 0 || rc == -EBADMSG || rc == -E2BIG;
}

/* The request body cfxml_invalidation_batch() writes for inv, inside an
 * Invalidation document, must parse back to the same paths and caller
 * reference: the writer escapes all the parser unescapes. */
static void check_batch_round_trip(const struct cf_invalidation *inv)
{
  static const char head[] = "<Invalidation><Id>I</Id><Status>S</Status>"
                             "<CreateTime>T</CreateTime>";
  struct cf_invalidation back;
  struct cfw_err err;
  struct buf b;
  size_t i;

  buf_init(&b, CFXML_MAX_INVALIDATION_BODY / 2);
  FUZZ_CHECK(buf_adds(&b, head) == 0);
  if (cfxml_invalidation_batch(&b, inv->caller_reference,
                               (const char *const *)inv->paths.v, inv->paths.n,
                               &err) < 0) {
    FUZZ_CHECK(strcmp(buf_str(&b), head) == 0); /* out as it was */
    buf_free(&b);
    return;
  }
  FUZZ_CHECK(buf_adds(&b, "</Invalidation>") == 0);
  cf_invalidation_init(&back);
  FUZZ_CHECK(cfxml_parse_invalidation(b.data, b.len, &back, &err) == 0);
  FUZZ_CHECK(strcmp(back.caller_reference, inv->caller_reference) == 0);
  FUZZ_CHECK(back.paths.n == inv->paths.n);
  for (i = 0; i < back.paths.n; i++)
    FUZZ_CHECK(strcmp(back.paths.v[i], inv->paths.v[i]) == 0);
  cf_invalidation_free(&back);
  buf_free(&b);
}

static void run_invalidation(const char *body, size_t len)
{
  struct cf_invalidation inv;
  struct cfw_err err;
  size_t i;
  int rc;

  cf_invalidation_init(&inv);
  /* Old contents are released first: start from a non-empty one. */
  FUZZ_CHECK(strlist_push(&inv.paths, "/old") == 0);
  rc = cfxml_parse_invalidation(body, len, &inv, &err);
  FUZZ_CHECK(rc_ok(rc));
  FUZZ_CHECK(FIELD_OK(inv.id) && FIELD_OK(inv.status));
  FUZZ_CHECK(FIELD_OK(inv.create_time) && FIELD_OK(inv.caller_reference));
  if (rc < 0) {
    FUZZ_CHECK(inv.paths.n == 0 && inv.quantity == 0 && inv.id[0] == '\0');
    FUZZ_CHECK(FIELD_OK(err.msg) && err.msg[0] != '\0');
  } else {
    FUZZ_CHECK(inv.quantity == inv.paths.n);
    FUZZ_CHECK(inv.paths.n <=
               CF_MAX_FILE_PATHS_IN_PROGRESS + CF_MAX_WILDCARDS_IN_PROGRESS);
    for (i = 0; i < inv.paths.n; i++) {
      FUZZ_CHECK(strlen(inv.paths.v[i]) <= CF_MAX_PATH_LEN);
      FUZZ_CHECK(fuzz_utf8_valid(inv.paths.v[i], strlen(inv.paths.v[i])));
    }
    check_batch_round_trip(&inv);
  }
  cf_invalidation_free(&inv);
}

static void run_list(const char *body, size_t len)
{
  struct cf_invalidation_list l;
  struct cfw_err err;
  size_t i;
  int rc;

  cf_invalidation_list_init(&l);
  rc = cfxml_parse_invalidation_list(body, len, &l, &err);
  FUZZ_CHECK(rc_ok(rc));
  FUZZ_CHECK(FIELD_OK(l.next_marker));
  if (rc < 0) {
    FUZZ_CHECK(l.items == NULL && l.n == 0 && l.quantity == 0);
    FUZZ_CHECK(!l.is_truncated);
  } else {
    FUZZ_CHECK(l.quantity == l.n && l.n <= CFXML_MAX_LIST_ITEMS);
    FUZZ_CHECK(!l.is_truncated || l.next_marker[0] != '\0');
    for (i = 0; i < l.n; i++) {
      FUZZ_CHECK(FIELD_OK(l.items[i].id) && FIELD_OK(l.items[i].status));
      FUZZ_CHECK(FIELD_OK(l.items[i].create_time));
    }
  }
  /* A second parse into a filled list releases the first. */
  if (rc == 0)
    FUZZ_CHECK(cfxml_parse_invalidation_list(body, len, &l, &err) == 0);
  cf_invalidation_list_free(&l);
}

static void run_error(const char *body, size_t len)
{
  static const struct cf_error zero;
  struct cf_error e;
  struct cfw_err err;
  int rc;

  memset(&e, 'x', sizeof(e));
  rc = cfxml_parse_error(body, len, &e, &err);
  FUZZ_CHECK(rc_ok(rc));
  if (rc < 0) {
    FUZZ_CHECK(memcmp(&e, &zero, sizeof(e)) == 0);
    return;
  }
  FUZZ_CHECK(FIELD_OK(e.type) && FIELD_OK(e.code));
  FUZZ_CHECK(FIELD_OK(e.message) && FIELD_OK(e.request_id));
  /* Cut or not, the message is whole UTF-8 characters. */
  FUZZ_CHECK(fuzz_utf8_valid(e.message, strlen(e.message)));
  FUZZ_CHECK(!e.message_truncated ||
             strlen(e.message) + 4 >= sizeof(e.message));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *body = (const char *)data;

  run_invalidation(body, size);
  run_list(body, size);
  run_error(body, size);
  return 0;
}
