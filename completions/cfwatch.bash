# SPDX-License-Identifier: MIT
# bash completion for cfwatch(1).
#
# Installed as /usr/share/bash-completion/completions/cfwatch, where
# bash-completion loads it on first use; or source it from ~/.bashrc.
# It needs bash 4 and nothing from bash-completion itself.

# The profiles named in the AWS CLI's files, for --profile.
_cfwatch_profiles()
{
  local f
  for f in "${AWS_CONFIG_FILE:-$HOME/.aws/config}" \
    "${AWS_SHARED_CREDENTIALS_FILE:-$HOME/.aws/credentials}"; do
    [[ -r $f ]] || continue
    sed -n -e '/^[[:space:]]*\[\(sso-session\|services\)[[:space:]]/d' \
      -e 's/^[[:space:]]*\[\(profile[[:space:]]\{1,\}\)\{0,1\}\([^]]*\)\].*/\2/p' \
      "$f"
  done
}

# Fills COMPREPLY with the lines of stdin that start with $cur, so that
# names with spaces stay one word.
_cfwatch_reply()
{
  local line
  while IFS= read -r line; do
    [[ $line == "$cur"* ]] && COMPREPLY+=("$line")
  done
}

_cfwatch()
{
  local cur=${COMP_WORDS[COMP_CWORD]}
  local prev=${COMP_WORDS[COMP_CWORD - 1]}
  local cmds="once plan status invalidate"
  local cmd="" i
  local opts="-c --config -d --distribution-id --profile --endpoint
    --ca-file --state-dir --dry-run --url-prefix --index-name --pretty-urls
    --dir-without-slash --query-strings --exclude --no-default-excludes --log-format
    --log-level -v --verbose -q --quiet --version -h --help
    --origin --region --s3-endpoint"
  # The planner's options, for the commands that plan.
  local planning="--max-paths-per-batch --wildcard-threshold
    --never-wildcard --max-evict-ratio --strict-evict-ratio
    --monthly-free-paths --monthly-budget-usd --allow-over-budget"
  # The upload step, for the commands that invalidate changes.
  local upload="--upload-cmd --upload-timeout"
  # Cache tags on an S3 origin, for the commands that plan.
  local tags="--cache-tag-header"
  # The mass-deletion guard and a pass's bound, for the commands that send.
  local guard="--max-delete --max-delete-share --delete-grace-ms --allow-delete
    --pass-files"
  # The read-only questions to CloudFront, for status, plan and once.
  local ask="--account --account-budget --discover"

  COMPREPLY=()
  # "--config=FILE": bash splits at '=' (COMP_WORDBREAKS).
  if [[ $cur == = ]]; then
    cur=""
  elif [[ $prev == = ]] && ((COMP_CWORD >= 2)); then
    prev=${COMP_WORDS[COMP_CWORD - 2]}
  fi

  case $prev in
  -c | --config | --ca-file)
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    return 0
    ;;
  --state-dir)
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen -d -- "$cur")
    return 0
    ;;
  --log-format)
    mapfile -t COMPREPLY < <(compgen -W "text json" -- "$cur")
    return 0
    ;;
  --log-level)
    mapfile -t COMPREPLY < <(compgen -W "error warn info debug trace" \
      -- "$cur")
    return 0
    ;;
  --profile)
    _cfwatch_reply < <(_cfwatch_profiles | sort -u)
    return 0
    ;;
  -d | --distribution-id | --endpoint | --quiet-ms | --max-delay-ms | \
    --retry-for | --url-prefix | --index-name | --exclude | \
    --max-paths-per-batch | --wildcard-threshold | --max-evict-ratio | \
    --monthly-free-paths | --monthly-budget-usd | --upload-timeout | \
      --max-delete | --max-delete-share | --delete-grace-ms | --account-budget | \
      --pass-files | \
      --cache-tag-header | --origin | --region | --s3-endpoint)
    return 0 # a value only the user knows
    ;;
  --upload-cmd)
    mapfile -t COMPREPLY < <(compgen -c -- "$cur")
    return 0
    ;;
  esac

  # The command word, if any, is the first word.
  for i in $cmds; do
    [[ ${COMP_WORDS[1]} == "$i" ]] && ((COMP_CWORD > 1)) && cmd=$i
  done
  case $cmd in
  "") opts="$opts --quiet-ms --max-delay-ms --all $planning $upload $tags $guard" ;;
  once) opts="$opts --wait --retry-for --all --baseline $planning $upload $tags $guard $ask" ;;
  plan) opts="$opts --all --offline $planning $tags $ask" ;;
  status) opts="$opts --json --offline $ask" ;;
  invalidate) opts="$opts --wait --retry-for" ;;
  esac

  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
    return 0
  fi
  if [[ $cmd == invalidate ]]; then
    return 0 # URL paths, or "-" for stdin
  fi
  # ROOT is a directory; in the first word it may also be a command.
  compopt -o filenames 2>/dev/null
  mapfile -t COMPREPLY < <(compgen -d -- "$cur")
  if ((COMP_CWORD == 1)); then
    mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -W "$cmds" \
      -- "$cur")
  fi
  return 0
}

complete -F _cfwatch cfwatch
