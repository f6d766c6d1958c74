/* SPDX-License-Identifier: MIT */
#ifndef CFW_TEST_STANDIN_H
#define CFW_TEST_STANDIN_H

#include <curl/curl.h>
#include <jansson.h>
#include <spawn.h>
#include <stdbool.h>
#include <sys/file.h>
#include <time.h>

#include "buf.h"
#include "test.h"

/* tests/standin/cfstandin.py for a C test: served on 127.0.0.1 (port
 * chosen by the kernel) with its own CA, driven through its control API
 * (/__standin/..., unsigned JSON) with blocking libcurl calls.  Call
 * curl_global_init first.  The README next to the script describes the
 * API.
 *
 * One stand-in serves all the cases of a test binary's run: starting one
 * costs 0.5 s (1.5 s on a loaded machine: Python, botocore, a fresh CA),
 * more than most cases take.  The first standin_start of the run spawns
 * it, in a directory named after the binary's main process (test.h's
 * test_main_pid: the cases run in forked children), with
 * --exit-with-pid: it exits when that process does, even by kill -9,
 * and removes its directory.  Each standin_start resets it (POST
 * /__standin/reset {"config": true}: every piece of state a case can
 * change, tests/standin/test_standin.py's TestReset) and then sets the
 * case's config.  standin_start_private gives a case a stand-in of its
 * own, with a fresh CA, which standin_stop ends. */

/* Run as the test package's module, from the source root. */
#define STANDIN_MODULE "tests.standin.cfstandin"
#define STANDIN_KEY_ID "AKIDEXAMPLE"
#define STANDIN_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define STANDIN_BUCKET "amzn-s3-demo-bucket"

struct standin {
  char dir[256];  /* the case's own: fresh and empty, for its files */
  char home[256]; /* the stand-in's: ready.json, the CA, standin.log */
  pid_t pid;      /* a private stand-in's (standin_stop ends it), else 0 */
  char endpoint[128];
  char ca[512];
};

extern char **environ;

/* The interpreter: $CFSTANDIN_PYTHON, else Debian's python3, which has
 * python3-botocore, else the first python3 on PATH. */
