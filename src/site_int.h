/* SPDX-License-Identifier: MIT */
#ifndef CFW_SITE_INT_H
#define CFW_SITE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "awsclient.h"
#include "awsregion.h"
#include "cachetag.h"
#include "cfsend.h"
#include "ground.h"
#include "headers.h"
#include "inflight.h"
#include "mime.h"
#include "passrun.h"
#include "planner.h"
#include "s3.h"
#include "s3del.h"
#include "s3put.h"
#include "s3state.h"
#include "s3url.h"
#include "scan.h"
#include "site.h"
#include "state.h"
#include "statesync.h"
#include "upload.h"
#include "urlmap.h"

/* Internal to site*.c: the pipeline's state machine.  site.c holds the
 * transitions (site_advance), site_jobs.c what runs on the threadpool,
 * site_send.c what talks to CloudFront and runs upload_cmd. */

enum site_state {
  SITE_OPENING,    /* lock and load (threadpool) */
  SITE_PULLING,    /* a state in S3: the cache brought up to it ... */
  SITE_LOADING,    /* ... and loaded (threadpool) */
  SITE_IDLE,       /* between passes */
  SITE_PROJECTING, /* open intents applied to a copy (threadpool) */
  SITE_SCANNING,   /* walk, hash, diff (threadpool) */
  SITE_LISTING,    /* a first run on an S3 origin lists the bucket */
  SITE_GROUNDING,  /* ... and records it as the baseline (threadpool) */
  SITE_REFRESHING, /* what is in progress at CloudFront */
  SITE_PLANNING,   /* ledger and planner (threadpool) */
  SITE_BASELINING, /* a first run's snapshot (threadpool) */
  SITE_UPLOADING,  /* upload_cmd, and its backoff */
  SITE_WAITING,    /* a batch waits for room in progress */
  SITE_INTENDING,  /* recording the batches before any is sent (threadpool) */
  SITE_MARKING,    /* recording what the origin holds now (threadpool) */
  SITE_SENDING,    /* CreateInvalidation with retries */
  SITE_ACCEPTING,  /* recording one distribution's acceptance (threadpool) */
  SITE_DELETING,   /* the origin's objects of removed files */
  SITE_COMMITTING, /* recording an accepted or printed batch (threadpool) */
  SITE_RECORDING,  /* recording same-bytes stat refreshes (threadpool) */
  SITE_COMPACTING, /* a new snapshot (threadpool) */
  SITE_RELEASING,  /* the pass's memory freed (threadpool) */
  SITE_CLOSED
};

/* Whether the distribution stores the uploads' cache tags. */
enum site_tags {
  SITE_TAGS_OFF,     /* no cache_tag_header (or no S3 origin) */
  SITE_TAGS_UNKNOWN, /* not read yet (or a transient failure) */
  SITE_TAGS_OK,      /* its CacheTagConfig names cache_tag_header */
  SITE_TAGS_REFUSED, /* another header, none, or refused: by path */
  SITE_TAGS_ASSUMED  /* plan: shown as if OK, never read */
};

/* One batch to deliver in this pass: an open intent of an earlier run
 * (batch == SIZE_MAX), or one the planner made. */
struct site_item {
  char ref[STATE_REF_LEN]; /* "" until its intent is recorded */
  size_t batch;            /* index into plan.v, or SIZE_MAX */
  size_t file_paths;       /* for the in-progress limits */
  size_t wildcards;
  bool uploaded; /* the origin holds its files (state.h) */
};

/* One file to upload to the origin in this pass. */
struct site_upload {
  char *key;     /* owned: the object key */
  char *path;    /* owned: the file */
  size_t item;   /* its item */
  size_t change; /* its index among the item's changes */
  uint64_t size; /* as hashed */
  unsigned char sha256[32];
  struct headers_out h;  /* borrowed from hdrs and mime */
  struct s3_put_opts po; /* made from h */
  /* Owned: h's metadata and the cache tag (cache_tag_header); NULL
   * without a tag. */
  struct s3_meta *meta;
  size_t n_meta;
  char tag[CACHETAG_LEN + 1];
  bool html; /* uploaded in the second phase */
};

/* One of the site's distributions: each has its own client (sharing
 * the credentials) and its own table of what is in progress there, since
 * CloudFront's in-progress limits are per distribution. */
struct site_dist {
  const char *id;            /* borrowed from the config */
  struct cf_client *cf;      /* owned */
  struct inflight *inflight; /* owned */
};

typedef int (*site_job_fn)(struct site *s, struct cfw_err *err);

struct site {
  struct site_opts o;
  const struct site_config *cfg; /* borrowed, o.cfg */
  site_cb cb;
  void *arg;
  enum site_state st;

