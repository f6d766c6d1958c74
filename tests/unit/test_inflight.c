/* SPDX-License-Identifier: MIT */
#include "inflight.h"

#include "cflimits.h"
#include "test.h"

#include <stdbool.h>

/* 2026-11-25T08:00:00Z, and CloudFront's way of writing it. */
#define NOW_S    1795593600LL
#define NOW_TEXT "2026-11-25T08:00:00.000Z"
#define OLD_TEXT "2026-11-25T06:00:00Z" /* two hours before */

#define FAKE_MAX_INV   64
#define FAKE_MAX_CALLS 64

/* A CloudFront that knows some invalidations, newest first, answers
 * ListInvalidations in pages of page_items, and GetInvalidation by id.
 * Calls are queued until fake_pump() answers them, as the loop would, or
 * answered at once if sync is set. */
struct fake_inv {
  const char *id;
  const char *status;      /* on the list */
  const char *get_status;  /* from GetInvalidation; NULL: as listed */
  const char *create_time; /* NULL: NOW_TEXT */
  const char *paths[4];    /* NULL-terminated */
};

struct fake_call {
  bool is_list;
  char arg[64]; /* marker or id */
  cf_cb cb;
  void *cb_arg;
};

struct fake {
  struct fake_inv inv[FAKE_MAX_INV];
  size_t n_inv;
  size_t page_items;
  bool sync;
  enum cf_verdict fail_list; /* CF_DONE: answer normally */
  int refuse;                /* returned by the next call, if < 0 */
  struct fake_call q[FAKE_MAX_CALLS];
  size_t n_q;
  size_t lists;
  size_t gets;
};

/* What the refresh reported. */
struct seen {
  int calls;
  struct inflight_result r;
  struct inflight *destroy; /* destroy this from the callback */
};

static void on_refresh(struct inflight *f, const struct inflight_result *r,
                       void *arg)
{
  struct seen *s = arg;

  (void)f; /* the test holds it */
  s->calls++;
  s->r = *r;
  if (s->destroy != NULL)
    inflight_destroy(s->destroy);
}

static size_t fake_index_of(const struct fake *k, const char *id)
{
  size_t i;

  for (i = 0; i < k->n_inv; i++)
    if (strcmp(k->inv[i].id, id) == 0)
      return i;
  return k->n_inv;
}

static void fake_fill_page(const struct fake *k, const char *marker,
                           struct cf_invalidation_list *l)
{
  size_t from = marker[0] ? fake_index_of(k, marker) + 1 : 0;
  size_t i;

  l->items = calloc(k->page_items + 1, sizeof(*l->items));
  if (l->items == NULL)
    exit(2);
  for (i = from; i < k->n_inv && l->n < k->page_items; i++) {
    (void)snprintf(l->items[l->n].id, sizeof(l->items[l->n].id), "%s",
                   k->inv[i].id);
    (void)snprintf(l->items[l->n].status, sizeof(l->items[l->n].status), "%s",
                   k->inv[i].status);
    (void)snprintf(l->items[l->n].create_time,
                   sizeof(l->items[l->n].create_time), "%s",
                   k->inv[i].create_time ? k->inv[i].create_time : NOW_TEXT);
    l->n++;
  }
  l->quantity = l->n;
  l->is_truncated = i < k->n_inv;
  if (l->is_truncated)
    (void)snprintf(l->next_marker, sizeof(l->next_marker), "%s",
                   l->items[l->n - 1].id);
}

static void fake_fill_inv(const struct fake *k, const char *id,
                          struct cf_invalidation *inv)
{
  const struct fake_inv *fi = &k->inv[fake_index_of(k, id)];
  size_t i;

  (void)snprintf(inv->id, sizeof(inv->id), "%s", fi->id);
  (void)snprintf(inv->status, sizeof(inv->status), "%s",
                 fi->get_status ? fi->get_status : fi->status);
  for (i = 0; fi->paths[i] != NULL; i++)
    if (strlist_push(&inv->paths, fi->paths[i]) < 0)
      exit(2);
  inv->quantity = inv->paths.n;
}

