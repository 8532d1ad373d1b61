# shellcheck shell=bash
# Sourced by scripts/test.sh and scripts/demo.sh: provision the machine and the project venv.
#   tbx_provision  -> .ci/provision.sh (Docker engine, Compose v2, local test image, keyring tools)
#   tbx_venv       -> .venv with `pip install -e '.[test]'`, redone only when pyproject.toml changed
#                     (from a wheelhouse in ~/.cache/toolbox-tui-dev built once per pyproject.toml)
#   tbx_with_keyring CMD... -> CMD inside a private D-Bus session with a throwaway, unlocked
#                     gnome-keyring (a real Secret Service; returns 127 when the tools are missing)
# Both take a lock so several shells in one work tree can run them at the same time.

TBX_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TBX_STATE_DIR=${TBX_STATE_DIR:-/tmp/toolbox-tui-ci}
export TBX_STATE_DIR
export TBX_IMAGE=${TBX_IMAGE:-toolbox-tui/busybox:test}
export TBX_TEST_IMAGE=${TBX_TEST_IMAGE:-$TBX_IMAGE}
TBX_VENV=${TBX_VENV:-$TBX_ROOT/.venv}
mkdir -p "$TBX_STATE_DIR"

tbx_log() { printf '[%s] %s\n' "${TBX_SCRIPT:-toolbox-tui}" "$*" >&2; }

tbx_in_ci() { [ "${CI:-}" = "true" ]; }

# Provision; under CI any failure is fatal, elsewhere we go on (engine tests will skip).
tbx_provision() {
  local rc=0
  if command -v flock >/dev/null 2>&1; then
    # -o: provision.sh may start dockerd; it must not inherit the lock (it would hold it for its
    # whole life and every later test.sh would wait on it forever)
    flock -o "$TBX_STATE_DIR/provision.lock" bash "$TBX_ROOT/.ci/provision.sh" || rc=$?
  else
    bash "$TBX_ROOT/.ci/provision.sh" || rc=$?
  fi
  if [ "$rc" -ne 0 ] || ! docker info >/dev/null 2>&1; then
    if tbx_in_ci; then
      tbx_log "FATAL: the Docker engine is not available (provision exit $rc)."
      tbx_log "Start it with: setsid dockerd >/tmp/dockerd.log 2>&1 &  (see $TBX_STATE_DIR/dockerd.log)"
      return 1
    fi
    tbx_log "WARNING: provisioning failed (exit $rc) or no engine answers; engine tests will be skipped."
    tbx_log "Start it with: setsid dockerd >/tmp/dockerd.log 2>&1 &   or run as root: bash .ci/provision.sh"
  fi
  return 0
}

