/* SPDX-License-Identifier: MIT */
/* cfwatch: invalidate exactly the CloudFront objects a build changed.
 *
 * main owns the process: it parses the command line and the config,
 * creates the loop and the log, runs one command and picks the exit
 * status.  Only this file prints a command's output or calls exit(). */
#include <curl/curl.h>
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "app.h"
#include "cli.h"
#include "config.h"
#include "exitcode.h"
#include "http.h"
#include "invalidate.h"
#include "log.h"
#include "once.h"
#include "site.h"
#include "status.h"
#include "util.h"

#ifndef CFWATCH_VERSION
#define CFWATCH_VERSION "0.0.0"
#endif

static const char usage_text[] =
    "usage: cfwatch [OPTIONS] [ROOT]          watch ROOT until SIGINT/SIGTERM\n"
    "       cfwatch once [OPTIONS] [ROOT]     diff ROOT against the manifest,\n"
    "                                         invalidate, exit\n"
    "       cfwatch plan [OPTIONS] [ROOT]     print the URL paths `once` "
    "would\n"
    "                                         send; send nothing\n"
    "       cfwatch status [OPTIONS] [ROOT]   pending changes, invalidations "
    "in\n"
    "                                         flight, this month's paths "
    "(--json)\n"
    "       cfwatch invalidate [OPTIONS] PATH...  send these URL paths as "
    "they are\n"
    "                                         (- reads them from stdin)\n"
    "\n"
    "  -c, --config FILE        INI file ([cfwatch] keys mirror long options)\n"
    "  -d, --distribution-id ID CloudFront distribution (none: dry run)\n"
    "      --profile NAME       AWS profile\n"
    "      --endpoint URL       API base URL (https; http only for loopback)\n"
    "      --ca-file FILE       extra CA bundle (PEM) for the endpoint\n"
    "      --state-dir DIR      manifest and state\n"
    "                           (default $XDG_STATE_HOME/cfwatch/<id>;\n"
    "                           s3://BUCKET/PREFIX: kept in S3, shared)\n"
    "      --quiet-ms N         debounce quiet period (default 2000)\n"
    "      --max-delay-ms N     longest a change may wait (default 60000)\n"
    "      --dry-run            print batches instead of sending them\n"
    "      --all                on a first run, invalidate every file\n"
    "                           instead of recording a baseline\n"
    "      --baseline           (once) on a first run without an S3\n"
    "                           origin, record a baseline (else exit 7)\n"
    "      --wait               (once) wait until invalidations complete\n"
    "      --offline            (plan, status) read a state in S3 from its\n"
    "                           local cache as it is, without pulling\n"
    "      --retry-for SECONDS  (once) keep retrying transient errors\n"
    "      --url-prefix PATH    URL path the root is served under\n"
    "      --index-name NAME    directory index document (index.html)\n"
    "      --pretty-urls        a/b.html is also served as /a/b\n"
    "      --dir-without-slash  a/index.html is also served as /a\n"
    "      --query-strings      the distribution caches by query string\n"
    "      --exclude GLOB       skip matching files (repeatable)\n"
    "      --no-default-excludes  do not skip editor and VCS files\n"
    "      --log-format text|json\n"
    "  -v, --verbose / -q, --quiet / --version / -h, --help\n"
    "\n"
    "Planning:\n"
    "      --max-paths-per-batch N  file paths per invalidation (default: "
    "max)\n"
    "      --wildcard-threshold N   send dir/* once a dir needs more paths "
    "(100)\n"
    "      --never-wildcard         never send dir/*, which evicts all under "
    "dir/\n"
    "      --max-evict-ratio R      most unchanged share dir/* may evict "
    "(0.25)\n"
    "      --strict-evict-ratio     keep that ratio even to meet the budget\n"
    "      --monthly-free-paths N   paths a month that are free (1000)\n"
    "      --monthly-budget-usd D   the month's cap in USD (default: none)\n"
    "      --allow-over-budget      send all, only warn past the budget\n"
    "\n"
    "Asking CloudFront (read-only; status, plan, once):\n"
    "      --account                count the account's paths this month "
    "over\n"
    "                               all its distributions for the cost\n"
    "      --account-budget N       requests that count may make (200)\n"
    "      --discover               check the distribution's origin path "
    "and\n"
    "                               default root object against the site\n"
    "\n"
    "Uploading (before a batch is invalidated, so the origin has the new "
    "bytes):\n"
    "      --origin s3://BUCKET[/PREFIX]\n"
    "                               upload what changed to this bucket, then\n"
    "                               invalidate, then delete what was removed\n"
    "      --region REGION          the bucket's region (else AWS_REGION,\n"
    "                               AWS_DEFAULT_REGION, the profile's, or\n"
    "                               us-east-1; another is followed, with a\n"
    "                               warning)\n"
    "      --s3-endpoint URL        S3-compatible endpoint, path-style "
    "(https;\n"
    "                               http only for loopback)\n"
    "      --upload-cmd CMD         sh command run in ROOT; invalidate only "
    "if\n"
    "                               it exits 0 ($CFWATCH_CHANGED_FILES lists "
    "the\n"
    "                               files, one a line)\n"
    "      --upload-timeout S       kill it after S seconds (default 600)\n"
    "      --cache-tag-header H     (S3 origin) tag each upload in header H\n"
    "                               (x-amz-meta-NAME); invalidate a changed\n"
    "                               file by its tag once the distribution's\n"
    "                               CacheTagConfig names H\n"
    "\n"
    "Deletions (a build that empties its folder first must not empty the "
    "site):\n"
    "      --max-delete N           more deletions than this hold a pass "
    "(256)\n"
    "      --max-delete-share R     as does this share of the files (0.5)\n"
    "      --delete-grace-ms N      (watch) send a held pass after N ms of "
    "quiet\n"
    "                               (30000)\n"
    "      --allow-delete           send mass deletions at once\n"
    "\n"
    "Memory:\n"
    "      --pass-files N           the most files one pass takes in to hash\n"
    "                               and send; the rest go in passes that\n"
    "                               follow at once (262144; 0: no bound)\n"
    "\n"
    "Exit status: 0 ok, 1 gave up on transient errors (changes stay pending),\n"
    "2 usage or config error, 3 root or state unusable, 4 refused by AWS,\n"
    "5 another cfwatch owns the state dir, 6 held back for safety (mass\n"
    "deletion: --allow-delete), 7 no state and no S3 origin to compare\n"
    "with (once: --baseline or --all).\n";