static inline const char *standin_python(void)
{
  const char *p = getenv("CFSTANDIN_PYTHON");

  if (p != NULL && p[0] != '\0')
    return p;
  return access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

/* Spawns a stand-in in s->home: one that exits with process main_pid
 * and removes s->home, or (main_pid 0) a private one that exits with
 * this process or by standin_stop.  Returns its pid. */
static inline pid_t standin_spawn(const struct standin *s,
                                  const char *config_path, pid_t main_pid)
{
  char pid_arg[32];
  char *argv[] = {(char *)standin_python(),
                  "-m",
                  STANDIN_MODULE,
                  "--dir",
                  (char *)s->home,
                  "--exit-with-pid",
                  pid_arg,
                  "--remove-dir",
                  config_path ? "--config" : NULL,
                  (char *)config_path,
                  NULL};
  posix_spawn_file_actions_t fa;
  pid_t pid;

  REQUIRE(snprintf(pid_arg, sizeof(pid_arg), "%ld", (long)main_pid) <
          (int)sizeof(pid_arg));
  if (main_pid == 0) {
    argv[5] = "--exit-with-parent";
    argv[6] = config_path ? "--config" : NULL;
    argv[7] = (char *)config_path;
    argv[8] = NULL;
  }
  REQUIRE(posix_spawn_file_actions_init(&fa) == 0);
  REQUIRE(posix_spawn_file_actions_addchdir_np(&fa, CFW_SOURCE_DIR) == 0);
  REQUIRE(posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) == 0);
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

/* Reads the endpoint and CA from home's ready.json (it is written
 * atomically once the server listens); false if there is none. */
static inline bool standin_read_ready(struct standin *s)
{
  char path[320];
  json_error_t je;
  json_t *j;

  REQUIRE(snprintf(path, sizeof(path), "%s/ready.json", s->home) <
          (int)sizeof(path));
  if (access(path, R_OK) != 0)
    return false;
  j = json_load_file(path, 0, &je);
  if (j == NULL)
    return false;
  REQUIRE(snprintf(s->endpoint, sizeof(s->endpoint), "%s",
                   json_string_value(json_object_get(j, "endpoint"))) <
          (int)sizeof(s->endpoint));
  REQUIRE(snprintf(s->ca, sizeof(s->ca), "%s",
                   json_string_value(json_object_get(j, "ca_file"))) <
          (int)sizeof(s->ca));
  json_decref(j);
  return true;
}

/* Waits up to 30 s for ready.json. */
static inline void standin_wait_ready(struct standin *s)
{
  struct timespec ts = {0, 20L * 1000 * 1000};
  int i;

  for (i = 0; i < 1500 && !standin_read_ready(s); i++)
    nanosleep(&ts, NULL);
  REQUIRE(i < 1500);
}

static inline size_t standin_on_write(char *p, size_t size, size_t n,
                                      void *userp)
{
  return buf_add(userp, p, size * n) == 0 ? size * n : 0;
}

/* A control call: method path (under /__standin/), JSON body or NULL;
 * the answer goes to out.  Returns libcurl's code and the HTTP status in
 * *status. */
static inline CURLcode standin_request(const struct standin *s,
                                       const char *method, const char *path,
                                       const char *body, struct buf *out,
                                       long *status)
{
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: "
                                                 "application/json");
  char url[512];
  CURL *e = curl_easy_init();
  CURLcode rc;

  REQUIRE(e != NULL && h != NULL);
  REQUIRE(snprintf(url, sizeof(url), "%s/__standin/%s", s->endpoint, path) <
          (int)sizeof(url));
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_CAINFO, s->ca);
  curl_easy_setopt(e, CURLOPT_PROXY, "");
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
  if (body != NULL)
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, standin_on_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
  *status = 0;
  rc = curl_easy_perform(e);
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
  curl_easy_cleanup(e);
  curl_slist_free_all(h);
  return rc;
}

/* A control call: method path (under /__standin/), JSON body or NULL.
 * Returns the HTTP status; the answer goes to out (which may be NULL). */
static inline long standin_call(const struct standin *s, const char *method,
                                const char *path, const char *body,
                                struct buf *out)
{
  struct buf sink;
  long status;

  buf_init(&sink, (size_t)256 << 20);
  REQUIRE(standin_request(s, method, path, body, out != NULL ? out : &sink,
                          &status) == CURLE_OK);
  buf_free(&sink);
  return status;
}

/* Whether the stand-in answered a reset to its defaults: false if it is
 * gone (killed, say), so that the next case can start another. */
static inline bool standin_reset(const struct standin *s)
{
  struct buf sink;
  long status;
  CURLcode rc;

  buf_init(&sink, 4096);
  rc =
      standin_request(s, "POST", "reset", "{\"config\": true}", &sink, &status);
  buf_free(&sink);
  return rc == CURLE_OK && status == 200;
}

/* The pid in home/pid: the shared stand-in spawned last, perhaps by a
 * case that its timeout killed while it started; 0 if none. */
static inline long standin_spawned_pid(const struct standin *s)
{
  char path[320];
  FILE *f;
  long pid = 0;

  REQUIRE(snprintf(path, sizeof(path), "%s/pid", s->home) < (int)sizeof(path));
  f = fopen(path, "r");
  if (f == NULL)
    return 0;
  if (fscanf(f, "%ld", &pid) != 1)
    pid = 0;
  (void)fclose(f); /* read only: nothing to lose */
  return pid;
}

/* Spawns the shared stand-in and notes its pid in home/pid; a stale
 * ready.json goes first, so that only the new one's is read. */
