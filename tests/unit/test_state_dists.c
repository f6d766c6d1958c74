/* SPDX-License-Identifier: MIT */
/* A state of several distributions (state.h): it names their set, any
 * other set is refused, and each distribution's acceptance of an intent
 * is journaled until the commit. */
#include "state.h"

#include "statefx.h"
#include "test.h"

#define ROOT "/srv/site"
#define SET  "EAPEXEXAMPLE,EWWWEXAMPLE"

/* A baseline of one file, then an intent for a new version of it; its
 * reference goes to ref. */
static void baseline_and_intend(const char *dir, char ref[STATE_REF_LEN])
{
  struct cfw_err err = {0};
  const struct intent *in = NULL;
  struct strlist paths;
  struct change c;
  struct state *s = statefx_open(dir, ROOT, SET);

  memset(&c, 0, sizeof(c));
  change_set_kind(&c, CHANGE_ADDED);
  c.entry.path = (char *)"a.html"; /* borrowed: everything copies it */
  c.entry.size = 1;
  c.entry.flags = TREE_HASHED;
  CHECK_EQ_INT(state_baseline(s, &c, 1, &err), 0);
  change_set_kind(&c, CHANGE_MODIFIED);
  c.entry.size = 2;
  strlist_init(&paths);
  REQUIRE(strlist_push(&paths, "/a.html") == 0);
  CHECK_EQ_INT(intend_copy(s, SET, &paths, &c, 1, NULL, 1, &in, &err), 0);
  REQUIRE(in != NULL);
  CHECK_EQ_STR(in->distribution, SET);
  memcpy(ref, in->ref, STATE_REF_LEN);
  strlist_free(&paths);
  state_close(s);
}

static void test_acceptance_survives_a_restart_until_the_commit(void)
{
  struct cfw_err err = {0};
  const struct intent *in;
  char ref[STATE_REF_LEN];
  struct state *s;
  char dir[256];

  test_tmpdir(dir, sizeof(dir));
  baseline_and_intend(dir, ref);
  s = statefx_open(dir, ROOT, SET);
  CHECK_EQ_INT(state_accepted(s, ref, "EWWWEXAMPLE", "I1", &err), 0);
  /* Twice is once: a replay after a crash. */
  CHECK_EQ_INT(state_accepted(s, ref, "EWWWEXAMPLE", "I1", &err), 0);
  state_close(s); /* a crash between the two acceptances */
  s = statefx_open(dir, ROOT, SET);
  REQUIRE(state_intent_count(s) == 1);
  in = state_intent_at(s, 0);
  CHECK(intent_accepted_by(in, "EWWWEXAMPLE"));
  CHECK(!intent_accepted_by(in, "EAPEXEXAMPLE"));
  CHECK_EQ_INT(in->accepted.n, 1);
  /* Not committed: the manifest still has the old bytes. */
  CHECK_EQ_INT(manifest_find(state_manifest(s), "a.html")->size, 1);
  CHECK_EQ_INT(state_accepted(s, ref, "EAPEXEXAMPLE", "I2", &err), 0);
  CHECK_EQ_INT(state_commit(s, ref, "I2", NULL, 0, &err), 0);
  CHECK_EQ_INT(state_accepted(s, ref, "EAPEXEXAMPLE", "I2", &err), -ENOENT);
  state_close(s);
  s = statefx_open(dir, ROOT, SET);
  CHECK_EQ_INT(state_intent_count(s), 0);
  CHECK_EQ_INT(manifest_find(state_manifest(s), "a.html")->size, 2);
  state_close(s);
  test_rmtree(dir);
}

/* A compaction keeps the intent but not its acceptances: the next run
 * sends it to each distribution again, which CloudFront answers as a
 * replay. */
static void test_compaction_forgets_acceptances_only(void)
{
  struct cfw_err err = {0};
  char ref[STATE_REF_LEN];
  struct state *s;
  char dir[256];

  test_tmpdir(dir, sizeof(dir));
  baseline_and_intend(dir, ref);
  s = statefx_open(dir, ROOT, SET);
  CHECK_EQ_INT(state_accepted(s, ref, "EWWWEXAMPLE", "I1", &err), 0);
  CHECK_EQ_INT(state_compact(s, &err), 0);
  state_close(s);
  s = statefx_open(dir, ROOT, SET);
  REQUIRE(state_intent_count(s) == 1);
  CHECK_EQ_STR(state_intent_at(s, 0)->ref, ref);
  CHECK_EQ_INT(state_intent_at(s, 0)->accepted.n, 0);
  state_close(s);
  test_rmtree(dir);
}

static void test_another_set_is_refused_with_the_way_out(void)
{
  struct cfw_err err = {0};
  char ref[STATE_REF_LEN];
  struct state *s = NULL;
  char dir[256];

  test_tmpdir(dir, sizeof(dir));
  baseline_and_intend(dir, ref);
  /* One more, one fewer, or one of them alone: all refused. */
  CHECK_EQ_INT(
      state_open(&s, dir, ROOT, "EAPEXEXAMPLE,ENEW,EWWWEXAMPLE", 0, &err),
      -ESTALE);
  CHECK_CONTAINS(err.msg, "belongs to the distributions " SET
                          ", not EAPEXEXAMPLE,ENEW,EWWWEXAMPLE");
  CHECK_CONTAINS(err.msg, "cfwatch invalidate --distribution-id ID '/*'");
  CHECK_EQ_INT(state_open(&s, dir, ROOT, "EWWWEXAMPLE", 0, &err), -ESTALE);
  CHECK_CONTAINS(err.msg, "not EWWWEXAMPLE");
  CHECK_EQ_INT(state_open(&s, dir, ROOT, SET, 0, &err), 0);
  state_close(s);
  test_rmtree(dir);
}

/* A state of one distribution never sees an ACCEPTED record: its
 * journal is what it always was. */
static void test_one_distribution_state_refuses_a_set(void)
{
  struct cfw_err err = {0};
  struct state *s = NULL;
  char dir[256];

  test_tmpdir(dir, sizeof(dir));
  s = statefx_open(dir, ROOT, "EWWWEXAMPLE");
  CHECK_EQ_INT(state_baseline(s, NULL, 0, &err), 0);
  state_close(s);
  CHECK_EQ_INT(state_open(&s, dir, ROOT, SET, 0, &err), -ESTALE);
  CHECK_CONTAINS(err.msg, "belongs to the distributions EWWWEXAMPLE, not " SET);
  test_rmtree(dir);
}

TEST_MAIN(TEST(test_acceptance_survives_a_restart_until_the_commit),
          TEST(test_compaction_forgets_acceptances_only),
          TEST(test_another_set_is_refused_with_the_way_out),
          TEST(test_one_distribution_state_refuses_a_set))