static void fake_answer(struct fake *k, const struct fake_call *c)
{
  struct cf_result r;

  memset(&r, 0, sizeof(r));
  cf_invalidation_init(&r.inv);
  cf_invalidation_list_init(&r.list);
  r.op = c->is_list ? CF_OP_LIST : CF_OP_GET;
  r.verdict = c->is_list ? k->fail_list : CF_DONE;
  if (r.verdict != CF_DONE) {
    r.status = 503;
    cfw_err_set(&r.err, -EIO, "CloudFront: 503 ServiceUnavailable");
  } else if (c->is_list) {
    fake_fill_page(k, c->arg, &r.list);
  } else {
    fake_fill_inv(k, c->arg, &r.inv);
  }
  c->cb(&r, c->cb_arg);
  cf_invalidation_free(&r.inv);
  cf_invalidation_list_free(&r.list);
}

static int fake_call(struct fake *k, bool is_list, const char *arg, cf_cb cb,
                     void *cb_arg, struct cfw_err *err)
{
  struct fake_call c;
  int rc = k->refuse;

  if (rc < 0) {
    k->refuse = 0;
    return cfw_err_set(err, rc, "refused");
  }
  memset(&c, 0, sizeof(c));
  c.is_list = is_list;
  (void)snprintf(c.arg, sizeof(c.arg), "%s", arg ? arg : "");
  c.cb = cb;
  c.cb_arg = cb_arg;
  if (k->sync) {
    fake_answer(k, &c);
    return 0;
  }
  if (k->n_q == FAKE_MAX_CALLS)
    exit(2);
  k->q[k->n_q++] = c;
  return 0;
}

static int fake_list(void *ctx, const char *marker, unsigned max_items,
                     cf_cb cb, void *arg, struct cfw_err *err)
{
  struct fake *k = ctx;

  CHECK_EQ_INT(max_items, INFLIGHT_PAGE_ITEMS);
  k->lists++;
  return fake_call(k, true, marker, cb, arg, err);
}

static int fake_get(void *ctx, const char *id, cf_cb cb, void *arg,
                    struct cfw_err *err)
{
  struct fake *k = ctx;

  k->gets++;
  return fake_call(k, false, id, cb, arg, err);
}

/* Answers queued calls, and those they cause, until none is left. */
static void fake_pump(struct fake *k)
{
  struct fake_call c;

  while (k->n_q > 0) {
    c = k->q[0];
    memmove(k->q, k->q + 1, (k->n_q - 1) * sizeof(*k->q));
    k->n_q--;
    fake_answer(k, &c);
  }
}

static void fake_init(struct fake *k)
{
  memset(k, 0, sizeof(*k));
  k->page_items = INFLIGHT_PAGE_ITEMS;
  k->fail_list = CF_DONE;
}

static void fake_add(struct fake *k, const struct fake_inv *inv)
{
  if (k->n_inv == FAKE_MAX_INV)
    exit(2);
  k->inv[k->n_inv++] = *inv;
}

static struct inflight *new_inflight(void)
{
  struct inflight *f = NULL;

  if (inflight_new(&f) < 0)
    exit(2);
  return f;
}

/* Runs one refresh to its end; returns what refresh_with returned. */
static int refresh(struct inflight *f, struct fake *k, struct seen *s)
{
  struct inflight_calls c = {fake_list, fake_get, k};
  struct cfw_err err = {0};
  int rc;

  rc = inflight_refresh_with(f, &c, NOW_S, on_refresh, s, &err);
  fake_pump(k);
  return rc;
}

static void check_counts(const struct inflight *f, size_t files, size_t wild)
{
  size_t nf;
  size_t nw;

  inflight_counts(f, &nf, &nw);
  CHECK_EQ_INT(nf, files);
  CHECK_EQ_INT(nw, wild);
}

