#!/usr/bin/env bash
# Lint gates: black, isort, mypy (strict on the package), pylint (score >= 9), the layer
# contract and no import cycles (import-linter, pyproject.toml), hadolint.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
"$bin/black" --check --quiet postfinder tests scripts
"$bin/isort" --check-only --quiet postfinder tests scripts
"$bin/mypy" --no-error-summary
"$bin/pylint" --fail-under=9 --score=y postfinder scripts/*.py | tail -n 3
"$bin/lint-imports" --no-cache | grep -E "KEPT|BROKEN|Contracts:"
"$bin/hadolint" Dockerfile.cpu Dockerfile.cuda
