/* SPDX-License-Identifier: MIT */
/* The account's monthly path count (cfaccount.h) against the stand-in
 * over loopback TLS: what it counts, where it stops, what its cache
 * saves, what its budget leaves unread and what it survives. */
#include <time.h>

#include "cf_fixture.h"
#include "cfaccount.h"
#include "test.h"

#define WWW "EWWWEXAMPLE0001"

/* Two distributions, invalidations that complete at once. */
static const char two[] = "{\"completion_delay\": 0, \"distributions\": "
                          "[\"" CFFX_DIST "\", \"" WWW "\"]}";

struct count {
  struct cffx *f;
  struct cfaccount_result r;
};

static void on_count(const struct cfaccount_result *r, void *arg)
{
  struct count *c = arg;

  c->r = *r;
  c->f->done++;
}

/* The stand-in clock's month start, as an ISO time with a fraction. */
static void month_start_iso(char *out, size_t n, int days_before)
{
  time_t t = time(NULL);
  struct tm tm;

  gmtime_r(&t, &tm);
  tm.tm_mday = 1;
  tm.tm_hour = 0;
  tm.tm_min = 0;
  tm.tm_sec = 0;
  t = timegm(&tm) - (time_t)days_before * 86400;
  gmtime_r(&t, &tm);
  REQUIRE(strftime(out, n, "%Y-%m-%dT%H:%M:%S.000Z", &tm) > 0);
}

/* Seeds dist with n invalidations of n_paths paths each at when, in one
 * request: a request each made a 150-invalidation seed take seconds. */
static void seed_many(struct cffx *f, const char *dist, const char *when, int n,
                      int n_paths)
{
  struct buf body;
  int i;
  int k;

  buf_init(&body, 1 << 20);
  REQUIRE(buf_addf(&body, "{\"distribution\": \"%s\", \"invalidations\": [",
                   dist) == 0);
  for (k = 0; k < n; k++) {
    REQUIRE(buf_addf(&body, "%s{\"create_time\": \"%s\", \"paths\": [",
                     k ? ", " : "", when) == 0);
    for (i = 0; i < n_paths; i++)
      REQUIRE(buf_addf(&body, "%s\"/p%d\"", i ? ", " : "", i) == 0);
    REQUIRE(buf_adds(&body, "]}") == 0);
  }
  REQUIRE(buf_adds(&body, "]}") == 0);
  standin_post(&f->cf, "seed", buf_str(&body));
  buf_free(&body);
}

/* Seeds dist with one invalidation of n_paths paths at when. */
static void seed(struct cffx *f, const char *dist, const char *when,
                 int n_paths)
{
  seed_many(f, dist, when, 1, n_paths);
}

/* Runs one count with budget, state_dir (or NULL). */
static void count(struct cffx *f, struct count *c, size_t budget,
                  const char *state_dir)
{
  struct cfaccount_opts o = {0};
  struct cfw_err err = {0};
  int done = f->done;

  memset(c, 0, sizeof(*c));
  c->f = f;
  o.loop = &f->loop;
  o.log = f->log;
  o.cf = f->c;
  o.state_dir = state_dir;
  o.max_requests = budget;
  o.pace_ms = 1;
  o.retry_for_ms = 30000;
  o.now_s = (int64_t)time(NULL);
  REQUIRE(cfaccount_start(&o, on_count, c, &err) == 0);
  cffx_wait(f, done + 1);
}

/* The operations the stand-in logged, one letter each: D list
 * distributions, L list invalidations, G get invalidation. */
static void ops(const struct cffx *f, char *out, size_t n)
{
  json_t *j = standin_json(&f->cf, "GET", "log", NULL);
  json_t *e;
  size_t i;
  size_t o = 0;

  json_array_foreach(json_object_get(j, "requests"), i, e)
  {
    const char *op = json_string_value(json_object_get(e, "operation"));

    if (o + 1 < n)
      out[o++] = strcmp(op, "list_distributions") == 0 ? 'D'
                 : strcmp(op, "list") == 0             ? 'L'
                 : strcmp(op, "get") == 0              ? 'G'
                                                       : '?';
  }
  out[o] = '\0';
  json_decref(j);
}