static void test_counts_paths_of_running_invalidations(void)
{
  struct inflight *f = new_inflight();
  struct seen s = {0};
  struct fake k;

  fake_init(&k);
  fake_add(&k, &(struct fake_inv){
                   "I3", "InProgress", NULL, NULL, {"/a.html", "/b/*", NULL}});
  fake_add(
      &k, &(struct fake_inv){"I2", "Completed", NULL, NULL, {"/x.html", NULL}});
  fake_add(&k, &(struct fake_inv){"I1",
                                  "InProgress",
                                  NULL,
                                  NULL,
                                  {"/c/", "/c/index.html", "/*", NULL}});
  CHECK_EQ_INT(refresh(f, &k, &s), 0);
  CHECK_EQ_INT(s.calls, 1);
  CHECK_EQ_INT(s.r.status, 0);
  CHECK_EQ_INT(s.r.verdict, CF_DONE);
  CHECK_EQ_INT(s.r.listed, 3);
  CHECK_EQ_INT(s.r.in_progress, 2);
  CHECK_EQ_INT(k.gets, 2);
  check_counts(f, 3, 2);
  inflight_destroy(f);
}

static void test_invalidation_done_since_listed_is_not_counted(void)
{
  struct inflight *f = new_inflight();
  struct seen s = {0};
  struct fake k;

  fake_init(&k);
  fake_add(&k, &(struct fake_inv){
                   "I1", "InProgress", "Completed", NULL, {"/a.html", NULL}});
  CHECK_EQ_INT(refresh(f, &k, &s), 0);
  CHECK_EQ_INT(s.r.in_progress, 0);
  check_counts(f, 0, 0);
  inflight_destroy(f);
}

static void test_pages_until_past_the_horizon(void)
{
  struct inflight *f = new_inflight();
  struct seen s = {0};
  struct fake k;

  fake_init(&k);
  k.page_items = 2;
  fake_add(&k, &(struct fake_inv){"I6", "Completed", NULL, NULL, {NULL}});
  fake_add(&k, &(struct fake_inv){"I5", "Completed", NULL, NULL, {NULL}});
  fake_add(&k,
           &(struct fake_inv){"I4", "InProgress", NULL, NULL, {"/a", NULL}});
  fake_add(&k, &(struct fake_inv){"I3", "Completed", NULL, OLD_TEXT, {NULL}});
  fake_add(&k, &(struct fake_inv){
                   "I2", "InProgress", NULL, OLD_TEXT, {"/never-asked", NULL}});
  CHECK_EQ_INT(refresh(f, &k, &s), 0);
  CHECK_EQ_INT(k.lists, 2);
  CHECK_EQ_INT(s.r.listed, 4);
  check_counts(f, 1, 0);
  inflight_destroy(f);
}

static void test_paging_is_bounded(void)
{
  struct inflight *f = new_inflight();
  struct seen s = {0};
  char ids[FAKE_MAX_INV][16];
  struct fake k;
  size_t i;

  fake_init(&k);
  k.page_items = 1;
  for (i = 0; i < INFLIGHT_MAX_PAGES + 5; i++) {
    (void)snprintf(ids[i], sizeof(ids[i]), "I%zu", 100 - i);
    fake_add(&k, &(struct fake_inv){ids[i], "Completed", NULL, NULL, {NULL}});
  }
  CHECK_EQ_INT(refresh(f, &k, &s), 0);
  CHECK_EQ_INT(k.lists, INFLIGHT_MAX_PAGES);
  CHECK_EQ_INT(s.r.status, 0);
  inflight_destroy(f);
}

static void test_failed_list_keeps_the_table(void)
{
  struct inflight *f = new_inflight();
  struct seen s = {0};
  struct fake k;

  fake_init(&k);
  k.fail_list = CF_RETRY;
  CHECK_EQ_INT(inflight_add(f, "MINE", 10, 1, NOW_S - 3600), 0);
  CHECK_EQ_INT(refresh(f, &k, &s), 0);
  CHECK_EQ_INT(s.calls, 1);
  CHECK(s.r.status < 0);
  CHECK_EQ_INT(s.r.verdict, CF_RETRY);
  CHECK_CONTAINS(s.r.err.msg, "503");
  check_counts(f, 10, 1);
  inflight_destroy(f);
}

static void test_refused_first_call_runs_no_callback(void)
{
  struct inflight *f = new_inflight();
  struct seen s = {0};
  struct fake k;

  fake_init(&k);
  k.refuse = -ENOMEM;
  CHECK_EQ_INT(refresh(f, &k, &s), -ENOMEM);
  CHECK_EQ_INT(s.calls, 0);
  /* Not left busy: the next one starts. */
  CHECK_EQ_INT(refresh(f, &k, &s), 0);
  CHECK_EQ_INT(s.calls, 1);
  inflight_destroy(f);
}

