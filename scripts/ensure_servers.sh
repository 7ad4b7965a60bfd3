#!/usr/bin/env bash
# Make sure the real programs the tests start are installed: Debian's `prometheus` (with
# promtool), `prometheus-pushgateway` and `chromium` (the HTML report is checked in a real
# headless browser). Installs them with apt when missing and running as root. Under CI a
# binary that is still missing fails the run (the tests fail too).
set -u
missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-pushgateway >/dev/null 2>&1 || missing+=(prometheus-pushgateway)
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages: $pkgs"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
  # the package may start a system service; tests start their own servers on free ports
  pkill -x prometheus 2>/dev/null; pkill -x prometheus-pushgateway 2>/dev/null
  exit 0
fi
echo "missing server binaries: $pkgs (install: apt-get install -y --no-install-recommends $pkgs)" >&2
if [ "${CI:-}" = "true" ]; then exit 1; fi
exit 0