static inline void standin_spawn_shared(struct standin *s, pid_t main_pid)
{
  char path[320];
  FILE *f;
  pid_t pid;

  REQUIRE(snprintf(path, sizeof(path), "%s/ready.json", s->home) <
          (int)sizeof(path));
  REQUIRE(unlink(path) == 0 || errno == ENOENT);
  pid = standin_spawn(s, NULL, main_pid);
  REQUIRE(snprintf(path, sizeof(path), "%s/pid", s->home) < (int)sizeof(path));
  f = fopen(path, "w");
  REQUIRE(f != NULL && fprintf(f, "%ld\n", (long)pid) > 0 && fclose(f) == 0);
}

/* Starts the shared stand-in, unless one spawned by an earlier case is
 * still starting, and resets it once it is ready. */
static inline void standin_revive(struct standin *s, pid_t main_pid)
{
  long pid = standin_spawned_pid(s);

  if (pid <= 0 || kill((pid_t)pid, 0) != 0 || standin_read_ready(s))
    standin_spawn_shared(s, main_pid);
  standin_wait_ready(s);
  REQUIRE(standin_reset(s));
}

/* Finds the binary's stand-in and resets it, or starts it, under a lock
 * (flock on home/lock, close-on-exec so that no stand-in inherits it):
 * a case killed while the stand-in starts leaves the lock free and the
 * pid for the next case to wait on.  A stand-in that no longer answers
 * (killed, say) is replaced. */
static inline void standin_share(struct standin *s, pid_t main_pid)
{
  char path[320];
  int fd;

  /* Not the case's $TMPDIR, which goes with the case: the stand-in
   * outlives it and removes its home itself (--remove-dir). */
  REQUIRE(snprintf(s->home, sizeof(s->home), "%s/cfwstandin.%ld", test_base_tmp,
                   (long)main_pid) < (int)sizeof(s->home));
  REQUIRE(mkdir(s->home, 0700) == 0 || errno == EEXIST);
  REQUIRE(snprintf(path, sizeof(path), "%s/lock", s->home) < (int)sizeof(path));
  fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0 && flock(fd, LOCK_EX) == 0);
  if (!standin_read_ready(s) || !standin_reset(s))
    standin_revive(s, main_pid);
  (void)close(fd); /* releases the lock; nothing was written to it */
}

/* A control call that must answer 200 with JSON; returns it (decref). */
static inline json_t *standin_json(const struct standin *s, const char *method,
                                   const char *path, const char *body)
{
  struct buf b;
  json_error_t je;
  json_t *j;
  long st;

  buf_init(&b, (size_t)256 << 20);
  st = standin_call(s, method, path, body, &b);
  if (st != 200)
    fprintf(stderr, "standin %s %s: %ld %s\n", method, path, st, buf_str(&b));
  REQUIRE(st == 200);
  j = json_loadb(b.data, b.len, 0, &je);
  REQUIRE(j != NULL);
  buf_free(&b);
  return j;
}

static inline void standin_post(const struct standin *s, const char *path,
                                const char *body)
{
  json_decref(standin_json(s, "POST", path, body));
}

/* Spawns a stand-in of s's own in a fresh s->home, with its own CA. */
static inline void standin_spawn_private(struct standin *s,
                                         const char *config_json)
{
  char cfg[320];
  FILE *f;

  test_tmpdir(s->home, sizeof(s->home));
  REQUIRE(snprintf(cfg, sizeof(cfg), "%s/initial.json", s->home) <
          (int)sizeof(cfg));
  f = fopen(cfg, "w");
  REQUIRE(f != NULL);
  REQUIRE(fputs(config_json ? config_json : "{}", f) >= 0 && fclose(f) == 0);
  s->pid = standin_spawn(s, cfg, 0);
  standin_wait_ready(s);
}

/* Starts a stand-in of the case's own, with a fresh CA, that
 * standin_stop ends: for a case that stops it on purpose or needs a CA
 * no other case has trusted.  config_json (or NULL) is its startup
 * config, which a reset with config keeps. */
