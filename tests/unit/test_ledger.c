/* SPDX-License-Identifier: MIT */
#include "ledger.h"
#include "test.h"

/* 2026-11-25T08:00:00Z and a day in December. */
#define NOV_S 1795593600LL
#define DEC_S (NOV_S + 10LL * 86400)

static void test_record_then_load_round_trip(void)
{
  struct cfw_err err;
  struct ledger l;
  char dir[4096];

  test_tmpdir(dir, sizeof(dir));
  CHECK_EQ_INT(ledger_record(dir, "I1", 12, 1, "InProgress", NOV_S, &err), 0);
  CHECK_EQ_INT(ledger_record(dir, "I2", 3, 0, "InProgress", NOV_S + 5, &err),
               0);
  CHECK_EQ_INT(ledger_load(&l, dir, &err), 0);
  CHECK_EQ_INT(l.n, 2);
  CHECK_EQ_STR(l.v[0].id, "I1");
  CHECK_EQ_INT(l.v[0].n_paths, 12);
  CHECK_EQ_INT(l.v[0].n_wildcards, 1);
  CHECK_EQ_INT(l.v[1].created_s, NOV_S + 5);
  CHECK_EQ_INT(ledger_month_paths(&l, NOV_S), 15);
  ledger_free(&l);
  test_rmtree(dir);
}

static void test_replay_is_not_counted_twice(void)
{
  struct cfw_err err;
  struct ledger l;
  char dir[4096];

  test_tmpdir(dir, sizeof(dir));
  CHECK_EQ_INT(ledger_record(dir, "I1", 12, 0, "InProgress", NOV_S, &err), 0);
  CHECK_EQ_INT(ledger_record(dir, "I1", 12, 0, "Completed", NOV_S, &err), 0);
  CHECK_EQ_INT(ledger_load(&l, dir, &err), 0);
  CHECK_EQ_INT(l.n, 1);
  CHECK_EQ_STR(l.v[0].status, "Completed");
  CHECK_EQ_INT(ledger_month_paths(&l, NOV_S), 12);
  ledger_free(&l);
  test_rmtree(dir);
}

static void test_new_month_starts_from_zero(void)
{
  struct cfw_err err;
  struct ledger l;
  char dir[4096];

  test_tmpdir(dir, sizeof(dir));
  CHECK_EQ_INT(ledger_record(dir, "I1", 900, 0, "Completed", NOV_S, &err), 0);
  CHECK_EQ_INT(ledger_record(dir, "I2", 7, 0, "InProgress", DEC_S, &err), 0);
  CHECK_EQ_INT(ledger_load(&l, dir, &err), 0);
  CHECK_EQ_INT(ledger_month_paths(&l, DEC_S), 7);
  CHECK_EQ_INT(ledger_month_paths(&l, NOV_S), 0);
  ledger_free(&l);
  test_rmtree(dir);
}

static void test_missing_ledger_is_empty(void)
{
  struct cfw_err err;
  struct ledger l;
  char dir[4096];

  test_tmpdir(dir, sizeof(dir));
  CHECK_EQ_INT(ledger_load(&l, dir, &err), 0);
  CHECK_EQ_INT(l.n, 0);
  CHECK_EQ_INT(ledger_month_paths(&l, NOV_S), 0);
  ledger_free(&l);
  test_rmtree(dir);
}

static void test_damaged_ledger_is_reported_and_replaced(void)
{
  struct cfw_err err;
  struct ledger l;
  char dir[4096];

  test_tmpdir(dir, sizeof(dir));
  test_write(dir, "ledger", "cfwatch-ledger 1\ninv I1 notanumber 1 0 X\n");
  CHECK_EQ_INT(ledger_load(&l, dir, &err), -EBADMSG);
  CHECK_CONTAINS(err.msg, "damaged");
  CHECK_EQ_INT(l.n, 0);
  CHECK_EQ_INT(ledger_record(dir, "I2", 1, 0, "InProgress", NOV_S, &err), 0);
  CHECK_EQ_INT(ledger_load(&l, dir, &err), 0);
  CHECK_EQ_INT(l.n, 1);
  ledger_free(&l);
  test_rmtree(dir);
}

static void test_keeps_only_the_latest_entries(void)
{
  struct cfw_err err;
  struct ledger l;
  char dir[4096];
  char id[32];
  int i;

  test_tmpdir(dir, sizeof(dir));
  for (i = 0; i < LEDGER_KEEP + 5; i++) {
    snprintf(id, sizeof(id), "I%d", i);
    CHECK_EQ_INT(ledger_record(dir, id, 1, 0, "Completed", NOV_S + i, &err), 0);
  }
  CHECK_EQ_INT(ledger_load(&l, dir, &err), 0);
  CHECK_EQ_INT(l.n, LEDGER_KEEP);
  CHECK_EQ_STR(l.v[0].id, "I5");
  CHECK_EQ_INT(ledger_month_paths(&l, NOV_S), LEDGER_KEEP + 5);
  ledger_free(&l);
  test_rmtree(dir);
}

