"""Model listing and pulling, with a fake hub (no network)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from postfinder.cli import cli
from postfinder.downloads import find_spec, list_present, pull
from postfinder.errors import ModelError

GGUF_BYTES = b"GGUF" + (3).to_bytes(4, "little") + b"\0" * 200


class FakeHub:
    """Serves files from memory and counts calls."""

    def __init__(self, payload: bytes = GGUF_BYTES, sha: str | None = None, fail: bool = False):
        self.payload = payload
        self.sha = sha if sha is not None else hashlib.sha256(payload).hexdigest()
        self.fail = fail
        self.calls: list[str] = []

    def file_sha256(self, repo: str, filename: str) -> str | None:
        return self.sha

    def download_file(self, repo: str, filename: str, directory: Path) -> Path:
        self.calls.append(f"{repo}/{filename}")
        if self.fail:
            raise ConnectionError("network unreachable")
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / filename
        path.write_bytes(self.payload)
        return path

    def download_repo(self, repo: str, directory: Path) -> Path:
        self.calls.append(repo)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "modules.json").write_text("[]", encoding="utf-8")
        (directory / "model.safetensors").write_bytes(b"\0" * 10)
        return directory


def test_pull_gguf_verifies_and_places_the_file(tmp_path: Path) -> None:
    spec = find_spec("qwen2.5-1.5b-instruct")
    path = pull(spec, tmp_path, FakeHub())
    assert (
        path == tmp_path / "qwen2.5-1.5b-instruct-q4_k_m.gguf" and path.read_bytes() == GGUF_BYTES
    )
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no staging left behind


@pytest.mark.parametrize(
    "hub, message",
    [
        (FakeHub(sha="0" * 64), "does not match the hub's SHA-256"),
        (FakeHub(payload=b"<html>rate limited</html>"), "not a GGUF model file"),
        (FakeHub(fail=True), "network unreachable. Check the internet connection"),
    ],
)
def test_pull_failures_leave_nothing(tmp_path: Path, hub: FakeHub, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        pull(find_spec("qwen2.5-1.5b-instruct"), tmp_path, hub)
    assert not list(tmp_path.iterdir())


def test_pull_embedder_folder(tmp_path: Path) -> None:
    path = pull(find_spec("multilingual-e5-base"), tmp_path, FakeHub())
    assert path == tmp_path / "multilingual-e5-base" and (path / "modules.json").is_file()
    kinds = {m.path.name: m.kind for m in list_present(tmp_path)}
    assert kinds == {"multilingual-e5-base": "embedder (sentence-transformers)"}


def test_unknown_model_lists_names() -> None:
    with pytest.raises(ModelError, match="Recommended models: qwen2.5-1.5b-instruct"):
        find_spec("gpt-5")


def test_models_list_cli(tmp_path: Path) -> None:
    (tmp_path / "tiny.gguf").write_bytes(GGUF_BYTES)
    result = CliRunner().invoke(
        cli, ["models", "list"], env={"POSTFINDER_MODELS_DIR": str(tmp_path)}
    )
    assert result.exit_code == 0
    assert "tiny.gguf" in result.stdout and "gguf" in result.stdout
    assert "qwen2.5-7b-instruct" in result.stdout and "gpu" in result.stdout
    bad = CliRunner().invoke(cli, ["models", "pull", "nope"])
    assert bad.exit_code == 1 and "Unknown model 'nope'" in bad.stderr
