#!/usr/bin/env bash
# THE test command (README): `bash scripts/test.sh [pytest args...]`.
# Provisions the machine (.ci/provision.sh), creates/refreshes .venv, then runs pytest inside a
# private D-Bus session with an unlocked gnome-keyring (a real Secret Service for the keyring
# tests, in a throwaway keyring directory), in two phases:
#   1. every test not marked `exclusive`, side by side on TBX_WORKERS pytest-xdist workers
#      (default 5 on two cores: many engine tests wait on containers; measured 2026-12-04, tests
#      332 s with 5 against 353-356 s with 4, the machine 64-83 % busy for 90 s with 4);
#   2. the `exclusive` ones (they stop dockerd or init/leave swarm) alone, one after another.
# TBX_WORKERS=0 runs everything in one serial pytest. Args go to both phases; a phase that
# selects no test is fine when the other ran some. Exit code: 0 only when both passed.
set -euo pipefail
TBX_SCRIPT=test
# shellcheck source=scripts/prepare.sh
. "$(cd "$(dirname "$0")" && pwd)/prepare.sh"
cd "$TBX_ROOT"

t_start=$(date +%s)
tbx_provision
t_provisioned=$(date +%s)
tbx_venv
t_installed=$(date +%s)
tbx_log "provision: $((t_provisioned - t_start)) s; install (venv): $((t_installed - t_provisioned)) s"

if ! tbx_have_keyring_tools; then
  tbx_log "dbus-run-session / gnome-keyring-daemon missing: run as root: bash .ci/provision.sh"
  tbx_in_ci && exit 1
  tbx_log "running without a Secret Service; keyring tests will be skipped"
  set +e; bash "$TBX_ROOT/scripts/test_phases.sh" "$TBX_VENV/bin/python" "$@"; rc=$?; set -e
else
  # the throwaway Secret Service (scripts/prepare.sh tbx_with_keyring), shared with the demo
  set +e
  tbx_with_keyring bash "$TBX_ROOT/scripts/test_phases.sh" "$TBX_VENV/bin/python" "$@"
  rc=$?
  set -e
fi

tbx_log "tests: $(( $(date +%s) - t_installed )) s; total $(( $(date +%s) - t_start )) s"
case $rc in
  0) ;;
  5) tbx_log "FAILED: pytest collected no tests (exit 5)" ;;
  *) tbx_log "FAILED: pytest exit $rc" ;;
esac
exit "$rc"