/* Two distributions of one site: each one's invalidation is recorded
 * with it and billed, so the month counts the paths twice; a replay at
 * one of them counts nothing. */
static void test_each_distribution_counts_its_paths(void)
{
  struct cfw_err err;
  struct ledger l;
  char dir[4096];

  test_tmpdir(dir, sizeof(dir));
  CHECK_EQ_INT(
      ledger_record_at(dir, "I1", "EWWW", 12, 1, "InProgress", NOV_S, &err), 0);
  CHECK_EQ_INT(
      ledger_record_at(dir, "I1", "EAPEX", 12, 1, "InProgress", NOV_S, &err),
      0);
  CHECK_EQ_INT(
      ledger_record_at(dir, "I1", "EWWW", 12, 1, "Completed", NOV_S, &err), 0);
  CHECK_EQ_INT(
      ledger_record_at(dir, "I2", "E X", 1, 0, "InProgress", NOV_S, &err),
      -EINVAL);
  CHECK_EQ_INT(ledger_load(&l, dir, &err), 0);
  CHECK_EQ_INT(l.n, 2);
  CHECK_EQ_STR(l.v[0].dist, "EWWW");
  CHECK_EQ_STR(l.v[0].status, "Completed");
  CHECK_EQ_STR(l.v[1].dist, "EAPEX");
  CHECK_EQ_INT(ledger_month_paths(&l, NOV_S), 24);
  ledger_free(&l);
  /* A site of one writes no distribution, as before. */
  CHECK_EQ_INT(ledger_record(dir, "I3", 2, 0, "InProgress", NOV_S, &err), 0);
  CHECK_EQ_INT(ledger_load(&l, dir, &err), 0);
  CHECK_EQ_INT(l.n, 3);
  CHECK_EQ_STR(l.v[2].dist, "");
  ledger_free(&l);
  test_rmtree(dir);
}

static void test_earlier_month_arriving_late_is_not_counted(void)
{
  struct ledger_rec v[2] = {{"I2", NULL, 5, 0, NULL, NOV_S},
                            {"I3", NULL, 3, 0, NULL, DEC_S + 60}};
  struct cfw_err err;
  struct ledger l;
  char dir[4096];

  test_tmpdir(dir, sizeof(dir));
  CHECK_EQ_INT(ledger_record(dir, "I1", 7, 0, "InProgress", DEC_S, &err), 0);
  /* Pulled from another machine: November's does not restart the
   * month, December's counts. */
  CHECK_EQ_INT(ledger_record_v(dir, v, 2, &err), 0);
  CHECK_EQ_INT(ledger_load(&l, dir, &err), 0);
  CHECK_EQ_INT(l.n, 3);
  CHECK_EQ_INT(ledger_month_paths(&l, DEC_S), 10);
  CHECK_EQ_STR(l.v[1].status, "InProgress");
  CHECK_EQ_INT(l.v[1].created_s, NOV_S);
  ledger_free(&l);
  test_rmtree(dir);
}

static void test_unknown_status_keeps_the_known_one(void)
{
  struct ledger_rec r = {"I1", NULL, 12, 0, NULL, NOV_S};
  struct cfw_err err;
  struct ledger l;
  char dir[4096];

  test_tmpdir(dir, sizeof(dir));
  CHECK_EQ_INT(ledger_record(dir, "I1", 12, 0, "Completed", NOV_S, &err), 0);
  CHECK_EQ_INT(ledger_record_v(dir, &r, 1, &err), 0);
  CHECK_EQ_INT(ledger_load(&l, dir, &err), 0);
  CHECK_EQ_INT(l.n, 1);
  CHECK_EQ_STR(l.v[0].status, "Completed");
  CHECK_EQ_INT(ledger_month_paths(&l, NOV_S), 12);
  ledger_free(&l);
  test_rmtree(dir);
}

static void test_id_with_a_space_writes_nothing(void)
{
  struct ledger_rec v[2] = {{"I1", NULL, 1, 0, NULL, NOV_S},
                            {"I 2", NULL, 1, 0, NULL, NOV_S}};
  struct cfw_err err;
  struct ledger l;
  char dir[4096];

  test_tmpdir(dir, sizeof(dir));
  CHECK_EQ_INT(ledger_record_v(dir, v, 2, &err), -EINVAL);
  CHECK_EQ_INT(ledger_load(&l, dir, &err), 0);
  CHECK_EQ_INT(l.n, 0);
  ledger_free(&l);
  test_rmtree(dir);
}

TEST_MAIN(TEST(test_record_then_load_round_trip),
          TEST(test_each_distribution_counts_its_paths),
          TEST(test_replay_is_not_counted_twice),
          TEST(test_new_month_starts_from_zero),
          TEST(test_missing_ledger_is_empty),
          TEST(test_damaged_ledger_is_reported_and_replaced),
          TEST(test_keeps_only_the_latest_entries),
          TEST(test_earlier_month_arriving_late_is_not_counted),
          TEST(test_unknown_status_keeps_the_known_one),
          TEST(test_id_with_a_space_writes_nothing))
