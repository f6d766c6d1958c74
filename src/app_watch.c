/* SPDX-License-Identifier: MIT */
/* Watch mode's lifecycle: a daemon on the loop until SIGINT or SIGTERM;
 * SIGHUP reloads the config and restarts the sites (the state carries
 * every pending change across); systemd is told each step (sd_notify)
 * and pinged by its watchdog.  main.c owns the process and its output;
 * this file only logs. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "daemon.h"
#include "sdnotify.h"
#include "util.h"

/* How long SIGTERM waits for a request in flight before cancelling it;
 * the manifest keeps whatever was not acknowledged. */
#define APP_STOP_GRACE_MS 10000
/* Once the sites are closed, or that grace is over, how long the stop
 * still waits for work on the thread pool: a walk, a hash or a stat
 * stuck on a hung mount (a dead NFS server, a stuck FUSE daemon) would
 * keep the loop, and the process, alive for ever.  Such work changes no
 * state: what it was for stays pending, as after a kill. */
#define APP_STOP_STUCK_MS 3000

/* Tells systemd (Type=notify) about the daemon; a no-op elsewhere.  A
 * lost notification costs nothing lasting, so it is only logged. */
static void app_notify(const struct app *a, const char *state)
{
  int rc = sdnotify_send(state);

  if (rc < 0)
    log_msg(a->log, LOG_DEBUG, "sd_notify: %s", strerror(-rc));
}

/* STATUS= of a daemon that waits for nothing; READY=1 too once. */
static void app_tell_watching(const struct app *a, bool ready)
{
  char state[128];
  size_t n;
  int len;

  (void)config_sites(&a->cfg, &n);
  len = snprintf(state, sizeof(state), "%sSTATUS=watching %zu site%s",
                 ready ? "READY=1\n" : "", n, n == 1 ? "" : "s");
  if (len > 0 && (size_t)len < sizeof(state))
    app_notify(a, state);
}

static void app_on_ready(void *arg)
{
  app_tell_watching(arg, true);
}

static void app_on_watchdog(uv_timer_t *t)
{
  app_notify(container_of(t, struct app, watchdog), "WATCHDOG=1");
}

/* Pings systemd's watchdog at half its interval while the loop runs. */
static void app_watchdog_start(struct app *a)
{
  uint64_t usec;
  uint64_t ms;

  if (!sdnotify_watchdog_usec(&usec))
    return;
  ms = usec / 2000;
  if (ms == 0)
    ms = 1;
  (void)uv_timer_start(&a->watchdog, app_on_watchdog, ms, ms); /* live */
}

static void app_stop(struct app *a);

static void app_on_daemon_error(const struct cfw_err *err, void *arg)
{
  struct app *a = arg;

  app_failed(a, err->code, err);
  if (a->daemon != NULL)
    app_stop(a);
}

static void app_on_daemon_status(const char *status, void *arg)
{
  const struct app *a = arg;
  char state[300];
  int n;

  if (status == NULL) {
    app_tell_watching(a, false);
    return;
  }
  n = snprintf(state, sizeof(state), "STATUS=%s", status);
  if (n > 0 && (size_t)n < sizeof(state))
    app_notify(a, state);
}

static int app_daemon_start(struct app *a, struct cfw_err *err)
{
  struct daemon_opts o = {0};
  const struct site_config *sites;
  size_t n;
  size_t i;
  int rc = 0;

  sites = config_sites(&a->cfg, &n);
  for (i = 0; i < n && rc == 0; i++)
    rc = app_http(a, &sites[i], err);
  if (rc < 0)
    return rc;
  o.loop = &a->loop;
  o.log = a->log;
  o.http = a->http;
  o.all = a->cli.all;
  o.rules = &a->cfg.headers;
  o.print = print_paths;
  o.on_ready = app_on_ready;
  o.ready_arg = a;
  o.on_error = app_on_daemon_error;
  o.error_arg = a;
  o.on_status = app_on_daemon_status;
  o.status_arg = a;
  return daemon_start(&a->daemon, &o, sites, n, err);
}

/* How often a stop looks again at what it waits for. */
#define APP_STOP_TICK_MS 250
/* A reload still waiting for a site's work on the disk after this long
 * says so, once. */
#define APP_RELOAD_TELL_MS 3000