# Create or refresh the venv. The stamp records pyproject.toml's hash and the interpreter.
tbx_venv() {
  (
    set -euo pipefail
    if command -v flock >/dev/null 2>&1; then
      exec 9>"$TBX_STATE_DIR/venv.lock"
      flock 9
    fi
    local stamp="$TBX_VENV/.toolbox-tui-installed" want
    want="$(sha256sum "$TBX_ROOT/pyproject.toml" | cut -d' ' -f1) $(python3 -c 'import sys; print(sys.version)' | head -1)"
    if [ -x "$TBX_VENV/bin/python" ] && "$TBX_VENV/bin/python" -c '' 2>/dev/null &&
       [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && [ -x "$TBX_VENV/bin/toolbox-tui" ]; then
      :  # up to date
    elif python3 -m pip --version >/dev/null 2>&1 && tbx_wheelhouse "$want" &&
         tbx_venv_from_wheels "$TBX_WHEELHOUSE"; then
      printf '%s' "$want" > "$stamp"
    else
      tbx_log "creating $TBX_VENV; pip install -e '.[test]' from the index"
      rm -rf "$TBX_VENV"
      python3 -m venv "$TBX_VENV"
      (cd "$TBX_ROOT" && "$TBX_VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[test]')
      printf '%s' "$want" > "$stamp"
    fi
    # Byte-code for our own modules (the install is editable, so they load from the checkout):
    # where PYTHONDONTWRITEBYTECODE is set (it is on these machines) every `toolbox-tui` run
    # otherwise compiled the whole package again (~0.1 s of CPU per run, thousands in a test run).
    # Only stale or missing files are compiled; Python reads them even with that variable set.
    "$TBX_VENV/bin/python" -m compileall -q -j 0 "$TBX_ROOT/toolbox_tui" "$TBX_ROOT/screens" >/dev/null
  )
}

# The wheels of every dependency (with the test extras, pip, and the build backend), built once
# per pyproject.toml and interpreter into the user's cache: a new clone installs from there without
# asking the index (~9 s instead of ~19 s). Sets TBX_WHEELHOUSE; returns 1 when it cannot be made.
tbx_wheelhouse() {
  local key cache tmp
  key=$(printf '%s' "$1" | sha256sum | cut -c1-16)
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/toolbox-tui-dev"
  TBX_WHEELHOUSE="$cache/wheels-$key"
  [ -f "$TBX_WHEELHOUSE/.complete" ] && return 0
  tbx_log "building the dependency wheels once into $TBX_WHEELHOUSE"
  mkdir -p "$cache"
  tmp=$(mktemp -d "$TBX_WHEELHOUSE.XXXXXX")
  if ! python3 -m pip wheel -q --disable-pip-version-check -w "$tmp" "$TBX_ROOT[test]" \
       'setuptools>=77' pip; then
    rm -rf "$tmp"
    return 1
  fi
  rm -f "$tmp"/toolbox_tui-*.whl  # the checkout is installed editable, never from a wheel
  touch "$tmp/.complete"
  # another shell may have finished the same folder meanwhile: keep theirs
  mv -T "$tmp" "$TBX_WHEELHOUSE" 2>/dev/null || rm -rf "$tmp"
}

# A new venv without its own pip bootstrap (ensurepip costs ~4 s), then everything from the
# wheelhouse offline, pip included (the packaging test uses the venv's pip); the byte-code is
# compiled on both cores afterwards instead of by pip on one (~2 s less).
tbx_venv_from_wheels() {
  tbx_log "creating $TBX_VENV from $1"
  rm -rf "$TBX_VENV"
  python3 -m venv --without-pip "$TBX_VENV" &&
    (cd "$TBX_ROOT" && python3 -m pip --python "$TBX_VENV/bin/python" install -q --no-compile \
       --disable-pip-version-check --no-index --find-links "$1" pip -e '.[test]') || return 1
  # a file a package ships for another Python version does not compile: pip skips those too
  "$TBX_VENV/bin/python" -m compileall -q -j 0 "$TBX_VENV/lib" >/dev/null 2>&1 || true
}

# Run "$@" inside a private D-Bus session with an unlocked gnome-keyring: a real Secret Service in a
# throwaway keyring directory (it never touches the user's keyrings), removed afterwards. The random
# keyring password goes to the daemon on stdin from a 0600 file, never in argv or the environment.
# Returns 127 without running anything when dbus-run-session or gnome-keyring-daemon is missing.
tbx_have_keyring_tools() {
  command -v dbus-run-session >/dev/null 2>&1 && command -v gnome-keyring-daemon >/dev/null 2>&1
}

tbx_with_keyring() {
  tbx_have_keyring_tools || return 127
  local kr rc=0
  kr=$(mktemp -d "${TMPDIR:-/tmp}/toolbox-tui-keyring.XXXXXX")
  # shellcheck disable=SC2064 # expand now: the folder of this run
  trap "rm -rf '$kr'" EXIT
  ( umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$kr/password" )
  # dbus-daemon's own stderr goes to a log (as root in a container it says "Failed to set fd limit"
  # at every start, which then stands under the wizard's last screen); the command keeps the real
  # stderr (fd 3), and anything else the daemon said is shown after it
  XDG_DATA_HOME="$kr/data" dbus-run-session -- sh -c '
    kr=$1; shift
    exec 2>&3 3>&-
    gnome-keyring-daemon --unlock --components=secrets <"$kr/password" >/dev/null
    rm -f "$kr/password"
    exec "$@"' sh "$kr" "$@" 3>&2 2>"$kr/dbus.log" || rc=$?
  grep -v -e 'Failed to set fd limit' -e '^Operation not permitted$' "$kr/dbus.log" >&2 || true
  rm -rf "$kr"
  return "$rc"
}