static inline void standin_start_private(struct standin *s,
                                         const char *config_json)
{
  memset(s, 0, sizeof(*s));
  test_tmpdir(s->dir, sizeof(s->dir));
  standin_spawn_private(s, config_json);
}

/* Starts (or finds and resets) the binary's stand-in; config_json (or
 * NULL) is the case's config, on top of the defaults.  s->dir is a fresh
 * directory of the case's own. */
static inline void standin_start(struct standin *s, const char *config_json)
{
  memset(s, 0, sizeof(*s));
  test_tmpdir(s->dir, sizeof(s->dir));
  if (test_main_pid == 0) { /* not under test_main: nothing to share */
    standin_spawn_private(s, config_json);
    return;
  }
  standin_share(s, test_main_pid);
  if (config_json != NULL)
    standin_post(s, "config", config_json);
}

/* Ends a private stand-in; a shared one lives on for the next case.
 * Removes s->dir. */
static inline void standin_stop(struct standin *s)
{
  int status;

  if (s->pid > 0) {
    (void)kill(s->pid, SIGTERM); /* it may be gone: waitpid tells */
    (void)waitpid(s->pid, &status, 0);
    test_rmtree(s->home);
  }
  test_rmtree(s->dir);
}

/* Queues faults (a JSON array: ["503"], [{"fault": "hold", ...}]) for
 * op (e.g. "s3:put"; NULL for any request). */
static inline void standin_inject(const struct standin *s, const char *faults,
                                  const char *op)
{
  char body[2048];

  REQUIRE(snprintf(body, sizeof(body), "{\"faults\": %s, \"op\": %s%s%s}",
                   faults, op ? "\"" : "", op ? op : "null",
                   op ? "\"" : "") < (int)sizeof(body));
  standin_post(s, "faults", body);
}

/* The S3 requests logged so far (decref the array). */
static inline json_t *standin_s3_log(const struct standin *s)
{
  json_t *j = standin_json(s, "GET", "log", NULL);
  json_t *all = json_object_get(j, "requests");
  json_t *out = json_array();
  json_t *e;
  size_t i;

  json_array_foreach(all, i, e)
  {
    if (strcmp(json_string_value(json_object_get(e, "service")), "s3") == 0)
      json_array_append(out, e);
  }
  json_decref(j);
  return out;
}

/* One object's record ({key, size, etag, headers, metadata, checksum,
 * sha256, ...}), or NULL if the bucket has no such key (decref it). */
static inline json_t *standin_object(const struct standin *s,
                                     const char *bucket, const char *key)
{
  char path[1400];
  json_t *j;
  json_t *o;
  json_t *found = NULL;
  size_t i;

  REQUIRE(snprintf(path, sizeof(path), "s3/objects?bucket=%s", bucket) <
          (int)sizeof(path));
  j = standin_json(s, "GET", path, NULL);
  json_array_foreach(json_object_get(j, "objects"), i, o)
  {
    if (strcmp(json_string_value(json_object_get(o, "key")), key) == 0)
      found = json_incref(o);
  }
  json_decref(j);
  return found;
}

/* Whether the bucket holds key. */
static inline bool standin_has(const struct standin *s, const char *bucket,
                               const char *key)
{
  json_t *o = standin_object(s, bucket, key);

  json_decref(o);
  return o != NULL;
}

/* How many objects the bucket holds. */
static inline size_t standin_count(const struct standin *s, const char *bucket)
{
  char path[256];
  json_t *j;
  size_t n;

  REQUIRE(snprintf(path, sizeof(path), "s3/objects?bucket=%s", bucket) <
          (int)sizeof(path));
  j = standin_json(s, "GET", path, NULL);
  n = json_array_size(json_object_get(j, "objects"));
  json_decref(j);
  return n;
}

#endif
