/* SPDX-License-Identifier: MIT */
/* The site pipeline (site.h) in-process, on a real loop, real files and
 * the CloudFront stand-in over loopback TLS.  The first cases prove that
 * nothing blocks the loop thread: a 10 ms timer runs beside the pipeline
 * and its longest gap stays under LOOP_GAP_MAX_MS while the pipeline
 * records a 100,000-file baseline, and while another process holds the
 * ledger's lock for 2 s during a commit. */
#include "site.h"

#include <signal.h>
#include <sys/file.h>

#include "config.h"
#include "log.h"
#include "looplag.h"
#include "standin.h"
#include "test.h"
#include "util.h"

#define STANDIN "tests.standin.cfstandin" /* run in CFW_SOURCE_DIR */
#define DIST    "EDFDVBD6EXAMPLE"
/* ThreadSanitizer runs this code 5 to 15 times slower: the native
 * bound (about 10 ms is what the loop really does beside a 100k
 * baseline) scaled, still far below what the baseline itself would
 * cost on the loop (seconds under TSan). */
#ifdef CFW_TEST_TSAN
#define LOOP_GAP_MAX_MS 200
#else
#define LOOP_GAP_MAX_MS 50
#endif
#define TICK_MS 10

struct fx {
  char dir[256];
  char root[300];
  uv_loop_t loop;
  uv_timer_t tick;
  uint64_t last_ns;
  uint64_t last_idle_ns;
  uint64_t last_wait_ns;
  uint64_t max_gap_ns;  /* between ticks, wall clock */
  uint64_t max_busy_ns; /* of that, outside the loop's poll */
  struct log *log;
  struct config cfg;
  struct http *http;
  struct site *site;
  struct site_report rep;
  int passes;
  bool closed;
  struct standin cf;
  bool with_cf;
};

static const char *fx_getenv(const char *name)
{
  if (strcmp(name, "AWS_ACCESS_KEY_ID") == 0)
    return STANDIN_KEY_ID;
  if (strcmp(name, "AWS_SECRET_ACCESS_KEY") == 0)
    return STANDIN_SECRET;
  return NULL;
}

/* Each tick notes the wall time since the last one, and how much of it
 * the loop spent outside its poll, less what its thread waited for a
 * core: looplag.h says why, and measures the same way. */
static void fx_on_tick(uv_timer_t *t)
{
  struct fx *fx = container_of(t, struct fx, tick);
  uint64_t now = uv_hrtime();
  uint64_t idle = uv_metrics_idle_time(&fx->loop);
  uint64_t wait = looplag_thread_wait_ns();
  uint64_t waited = wait - fx->last_wait_ns;
  uint64_t gap = now - fx->last_ns;
  uint64_t busy = gap - (idle - fx->last_idle_ns);

  busy = busy > waited ? busy - waited : 0;

  if (fx->last_ns != 0 && gap > fx->max_gap_ns)
    fx->max_gap_ns = gap;
  if (fx->last_ns != 0 && busy > fx->max_busy_ns)
    fx->max_busy_ns = busy;
  fx->last_ns = now;
  fx->last_idle_ns = idle;
  fx->last_wait_ns = wait;
}

static void fx_init(struct fx *fx)
{
  memset(fx, 0, sizeof(*fx));
  /* On tmpfs where there is one (test.h): the case measures the loop,
   * not the file system. */
  test_tmpdir(fx->dir, sizeof(fx->dir));
  REQUIRE(snprintf(fx->root, sizeof(fx->root), "%s/public", fx->dir) > 0);
  REQUIRE(uv_loop_init(&fx->loop) == 0);
  REQUIRE(uv_loop_configure(&fx->loop, UV_METRICS_IDLE_TIME) == 0);
  fx->log = log_new(stderr, LOG_WARN, LOG_TEXT);
  REQUIRE(fx->log != NULL);
  config_init(&fx->cfg);
}

static void fx_set(struct fx *fx, const char *key, const char *value)
{
  struct cfw_err err = {0};

  if (config_set_cli(&fx->cfg, key, value, &err) < 0)
    TEST_FAIL_("%s = %s: %s", key, value, err.msg);
}

static const struct site_config *fx_finish_config(struct fx *fx)
{
  struct cfw_err err = {0};
  char state[320];
  size_t n;

  REQUIRE(snprintf(state, sizeof(state), "%s/state", fx->dir) > 0);
  fx_set(fx, "root", fx->root);
  fx_set(fx, "state_dir", state);
  if (config_finish(&fx->cfg, &err) < 0)
    TEST_FAIL_("config: %s", err.msg);
  return &config_sites(&fx->cfg, &n)[0];
}

static void fx_on_pass(struct site *s, const struct site_report *r, void *arg)
{
  struct fx *fx = arg;

  (void)s;
  fx->rep = *r;
  fx->rep.plan = NULL; /* valid only in the callback */
  fx->passes++;
  if (r->status < 0)
    TEST_FAIL_("pass %d: %s", fx->passes, r->err.msg);
}

