#!/usr/bin/env bash
# Create .venv with PostFinder and its tools, and put the offline models into models/.
# Idempotent: reinstalls only when pyproject.toml or this script changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
# Every package comes at the exact version and hash of requirements/dev.lock (refresh it
# with scripts/lock.sh). torch's CPU build is not on PyPI: where pip does not already see
# it (this project's build machines keep it on disk), it comes from TORCH_INDEX.
TORCH_INDEX=${TORCH_INDEX:-https://download.pytorch.org/whl/cpu}
LLAMA_VERSION=${LLAMA_VERSION:-0.3.36}
# Our own wheel cache, keyed by version and build flags. pip's cache is keyed by the sdist
# only, so a wheel once built natively (AMX kernels and all) would come back on every
# install whatever CMAKE_ARGS say.
WHEEL_CACHE=${POSTFINDER_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/postfinder/wheels}

# Portable llama.cpp flags: never -march=native, never AMX (some hypervisors advertise AMX
# but do not run tile instructions: the process dies with SIGILL). AVX2 is the x86-64
# baseline; AVX-512 is added only when this CPU has it. LLAMA_CMAKE_ARGS overrides all
# of this (for example "-DGGML_CUDA=on" for a GPU build).
llama_cmake_args() {
    if [ -n "${LLAMA_CMAKE_ARGS:-}" ]; then
        echo "$LLAMA_CMAKE_ARGS"
        return
    fi
    local args="-DGGML_NATIVE=OFF"
    case "$(uname -m)" in
        x86_64 | amd64)
            args="$args -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
            args="$args -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
            local flags
            flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
            if [[ " $flags " == *" avx512f "* && " $flags " == *" avx512bw "* \
                && " $flags " == *" avx512vl "* && " $flags " == *" avx512dq "* ]]; then
                args="$args -DGGML_AVX512=ON"
                if [[ " $flags " == *" avx512_vnni "* ]]; then
                    args="$args -DGGML_AVX512_VNNI=ON"
                fi
            fi
            ;;
    esac
    echo "$args"
}

install_llama() {
    local args key wheel_dir
    args=$(llama_cmake_args)
    key=$(printf '%s|%s|%s|%s' "$LLAMA_VERSION" "$args" "$(uname -m)" \
        "$(.venv/bin/python -c 'import sys; print(sys.version_info[:2])')" | sha256sum | cut -c1-16)
    wheel_dir="$WHEEL_CACHE/llama-cpp-python-$key"
    if ! ls "$wheel_dir"/llama_cpp_python-*.whl >/dev/null 2>&1; then
        echo "Building llama-cpp-python $LLAMA_VERSION (CMAKE_ARGS=$args); this takes a few minutes"
        mkdir -p "$wheel_dir.tmp"
        CMAKE_ARGS="$args" .venv/bin/python -m pip wheel --quiet --no-cache-dir --no-deps \
            --no-binary llama-cpp-python -w "$wheel_dir.tmp" "llama-cpp-python==$LLAMA_VERSION"
        rm -rf "$wheel_dir"
        mv "$wheel_dir.tmp" "$wheel_dir"
    fi
    .venv/bin/python -m pip install --quiet --force-reinstall --no-deps "$wheel_dir"/llama_cpp_python-*.whl
    echo "$wheel_dir" > .venv/.postfinder-llama-wheel
}

install_locked() {
    local pip=(.venv/bin/python -m pip install --quiet --require-hashes -r requirements/dev.lock)
    if ! "${pip[@]}" 2> .venv/.postfinder-lock-error; then
        if ! grep -q "torch" .venv/.postfinder-lock-error; then
            cat .venv/.postfinder-lock-error >&2
            return 1
        fi
        echo "setup: torch's CPU build is not in pip's indexes; trying $TORCH_INDEX"
        "${pip[@]}" --extra-index-url "$TORCH_INDEX"
    fi
}

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
stamp=.venv/.postfinder-installed
want=$(cat pyproject.toml requirements/dev.lock scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    install_llama
    install_locked
    .venv/bin/python -m pip install --quiet --no-deps -e .
    echo "$want" > "$stamp"
fi
.venv/bin/python scripts/fetch_models.py
# A short generation in a subprocess: a build that dies on this CPU is found here, with a
# message, not in the middle of a test run or under the bot.
if ! .venv/bin/python -m postfinder.generation.probe --models-dir models; then
    wheel_dir=$(cat .venv/.postfinder-llama-wheel 2>/dev/null || true)
    echo "setup: llama-cpp-python cannot run on this CPU (see above)." >&2
    echo "setup: the cached build is removed; rerun with LLAMA_CMAKE_ARGS='-DGGML_NATIVE=OFF' for a plain portable build." >&2
    [ -n "$wheel_dir" ] && rm -rf "$wheel_dir"
    rm -f "$stamp"
    exit 1
fi
