#!/usr/bin/env bash
# THE run command (README): `bash scripts/demo.sh [toolbox-tui args...]`.
# Provisions the machine (engine, Compose v2, local image), installs the package into .venv,
# copies the bundled example stack to a scratch directory under /tmp (the bundled copy stays
# pristine), and starts toolbox-tui there. With no arguments that opens the wizard.
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
exec "$TBX_VENV/bin/toolbox-tui" "$@"
