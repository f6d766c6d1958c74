/* SPDX-License-Identifier: MIT */
#ifndef CFW_CLI_H
#define CFW_CLI_H

#include <stdbool.h>

#include "err.h"
#include "strlist.h"

enum cli_cmd {
  CLI_WATCH = 0, /* no command word: watch ROOT until a signal */
  CLI_ONCE,
  CLI_PLAN,
  CLI_STATUS,
  CLI_INVALIDATE
};

/* The command line, split into what main acts on itself and the
 * key/value pairs that override the config file. */
struct cli {
  enum cli_cmd cmd;
  const char *config_path; /* borrowed from argv, NULL if none */
  struct strlist keys;     /* config keys, e.g. "quiet_ms"; owned */
  struct strlist values;   /* their values, same order; owned */
  struct strlist args;     /* positional arguments; owned */
  int verbose;             /* count of -v */
  int quiet;               /* count of -q */
  bool all;
  bool baseline;
  bool wait;
  bool json;
  bool account;  /* status, plan, once: count the account's month */
  bool discover; /* status, plan, once: check the distribution's settings */
  bool offline;  /* status, plan: a state in S3 from its cache, unpulled */
  bool help;
  bool version;
};

void cli_init(struct cli *c);
void cli_free(struct cli *c);

/* Parses argv.  Errors name the option: "--quiet-ms: missing value". */
int cli_parse(struct cli *c, int argc, char **argv, struct cfw_err *err);

const char *cli_cmd_name(enum cli_cmd cmd);

#endif
