#!/usr/bin/env bash
# Refresh the exact, hash-checked versions that set-up, CI and the images install:
#   requirements/dev.lock   set-up and CI (every extra and the dev tools; torch's CPU build)
#   requirements/cpu.lock   Dockerfile.cpu (the default configuration: llm, bot, discord, plot)
#   requirements/cuda.lock  Dockerfile.cuda (sentence-transformers and torch's CUDA build)
# pyproject.toml keeps the ranges for people who install PostFinder as a library.
# Run after changing a range in pyproject.toml: bash scripts/lock.sh
set -euo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-.venv/bin/uv}
if [ ! -x "$uv" ]; then
    echo "lock: uv not found at $uv; run scripts/setup.sh (it installs the dev tools)" >&2
    exit 1
fi
# torch's CPU build is not on PyPI: from PyTorch's CPU index, or a folder of wheels that
# holds it (TORCH_FIND_LINKS), pinned with an override.
torch_source=(--extra-index-url "${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}")
if [ -n "${TORCH_FIND_LINKS:-}" ]; then
    torch_source=(--find-links "$TORCH_FIND_LINKS")
elif [ -d /opt/wheels ] && ls /opt/wheels/torch-*+cpu-*.whl > /dev/null 2>&1; then
    torch_source=(--find-links /opt/wheels)
fi
override=$(mktemp)
trap 'rm -f "$override" "$override.cuda"' EXIT
echo "torch==${TORCH_VERSION:-2.13.0}+cpu" > "$override"
# --no-strip-extras: a pin carries the extras its dependents ask for (uvicorn[standard]==…);
# without them pip before 24, the first pip of a Debian venv and so of the images, refuses
# the lock in --require-hashes mode once PyPI has a newer version of that package.
common=(pyproject.toml --generate-hashes --no-strip-extras --python-version 3.11
    --python-platform x86_64-manylinux_2_28 --no-header --quiet
    --index-url "${PIP_INDEX:-https://pypi.org/simple}")
"$uv" pip compile "${common[@]}" --extra st --extra llm --extra bot --extra discord --extra plot --extra dev \
    "${torch_source[@]}" --override "$override" --index-strategy unsafe-best-match \
    -o requirements/dev.lock
"$uv" pip compile "${common[@]}" --extra llm --extra bot --extra discord --extra plot -o requirements/cpu.lock
echo "torch==${TORCH_VERSION:-2.13.0}" > "$override.cuda"
"$uv" pip compile "${common[@]}" --extra st --extra llm --extra bot --extra discord \
    --extra plot --override "$override.cuda" -o requirements/cuda.lock
sed -i "s|--override $override.cuda|--override torch==${TORCH_VERSION:-2.13.0}|" requirements/cuda.lock
# The override file's temporary path is not part of the lock.
sed -i "s|--override $override|--override torch==${TORCH_VERSION:-2.13.0}+cpu|" requirements/dev.lock
echo "lock: requirements/{dev,cpu,cuda}.lock refreshed"
