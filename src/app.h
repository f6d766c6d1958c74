/* SPDX-License-Identifier: MIT */
#ifndef CFW_APP_H
#define CFW_APP_H

/* The process main.c runs, shared with the watch mode's lifecycle
 * (app_watch.c): what a command owns, and the few steps both use.
 * Internal to the cfwatch binary; nothing in the core library sees it. */

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "cli.h"
#include "config.h"
#include "err.h"
#include "log.h"
#include "strlist.h"

struct daemon;
struct http;

struct app {
  uv_loop_t loop;
  struct log *log; /* owned */
  struct cli cli;
  struct config cfg;
  struct http *http; /* owned; made when something is sent */
  /* Watch mode only. */
  struct daemon *daemon; /* owned until daemon_stop */
  /* The daemon a stop or a reload waits for, until its done runs
   * (borrowed: daemon_stop frees it after that). */
  struct daemon *closing;
  bool stop_asked;       /* SIGINT or SIGTERM: stopping */
  bool reload_told;      /* this reload's wait for stuck work was said */
  uint64_t stop_ms;      /* uv_now() when the stop (or reload) began */
  struct config next;    /* a reloaded config waiting for the swap */
  uv_signal_t sig[3];    /* SIGINT, SIGTERM, SIGHUP */
  uv_timer_t stop_timer; /* a stop's or a reload's checks (app_watch.c) */
  uv_timer_t watchdog;   /* WATCHDOG=1 to systemd, if it asks */
  bool handles;          /* the signals and timers above are open */
  /* A stop's last bound: work stuck on the thread pool (a hung mount)
   * is abandoned (app_watch.c).  Open from app_watch until main closes
   * it after uv_run (app_watch_end). */
  uv_timer_t stuck_timer;
  bool stuck_open;
  bool abandoned;    /* it fired: uv_run returned with work stuck */
  bool reload_again; /* a SIGHUP came during a reload */
  /* SIGHUP reads the config into next on the threadpool (app_watch.c). */
  uv_work_t reload_read;
  bool reading; /* that read is under way */
  int reload_rc;
  struct cfw_err reload_err;
  /* The command's outcome. */
  int rc;
  struct cfw_err err;
  size_t site;          /* one-shot commands: the site running */
  struct strlist paths; /* invalidate: the paths to send */
};

/* main.c */
/* Reads the config file and the command line's keys into cfg. */
int app_config(const struct app *a, struct config *cfg, struct cfw_err *err);
/* The log level the config and -v/-q ask for. */
enum log_level app_level(const struct app *a);
/* The HTTP client for site s, made on first use (see main.c). */
int app_http(struct app *a, const struct site_config *s, struct cfw_err *err);
/* Closes the HTTP client, if any; a request in flight is abandoned. */
void app_http_drop(struct app *a);
/* Prints URL paths on stdout, one a line: the batches' output. */
void print_paths(const struct strlist *paths, void *arg);
/* Records the command's failure (the first one wins). */
void app_failed(struct app *a, int rc, const struct cfw_err *err);
/* Closes what the command opened, so the one uv_run returns. */
void app_finish(struct app *a);

/* app_watch.c */
/* Watch mode: signals, the systemd watchdog, then the daemon. */
int app_watch(struct app *a, struct cfw_err *err);
/* After uv_run: closes what the stop left open.  True if the stop gave
 * up on work stuck on the thread pool: then nothing it may still read
 * (the config, the loop) may be freed, and libuv's exit-time join of
 * its pool threads would wait for ever: main ends with _exit. */
bool app_watch_end(struct app *a);

#endif