static void test_counts_every_item_of_the_month_over_all_distributions(void)
{
  char first[40];
  char old[40];
  char seen[64];
  struct count c;
  struct cffx f;

  cffx_start(&f, two, NULL);
  month_start_iso(first, sizeof(first), 0);
  month_start_iso(old, sizeof(old), 1); /* the month before's last day */
  seed(&f, CFFX_DIST, old, 500);
  seed(&f, CFFX_DIST, first, 3);
  seed(&f, WWW, first, 7);
  count(&f, &c, 100, NULL);
  CHECK_EQ_INT(c.r.status, 0);
  CHECK(c.r.complete);
  CHECK_EQ_INT(c.r.month_paths, 10);
  CHECK_EQ_INT(c.r.distributions, 2);
  CHECK_EQ_INT(c.r.invalidations, 2);
  CHECK_EQ_INT(c.r.requests, 5);
  ops(&f, seen, sizeof(seen));
  CHECK_EQ_STR(seen, "DLLGG"); /* the old one is never read */
  cffx_stop(&f);
}

static void test_list_stops_at_the_first_older_invalidation(void)
{
  char first[40];
  char old[40];
  char seen[64];
  struct count c;
  struct cffx f;

  cffx_start(&f, "{\"completion_delay\": 0}", NULL);
  month_start_iso(first, sizeof(first), 0);
  month_start_iso(old, sizeof(old), 3);
  seed_many(&f, CFFX_DIST, old, 150, 1); /* two pages, were they all read */
  seed(&f, CFFX_DIST, first, 2);
  count(&f, &c, 100, NULL);
  CHECK(c.r.complete);
  CHECK_EQ_INT(c.r.month_paths, 2);
  ops(&f, seen, sizeof(seen));
  CHECK_EQ_STR(seen, "DLG"); /* one page: it holds an older one */
  cffx_stop(&f);
}

static void test_second_count_reads_only_the_lists(void)
{
  char first[40];
  char seen[64];
  char state[320];
  struct count c;
  struct cffx f;

  cffx_start(&f, two, NULL);
  REQUIRE(snprintf(state, sizeof(state), "%s/state", f.cf.dir) > 0);
  month_start_iso(first, sizeof(first), 0);
  seed(&f, CFFX_DIST, first, 3);
  seed(&f, WWW, first, 7);
  count(&f, &c, 100, state);
  CHECK_EQ_INT(c.r.from_cache, 0);
  standin_post(&f.cf, "reset", "{\"config\": false}"); /* the log */
  seed(&f, CFFX_DIST, first, 3);                       /* new ids */
  count(&f, &c, 100, state);
  CHECK_EQ_INT(c.r.month_paths, 3);
  CHECK_EQ_INT(c.r.from_cache, 0);
  count(&f, &c, 100, state);
  CHECK_EQ_INT(c.r.month_paths, 3);
  CHECK_EQ_INT(c.r.from_cache, 1);
  CHECK_EQ_INT(c.r.requests, 3);
  ops(&f, seen, sizeof(seen));
  CHECK_EQ_STR(seen, "DLLGDLL"); /* the second count read no invalidation */
  cffx_stop(&f);
}

static void test_spent_budget_gives_a_lower_bound(void)
{
  char first[40];
  struct count c;
  struct cffx f;

  cffx_start(&f, two, NULL);
  month_start_iso(first, sizeof(first), 0);
  seed(&f, CFFX_DIST, first, 3);
  seed(&f, CFFX_DIST, first, 4);
  seed(&f, WWW, first, 7);
  count(&f, &c, 4, NULL); /* D, L, L, then one G of three */
  CHECK_EQ_INT(c.r.status, 0);
  CHECK(!c.r.complete);
  CHECK_EQ_INT(c.r.requests, 4);
  CHECK_EQ_INT(c.r.invalidations, 3);
  CHECK_EQ_INT(c.r.unread_invalidations, 2);
  CHECK_EQ_INT(c.r.unread_distributions, 0);
  CHECK_EQ_INT(c.r.month_paths, 4); /* the newest of the first */
  count(&f, &c, 2, NULL);           /* D, then one L of two */
  CHECK(!c.r.complete);
  CHECK_EQ_INT(c.r.unread_distributions, 1);
  cffx_stop(&f);
}

