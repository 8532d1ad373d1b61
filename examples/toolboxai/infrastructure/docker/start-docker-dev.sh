#!/usr/bin/env bash
# Start the ToolboxAI development stack.
set -euo pipefail
cd "$(dirname "$0")/compose"
docker compose -f docker-compose.yml -f docker-compose.dev.yml up -d
docker compose -f docker-compose.yml -f docker-compose.dev.yml ps
