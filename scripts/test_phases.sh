#!/usr/bin/env bash
# Used by scripts/test.sh (inside its D-Bus session): `test_phases.sh PYTHON [pytest args...]`.
# Phase 1: the tests not marked `exclusive`, on TBX_WORKERS xdist workers (default 5; 0: one
# serial run of everything). Phase 2: the `exclusive` tests alone. Prints each phase's time.
# TBX_JUNIT=PREFIX writes PREFIX-parallel.xml and PREFIX-exclusive.xml (per-test timings).
set -u
py=$1; shift
workers=${TBX_WORKERS:-5}
log() { printf '[test] %s\n' "$*" >&2; }
if [ "$workers" = "0" ]; then
  exec "$py" -m pytest -p no:xdist "$@"
fi
t0=$(date +%s)
junit() { [ -n "${TBX_JUNIT:-}" ] && echo "--junitxml=$TBX_JUNIT-$1.xml"; }
"$py" -m pytest -n "$workers" --dist loadgroup -m "not exclusive" $(junit parallel) "$@"; rc1=$?
t1=$(date +%s)
log "phase 1 (parallel, $workers workers): exit $rc1 in $((t1 - t0)) s"
# Phase 2 only when a test file uses the marker (a second pytest start that collects and
# deselects every test costs ~5 s); a marker added another way would need this grep widened.
if grep -rqsE --include='*.py' 'mark\.exclusive|"exclusive"' tests; then
  "$py" -m pytest -p no:xdist -m exclusive $(junit exclusive) "$@"; rc2=$?
  t2=$(date +%s)
  log "phase 2 (exclusive, alone): exit $rc2 in $((t2 - t1)) s"
else
  rc2=5
  log "phase 2 (exclusive, alone): no test is marked exclusive, skipped"
fi
# 5 = that phase selected no test: fine if the other one ran tests
if [ "$rc1" -eq 5 ] && [ "$rc2" -eq 5 ]; then exit 5; fi
[ "$rc1" -eq 5 ] && rc1=0
[ "$rc2" -eq 5 ] && rc2=0
[ "$rc1" -ne 0 ] && exit "$rc1"
exit "$rc2"