  /* Held for the site's life. */
  int lock_fd;            /* the state dir's lock; -1 in SITE_PLAN */
  int root_fd;            /* the root's lock (statelock.h); or -1 */
  struct state *state;    /* owned */
  struct urlmap *um;      /* owned */
  struct aws_client *aws; /* owned; NULL when nothing is sent */
  /* owned, n_dists of them, in the config's order; none when nothing
   * is sent */
  struct site_dist *dists;
  size_t n_dists;
  size_t dnext;             /* the distribution the item goes to next */
  size_t drefresh;          /* the distribution being looked at */
  struct s3_client *s3;     /* owned; NULL without an origin or dry */
  struct s3url origin;      /* when cfg->origin */
  struct awsregion region;  /* the S3 clients'; name "" until resolved */
  struct headers_set *hdrs; /* owned; when cfg->origin */
  struct mime_table *mime;  /* owned; loaded when cfg->origin */
  /* A state in S3 (cfg->state_url; site_sync.c); NULL otherwise. */
  struct s3_client *state_s3; /* owned */
  struct s3state *remote;     /* owned */
  struct statesync *sync;     /* owned */
  bool pulled;                /* the state was pulled for this pass */
  bool sync_opened;           /* a pull and load succeeded once */
  unsigned restarts;          /* this pass's, after conflicts */
  unsigned sync_req0;         /* s3state_requests() at the pass's start */
  uv_timer_t timer;           /* capacity waits and upload backoff */
  uv_work_t work;             /* the threadpool job, one at a time */
  uv_work_t release;          /* the pass's memory, freed after it */
  site_job_fn job;
  int job_rc;
  struct cfw_err job_err;

  /* The next pass, asked for by a kick (or by the start). */
  bool queued;
  struct strlist next_paths; /* owned; ignored if next_all */
  bool next_all;
  unsigned next_flags;

  /* The pass. */
  struct strlist paths; /* what the pass scans; all if !paths_set */
  bool paths_set;
  unsigned flags;        /* SITE_ALLOW_DELETE */
  struct manifest *view; /* owned: the projection (state.h), or NULL */
  struct scan *scan;
  uint64_t scan_gen; /* o.root_gen when the scan began */
  bool scanned_once; /* o.first_scanned has run */
  /* Opening (or, for a state in S3, the first pull or load) failed
   * while the first walk ran: reported once it ends. */
  int open_rc;
  struct cfw_err open_err;
  bool scan_dropped;      /* that walk's diff was called off */
  struct change *changes; /* owned: the diff */
  size_t n_changes;
  struct seenset *deferred; /* owned: what it left for later, or NULL */
  /* What the run of bounded passes this pass belongs to sent so far,
   * kept while passes follow at once (site_defers); zeroed by the
   * site's calloc, emptied by site_release when the run ends. */
  struct passrun run;
  struct planner_plan plan;
  bool planned;
  struct site_item *items; /* owned */
  size_t n_items;
  size_t next;     /* the item being delivered */
  char inv_id[64]; /* the last accepted invalidation */
  char inv_status[32];
  uint64_t month_paths; /* read with the ledger */
  struct cfsend *send;
  struct upload *upload;
  struct s3put *put;
  struct s3del *del;
  struct site_upload *up; /* owned: this pass's uploads */
  size_t n_up;
  size_t *up_index;             /* owned: the phase's objects -> up */
  struct s3put_object *up_objs; /* owned: the phase's objects */
  size_t *up_stale;             /* owned: uploads S3 found changed */
  size_t n_up_stale;
  int up_phase;    /* 1 assets, 2 HTML */
  char **del_keys; /* owned: the item's keys to delete */
  size_t n_del;
  bool uploaded;
  struct ground ground; /* a first run's listing of the origin */
  struct ground_stats ground_stats;
  char *list_token; /* owned: the next page's */
  struct s3_op *list_op;
  size_t list_pages;
  unsigned tries;      /* upload attempts, or looks at what is in progress */
  uint64_t wait_start; /* uv_now() when the current wait began */
  uint64_t pass_start; /* uv_now() when the pass began */
  uint64_t rng;        /* jitter */
  struct site_report rep;

  /* Cache tags (site_tags.c): whether files may go by tag. */
  enum site_tags tags;
  size_t tags_i;    /* the distribution whose CacheTagConfig is next */
  bool tags_warned; /* a transient failure to read them was logged */

  bool reporting; /* the callback is running */
  bool closing;
  int handles; /* open handles, for the close */
  void (*closed)(void *arg);
  void *closed_arg;
};

/* site.c */
void site_advance(struct site *s);
/* Adds paths (taken; NULL: the whole tree) to the next pass's. */
void site_queue_paths(struct site *s, struct strlist *paths);
void site_fail(struct site *s, int rc, const struct cfw_err *err);
bool site_sends(const struct site *s);
/* Whether a batch printed instead of sent (a dry run) is recorded. */
bool site_records_printed(const struct site *s);
/* Where the state lives, for messages: its S3 URL, or the state dir. */
const char *site_state_home(const struct site_config *cfg);