static void fx_on_closed(void *arg)
{
  struct fx *fx = arg;

  fx->closed = true;
  uv_close((uv_handle_t *)&fx->tick, NULL);
  if (fx->http != NULL)
    http_close(fx->http, NULL, NULL);
}

/* Runs the loop until pass n reported. */
static void fx_until_pass(struct fx *fx, int n)
{
  while (fx->passes < n && uv_run(&fx->loop, UV_RUN_ONCE) != 0)
    continue;
  REQUIRE(fx->passes >= n);
}

static void fx_start(struct fx *fx, const struct site_config *cfg)
{
  struct site_opts so = {0};
  struct cfw_err err = {0};

  REQUIRE(uv_timer_init(&fx->loop, &fx->tick) == 0);
  REQUIRE(uv_timer_start(&fx->tick, fx_on_tick, TICK_MS, TICK_MS) == 0);
  so.loop = &fx->loop;
  so.log = fx->log;
  so.http = fx->http;
  so.cfg = cfg;
  so.mode = SITE_WATCH;
  so.getenv = fx_getenv;
  if (site_start(&fx->site, &so, fx_on_pass, fx, &err) < 0)
    TEST_FAIL_("site_start: %s", err.msg);
  REQUIRE(fx->site != NULL);
}

static void fx_done(struct fx *fx)
{
  site_close(fx->site, fx_on_closed, fx);
  while (uv_run(&fx->loop, UV_RUN_ONCE) != 0)
    continue;
  CHECK(fx->closed);
  CHECK_EQ_INT(uv_loop_close(&fx->loop), 0);
  config_free(&fx->cfg);
  log_destroy(fx->log);
  if (fx->with_cf)
    standin_stop(&fx->cf);
  test_rmtree(fx->dir);
}

static void fx_report(const struct fx *fx, const char *what)
{
  (void)fprintf(stderr,
                "%s: longest loop gap %.1f ms, of which outside the poll "
                "%.1f ms\n",
                what, (double)fx->max_gap_ns / 1e6,
                (double)fx->max_busy_ns / 1e6);
  CHECK(fx->max_busy_ns < (uint64_t)LOOP_GAP_MAX_MS * 1000000);
}

/* Writes dirs x files small files under the root, a directory at a
 * time through its fd: 100,000 files take a few seconds. */
static void fx_tree(struct fx *fx, int dirs, int files)
{
  char name[400];
  char data[64];
  int dfd;
  int fd;
  int i;
  int j;
  int n;

  REQUIRE(mkdir(fx->root, 0755) == 0 || errno == EEXIST);
  for (i = 0; i < dirs; i++) {
    (void)snprintf(name, sizeof(name), "%s/d%04d", fx->root, i);
    REQUIRE(mkdir(name, 0755) == 0 || errno == EEXIST);
    dfd = open(name, O_RDONLY | O_DIRECTORY);
    REQUIRE(dfd >= 0);
    for (j = 0; j < files; j++) {
      (void)snprintf(name, sizeof(name), "p%03d.html", j);
      n = snprintf(data, sizeof(data), "<p>%d %d</p>\n", i, j);
      fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      REQUIRE(fd >= 0 && write(fd, data, (size_t)n) == n && close(fd) == 0);
    }
    close(dfd);
  }
}

static void test_baseline_of_100k_files_never_blocks_the_loop(void)
{
  struct fx fx;
  const struct site_config *cfg;

  fx_init(&fx);
  fx_tree(&fx, 1000, 100);
  cfg = fx_finish_config(&fx);
  fx_start(&fx, cfg);
  fx_until_pass(&fx, 1);
  CHECK(fx.rep.baseline);
  CHECK_EQ_INT(fx.rep.n_files, 100000);
  fx_report(&fx, "recording a 100k baseline");
  fx_done(&fx);
}

/* Holds an exclusive lock on the ledger's lock file for ms, in a child
 * process, as `cfwatch invalidate` beside the daemon could. */
static pid_t hold_ledger_lock(const char *state, unsigned ms)
{
  char path[400];
  int ready[2];
  pid_t pid;
  char c = 0;
  int fd;

  REQUIRE(snprintf(path, sizeof(path), "%s/ledger.lock", state) > 0);
  REQUIRE(pipe(ready) == 0);
  pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    fd = open(path, O_RDWR | O_CREAT, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) < 0 || write(ready[1], &c, 1) != 1)
      _exit(2);
    (void)usleep(ms * 1000);
    _exit(0);
  }
  close(ready[1]);
  REQUIRE(read(ready[0], &c, 1) == 1); /* held from here on */
  close(ready[0]);
  return pid;
}

