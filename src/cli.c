/* SPDX-License-Identifier: MIT */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Options that are not config keys. */
enum {
  OPT_CONFIG = 'c',
  OPT_HELP = 'h',
  OPT_QUIET = 'q',
  OPT_VERBOSE = 'v',
  OPT_ALL = 256,
  OPT_BASELINE,
  OPT_WAIT,
  OPT_JSON,
  OPT_VERSION,
  OPT_ACCOUNT,
  OPT_DISCOVER,
  OPT_OFFLINE,
  OPT_KEY /* a config key: index into cli_keys is val - OPT_KEY */
};

/* Each long option that mirrors a config key; a flag sets it to "true". */
static const struct {
  const char *opt;
  const char *key;
  bool flag;
} cli_keys[] = {
    {"distribution-id", "distribution_id", false},
    {"profile", "profile", false},
    {"endpoint", "endpoint", false},
    {"ca-file", "ca_file", false},
    {"state-dir", "state_dir", false},
    {"quiet-ms", "quiet_ms", false},
    {"max-delay-ms", "max_delay_ms", false},
    {"retry-for", "retry_for", false},
    {"dry-run", "dry_run", true},
    {"log-format", "log_format", false},
    {"log-level", "log_level", false},
    {"url-prefix", "url_prefix", false},
    {"index-name", "index_name", false},
    {"dir-without-slash", "dir_without_slash", true},
    {"pretty-urls", "pretty_urls", true},
    {"query-strings", "query_strings", true},
    {"exclude", "exclude", false},
    {"no-default-excludes", "no_default_excludes", true},
    {"max-paths-per-batch", "max_paths_per_batch", false},
    {"wildcard-threshold", "wildcard_threshold", false},
    {"never-wildcard", "never_wildcard", true},
    {"max-evict-ratio", "max_evict_ratio", false},
    {"strict-evict-ratio", "strict_evict_ratio", true},
    {"monthly-free-paths", "monthly_free_paths", false},
    {"monthly-budget-usd", "monthly_budget_usd", false},
    {"allow-over-budget", "allow_over_budget", true},
    {"upload-cmd", "upload_cmd", false},
    {"upload-timeout", "upload_timeout", false},
    {"max-delete", "max_delete", false},
    {"max-delete-share", "max_delete_share", false},
    {"delete-grace-ms", "delete_grace_ms", false},
    {"allow-delete", "allow_delete", true},
    {"pass-files", "pass_files", false},
    {"origin", "origin", false},
    {"region", "region", false},
    {"s3-endpoint", "s3_endpoint", false},
    {"account-budget", "account_budget", false},
    {"cache-tag-header", "cache_tag_header", false},
};

static const struct {
  const char *name;
  enum cli_cmd cmd;
} cli_cmds[] = {
    {"once", CLI_ONCE},
    {"plan", CLI_PLAN},
    {"status", CLI_STATUS},
    {"invalidate", CLI_INVALIDATE},
};

void cli_init(struct cli *c)
{
  memset(c, 0, sizeof(*c));
  strlist_init(&c->keys);
  strlist_init(&c->values);
  strlist_init(&c->args);
}

void cli_free(struct cli *c)
{
  if (c == NULL)
    return;
  strlist_free(&c->keys);
  strlist_free(&c->values);
  strlist_free(&c->args);
}

const char *cli_cmd_name(enum cli_cmd cmd)
{
  size_t i;

  for (i = 0; i < ARRAY_SIZE(cli_cmds); i++)
    if (cli_cmds[i].cmd == cmd)
      return cli_cmds[i].name;
  return "watch";
}

/* Options that are not config keys. */
static const struct option cli_fixed[] = {
    {"config", required_argument, NULL, OPT_CONFIG},
    {"help", no_argument, NULL, OPT_HELP},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"verbose", no_argument, NULL, OPT_VERBOSE},
    {"all", no_argument, NULL, OPT_ALL},
    {"baseline", no_argument, NULL, OPT_BASELINE},
    {"wait", no_argument, NULL, OPT_WAIT},
    {"json", no_argument, NULL, OPT_JSON},
    {"version", no_argument, NULL, OPT_VERSION},
    {"account", no_argument, NULL, OPT_ACCOUNT},
    {"discover", no_argument, NULL, OPT_DISCOVER},
    {"offline", no_argument, NULL, OPT_OFFLINE},
};

