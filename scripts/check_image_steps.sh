#!/usr/bin/env bash
# Replay the Docker images' install steps in a throwaway virtual environment (no Docker
# engine is available here) and smoke-test the result from outside the checkout: the
# installed package must be complete (sample export, refusal calibration) and work.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
pip="$tmp/venv/bin/python -m pip"
$pip install --quiet --upgrade pip
$pip install --quiet "${TORCH_SPEC:-torch==2.13.0}"
# The images build llama-cpp-python portably (Dockerfile.cpu's CMAKE_ARGS); reuse the
# portable wheel that scripts/setup.sh built rather than compiling it a second time.
wheel_dir=$(cat "$root/.venv/.postfinder-llama-wheel" 2>/dev/null || true)
if [ -n "$wheel_dir" ] && ls "$wheel_dir"/llama_cpp_python-*.whl > /dev/null 2>&1; then
    $pip install --quiet --no-deps "$wheel_dir"/llama_cpp_python-*.whl
fi
CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF" \
    $pip install --quiet "$root[st,llm,bot]"   # not editable, as in the images
export POSTFINDER_DATA_DIR="$tmp/data" POSTFINDER_MODELS_DIR="$tmp/models" POSTFINDER_LLM__MODE=none
cd "$tmp"
"$tmp/venv/bin/postfinder" --help > /dev/null
"$tmp/venv/bin/postfinder" demo > "$tmp/demo.txt"
grep -q "Indexed sample channel" "$tmp/demo.txt"
grep -q "https://t.me/postfinder_sample/" "$tmp/demo.txt"
"$tmp/venv/bin/postfinder" health
"$tmp/venv/bin/python" -c "import llama_cpp, telegram, sentence_transformers, chromadb, bm25s, tornado"
# Package data and every subpackage made it into the (non-editable) install.
"$tmp/venv/bin/python" -c "
import postfinder.bot.wiring, postfinder.conversation.service
from postfinder.answering.autocalibration import offtopic_questions, transfer_model
assert len(offtopic_questions()) >= 200 and transfer_model().method == 'transfer'
"
echo "image install steps: ok"