static const char licence_text[] =
    "MIT License, Copyright (c) 2026 The cfwatch authors; no warranty.";

/* Files the config names must be there now: a usage error (status 2)
 * before anything runs, not a failure halfway. */
static int app_check_files(const struct config *cfg, struct cfw_err *err)
{
  const struct site_config *sites;
  size_t n;
  size_t i;

  sites = config_sites(cfg, &n);
  for (i = 0; i < n; i++)
    if (sites[i].ca_file != NULL && access(sites[i].ca_file, R_OK) < 0)
      return cfw_err_set(err, -EINVAL, "ca_file %s: %s", sites[i].ca_file,
                         strerror(errno));
  return 0;
}

int app_config(const struct app *a, struct config *cfg, struct cfw_err *err)
{
  const struct cli *c = &a->cli;
  size_t i;
  int rc = 0;

  if (c->config_path != NULL) {
    rc = config_load_file(cfg, c->config_path, err);
    if (rc < 0)
      return rc;
  }
  for (i = 0; i < c->keys.n; i++) {
    rc = config_set_cli(cfg, c->keys.v[i], c->values.v[i], err);
    if (rc < 0)
      return rc;
  }
  if (c->args.n > 1 && c->cmd != CLI_INVALIDATE)
    return cfw_err_set(err, -EINVAL, "%s: one ROOT at most, got \"%s\"",
                       cli_cmd_name(c->cmd), c->args.v[1]);
  if (c->args.n == 1 && c->cmd != CLI_INVALIDATE) {
    rc = config_set_cli(cfg, "root", c->args.v[0], err);
    if (rc < 0)
      return rc;
  }
  /* invalidate needs no tree; the root only names the state dir. */
  if (c->cmd == CLI_INVALIDATE && cfg->base.root == NULL && cfg->n_sites == 0)
    rc = config_set_cli(cfg, "root", ".", err);
  if (rc < 0)
    return rc;
  rc = config_finish(cfg, err);
  return rc < 0 ? rc : app_check_files(cfg, err);
}