static void app_log_stop_stuck(void *arg, const char *root,
                               const struct site_wait_info *w, uint64_t ms)
{
  const struct app *a = arg;

  log_msg(a->log, LOG_WARN,
          "stopping: %s%s stuck in %s for %llu s (a file system that does "
          "not answer?); exiting without it, what it was for stays pending",
          w->scan ? "scan of " : "", root, w->step,
          (unsigned long long)(ms / 1000));
}

/* The loop still runs APP_STOP_STUCK_MS after the last step of a stop:
 * only work on the thread pool can hold it (every handle of ours is
 * closed, or waits for that work).  What is stuck is named, from our
 * own count of what the stop waits for (libuv has no call that says
 * what it still runs), and the loop stops without it. */
static void app_on_stuck(uv_timer_t *t)
{
  struct app *a = container_of(t, struct app, stuck_timer);
  size_t n = 0;

  if (a->closing != NULL)
    n = daemon_stuck(a->closing, app_log_stop_stuck, a);
  if (a->reading) {
    log_msg(a->log, LOG_WARN,
            "stopping: the reload's read of the configuration is stuck (a "
            "file system that does not answer?); exiting without it");
    n++;
  }
  if (n == 0)
    log_msg(a->log, LOG_WARN,
            "stopping: still not done %d s after the rest (a file system "
            "that does not answer?); exiting without what is left, what it "
            "was for stays pending",
            APP_STOP_STUCK_MS / 1000);
  a->abandoned = true;
  uv_stop(&a->loop);
}

/* Arms the stop's last bound; it keeps no loop alive itself. */
static void app_stuck_arm(struct app *a)
{
  (void)uv_timer_start(&a->stuck_timer, app_on_stuck, APP_STOP_STUCK_MS,
                       0); /* live handle: cannot fail */
}

static void app_on_stopped(void *arg)
{
  struct app *a = arg;

  a->closing = NULL; /* freed after this */
  log_msg(a->log, LOG_INFO, "stopped");
  app_finish(a);
  app_stuck_arm(a);
}

struct app_scans {
  size_t old;   /* scans running for APP_STOP_STUCK_MS or more */
  size_t other; /* any other work on the disk */
};

static void app_count_scan(void *arg, const char *root,
                           const struct site_wait_info *w, uint64_t ms)
{
  struct app_scans *c = arg;

  (void)root;
  if (w->scan && ms >= APP_STOP_STUCK_MS)
    c->old++;
  else
    c->other++;
}

/* True if the stop waits for nothing but scans that have already run
 * for the stuck bound: a scan changes no state, so the stop need not
 * wait for them any longer. */
static bool app_only_old_scans(const struct app *a)
{
  struct app_scans c = {0};

  if (a->closing == NULL || a->reading)
    return false;
  (void)daemon_stuck(a->closing, app_count_scan, &c);
  return c.old > 0 && c.other == 0;
}

/* The grace APP_STOP_GRACE_MS is for requests only (their answer may be
 * recorded); a stop that waits for none, a scan stuck on a hung mount
 * say, goes straight to the stuck bound, or ends at once if all it
 * waits for is scans that ran that long already. */
static void app_on_stop_tick(uv_timer_t *t)
{
  struct app *a = container_of(t, struct app, stop_timer);

  if (a->closing != NULL && daemon_requests(a->closing)) {
    if (uv_now(&a->loop) - a->stop_ms < APP_STOP_GRACE_MS)
      return;
    log_msg(a->log, LOG_WARN,
            "a request is still in flight after %d s; "
            "abandoning it (its changes stay pending)",
            APP_STOP_GRACE_MS / 1000);
    app_http_drop(a);
  }
  (void)uv_timer_stop(t); /* live handle: cannot fail */
  if (app_only_old_scans(a)) {
    app_on_stuck(&a->stuck_timer);
    return;
  }
  /* A site that waits for a stuck walk or hash never closes. */
  app_stuck_arm(a);
}

/* Also during a reload's wait for the old sites: they then end the
 * stop (app_on_reload_stopped) instead of starting again. */
