#!/usr/bin/env bash
# System packages the tests need, from Debian (never a browser download):
#   promtool (package prometheus) for `promtool check metrics|rules`;
#   chromium (/usr/bin/chromium) for the Playwright browser tests.
# Installs what is missing with apt-get when run as root; otherwise says what to install.
# The tests that need them fail (not skip) on CI when they are still missing.
set -uo pipefail
need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: missing ${need[*]}: install with 'apt-get install -y ${need[*]}'" >&2
  exit 0
fi
echo "system-deps: apt-get install ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2 &&
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${need[@]}" >&2 ||
  echo "system-deps: apt-get failed; tests that need ${need[*]} will fail" >&2
exit 0
