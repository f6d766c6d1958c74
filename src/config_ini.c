/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "confcheck.h"
#include "config_layer.h"

/* Reading the INI file: inih does the lexing, and this file maps its
 * sections to layers and counts lines so that every message names one.
 * Checking and storing each value is config.c's. */

struct load_ctx {
  struct config *c;  /* borrowed */
  FILE *f;           /* borrowed */
  const char *dir;   /* borrowed; the config file's folder */
  unsigned line;     /* lines read so far */
  unsigned err_line; /* line of the first error we found, 0 if none */
  struct cfw_err err;
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
                       "[%s]: unknown section (expected [cfwatch] or "
                       "[site NAME])",
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
  struct site_config *layer;
  int ki;
  int rc;

  if (*section == '\0')
    return cfw_err_set(err, -EINVAL,
                       "%s: key before any section; put it under [cfwatch]",
                       name);
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
    return cfw_err_prefix(err, "%s", name);
  return 0;
}

/* inih's handler: keeps the first error only, with the line it is on. */
static int config_on_key(void *user, const char *section, const char *name,
                         const char *value)
{
  struct load_ctx *lc = user;

  if (lc->err_line != 0)
    return 1;
  if (load_key(lc, section, name, value, &lc->err) < 0) {
    lc->err_line = lc->line;
    return 0;
  }
  return 1;
}

/* A "[...]" at the start of a line is always a section header to inih.
 * Checking it here names the header's line, and catches a section that
 * holds no keys. */
static void read_section_header(struct load_ctx *lc, const char *line)
{
  char section[INI_MAX_LINE];
  struct site_config *layer;
  const char *end = strchr(line, ']');
  size_t n;

  if (end == NULL)
    return; /* inih reports the syntax error */
  n = (size_t)(end - line - 1);
  memcpy(section, line + 1, n);
  section[n] = '\0';
  if (section_get(lc->c, section, &layer, &lc->err) < 0)
    lc->err_line = lc->line;
}

/* inih's reader: fgets that counts lines, so errors found in the handler
 * know their line.  A line too long for inih is an error here, and its
 * rest is dropped so that our count stays in step with inih's. */
static char *config_read_line(char *str, int num, void *stream)
{
  struct load_ctx *lc = stream;
  const char *start = str;
  int ch;

  if (fgets(str, num, lc->f) == NULL)
    return NULL;
  lc->line++;
  if (strchr(str, '\n') == NULL && !feof(lc->f)) {
    do {
      ch = getc(lc->f);
    } while (ch != '\n' && ch != EOF);
    str[num - 2] = '\n';
    if (lc->err_line == 0) {
      lc->err_line = lc->line;
      cfw_err_set(&lc->err, -EINVAL, "line longer than %d bytes", num - 2);
    }
    return str;
  }
  if (lc->line == 1 && strncmp(str, "\xef\xbb\xbf", 3) == 0)
    start += 3;
  if (*start == '[' && lc->err_line == 0)
    read_section_header(lc, start);
  return str;
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

static int load_result(struct config *c, const struct load_ctx *lc, int rc,
                       struct cfw_err *err)
{
  if (rc == -2)
    return cfw_err_set(err, -ENOMEM, "%s: out of memory", c->path);
  if (ferror(lc->f))
    return cfw_err_set(err, -EIO, "%s: read error", c->path);
  if (rc > 0 && (lc->err_line == 0 || (unsigned)rc < lc->err_line))
    return cfw_err_set(err, -EINVAL, "%s:%d: syntax error", c->path, rc);
  if (lc->err_line == 0)
    return 0;
  *err = lc->err;
  return cfw_err_prefix(err, "%s:%u", c->path, lc->err_line);
}

int config_load_file(struct config *c, const char *path, struct cfw_err *err)
{
  struct cfw_err scratch;
  struct load_ctx lc;
  char *dir;
  int rc;

  if (err == NULL)
    err = &scratch; /* cfw_err_prefix needs one to return the code */
  memset(&lc, 0, sizeof(lc));
  free(c->path);
  c->path = strdup(path);
  if (c->path == NULL)
    return cfw_err_set(err, -ENOMEM, "out of memory");
  rc = file_dir(path, &dir, err);
  if (rc < 0)
    return cfw_err_prefix(err, "%s", path);
  lc.f = fopen(path, "re");
  if (lc.f == NULL) {
    rc = -errno;
    free(dir);
    return cfw_err_set(err, rc, "%s: %s", path, strerror(-rc));
  }
  lc.c = c;
  lc.dir = dir;
  rc = ini_parse_stream(config_read_line, &lc, config_on_key, &lc);
  rc = load_result(c, &lc, rc, err);
  if (fclose(lc.f) != 0 && rc == 0)
    rc = cfw_err_set(err, -EIO, "%s: read error", path);
  free(dir);
  return rc;
}
