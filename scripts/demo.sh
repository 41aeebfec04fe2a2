#!/usr/bin/env bash
# The main job on built-in defaults: set up, index the bundled sample channel, run searches.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/postfinder demo