static void app_stop(struct app *a)
{
  size_t i;

  app_notify(a, "STOPPING=1\nSTATUS=stopping");
  for (i = 0; i < ARRAY_SIZE(a->sig); i++)
    (void)uv_signal_stop(&a->sig[i]); /* live handles: cannot fail */
  a->stop_asked = true;
  a->stop_ms = uv_now(&a->loop);
  (void)uv_timer_start(&a->stop_timer, app_on_stop_tick, 0,
                       APP_STOP_TICK_MS); /* live handle: cannot fail */
  uv_unref((uv_handle_t *)&a->stop_timer);
  if (a->daemon == NULL)
    return;
  a->closing = a->daemon;
  a->daemon = NULL;
  daemon_stop(a->closing, app_on_stopped, a);
}

static void app_reload(struct app *a);

static void app_on_reload_stopped(void *arg)
{
  struct app *a = arg;
  struct cfw_err err = {0};

  if (a->stop_asked) { /* SIGTERM while waiting: no new sites */
    app_on_stopped(a);
    return;
  }
  a->closing = NULL;                   /* freed after this */
  (void)uv_timer_stop(&a->stop_timer); /* live handle: cannot fail */
  config_free(&a->cfg);
  a->cfg = a->next;
  config_init(&a->next);
  app_http_drop(a); /* a new CA, maybe */
  log_set_level(a->log, app_level(a));
  log_set_format(a->log, a->cfg.log_format);
  if (app_daemon_start(a, &err) < 0) {
    log_msg(a->log, LOG_ERROR, "after reload: %s", err.msg);
    app_failed(a, err.code, &err);
    app_finish(a);
    return;
  }
  log_msg(a->log, LOG_INFO, "configuration reloaded");
  if (a->reload_again) {
    a->reload_again = false;
    log_msg(a->log, LOG_INFO,
            "SIGHUP: reloading again (one came during "
            "the reload)");
    app_reload(a);
  }
}

static void app_log_reload_stuck(void *arg, const char *root,
                                 const struct site_wait_info *w, uint64_t ms)
{
  const struct app *a = arg;
  char state[256];
  int n;

  log_msg(a->log, LOG_WARN,
          "reload: waiting for the %s%s, stuck in %s for %llu s (a file "
          "system that does not answer?); the new configuration applies "
          "once it returns",
          w->scan ? "scan of " : "site ", root, w->step,
          (unsigned long long)(ms / 1000));
  n = snprintf(state, sizeof(state),
               "STATUS=reload waiting for %s, stuck on the disk", root);
  if (n > 0 && (size_t)n < sizeof(state))
    app_notify(a, state);
}

/* A reload waits for the old sites to close: each holds its state
 * dir's lock and borrows the running config, so the new ones cannot
 * start beside it, and a scan cannot be recalled from the thread pool.
 * Work stuck on a disk that does not answer holds the reload for as
 * long: said once, and a SIGTERM still stops (app_stop). */
static void app_on_reload_tick(uv_timer_t *t)
{
  struct app *a = container_of(t, struct app, stop_timer);

  if (a->closing == NULL || a->reload_told) {
    (void)uv_timer_stop(t); /* live handle: cannot fail */
    return;
  }
  if (uv_now(&a->loop) - a->stop_ms < APP_RELOAD_TELL_MS)
    return;
  if (daemon_stuck(a->closing, app_log_reload_stuck, a) > 0) {
    a->reload_told = true;
    (void)uv_timer_stop(t); /* live handle: cannot fail */
  }
}

/* The config read is back and good: the sites stop, and start again
 * with it (app_on_reload_stopped). */
static void app_reload_swap(struct app *a)
{
  char state[128];
  int n;

  /* READY=1 follows from app_on_ready once the new sites have scanned. */
  n = snprintf(state, sizeof(state),
               "RELOADING=1\nSTATUS=reloading the configuration\n"
               "MONOTONIC_USEC=%llu",
               (unsigned long long)(uv_hrtime() / 1000));
  if (n > 0 && (size_t)n < sizeof(state))
    app_notify(a, state);
  a->stop_ms = uv_now(&a->loop);
  a->reload_told = false;
  (void)uv_timer_start(&a->stop_timer, app_on_reload_tick, APP_STOP_TICK_MS,
                       APP_STOP_TICK_MS); /* live handle: cannot fail */
  uv_unref((uv_handle_t *)&a->stop_timer);
  a->closing = a->daemon;
  a->daemon = NULL;
  daemon_stop(a->closing, app_on_reload_stopped, a);
}