static void test_throttling_is_retried_within_the_budget(void)
{
  char first[40];
  struct count c;
  struct cffx f;

  cffx_start(&f, two, NULL);
  month_start_iso(first, sizeof(first), 0);
  seed(&f, WWW, first, 7);
  standin_inject(&f.cf, "[\"throttle\", \"503\"]", "list");
  count(&f, &c, 100, NULL);
  CHECK(c.r.complete);
  CHECK_EQ_INT(c.r.month_paths, 7);
  CHECK_EQ_INT(c.r.requests, 6); /* D, L L L (two retried), L, G */
  cffx_stop(&f);
}

/* A budget spent on retries is a budget spent, not a failure: the
 * distribution list throttled until no request is left gives a lower
 * bound (nothing counted, nothing complete), not an error. */
static void test_budget_spent_on_retries_of_the_list_is_a_lower_bound(void)
{
  struct count c;
  struct cffx f;

  cffx_start(&f, two, NULL);
  standin_inject(&f.cf, "[\"throttle\", \"throttle\", \"throttle\"]",
                 "list_distributions");
  count(&f, &c, 2, NULL);
  CHECK_EQ_INT(c.r.status, 0);
  CHECK(!c.r.complete);
  CHECK(c.r.more_distributions);
  CHECK_EQ_INT(c.r.requests, 2);
  CHECK_EQ_INT(c.r.month_paths, 0);
  cffx_stop(&f);
}

static void test_refused_distribution_is_left_unread(void)
{
  char first[40];
  struct count c;
  struct cffx f;

  cffx_start(&f, two, NULL);
  month_start_iso(first, sizeof(first), 0);
  seed(&f, WWW, first, 7);
  standin_inject(&f.cf, "[\"access_denied\"]", "list");
  count(&f, &c, 100, NULL);
  CHECK_EQ_INT(c.r.status, 0);
  CHECK(!c.r.complete);
  CHECK_EQ_INT(c.r.unread_distributions, 1);
  CHECK_EQ_INT(c.r.month_paths, 7);
  cffx_stop(&f);
}

static void test_refused_distribution_list_fails_the_count(void)
{
  struct count c;
  struct cffx f;

  cffx_start(&f, two, NULL);
  standin_inject(&f.cf, "[\"access_denied\"]", "list_distributions");
  count(&f, &c, 100, NULL);
  CHECK(c.r.status < 0);
  CHECK_CONTAINS(c.r.err.msg, "ListDistributions");
  CHECK_CONTAINS(c.r.err.msg, "AccessDenied");
  CHECK(!c.r.complete);
  cffx_stop(&f);
}

static void test_month_starts_at_the_first_second_utc(void)
{
  char month[8];

  /* 2026-03-15T12:00:00Z */
  CHECK_EQ_INT(cfaccount_month_start(1773576000, month), 1772323200);
  CHECK_EQ_STR(month, "2026-03");
  CHECK_EQ_INT(cfaccount_month_start(1772323200, month), 1772323200);
  CHECK_EQ_INT(cfaccount_month_start(1772323199, month), 1769904000);
  CHECK_EQ_STR(month, "2026-02");
}

TEST_MAIN(TEST(test_counts_every_item_of_the_month_over_all_distributions),
          TEST(test_list_stops_at_the_first_older_invalidation),
          TEST(test_second_count_reads_only_the_lists),
          TEST(test_spent_budget_gives_a_lower_bound),
          TEST(test_throttling_is_retried_within_the_budget),
          TEST(test_budget_spent_on_retries_of_the_list_is_a_lower_bound),
          TEST(test_refused_distribution_is_left_unread),
          TEST(test_refused_distribution_list_fails_the_count),
          TEST(test_month_starts_at_the_first_second_utc))
