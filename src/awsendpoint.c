/* SPDX-License-Identifier: MIT */
#include "awsclient.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"

#define AWS_ENDPOINT_MAX 8192

void aws_endpoint_free(struct aws_endpoint *e)
{
  if (e == NULL)
    return;
  free(e->base_url);
  free(e->host);
  free(e->path);
  memset(e, 0, sizeof(*e));
}

/* Fills e from the parts libcurl's URL parser found. */
static int aws_endpoint_fill(struct aws_endpoint *e, const char *scheme,
                             const char *host, const char *port, char *path)
{
  struct buf b;
  int rc;

  buf_init(&b, AWS_ENDPOINT_MAX);
  while (path[0] != '\0' && path[strlen(path) - 1] == '/')
    path[strlen(path) - 1] = '\0';
  rc = buf_addf(&b, "%s%s%s", host, port ? ":" : "", port ? port : "");
  e->host = rc == 0 ? buf_take(&b) : NULL;
  rc = buf_addf(&b, "%s://%s", scheme, e->host ? e->host : "");
  e->base_url = rc == 0 ? buf_take(&b) : NULL;
  e->path = strdup(path);
  e->https = strcasecmp(scheme, "https") == 0;
  e->loopback = http_host_is_loopback(host);
  buf_free(&b);
  return e->host && e->base_url && e->path ? 0 : -ENOMEM;
}

int aws_endpoint_parse(struct aws_endpoint *e, const char *url,
                       struct cfw_err *err)
{
  CURLU *u = curl_url();
  char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
  int rc = -EINVAL;

  memset(e, 0, sizeof(*e));
  if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
    (void)curl_url_get(u, CURLUPART_PORT, &port, 0); /* absent: default */
    rc = aws_endpoint_fill(e, scheme, host, port, path);
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_free(path);
  curl_url_cleanup(u);
  if (rc == 0)
    return 0;
  aws_endpoint_free(e);
  if (rc == -ENOMEM)
    return cfw_err_set(err, rc, "out of memory");
  return cfw_err_set(err, rc, "endpoint %s: not a URL", url);
}