static void test_ledger_lock_held_elsewhere_never_blocks_the_loop(void)
{
  struct cfw_err err = {0};
  struct http_opts ho = {0};
  const struct site_config *cfg;
  struct strlist paths;
  uint64_t t0;
  char state[320];
  struct fx fx;
  pid_t holder;
  int status;

  fx_init(&fx);
  fx_tree(&fx, 2, 5);
  standin_start(&fx.cf, NULL);
  fx.with_cf = true;
  fx_set(&fx, "distribution_id", DIST);
  fx_set(&fx, "endpoint", fx.cf.endpoint);
  fx_set(&fx, "ca_file", fx.cf.ca);
  cfg = fx_finish_config(&fx);
  ho.ca_file = cfg->ca_file;
  ho.log = fx.log;
  REQUIRE(http_new(&fx.http, &fx.loop, &ho, &err) == 0);
  fx_start(&fx, cfg);
  fx_until_pass(&fx, 1); /* the baseline */
  /* A first batch, unmeasured: libcurl makes the TLS handshake on the
   * loop thread, once per connection (issue 12 names the state's I/O
   * and lock waits; that one is noted apart). */
  test_write(fx.dir, "public/d0001/p001.html", "<p>warm</p>\n");
  strlist_init(&paths);
  REQUIRE(strlist_push(&paths, "d0001/p001.html") == 0);
  CHECK_EQ_INT(site_kick(fx.site, &paths, 0), 0);
  fx_until_pass(&fx, 2);
  test_write(fx.dir, "public/d0000/p001.html", "<p>edited</p>\n");
  REQUIRE(snprintf(state, sizeof(state), "%s/state", fx.dir) > 0);
  holder = hold_ledger_lock(state, 2000);
  fx.max_gap_ns = 0;
  fx.max_busy_ns = 0;
  t0 = uv_hrtime();
  strlist_init(&paths);
  REQUIRE(strlist_push(&paths, "d0000/p001.html") == 0);
  CHECK_EQ_INT(site_kick(fx.site, &paths, 0), 0);
  fx_until_pass(&fx, 3);
  CHECK_EQ_INT(fx.rep.batches, 1);
  /* The commit waited for the lock: the pass took the 2 s. */
  CHECK(uv_hrtime() - t0 > UINT64_C(1500) * 1000000);
  fx_report(&fx, "with the ledger locked 2 s");
  REQUIRE(waitpid(holder, &status, 0) == holder);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  fx_done(&fx);
}

/* Runs the loop until the site is idle: a pass's callback runs before
 * the pass is released. */
static void fx_until_idle(struct fx *fx)
{
  while (site_busy(fx->site) && uv_run(&fx->loop, UV_RUN_ONCE) != 0)
    continue;
  REQUIRE(!site_busy(fx->site));
}

/* Kicks the busy site with n paths named prefix0 .. prefix(n-1). */
static void kick_many(struct fx *fx, const char *prefix, int n)
{
  struct strlist paths;
  char rel[64];
  int i;

  strlist_init(&paths);
  for (i = 0; i < n; i++) {
    (void)snprintf(rel, sizeof(rel), "%s%d.html", prefix, i);
    REQUIRE(strlist_push(&paths, rel) == 0);
  }
  CHECK_EQ_INT(site_kick(fx->site, &paths, 0), 0);
}

/* While a pass runs, each flush's paths wait for the next pass.  Past
 * SITE_LIST_MAX distinct ones the next pass walks the whole tree and
 * the list is dropped, so a long pass beside a generator that rewrites
 * its files again and again holds no list that only grows; the same
 * paths named twice count once. */
static void test_queue_past_the_list_cap_becomes_a_whole_walk(void)
{
  const struct site_config *cfg;
  struct fx fx;
  int half = SITE_LIST_MAX / 2 + 1;

  fx_init(&fx);
  fx_tree(&fx, 2, 5);
  cfg = fx_finish_config(&fx);
  fx_start(&fx, cfg);
  fx_until_pass(&fx, 1); /* the baseline */
  fx_until_idle(&fx);
  kick_many(&fx, "d0000/p00", 1); /* a pass starts */
  CHECK(site_busy(fx.site));      /* so what follows waits for the next */
  kick_many(&fx, "gone/a", half);
  kick_many(&fx, "gone/a", half); /* the same paths again */
  fx_until_pass(&fx, 3);
  CHECK(!fx.rep.whole);
  fx_until_idle(&fx);
  kick_many(&fx, "d0000/p00", 1);
  CHECK(site_busy(fx.site));
  kick_many(&fx, "gone/a", half);
  kick_many(&fx, "gone/b", half);
  fx_until_pass(&fx, 5);
  CHECK(fx.rep.whole);
  CHECK_EQ_INT(fx.rep.n_files, 10);
  fx_done(&fx);
}

TEST_MAIN(TEST(test_baseline_of_100k_files_never_blocks_the_loop),
          TEST(test_ledger_lock_held_elsewhere_never_blocks_the_loop),
          TEST(test_queue_past_the_list_cap_becomes_a_whole_walk))