/* site_jobs.c: each queues its job; site_advance runs when it is done. */
void site_queue(struct site *s, site_job_fn fn);
int site_job_open(struct site *s, struct cfw_err *err);
int site_job_project(struct site *s, struct cfw_err *err);
const struct manifest *site_view(const struct site *s);
int site_job_plan(struct site *s, struct cfw_err *err);
/* Frees the pass's data, and the run's once no pass follows: on the
 * pool after a pass, or on the loop before one. */
void site_release(struct site *s);
int site_job_baseline(struct site *s, struct cfw_err *err);
int site_job_ground(struct site *s, struct cfw_err *err);
int site_relock(struct site *s, struct cfw_err *err);
int site_job_intend(struct site *s, struct cfw_err *err);
int site_job_mark(struct site *s, struct cfw_err *err);
int site_job_accept(struct site *s, struct cfw_err *err);
int site_job_commit(struct site *s, struct cfw_err *err);
int site_job_record(struct site *s, struct cfw_err *err);
int site_job_compact(struct site *s, struct cfw_err *err);
int site_plan_items(struct site *s, struct cfw_err *err);

/* site_sync.c: a state in S3 (statesync.h). */
int site_sync_init(struct site *s, struct cfw_err *err);
void site_sync_destroy(struct site *s);
bool site_sync_due(const struct site *s);
void site_sync_reopen(struct site *s);
int site_job_load(struct site *s, struct cfw_err *err);
bool site_sync_push(struct site *s);
void site_sync_finish(struct site *s);

/* site_clients.c: the AWS clients a site builds (site_sync.c reuses
 * the chain and the S3 options). */
int site_aws_init(struct site *s, struct cfw_err *err);
int site_s3_opts(struct site *s, struct s3_client_opts *so,
                 struct cfw_err *err);
int site_init_clients(struct site *s, struct cfw_err *err);
void site_dists_destroy(struct site *s); /* none is fine */

/* site_origin.c */
void site_origin_upload(struct site *s);
size_t site_origin_stale(const struct site *s, size_t i, uint32_t *out);
bool site_origin_delete(struct site *s);
void site_origin_free(struct site *s);
void site_origin_free_keys(struct site *s);

/* site_tags.c */
void site_tags_init(struct site *s);
const char *site_tags_header(const struct site *s);
bool site_tags_usable(const struct site *s);
void site_tags_check(struct site *s); /* then site_refresh */
void site_tags_mark(struct site *s);
void site_tags_log_plan(const struct site *s);

/* site_remap.c: a URL mapping changed since the state was recorded. */
/* After the state is loaded: records the mapping if none is, or if the
 * change only adds URLs; logs a flush owed.  0 or -ENOMEM. */
int site_remap_open(struct site *s, struct cfw_err *err);
/* Appends the flush the recorded mapping is owed (none: nothing), open
 * intents aside.  0 or -ENOMEM. */
int site_remap_flush(const struct site *s, struct strlist *out);
/* True if a flush is owed that no open intent carries. */
bool site_remap_owed(const struct site *s);
/* True if the pass has something to send with no change: open intents,
 * or a flush owed. */
bool site_owes(const struct site *s);
/* True if a batch of paths (NULL: none) carries the flush owed. */
bool site_remap_carries(const struct site *s, const struct strlist *paths);
/* CloudFront accepted the flush: the current mapping is recorded. */
int site_remap_done(struct site *s, struct cfw_err *err);

/* site_found.c */
enum site_first {
  SITE_FIRST_GROUND,   /* list the bucket: ground.h */
  SITE_FIRST_REFUSE,   /* site_refuse_baseline */
  SITE_FIRST_REPORT,   /* say what it would record, record nothing */
  SITE_FIRST_BASELINE, /* record the tree as it is */
};
void site_count(struct site *s);
bool site_held(struct site *s);
void site_log_held(const struct site *s);
enum site_first site_first_choice(struct site *s);
void site_refuse_baseline(struct site *s);
size_t site_pass_bound(const struct site *s);
bool site_defers(const struct site *s);

/* site_ground.c */
void site_ground(struct site *s);
void site_grounded(struct site *s);
void site_ground_cancel(struct site *s);
void site_ground_free(struct site *s);

/* site_send.c */
const struct intent *site_intent(const struct site *s, const char *ref);
/* Moves s->dnext to the next distribution (from s->dnext on) that has
 * not accepted the current item; false once every one has. */
bool site_next_dist(struct site *s);
void site_refresh(struct site *s);
void site_upload(struct site *s);
void site_send(struct site *s);
enum site_room { SITE_ROOM, SITE_NO_ROOM, SITE_ROOM_GAVE_UP };
enum site_room site_room(struct site *s);
void site_cancel_io(struct site *s);
void site_print(struct site *s, const struct site_item *it);
void site_log_plan(const struct site *s);

#endif
