#!/usr/bin/env bash
# The whole test suite: set up, lint gates, then every test (real-model ones included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/lint.sh
.venv/bin/python -m pytest "$@"