enum log_level app_level(const struct app *a)
{
  int level = (int)a->cfg.log_level + a->cli.verbose - a->cli.quiet;

  if (level < (int)LOG_ERROR)
    return LOG_ERROR;
  if (level > (int)LOG_TRACE)
    return LOG_TRACE;
  return (enum log_level)level;
}

/* The exit status the README documents, from the failure's class. */
static int app_exit_status(const struct cfw_err *err)
{
  switch (err->cls) {
  case CFW_CLASS_USAGE:
    return CFW_EXIT_USAGE;
  case CFW_CLASS_LOCKED:
    return CFW_EXIT_LOCKED;
  case CFW_CLASS_REFUSED:
    return CFW_EXIT_REFUSED;
  case CFW_CLASS_TRANSIENT:
    return CFW_EXIT_TRANSIENT;
  case CFW_CLASS_HELD:
    return CFW_EXIT_HELD;
  case CFW_CLASS_BASELINE:
    return CFW_EXIT_BASELINE;
  case CFW_CLASS_STATE:
  case CFW_CLASS_NONE:
    break;
  }
  return CFW_EXIT_STATE;
}

void print_paths(const struct strlist *paths, void *arg)
{
  size_t i;

  (void)arg; /* stdout is the only place paths go */
  for (i = 0; i < paths->n; i++)
    printf("%s\n", paths->v[i]);
  (void)fflush(stdout); /* a closed stdout shows in ferror at exit */
}

static void app_on_http_closed(void *arg)
{
  (void)arg; /* nothing else waits for it */
}

void app_http_drop(struct app *a)
{
  if (a->http != NULL)
    http_close(a->http, app_on_http_closed, NULL);
  a->http = NULL;
}

/* The HTTP client, made on first use: dry runs, `plan` and `status`
 * never need one, unless they ask CloudFront something (--account,
 * --discover) or pull a state in S3 (all of them do, but --offline). */
int app_http(struct app *a, const struct site_config *s, struct cfw_err *err)
{
  struct http_opts ho = {0};
  bool asks = a->cli.account || a->cli.discover ||
              (s->state_url != NULL && !a->cli.offline);
  bool quiet =
      site_is_dry(s) || a->cli.cmd == CLI_STATUS || a->cli.cmd == CLI_PLAN;

  if (a->http != NULL || (quiet && !asks))
    return 0;
  ho.ca_file = s->ca_file;
  ho.log = a->log;
  ho.trace = app_level(a) >= LOG_TRACE;
  return http_new(&a->http, &a->loop, &ho, err);
}

/* Ends the command: closes what main opened, so the one uv_run
 * returns once the last close callback ran. */
void app_finish(struct app *a)
{
  size_t i;

  if (a->handles) {
    for (i = 0; i < ARRAY_SIZE(a->sig); i++)
      uv_close((uv_handle_t *)&a->sig[i], NULL);
    uv_close((uv_handle_t *)&a->stop_timer, NULL);
    uv_close((uv_handle_t *)&a->watchdog, NULL);
    a->handles = false;
  }
  app_http_drop(a);
}

/* Records a failure of the command (the first one wins). */
void app_failed(struct app *a, int rc, const struct cfw_err *err)
{
  if (a->rc != 0)
    return;
  a->rc = rc;
  if (err != NULL)
    a->err = *err;
  if (a->err.code == 0)
    (void)cfw_err_set(&a->err, rc, "%s", strerror(-rc));
}

/* The paths of `invalidate`: its arguments, or stdin's lines for "-". */
static int app_read_paths(const struct app *a, struct strlist *out,
                          struct cfw_err *err)
{
  char *line = NULL;
  size_t cap = 0;
  size_t i;
  int rc = 0;

  for (i = 0; rc == 0 && i < a->cli.args.n; i++) {
    if (strcmp(a->cli.args.v[i], "-") != 0) {
      rc = strlist_push(out, a->cli.args.v[i]);
      continue;
    }
    while (rc == 0 && getline(&line, &cap, stdin) > 0) {
      line[strcspn(line, "\r\n")] = '\0';
      if (line[0] != '\0')
        rc = strlist_push(out, line);
    }
  }
  free(line);
  return rc < 0 ? cfw_err_set(err, rc, "out of memory") : 0;
}