static void test_refused_get_ends_the_refresh(void)
{
  struct inflight *f = new_inflight();
  struct inflight_calls c = {fake_list, fake_get, NULL};
  struct cfw_err err = {0};
  struct seen s = {0};
  struct fake k;

  fake_init(&k);
  c.ctx = &k;
  fake_add(&k,
           &(struct fake_inv){"I1", "InProgress", NULL, NULL, {"/a", NULL}});
  CHECK_EQ_INT(inflight_refresh_with(f, &c, NOW_S, on_refresh, &s, &err), 0);
  k.refuse = -EINVAL;
  fake_pump(&k);
  CHECK_EQ_INT(s.calls, 1);
  CHECK_EQ_INT(s.r.status, -EINVAL);
  CHECK_EQ_INT(s.r.verdict, CF_FATAL);
  inflight_destroy(f);
}

static void test_second_refresh_while_running_is_refused(void)
{
  struct inflight *f = new_inflight();
  struct inflight_calls c = {fake_list, fake_get, NULL};
  struct cfw_err err = {0};
  struct seen s = {0};
  struct fake k;

  fake_init(&k);
  c.ctx = &k;
  CHECK_EQ_INT(inflight_refresh_with(f, &c, NOW_S, on_refresh, &s, &err), 0);
  CHECK_EQ_INT(inflight_refresh_with(f, &c, NOW_S, on_refresh, &s, &err),
               -EBUSY);
  fake_pump(&k);
  CHECK_EQ_INT(s.calls, 1);
  inflight_destroy(f);
}

static void test_own_fresh_invalidation_kept_until_listed(void)
{
  struct inflight *f = new_inflight();
  struct seen s = {0};
  struct fake k;

  fake_init(&k);
  CHECK_EQ_INT(inflight_add(f, "MINE", 7, 2, NOW_S - 10), 0);
  CHECK_EQ_INT(refresh(f, &k, &s), 0);
  check_counts(f, 7, 2);
  inflight_destroy(f);
}

static void test_own_old_unlisted_invalidation_is_dropped(void)
{
  struct inflight *f = new_inflight();
  struct seen s = {0};
  struct fake k;

  fake_init(&k);
  CHECK_EQ_INT(inflight_add(f, "MINE", 7, 2, NOW_S - INFLIGHT_GRACE_S), 0);
  CHECK_EQ_INT(refresh(f, &k, &s), 0);
  check_counts(f, 0, 0);
  inflight_destroy(f);
}

static void test_own_invalidation_listed_completed_is_dropped(void)
{
  struct inflight *f = new_inflight();
  struct seen s = {0};
  struct fake k;

  fake_init(&k);
  fake_add(&k, &(struct fake_inv){"MINE", "Completed", NULL, NULL, {NULL}});
  CHECK_EQ_INT(inflight_add(f, "MINE", 7, 2, NOW_S - 10), 0);
  CHECK_EQ_INT(refresh(f, &k, &s), 0);
  check_counts(f, 0, 0);
  inflight_destroy(f);
}

static void test_own_invalidation_listed_running_counts_once(void)
{
  struct inflight *f = new_inflight();
  struct seen s = {0};
  struct fake k;

  fake_init(&k);
  fake_add(&k, &(struct fake_inv){
                   "MINE", "InProgress", NULL, NULL, {"/a", "/b", NULL}});
  CHECK_EQ_INT(inflight_add(f, "MINE", 2, 0, NOW_S - 10), 0);
  CHECK_EQ_INT(refresh(f, &k, &s), 0);
  check_counts(f, 2, 0);
  inflight_destroy(f);
}

static void test_added_during_refresh_is_kept(void)
{
  struct inflight *f = new_inflight();
  struct inflight_calls c = {fake_list, fake_get, NULL};
  struct cfw_err err = {0};
  struct seen s = {0};
  struct fake k;

  fake_init(&k);
  c.ctx = &k;
  CHECK_EQ_INT(inflight_refresh_with(f, &c, NOW_S, on_refresh, &s, &err), 0);
  /* Its clock says long ago, but it came after the list was asked for. */
  CHECK_EQ_INT(inflight_add(f, "NEW", 1, 0, 0), 0);
  fake_pump(&k);
  check_counts(f, 1, 0);
  inflight_destroy(f);
}

