#!/bin/sh
# SPDX-License-Identifier: MIT
# packaging/debian/test-deb.sh: builds the .deb (build-deb.sh), installs
# it with dpkg -i, checks what it installed, and purges it again.  As
# root, on Debian 12 or similar; a few minutes, most of it the build.
# Refuses to run if a cfwatch package is installed already, since it
# would be removed at the end.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
start=$(date +%s)
passed=0
failed=0

say() { echo "test-deb: $*" >&2; }
check() { # check DESCRIPTION COMMAND...: one line per check
  desc=$1
  shift
  if out=$("$@" 2>&1); then
    passed=$((passed + 1))
    echo "ok   $desc${out:+: $(echo "$out" | head -n 1)}"
  else
    failed=$((failed + 1))
    echo "FAIL $desc"
    echo "$out" | sed 's/^/     /'
  fi
}

if [ "$(id -u)" -ne 0 ]; then
  say "run as root: it installs and removes a package"
  exit 2
fi
if dpkg-query -W -f='${Status}\n' cfwatch 2>/dev/null | grep -q installed; then
  say "a cfwatch package is installed already; remove it first"
  exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cfwatch-test-deb.XXXXXX")
installed=""
cleanup() {
  if [ -n "$installed" ]; then
    dpkg -P cfwatch >/dev/null 2>&1 || say "could not purge cfwatch"
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

"$here/build-deb.sh" "$tmp/debs" >/dev/null
built=$(date +%s)
deb=$(ls "$tmp"/debs/cfwatch_*.deb)
say "built $(basename "$deb") in $((built - start)) s"

# man -w needs man-db; a missing Depends shows as a failed dpkg -i.
command -v man >/dev/null 2>&1 || apt-get install -y -qq man-db >/dev/null
installed=1
if ! dpkg -i "$deb" >"$tmp/dpkg.log" 2>&1; then
  say "dpkg -i left dependencies missing; apt-get -f install"
  DEBIAN_FRONTEND=noninteractive apt-get -f install -y -qq >/dev/null
fi

check "package installed" sh -c \
  "dpkg-query -W -f='\${Version} \${Status}' cfwatch | grep 'ok installed'"
check "cfwatch --version" sh -c 'cfwatch --version | grep -x "cfwatch 0.1.0"'
# shellcheck disable=SC2016 # expanded by the inner shell
check "binary is /usr/bin/cfwatch" sh -c \
  '[ "$(command -v cfwatch)" = /usr/bin/cfwatch ]'
check "man -w cfwatch" man -w cfwatch
check "man -w 5 cfwatch.ini" man -w 5 cfwatch.ini
check "systemd user unit" test -f /usr/lib/systemd/user/cfwatch@.service
check "bash completion" \
  test -f /usr/share/bash-completion/completions/cfwatch
check "zsh completion" test -f /usr/share/zsh/vendor-completions/_cfwatch
check "example config" \
  test -f /usr/share/doc/cfwatch/examples/cfwatch.ini.example
check "copyright" test -f /usr/share/doc/cfwatch/copyright
check "no user unit enabled by the package" sh -c \
  '! ls /etc/systemd/user/*/cfwatch* 2>/dev/null'
check "cfwatch plan runs" sh -c "mkdir -p '$tmp/site' &&
  echo hi > '$tmp/site/index.html' &&
  cfwatch plan --state-dir '$tmp/state' '$tmp/site'"
if command -v systemd-analyze >/dev/null 2>&1; then
  mkdir -m 700 "$tmp/run"
  check "systemd-analyze verify of the installed unit" sh -c \
    "out=\$(XDG_RUNTIME_DIR='$tmp/run' systemd-analyze --user verify \
      --man=no cfwatch@site.service 2>&1) && [ -z \"\$out\" ] ||
      { echo \"\$out\"; false; }"
fi

dpkg -P cfwatch >"$tmp/purge.log" 2>&1
installed=""
check "purged: no /usr/bin/cfwatch" test ! -e /usr/bin/cfwatch
check "purged: no unit" test ! -e /usr/lib/systemd/user/cfwatch@.service

end=$(date +%s)
say "build $((built - start)) s, install and checks $((end - built)) s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
