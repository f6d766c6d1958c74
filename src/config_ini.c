/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgfile.h"
#include "confcheck.h"
#include "config_layer.h"
#include "hdrrule.h"
#include "inilex.h"

/* Reading the INI file: cfgfile.c splits it into lines, inilex.c lexes
 * each as inih did, and this file maps sections to layers and counts
 * lines so that every message names one.  Checking and storing each
 * value is config_key.c's, and hdrrule.c's for [headers GLOB] sections. */

/* The longest line: room for a long upload_cmd, and still below Linux's
 * 128 KiB limit on one argument (MAX_ARG_STRLEN), which /bin/sh -c
 * COMMAND must pass.  man/cfwatch.ini.5 states both limits. */
#define CONFIG_MAX_LINE 65536
#define CONFIG_MAX_SIZE ((size_t)1024 * 1024)

struct load_ctx {
  struct config *c; /* borrowed */
  const char *dir;  /* borrowed; the config file's folder */
  unsigned line;    /* the line being read */
};

/* Finds the layer for a section, adding a site the first time.  A
 * section given twice continues where it left off. */
static int section_get(struct config *c, const char *section,
                       struct site_config **out, struct cfw_err *err)
{
  const char *name = section + 5;
  size_t i;
  int rc;

  if (strcmp(section, "cfwatch") == 0) {
    *out = &c->base;
    return 0;
  }
  if (strncmp(section, "site", 4) != 0 || (section[4] != ' ' && section[4]))
    return cfw_err_set(err, -EINVAL,
                       "[%s]: unknown section (expected [cfwatch], "
                       "[site NAME] or [headers GLOB])",
                       section);
  if (section[4] == '\0')
    name = "";
  rc = confcheck_site_name(name, section, err);
  if (rc < 0)
    return rc;
  for (i = 0; i < c->n_sites; i++) {
    if (strcmp(c->sites[i].name, name) == 0) {
      *out = &c->sites[i];
      return 0;
    }
  }
  return config_site_add(c, name, out, err);
}

static int load_key(struct load_ctx *lc, const char *section, const char *name,
                    const char *value, struct cfw_err *err)
{
  struct site_config *layer = NULL;
  int ki;
  int rc;

  if (*section == '\0')
    return cfw_err_set(err, -EINVAL,
                       "%s: key before any section; put it under [cfwatch]",
                       name);
  if (hdrrules_is_section(section)) {
    rc = hdrrules_set(&lc->c->headers, name, value, lc->line, err);
    return rc < 0 ? cfw_err_wrap(err, rc, "%s", name) : 0;
  }
  rc = section_get(lc->c, section, &layer, err);
  if (rc < 0)
    return rc;
  ki = config_key_find(name);
  if (ki < 0)
    return cfw_err_set(err, -EINVAL, "%s: unknown key", name);
  if (config_key_is_global(ki) && layer != &lc->c->base)
    return cfw_err_set(err, -EINVAL, "%s: allowed only in [cfwatch]", name);
  rc = config_key_store(lc->c, layer, ki, value, lc->dir, lc->line, err);
  if (rc < 0)
    return cfw_err_wrap(err, rc, "%s", name);
  return 0;
}

/* The folder of a file, absolute. */
static int file_dir(const char *path, char **out, struct cfw_err *err)
{
  char *slash;
  int rc;

  rc = confcheck_path_absolute(NULL, path, out, err);
  if (rc < 0)
    return rc;
  /* Keep the '/' of a file in the root folder. */
  slash = strrchr(*out, '/');
  if (slash == *out)
    slash[1] = '\0';
  else
    *slash = '\0';
  return 0;
}

/* Lexes the lines of data and stores what they set; stops at the first
 * error, with err set and lc->line at its line. */
static int load_lines(struct load_ctx *lc, char *data, size_t len,
                      struct cfw_err *err)
{
  struct cfgfile_lines it;
  struct inilex lx;
  struct site_config *layer = NULL;
  const char *name = NULL;
  const char *value = NULL;
  size_t off;
  size_t n;
  int rc;

  memset(&lx, 0, sizeof(lx));
  cfgfile_lines_init(&it, data, len, CFGFILE_EOL_LF, CONFIG_MAX_LINE, false);
  for (;;) {
    rc = cfgfile_next_line(&it, &off, &n, err);
    lc->line = it.lineno;
    if (rc <= 0)
      break;
    switch (inilex_line(&lx, data + off, n, &name, &value)) {
    case INILEX_SECTION:
      /* Checked here, so that the message names the header's line and a
       * section without keys is checked too. */
      if (hdrrules_is_section(name))
        rc = hdrrules_begin(&lc->c->headers, name, lc->line, err);
      else
        rc = section_get(lc->c, name, &layer, err);
      break;
    case INILEX_KEY:
      rc = load_key(lc, lx.section, name, value, err);
      break;
    case INILEX_ERROR:
      rc = cfw_err_set(err, -EINVAL, "syntax error");
      break;
    default:
      rc = 0;
      break;
    }
    if (rc < 0)
      return rc;
  }
  return rc;
}

/* The checks on the [headers GLOB] rules that need the whole file: the
 * sites they name are its [site NAME] sections. */
static int check_headers(struct load_ctx *lc, struct cfw_err *err)
{
  const struct config *c = lc->c;
  const char **names;
  size_t i;
  int rc;

  if (c->headers.n == 0)
    return 0;
  names = calloc(c->n_sites + 1, sizeof(*names));
  if (names == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  for (i = 0; i < c->n_sites; i++)
    names[i] = c->sites[i].name;
  rc = hdrrules_check(&c->headers, names, c->n_sites, &lc->line, err);
  free(names);
  return rc;
}

int config_load_file(struct config *c, const char *path, struct cfw_err *err)
{
  struct load_ctx lc;
  char *data;
  char *dir;
  size_t len;
  int rc;

  memset(&lc, 0, sizeof(lc));
  free(c->path);
  c->path = strdup(path);
  if (c->path == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  rc = file_dir(path, &dir, err);
  if (rc < 0)
    return cfw_err_wrap(err, rc, "%s", path);
  rc = cfgfile_read(path, CONFIG_MAX_SIZE, false, &data, &len, err);
  if (rc == -EFBIG) { /* bad content, as the header says */
    rc = -EINVAL;
    if (err != NULL)
      err->code = rc;
  }
  if (rc == 0) {
    lc.c = c;
    lc.dir = dir;
    rc = load_lines(&lc, data, len, err);
    if (rc == 0)
      rc = check_headers(&lc, err);
    if (rc < 0)
      rc = cfw_err_wrap(err, rc, "%s:%u", path, lc.line);
  }
  cfgfile_free(data, len);
  free(dir);
  return rc;
}
