/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "ledgerpull.h"
#include "statefmt.h"
#include "strlist.h"
#include "test.h"
#include "util.h"
#include "wire.h"

/* 2026-11-25T08:00:00Z. */
#define NOV_S 1795593600LL
#define NS    1000000000LL

/* Appends an INTENT of ref to dist with paths (NULL-ended), made at
 * NOV_S. */
static void put_intent(struct wire_out *w, uint64_t seq, const char *ref,
                       const char *dist, const char *const *paths)
{
  struct intent in;

  memset(&in, 0, sizeof(in));
  in.seq = seq;
  str_copy(in.ref, sizeof(in.ref), ref);
  in.distribution = (char *)dist; /* only read */
  in.created_ns = NOV_S * NS;
  strlist_init(&in.paths);
  for (; *paths != NULL; paths++)
    CHECK_EQ_INT(strlist_push(&in.paths, *paths), 0);
  statefmt_put_intent(w, &in);
  strlist_free(&in.paths);
}

/* The ledger records of frames w, after an optional earlier scan. */
static size_t recs_of(struct ledgerpull *lp, const struct wire_out *w,
                      struct ledger_rec **v)
{
  size_t n;

  CHECK_EQ_INT(w->rc, 0);
  CHECK_EQ_INT(
      ledgerpull_scan(lp, (const unsigned char *)w->b.data, w->b.len, true), 0);
  CHECK_EQ_INT(ledgerpull_recs(lp, v, &n), 0);
  return n;
}

static const char *const PATHS[] = {"/a/", "/a/index.html", "/b/*", NULL};

static void test_commit_counts_its_intents_paths(void)
{
  struct ledgerpull lp;
  struct ledger_rec *v;
  struct wire_out w;

  ledgerpull_init(&lp);
  wire_out_init(&w, 1 << 20);
  put_intent(&w, 1, "cfw-1", "E1", PATHS);
  statefmt_put_commit(&w, 2, "cfw-1", "I1", (NOV_S + 60) * NS, NULL, 0);
  CHECK_EQ_INT(recs_of(&lp, &w, &v), 1);
  CHECK_EQ_STR(v[0].id, "I1");
  CHECK(v[0].dist == NULL);
  CHECK(v[0].status == NULL);
  CHECK_EQ_INT(v[0].n_paths, 3);
  CHECK_EQ_INT(v[0].n_wildcards, 1);
  CHECK_EQ_INT(v[0].at_s, NOV_S + 60);
  free(v);
  wire_out_free(&w);
  ledgerpull_free(&lp);
}

static void test_set_counts_each_accepted_and_not_its_commit(void)
{
  struct ledgerpull lp;
  struct ledger_rec *v;
  struct wire_out w;

  ledgerpull_init(&lp);
  wire_out_init(&w, 1 << 20);
  put_intent(&w, 1, "cfw-1", "E1,E2", PATHS);
  statefmt_put_accepted(&w, 2, "cfw-1", "E1", "I1");
  statefmt_put_accepted(&w, 3, "cfw-1", "E2", "I2");
  statefmt_put_commit(&w, 4, "cfw-1", "I2", (NOV_S + 60) * NS, NULL, 0);
  CHECK_EQ_INT(recs_of(&lp, &w, &v), 2);
  CHECK_EQ_STR(v[0].id, "I1");
  CHECK_EQ_STR(v[0].dist, "E1");
  CHECK_EQ_STR(v[1].id, "I2");
  CHECK_EQ_STR(v[1].dist, "E2");
  CHECK_EQ_INT(v[1].n_paths, 3);
  CHECK_EQ_INT(v[1].at_s, NOV_S + 60); /* its commit's */
  free(v);
  wire_out_free(&w);
  ledgerpull_free(&lp);
}

static void test_earlier_records_give_intents_not_counts(void)
{
  struct ledgerpull lp;
  struct ledger_rec *v;
  struct wire_out old;
  struct wire_out w;

  ledgerpull_init(&lp);
  wire_out_init(&old, 1 << 20);
  wire_out_init(&w, 1 << 20);
  put_intent(&old, 1, "cfw-1", "E1", PATHS);
  put_intent(&old, 2, "cfw-2", "E1", PATHS);
  statefmt_put_commit(&old, 3, "cfw-1", "I1", NOV_S * NS, NULL, 0);
  statefmt_put_commit(&w, 4, "cfw-2", "I2", NOV_S * NS, NULL, 0);
  CHECK_EQ_INT(
      ledgerpull_scan(&lp, (const unsigned char *)old.b.data, old.b.len, false),
      0);
  CHECK_EQ_INT(recs_of(&lp, &w, &v), 1);
  CHECK_EQ_STR(v[0].id, "I2");
  free(v);
  wire_out_free(&old);
  wire_out_free(&w);
  ledgerpull_free(&lp);
}