static void cli_fill_options(struct option *o)
{
  size_t i;

  memcpy(o, cli_fixed, sizeof(cli_fixed));
  o += ARRAY_SIZE(cli_fixed);
  for (i = 0; i < ARRAY_SIZE(cli_keys); i++) {
    o[i].name = cli_keys[i].opt;
    o[i].has_arg = cli_keys[i].flag ? no_argument : required_argument;
    o[i].flag = NULL;
    o[i].val = OPT_KEY + (int)i;
  }
  memset(&o[i], 0, sizeof(o[i]));
}

static int cli_add_key(struct cli *c, size_t i, const char *value)
{
  if (strlist_push(&c->keys, cli_keys[i].key) < 0 ||
      strlist_push(&c->values, cli_keys[i].flag ? "true" : value) < 0)
    return -ENOMEM;
  return 0;
}

static int cli_option(struct cli *c, int opt, const char *arg)
{
  switch (opt) {
  case OPT_CONFIG:
    c->config_path = arg;
    return 0;
  case OPT_HELP:
    c->help = true;
    return 0;
  case OPT_QUIET:
    c->quiet++;
    return 0;
  case OPT_VERBOSE:
    c->verbose++;
    return 0;
  case OPT_ALL:
    c->all = true;
    return 0;
  case OPT_BASELINE:
    c->baseline = true;
    return 0;
  case OPT_WAIT:
    c->wait = true;
    return 0;
  case OPT_JSON:
    c->json = true;
    return 0;
  case OPT_VERSION:
    c->version = true;
    return 0;
  case OPT_ACCOUNT:
    c->account = true;
    return 0;
  case OPT_DISCOVER:
    c->discover = true;
    return 0;
  case OPT_OFFLINE:
    c->offline = true;
    return 0;
  case 'd':
    return cli_add_key(c, 0, arg);
  default:
    if (opt >= OPT_KEY && (size_t)(opt - OPT_KEY) < ARRAY_SIZE(cli_keys))
      return cli_add_key(c, (size_t)(opt - OPT_KEY), arg);
    return -EINVAL;
  }
}

/* The command word is the first argument that is not an option, so
 * options may come before it (`cfwatch -c FILE plan`); a root named
 * like a command is written "./plan".  Takes it out of args. */
static void cli_command(struct cli *c)
{
  size_t i;

  if (c->args.n == 0)
    return;
  for (i = 0; i < ARRAY_SIZE(cli_cmds); i++) {
    if (strcmp(c->args.v[0], cli_cmds[i].name) == 0) {
      c->cmd = cli_cmds[i].cmd;
      free(c->args.v[0]);
      memmove(&c->args.v[0], &c->args.v[1],
              (c->args.n - 1) * sizeof(*c->args.v));
      c->args.n--;
      return;
    }
  }
}

int cli_parse(struct cli *c, int argc, char **argv, struct cfw_err *err)
{
  struct option opts[ARRAY_SIZE(cli_fixed) + ARRAY_SIZE(cli_keys) + 1];
  int opt;
  int rc;

  cli_fill_options(opts);
  /* GNU permutation: options may come before or after the command word
   * and ROOT. */
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":c:d:hqv", opts, NULL)) != -1) {
    if (opt == '?')
      return cfw_err_set(err, -EINVAL, "unknown option %s", argv[optind - 1]);
    if (opt == ':')
      return cfw_err_set(err, -EINVAL, "%s: missing value", argv[optind - 1]);
    rc = cli_option(c, opt, optarg);
    if (rc < 0)
      return cfw_err_set(err, rc, "%s: %s", argv[optind - 1], strerror(-rc));
  }
  for (; optind < argc; optind++)
    if (strlist_push(&c->args, argv[optind]) < 0)
      return cfw_err_set(err, -ENOMEM, "out of memory");
  cli_command(c);
  return 0;
}
