#!/bin/sh
# SPDX-License-Identifier: MIT
# packaging/debian/build-deb.sh OUTDIR: builds cfwatch's binary .deb
# from this checkout and copies it (with its -dbgsym .deb) to OUTDIR.
#
# dpkg-buildpackage wants debian/ at the top of the source tree, and this
# repository keeps it in packaging/debian/debian, so the build runs in a
# scratch copy of the tree (tracked files and new, unignored ones; no
# build directories) with debian/ put at its top.  The checkout itself is
# not touched.  Missing build tools and Build-Depends are installed with
# apt-get (as root); set CFWATCH_DEB_KEEP=1 to keep the scratch copy.
set -eu

usage="usage: packaging/debian/build-deb.sh OUTDIR"
[ $# -eq 1 ] || { echo "$usage" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)

say() { echo "build-deb: $*" >&2; }

apt_updated=""
apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    say "missing: $* (run as root, or install them)"
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "$apt_updated" ]; then
    apt-get update -qq
    apt_updated=1
  fi
  say "installing $*"
  # shellcheck disable=SC2068 # package names, meant to split
  apt-get install -y -qq --no-install-recommends $@ >/dev/null
}

# The tools dpkg-buildpackage itself needs.
missing=""
for p in dpkg-dev debhelper fakeroot; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "ok installed" ||
    missing="$missing $p"
done
# shellcheck disable=SC2086 # a list of package names
[ -z "$missing" ] || apt_install $missing

version=$(dpkg-parsechangelog -l "$here/debian/changelog" -S Version)
upstream=${version%-*}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cfwatch-deb.XXXXXX")
if [ "${CFWATCH_DEB_KEEP:-}" = 1 ]; then
  say "keeping $tmp"
else
  trap 'rm -rf "$tmp"' EXIT
fi
work="$tmp/cfwatch-$upstream"
mkdir "$work"

# The source tree: what git would commit, else everything but builds.
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # Files deleted but not yet committed are left out.
  # shellcheck disable=SC2016 # $f is the inner shell's
  (cd "$src" && git ls-files -z --cached --others --exclude-standard |
    xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
    tar --null -T - -cf -) | tar -xf - -C "$work"
else
  (cd "$src" && tar --exclude='./build*' --exclude=./.git -cf - .) |
    tar -xf - -C "$work"
fi
rm -rf "$work/debian"
cp -R "$here/debian" "$work/debian"

# Build-Depends from debian/control, installed only if some are missing.
if ! (cd "$work" && dpkg-checkbuilddeps) 2>/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    (cd "$work" && dpkg-checkbuilddeps) || true
    say "run as root to install the build dependencies"
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  [ -n "$apt_updated" ] || apt-get update -qq
  say "installing the build dependencies"
  apt-get build-dep -y -qq "$work" >/dev/null
fi

say "building cfwatch $version in $work"
log="$tmp/build.log"
if ! (cd "$work" &&
  DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
    dpkg-buildpackage -us -uc -b) >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  say "dpkg-buildpackage failed (log above)"
  exit 1
fi

n=0
for deb in "$tmp"/*.deb; do
  [ -e "$deb" ] || continue
  cp "$deb" "$out/"
  echo "$out/$(basename "$deb")"
  n=$((n + 1))
done
[ "$n" -gt 0 ] || { say "no .deb was produced"; exit 1; }
