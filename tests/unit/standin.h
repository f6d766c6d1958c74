/* SPDX-License-Identifier: MIT */
#ifndef CFW_TEST_STANDIN_H
#define CFW_TEST_STANDIN_H

#include <curl/curl.h>
#include <jansson.h>
#include <spawn.h>
#include <stdbool.h>
#include <time.h>

#include "buf.h"
#include "test.h"

/* tests/standin/cfstandin.py for a C test: started on 127.0.0.1 (port
 * chosen by the kernel) with its own CA in a fresh directory, driven
 * through its control API (/__standin/..., unsigned JSON) with blocking
 * libcurl calls, and stopped at the end.  It exits by itself when the
 * test process goes away (--exit-with-parent).  Call curl_global_init
 * first.  The README next to the script describes the API. */

/* Run as the test package's module, from the source root. */
#define STANDIN_MODULE "tests.standin.cfstandin"
#define STANDIN_KEY_ID "AKIDEXAMPLE"
#define STANDIN_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define STANDIN_BUCKET "amzn-s3-demo-bucket"

struct standin {
  char dir[256];
  pid_t pid;
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

static inline void standin_spawn(struct standin *s, const char *config_path)
{
  char *argv[] = {(char *)standin_python(),
                  "-m",
                  STANDIN_MODULE,
                  "--dir",
                  s->dir,
                  "--exit-with-parent",
                  config_path ? "--config" : NULL,
                  (char *)config_path,
                  NULL};
  posix_spawn_file_actions_t fa;

  REQUIRE(posix_spawn_file_actions_init(&fa) == 0);
  REQUIRE(posix_spawn_file_actions_addchdir_np(&fa, CFW_SOURCE_DIR) == 0);
  REQUIRE(posix_spawnp(&s->pid, argv[0], &fa, NULL, argv, environ) == 0);
  posix_spawn_file_actions_destroy(&fa);
}

/* Waits for ready.json (it is written atomically once the server
 * listens) and reads the endpoint and CA from it. */
static inline void standin_wait_ready(struct standin *s)
{
  struct timespec ts = {0, 20 * 1000 * 1000};
  char path[320];
  json_error_t je;
  json_t *j = NULL;
  int i;

  REQUIRE(snprintf(path, sizeof(path), "%s/ready.json", s->dir) <
          (int)sizeof(path));
  for (i = 0; i < 1500 && j == NULL; i++) {
    if (access(path, R_OK) == 0)
      j = json_load_file(path, 0, &je);
    if (j == NULL)
      nanosleep(&ts, NULL);
  }
  REQUIRE(j != NULL);
  REQUIRE(snprintf(s->endpoint, sizeof(s->endpoint), "%s",
                   json_string_value(json_object_get(j, "endpoint"))) <
          (int)sizeof(s->endpoint));
  REQUIRE(snprintf(s->ca, sizeof(s->ca), "%s",
                   json_string_value(json_object_get(j, "ca_file"))) <
          (int)sizeof(s->ca));
  json_decref(j);
}

/* Starts a stand-in; config_json (or NULL) is its initial config. */
static inline void standin_start(struct standin *s, const char *config_json)
{
  char cfg[320];
  FILE *f;

  memset(s, 0, sizeof(*s));
  test_tmpdir(s->dir, sizeof(s->dir));
  if (config_json != NULL) {
    REQUIRE(snprintf(cfg, sizeof(cfg), "%s/initial.json", s->dir) <
            (int)sizeof(cfg));
    f = fopen(cfg, "w");
    REQUIRE(f != NULL && fputs(config_json, f) >= 0 && fclose(f) == 0);
  }
  standin_spawn(s, config_json ? cfg : NULL);
  standin_wait_ready(s);
}

static inline void standin_stop(struct standin *s)
{
  int status;

  if (s->pid > 0) {
    kill(s->pid, SIGTERM);
    waitpid(s->pid, &status, 0);
  }
  test_rmtree(s->dir);
}

static inline size_t standin_on_write(char *p, size_t size, size_t n,
                                      void *userp)
{
  return buf_add(userp, p, size * n) == 0 ? size * n : 0;
}

/* A control call: method path (under /__standin/), JSON body or NULL.
 * Returns the HTTP status; the answer goes to out (which may be NULL). */
static inline long standin_call(const struct standin *s, const char *method,
                                const char *path, const char *body,
                                struct buf *out)
{
  struct curl_slist *h = curl_slist_append(NULL, "Content-Type: "
                                                 "application/json");
  struct buf sink;
  char url[512];
  CURL *e = curl_easy_init();
  long status = 0;

  buf_init(&sink, (size_t)256 << 20);
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
  curl_easy_setopt(e, CURLOPT_WRITEDATA, out != NULL ? out : &sink);
  REQUIRE(curl_easy_perform(e) == CURLE_OK);
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(e);
  curl_slist_free_all(h);
  buf_free(&sink);
  return status;
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