static void test_intent_not_read_is_missing_until_added(void)
{
  struct ledgerpull lp;
  struct ledger_rec *v;
  struct intent in;
  struct wire_out w;
  size_t n;

  ledgerpull_init(&lp);
  wire_out_init(&w, 1 << 20);
  statefmt_put_commit(&w, 7, "cfw-1", "I1", NOV_S * NS, NULL, 0);
  CHECK_EQ_INT(recs_of(&lp, &w, &v), 0);
  free(v);
  CHECK(ledgerpull_missing(&lp));
  memset(&in, 0, sizeof(in));
  str_copy(in.ref, sizeof(in.ref), "cfw-1");
  strlist_init(&in.paths);
  CHECK_EQ_INT(strlist_push(&in.paths, "/x.html"), 0);
  CHECK_EQ_INT(ledgerpull_add_intents(&lp, &in, 1), 0); /* a snapshot's */
  CHECK(!ledgerpull_missing(&lp));
  CHECK_EQ_INT(ledgerpull_recs(&lp, &v, &n), 0);
  CHECK_EQ_INT(n, 1);
  CHECK_EQ_INT(v[0].n_paths, 1);
  free(v);
  strlist_free(&in.paths);
  wire_out_free(&w);
  ledgerpull_free(&lp);
}

static void test_commit_without_an_invalidation_is_passed_over(void)
{
  struct ledgerpull lp;
  struct ledger_rec *v;
  struct wire_out w;

  ledgerpull_init(&lp);
  wire_out_init(&w, 1 << 20);
  put_intent(&w, 1, "cfw-1", "E1", PATHS);
  statefmt_put_commit(&w, 2, "cfw-1", "", NOV_S * NS, NULL, 0);
  CHECK_EQ_INT(recs_of(&lp, &w, &v), 0);
  CHECK_EQ_INT(lp.n_invs, 0);
  free(v);
  wire_out_free(&w);
  ledgerpull_free(&lp);
}

static void test_damaged_records_are_refused(void)
{
  struct ledgerpull lp;
  struct wire_out w;

  ledgerpull_init(&lp);
  wire_out_init(&w, 1 << 20);
  put_intent(&w, 1, "cfw-1", "E1", PATHS);
  w.b.data[w.b.len - 1] ^= 1;
  CHECK_EQ_INT(
      ledgerpull_scan(&lp, (const unsigned char *)w.b.data, w.b.len, true),
      -EBADMSG);
  wire_out_free(&w);
  ledgerpull_free(&lp);
}

static void test_counted_twice_into_a_dir_counts_once(void)
{
  struct cfw_err err = {0};
  struct wire_out w;
  struct ledger l;
  char dir[4096];
  int i;

  test_tmpdir(dir, sizeof(dir));
  wire_out_init(&w, 1 << 20);
  put_intent(&w, 1, "cfw-1", "E1", PATHS);
  statefmt_put_commit(&w, 2, "cfw-1", "I1", NOV_S * NS, NULL, 0);
  for (i = 0; i < 2; i++)
    CHECK_EQ_INT(ledgerpull_count(dir, NULL, 0, (const unsigned char *)w.b.data,
                                  w.b.len, &err),
                 0);
  CHECK_EQ_INT(ledger_load(&l, dir, &err), 0);
  CHECK_EQ_INT(l.n, 1);
  CHECK_EQ_INT(ledger_month_paths(&l, NOV_S), 3);
  ledger_free(&l);
  wire_out_free(&w);
  test_rmtree(dir);
}

TEST_MAIN(TEST(test_commit_counts_its_intents_paths),
          TEST(test_set_counts_each_accepted_and_not_its_commit),
          TEST(test_earlier_records_give_intents_not_counts),
          TEST(test_intent_not_read_is_missing_until_added),
          TEST(test_commit_without_an_invalidation_is_passed_over),
          TEST(test_damaged_records_are_refused),
          TEST(test_counted_twice_into_a_dir_counts_once))
