"""The locks that set-up, CI and the images install from agree with pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCKS = {
    "dev.lock": ("st", "llm", "bot", "plot", "dev"),
    "cpu.lock": ("llm", "bot", "plot"),
    "cuda.lock": ("st", "llm", "bot", "plot"),
}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[([^\]]+)\])?==(\S+) \\$")


def pinned_lines(lock: str) -> dict[str, tuple[str, frozenset[str]]]:
    """Package → (exact version, extras on its line), checking that every pin has a hash."""
    lines = (ROOT / "requirements" / lock).read_text(encoding="utf-8").splitlines()
    found = {}
    for number, line in enumerate(lines):
        match = PIN.match(line)
        if match:
            assert lines[number + 1].strip().startswith("--hash=sha256:"), line
            extras = frozenset(
                canonicalize_name(e.strip()) for e in (match[2] or "").split(",") if e
            )
            found[canonicalize_name(match[1])] = (match[3], extras)
    return found


def pins(lock: str) -> dict[str, str]:
    """Package → exact version."""
    return {name: version for name, (version, _) in pinned_lines(lock).items()}


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_lock_satisfies_every_range(lock: str) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = list(project["dependencies"])
    for extra in LOCKS[lock]:
        wanted += project["optional-dependencies"][extra]
    locked = pins(lock)
    for text in wanted:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is missing from {lock}: run scripts/lock.sh"
        version = Version(locked[name])
        assert requirement.specifier.contains(
            version, prereleases=True
        ), f"{lock} pins {name}=={version} outside {requirement.specifier}: run scripts/lock.sh"


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_lock_pins_the_extras_its_packages_ask_for(lock: str) -> None:
    # pip before 24 (what a Debian venv brings, so the images' first pip) rejects a
    # --require-hashes lock that pins uvicorn==X when chromadb asks for uvicorn[standard],
    # as soon as PyPI has a newer uvicorn: the extras have to be on the pinned line.
    locked = pinned_lines(lock)
    checked = 0
    for name, (version, extras) in locked.items():
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        if dist.version != version:
            continue
        for text in dist.requires or []:
            requirement = Requirement(text)
            wanted = canonicalize_name(requirement.name)
            if not requirement.extras or wanted not in locked:
                continue
            asked = requirement.marker is None or any(
                requirement.marker.evaluate({"extra": extra}) for extra in {"", *extras}
            )
            if asked:
                checked += 1
                missing = {canonicalize_name(e) for e in requirement.extras} - locked[wanted][1]
                assert not missing, (
                    f"{lock} pins {wanted} without the extras {sorted(missing)} that {name} asks "
                    "for: run scripts/lock.sh (uv pip compile --no-strip-extras)"
                )
    assert checked or lock != "dev.lock"


def test_cpu_image_lock_has_no_torch() -> None:
    assert "torch" not in pins("cpu.lock") and "sentence-transformers" not in pins("cpu.lock")
    assert pins("dev.lock")["torch"].endswith("+cpu")  # the CPU build, not PyPI's CUDA one


def test_llama_version_is_the_locked_one_everywhere() -> None:
    locked = {pins(lock)["llama-cpp-python"] for lock in LOCKS}
    assert len(locked) == 1
    version = locked.pop()
    setup = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    assert f"LLAMA_VERSION=${{LLAMA_VERSION:-{version}}}" in setup
    for dockerfile in ("Dockerfile.cpu", "Dockerfile.cuda"):
        text = (ROOT / dockerfile).read_text(encoding="utf-8")
        assert f"ARG LLAMA_VERSION={version}" in text, dockerfile


def test_docker_context_holds_what_the_images_copy() -> None:
    ignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    for dockerfile in ("Dockerfile.cpu", "Dockerfile.cuda"):
        for line in (ROOT / dockerfile).read_text(encoding="utf-8").splitlines():
            if line.startswith("COPY ") and "--from=" not in line:
                for source in line.split()[1:-1]:
                    top = source.rstrip("/").split("/")[0]
                    assert source.rstrip("/") in allowed or top in allowed, (dockerfile, source)
