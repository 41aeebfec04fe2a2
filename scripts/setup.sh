#!/usr/bin/env bash
# Create .venv with PostFinder and its tools, and put the offline models into models/.
# Idempotent: reinstalls only when pyproject.toml or this script changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
# torch 2.13.0: on this project's build machines pip takes the CPU wheel from local disk.
# Elsewhere set TORCH_SPEC (and PIP_INDEX_URL) to pick the CPU or CUDA build you want.
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.postfinder-installed
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet "$TORCH_SPEC"
    .venv/bin/python -m pip install --quiet -e ".[st,llm,bot,dev]"
    echo "$want" > "$stamp"
fi
.venv/bin/python scripts/fetch_models.py