/* On the threadpool: a config file on a slow or network disk must not
 * stall the loop (tests/e2e/strace_survey.py saw the read there).
 * app_config reads only the command line, the files and the
 * environment, and fills a->next, which the loop leaves alone until
 * the read is back. */
static void app_on_reload_read(uv_work_t *w)
{
  struct app *a = container_of(w, struct app, reload_read);

  a->reload_rc = app_config(a, &a->next, &a->reload_err);
}

static void app_on_reload_read_done(uv_work_t *w, int status)
{
  struct app *a = container_of(w, struct app, reload_read);

  a->reading = false;
  if (status < 0 && a->reload_rc == 0)
    a->reload_rc = cfw_err_set(&a->reload_err, status, "threadpool: %s",
                               uv_strerror(status));
  if (a->daemon == NULL)
    return; /* stopping: SIGTERM came meanwhile */
  if (a->reload_rc >= 0) {
    app_reload_swap(a);
    return;
  }
  log_msg(a->log, LOG_ERROR,
          "reload: %s; keeping the running "
          "configuration",
          a->reload_err.msg);
  app_notify(a, "STATUS=reload failed; running the previous configuration");
  if (a->reload_again) { /* the file may be fixed by now */
    a->reload_again = false;
    app_reload(a);
  }
}

static void app_reload(struct app *a)
{
  int rc;

  config_free(&a->next);
  config_init(&a->next);
  cfw_err_clear(&a->reload_err);
  a->reload_rc = 0;
  rc = uv_queue_work(&a->loop, &a->reload_read, app_on_reload_read,
                     app_on_reload_read_done);
  if (rc < 0) {
    log_msg(a->log, LOG_ERROR,
            "reload: threadpool: %s; keeping the running configuration",
            uv_strerror(rc));
    return;
  }
  a->reading = true;
}

static void app_on_signal(uv_signal_t *h, int signum)
{
  struct app *a = h->data;

  if (signum == SIGHUP && (a->daemon == NULL || a->reading)) {
    /* A reload is under way; its config may already be stale. */
    log_msg(a->log, LOG_INFO,
            "SIGHUP during a reload: reloading again "
            "once it is done");
    a->reload_again = true;
    return;
  }
  if (a->daemon == NULL && a->closing == NULL)
    return; /* a reload's restart failed: the loop ends */
  if (signum == SIGHUP) {
    log_msg(a->log, LOG_INFO, "SIGHUP: reloading the configuration");
    app_reload(a);
    return;
  }
  log_msg(a->log, LOG_INFO, "%s: stopping", strsignal(signum));
  app_stop(a);
}

int app_watch(struct app *a, struct cfw_err *err)
{
  static const int signums[] = {SIGINT, SIGTERM, SIGHUP};
  size_t i;
  int rc;

  (void)uv_timer_init(&a->loop, &a->stop_timer);  /* cannot fail */
  (void)uv_timer_init(&a->loop, &a->watchdog);    /* cannot fail */
  (void)uv_timer_init(&a->loop, &a->stuck_timer); /* cannot fail */
  uv_unref((uv_handle_t *)&a->stuck_timer);
  a->stuck_open = true;
  for (i = 0; i < ARRAY_SIZE(a->sig); i++) {
    (void)uv_signal_init(&a->loop, &a->sig[i]); /* cannot fail */
    a->sig[i].data = a;
  }
  a->handles = true;
  app_watchdog_start(a);
  for (i = 0; i < ARRAY_SIZE(a->sig); i++) {
    rc = uv_signal_start(&a->sig[i], app_on_signal, signums[i]);
    if (rc < 0)
      return cfw_err_set(err, rc, "signal: %s", uv_strerror(rc));
  }
  return app_daemon_start(a, err);
}

bool app_watch_end(struct app *a)
{
  if (a->abandoned || !a->stuck_open)
    return a->abandoned;
  /* Nothing else is left on the loop: this runs the close only. */
  uv_close((uv_handle_t *)&a->stuck_timer, NULL);
  a->stuck_open = false;
  (void)uv_run(&a->loop, UV_RUN_DEFAULT);
  return false;
}
