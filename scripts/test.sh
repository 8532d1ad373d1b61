#!/usr/bin/env bash
# THE test command (README): `bash scripts/test.sh [pytest args...]`.
# Provisions the machine (.ci/provision.sh), creates/refreshes .venv, then runs pytest inside a
# private D-Bus session with an unlocked gnome-keyring (a real Secret Service for the keyring
# tests, in a throwaway keyring directory). Exit code is pytest's; "no tests ran" (5) is a failure.
set -euo pipefail
TBX_SCRIPT=test
# shellcheck source=scripts/prepare.sh
. "$(cd "$(dirname "$0")" && pwd)/prepare.sh"
cd "$TBX_ROOT"

tbx_provision
tbx_venv

if ! command -v dbus-run-session >/dev/null 2>&1 || ! command -v gnome-keyring-daemon >/dev/null 2>&1; then
  tbx_log "dbus-run-session / gnome-keyring-daemon missing: run as root: bash .ci/provision.sh"
  tbx_in_ci && exit 1
  tbx_log "running without a Secret Service; keyring tests will be skipped"
  set +e; "$TBX_VENV/bin/python" -m pytest "$@"; rc=$?; set -e
else
  # Throwaway keyring: its own data dir (so it never touches the user's keyrings) and a random
  # password handed over on stdin from a 0600 file (never in argv or the environment).
  kr=$(mktemp -d "${TMPDIR:-/tmp}/toolbox-tui-keyring.XXXXXX")
  trap 'rm -rf "$kr"' EXIT
  ( umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$kr/password" )
  set +e
  XDG_DATA_HOME="$kr/data" dbus-run-session -- sh -c '
    kr=$1 py=$2; shift 2
    gnome-keyring-daemon --unlock --components=secrets <"$kr/password" >/dev/null
    rm -f "$kr/password"
    exec "$py" -m pytest "$@"' sh "$kr" "$TBX_VENV/bin/python" "$@"
  rc=$?
  set -e
fi

case $rc in
  0) ;;
  5) tbx_log "FAILED: pytest collected no tests (exit 5)" ;;
  *) tbx_log "FAILED: pytest exit $rc" ;;
esac
exit "$rc"
