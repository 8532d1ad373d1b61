#!/usr/bin/env bash
# THE run command (README): `bash scripts/demo.sh [toolbox-tui args...]`.
# Provisions the machine (engine, Compose v2, local image), installs the package into .venv,
# copies the bundled example stack to a scratch directory under /tmp (the bundled copy stays
# pristine), and starts toolbox-tui there. With no arguments that opens the wizard.
# It runs inside the same throwaway Secret Service the tests use (a private D-Bus session with an
# unlocked gnome-keyring, scripts/prepare.sh tbx_with_keyring), so a newcomer sees the main path:
# values stored in a keyring. That keyring is deleted when the demo ends.
set -euo pipefail
TBX_SCRIPT=demo
# shellcheck source=scripts/prepare.sh
. "$(cd "$(dirname "$0")" && pwd)/prepare.sh"

tbx_provision
tbx_venv

scratch=$(mktemp -d /tmp/toolbox-tui-demo.XXXXXX)
cp -a "$TBX_ROOT/examples/toolboxai/." "$scratch/"
tbx_log "example stack copied to $scratch (TBX_IMAGE=$TBX_IMAGE)"
tbx_log "to remove it later: docker compose -p toolboxai down -v --remove-orphans; rm -rf $scratch"
cd "$scratch"
if tbx_have_keyring_tools; then
  tbx_log "secrets: a throwaway Secret Service (gnome-keyring in a private D-Bus session) runs for this"
  tbx_log "demo only; what you store there is deleted when the demo ends. Your own keyrings are untouched."
  sleep "${TBX_DEMO_PAUSE:-2}"
  tbx_with_keyring "$TBX_VENV/bin/toolbox-tui" "$@"
  exit $?
fi
tbx_log "no Secret Service could be started (run as root: bash .ci/provision.sh); the wizard will"
tbx_log "offer an encrypted file or this session only for the secret values"
exec "$TBX_VENV/bin/toolbox-tui" "$@"