/* One-shot commands run their sites one after the other. */
static int app_next_site(struct app *a);

static void app_site_done(struct app *a, int rc, const struct cfw_err *err)
{
  size_t n;

  if (rc < 0)
    app_failed(a, rc, err);
  (void)config_sites(&a->cfg, &n);
  if (rc < 0 || ++a->site >= n) {
    app_finish(a);
    return;
  }
  rc = app_next_site(a);
  if (rc < 0) {
    app_failed(a, rc, &a->err);
    app_finish(a);
  }
}

static void app_on_status(int rc, const struct status_report *r,
                          const struct cfw_err *err, void *arg)
{
  struct app *a = arg;
  struct buf out;

  buf_init(&out, (size_t)1024 * 1024);
  if (rc == 0)
    rc =
        a->cli.json ? status_format_json(r, &out) : status_format_text(r, &out);
  if (rc == 0)
    (void)fputs(buf_str(&out), stdout); /* checked by ferror at exit */
  buf_free(&out);
  if (rc < 0 && (err == NULL || err->code == 0)) {
    struct cfw_err e = {0};

    (void)cfw_err_set(&e, rc, "status: out of memory");
    app_site_done(a, rc, &e);
    return;
  }
  app_site_done(a, rc, err);
}

static void app_on_invalidated(int rc, const struct cfw_err *err, void *arg)
{
  app_site_done(arg, rc, err);
}

static void app_on_once(int rc, const struct cfw_err *err, void *arg)
{
  struct app *a = arg;

  if (rc < 0)
    app_failed(a, rc, err);
  app_finish(a);
}

static int app_next_site(struct app *a)
{
  struct invalidate_opts io = {0};
  const struct site_config *sites;
  struct strlist copy;
  size_t n;
  size_t i;
  int rc = 0;

  sites = config_sites(&a->cfg, &n);
  rc = app_http(a, &sites[a->site], &a->err);
  if (rc == 0 && a->cli.cmd == CLI_STATUS) {
    struct status_opts so = {&a->loop,      a->log,         a->http,
                             NULL,          a->cli.account, a->cli.discover,
                             a->cli.offline};

    return status_start(&so, &sites[a->site], app_on_status, a, &a->err);
  }
  strlist_init(&copy);
  for (i = 0; rc == 0 && i < a->paths.n; i++)
    rc = strlist_push(&copy, a->paths.v[i]);
  io.loop = &a->loop;
  io.log = a->log;
  io.http = a->http;
  io.wait = a->cli.wait;
  io.print = print_paths;
  if (rc == 0)
    rc = invalidate_start(&io, &sites[a->site], &copy, app_on_invalidated, a,
                          &a->err);
  strlist_free(&copy);
  return rc;
}

static int app_once(struct app *a, struct cfw_err *err)
{
  struct once_opts o = {0};
  const struct site_config *sites;
  size_t n;
  size_t i;
  int rc = 0;

  if (a->cli.all && a->cli.baseline) {
    (void)cfw_err_set(err, -EINVAL,
                      "--all and --baseline: a first run either invalidates "
                      "every file or records them as they are, not both");
    cfw_err_class(err, CFW_CLASS_USAGE);
    return -EINVAL;
  }
  sites = config_sites(&a->cfg, &n);
  o.plan_only = a->cli.cmd == CLI_PLAN;
  o.account = a->cli.account;
  o.discover = a->cli.discover;
  for (i = 0; rc == 0 && i < n; i++)
    rc = app_http(a, &sites[i], err);
  if (rc < 0)
    return rc;
  o.loop = &a->loop;
  o.log = a->log;
  o.http = a->http;
  o.all = a->cli.all;
  o.baseline = a->cli.baseline;
  o.wait = a->cli.wait;
  o.offline = a->cli.offline;
  o.rules = &a->cfg.headers;
  o.print = print_paths;
  return once_start(&o, sites, n, app_on_once, a, err);
}