static void test_answers_before_the_call_returns(void)
{
  struct inflight *f = new_inflight();
  struct seen s = {0};
  struct fake k;

  fake_init(&k);
  k.sync = true;
  k.page_items = 1;
  fake_add(&k,
           &(struct fake_inv){"I2", "InProgress", NULL, NULL, {"/a", NULL}});
  fake_add(&k,
           &(struct fake_inv){"I1", "InProgress", NULL, NULL, {"/b/*", NULL}});
  CHECK_EQ_INT(refresh(f, &k, &s), 0);
  CHECK_EQ_INT(s.calls, 1);
  check_counts(f, 1, 1);
  inflight_destroy(f);
}

static void test_destroy_while_refreshing_never_calls_back(void)
{
  struct inflight *f = new_inflight();
  struct inflight_calls c = {fake_list, fake_get, NULL};
  struct cfw_err err = {0};
  struct seen s = {0};
  struct fake k;

  fake_init(&k);
  c.ctx = &k;
  CHECK_EQ_INT(inflight_refresh_with(f, &c, NOW_S, on_refresh, &s, &err), 0);
  inflight_destroy(f);
  fake_pump(&k); /* ASan reports a use after free or a leak */
  CHECK_EQ_INT(s.calls, 0);
}

static void test_callback_may_destroy(void)
{
  struct inflight *f = new_inflight();
  struct seen s = {0};
  struct fake k;

  fake_init(&k);
  s.destroy = f;
  CHECK_EQ_INT(refresh(f, &k, &s), 0);
  CHECK_EQ_INT(s.calls, 1);
}

static void test_add_complete_and_fit(void)
{
  struct inflight *f = new_inflight();
  char id[80];

  /* CloudFront ids fit 63 bytes (cfxml's summary holds 64). */
  memset(id, 'A', sizeof(id));
  id[64] = '\0';
  CHECK_EQ_INT(inflight_add(f, "", 1, 0, NOW_S), -EINVAL);
  CHECK_EQ_INT(inflight_add(f, id, 1, 0, NOW_S), -EINVAL);
  CHECK_EQ_INT(
      inflight_add(f, "A", CF_MAX_FILE_PATHS_IN_PROGRESS - 5, 14, NOW_S), 0);
  CHECK(inflight_fits(f, 5, 1));
  CHECK(!inflight_fits(f, 6, 0));
  CHECK(!inflight_fits(f, 0, 2));
  CHECK_EQ_INT(inflight_add(f, "A", 1, 0, NOW_S), 0); /* an update */
  check_counts(f, 1, 0);
  CHECK_EQ_INT(inflight_complete(f, "A"), 0);
  CHECK_EQ_INT(inflight_complete(f, "A"), -ENOENT);
  CHECK(inflight_fits(f, CF_MAX_FILE_PATHS_IN_PROGRESS,
                      CF_MAX_WILDCARDS_IN_PROGRESS));
  inflight_destroy(f);
  inflight_destroy(NULL);
}

TEST_MAIN(TEST(test_counts_paths_of_running_invalidations),
          TEST(test_invalidation_done_since_listed_is_not_counted),
          TEST(test_pages_until_past_the_horizon), TEST(test_paging_is_bounded),
          TEST(test_failed_list_keeps_the_table),
          TEST(test_refused_first_call_runs_no_callback),
          TEST(test_refused_get_ends_the_refresh),
          TEST(test_second_refresh_while_running_is_refused),
          TEST(test_own_fresh_invalidation_kept_until_listed),
          TEST(test_own_old_unlisted_invalidation_is_dropped),
          TEST(test_own_invalidation_listed_completed_is_dropped),
          TEST(test_own_invalidation_listed_running_counts_once),
          TEST(test_added_during_refresh_is_kept),
          TEST(test_answers_before_the_call_returns),
          TEST(test_destroy_while_refreshing_never_calls_back),
          TEST(test_callback_may_destroy), TEST(test_add_complete_and_fit))