/* Starts the command on the loop; main's one uv_run runs it. */
static int app_start(struct app *a, struct cfw_err *err)
{
  int rc;

  /* Only a command that writes nothing may skip the pull. */
  if (a->cli.offline && a->cli.cmd != CLI_PLAN && a->cli.cmd != CLI_STATUS) {
    (void)cfw_err_set(err, -EINVAL, "--offline: only for plan and status");
    cfw_err_class(err, CFW_CLASS_USAGE);
    return -EINVAL;
  }
  switch (a->cli.cmd) {
  case CLI_WATCH:
    return app_watch(a, err);
  case CLI_ONCE:
  case CLI_PLAN:
    return app_once(a, err);
  case CLI_INVALIDATE:
    rc = app_read_paths(a, &a->paths, err);
    if (rc < 0)
      return rc;
    /* FALLTHROUGH */
  case CLI_STATUS:
    rc = app_next_site(a);
    if (rc < 0)
      *err = a->err;
    return rc;
  }
  return cfw_err_set(err, -EINVAL, "unknown command");
}

static int app_main(struct app *a, int argc, char **argv)
{
  struct cfw_err err = {0};
  int rc;

  if (cli_parse(&a->cli, argc, argv, &err) < 0 || a->cli.help) {
    if (a->cli.help) {
      (void)fputs(usage_text, stdout); /* nothing to do if it fails */
      return CFW_EXIT_OK;
    }
    (void)fprintf(stderr, "cfwatch: %s\nTry 'cfwatch --help'.\n", err.msg);
    return CFW_EXIT_USAGE;
  }
  if (a->cli.version) {
    printf("cfwatch %s\n%s\n", CFWATCH_VERSION, licence_text);
    return CFW_EXIT_OK;
  }
  if (app_config(a, &a->cfg, &err) < 0) {
    (void)fprintf(stderr, "cfwatch: %s\n", err.msg); /* stderr: last resort */
    return CFW_EXIT_USAGE;
  }
  log_set_level(a->log, app_level(a));
  log_set_format(a->log, a->cfg.log_format);
  rc = app_start(a, &err);
  if (rc < 0) {
    app_failed(a, rc, &err);
    app_finish(a);
  }
  /* The one run of the command: until everything it opened is closed. */
  (void)uv_run(&a->loop, UV_RUN_DEFAULT);
  if (a->rc < 0) {
    log_msg(a->log, LOG_ERROR, "%s", a->err.msg);
    return app_exit_status(&a->err);
  }
  if (fflush(stdout) != 0 || ferror(stdout)) {
    log_msg(a->log, LOG_ERROR, "writing to stdout: %s", strerror(errno));
    return CFW_EXIT_STATE;
  }
  return CFW_EXIT_OK;
}

int main(int argc, char **argv)
{
  struct app a;
  int status;

  memset(&a, 0, sizeof(a));
#ifdef CFW_GLIBC_MALLOC
  /* The manifest and its encoding are buffers of megabytes that come and
   * go with every batch.  glibc's default raises the mmap threshold after
   * the first such free, so later ones land on the heap and stay there;
   * a fixed threshold hands them back (bench/: 75 -> 45 MiB peak for a
   * daemon on 100k files).  Failure only costs memory. */
  (void)mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
  cli_init(&a.cli);
  strlist_init(&a.paths);
  config_init(&a.cfg);
  config_init(&a.next);
  a.log = log_new(stderr, LOG_INFO, LOG_TEXT);
  if (a.log == NULL || uv_loop_init(&a.loop) < 0) {
    (void)fputs("cfwatch: out of memory\n", stderr);
    return CFW_EXIT_STATE;
  }
  /* glibc's strftime calls tzset(), which reads /etc/localtime the
   * first time: at the first signed request, on the loop thread.  Read
   * here, before the loop, it is never read again while TZ stays. */
  tzset();
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
    (void)fputs("cfwatch: libcurl failed to initialise\n", stderr);
    return CFW_EXIT_STATE;
  }
  status = app_main(&a, argc, argv);
  if (app_watch_end(&a)) {
    /* Work stuck on a hung mount still runs, and may read (or log
     * with) what main would free; libuv's exit handler would join its
     * thread.  stdout was flushed; stderr is not buffered. */
    _exit(status);
  }
  curl_global_cleanup();
  config_free(&a.cfg);
  config_free(&a.next);
  cli_free(&a.cli);
  strlist_free(&a.paths);
  /* Nothing is left on the loop once a command returns. */
  if (uv_loop_close(&a.loop) != 0)
    log_msg(a.log, LOG_DEBUG, "loop closed with handles open");
  log_destroy(a.log);
  return status;
}
