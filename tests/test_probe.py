"""The subprocess probe turns a llama.cpp build that cannot run here into a clear error."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from postfinder.errors import ModelError
from postfinder.generation import probe
from postfinder.generation.llama_backend import LlamaCppGenerator, physical_cores


def test_sigill_is_explained() -> None:
    text = probe.describe_exit(-signal.SIGILL)
    assert "SIGILL" in text and "AMX" in text
    assert probe.describe_exit(-signal.SIGKILL) == "it was killed by SIGKILL"
    assert probe.describe_exit(3) == "it exited with status 3"


def test_probe_of_a_file_llama_cannot_load_reports_the_failure(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    outcome = probe.run_probe(bad, timeout_s=120)
    assert not outcome.ok and not outcome.crashed  # the file's fault, not the build's
    assert outcome.detail.startswith(
        "a test generation with bad.gguf failed: it exited with status 3"
    )
    probe.ensure_llama_runs(bad, tmp_path / "cache")  # loading it will say what is wrong


def test_verdicts_are_cached_per_build_cpu_and_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    calls: list[Path] = []

    def crashing(path: Path, timeout_s: float = 0) -> probe.ProbeOutcome:
        calls.append(path)
        detail = f"a test generation with {path.name} failed: " + probe.describe_exit(-4)
        return probe.ProbeOutcome(False, True, detail, returncode=-4)

    monkeypatch.setattr(probe, "run_probe", crashing)
    for _ in range(2):
        with pytest.raises(ModelError, match="SIGILL.*Reinstall llama-cpp-python"):
            probe.ensure_llama_runs(model, tmp_path / "cache")
    assert calls == [model]  # the second start used the cached verdict
    model.write_bytes(b"GGUF2")  # another file: probed again
    monkeypatch.setattr(
        probe, "run_probe", lambda path, timeout_s=0: probe.ProbeOutcome(True, False)
    )
    probe.ensure_llama_runs(model, tmp_path / "cache")


def test_a_timeout_is_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    hung = probe.ProbeOutcome(False, True, "a test generation did not finish within 180 s")
    monkeypatch.setattr(probe, "run_probe", lambda path, timeout_s=0: hung)
    with pytest.raises(ModelError, match="did not finish"):
        probe.ensure_llama_runs(model, tmp_path / "cache")
    monkeypatch.setattr(
        probe, "run_probe", lambda path, timeout_s=0: probe.ProbeOutcome(True, False)
    )
    probe.ensure_llama_runs(model, tmp_path / "cache")  # a busy machine may succeed later


def test_generator_never_loads_a_build_that_crashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF" + (3).to_bytes(4, "little") + b"\0" * 32)
    crash = probe.ProbeOutcome(
        False, True, "it died with SIGILL (illegal instruction)", returncode=-4
    )
    monkeypatch.setattr(probe, "run_probe", lambda path, timeout_s=0: crash)
    with pytest.raises(ModelError, match="cannot run here"):
        LlamaCppGenerator(model, probe_cache=tmp_path / "cache")


def test_physical_cores_is_positive() -> None:
    assert 1 <= physical_cores() <= (__import__("os").cpu_count() or 1)


@pytest.mark.slow
def test_probe_passes_with_the_tiny_model(tmp_path: Path) -> None:
    models = Path(__file__).resolve().parent.parent / "models"
    model = models / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not model.is_file():
        pytest.skip("run scripts/fetch_models.py first")
    assert probe.run_probe(model).ok
    assert probe.main(["--models-dir", str(models)]) == 0


@pytest.fixture
def sigill_llama(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in llama_cpp whose first load dies the way an AMX build does under a hypervisor."""
    package = tmp_path / "fake_site" / "llama_cpp"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        "import os, signal\n"
        "class Llama:\n"
        "    def __init__(self, *args, **kwargs):\n"
        "        os.kill(os.getpid(), signal.SIGILL)\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PYTHONPATH", str(package.parent))
    model = tmp_path / "models" / "tiny.gguf"
    model.parent.mkdir()
    model.write_bytes(b"GGUF" + (3).to_bytes(4, "little") + b"\0" * 32)
    return model


def test_a_crashing_build_is_caught_in_the_child(
    sigill_llama: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome = probe.run_probe(sigill_llama, timeout_s=60)
    assert outcome.crashed and "SIGILL (illegal instruction)" in outcome.detail
    with pytest.raises(ModelError, match="SIGILL"):
        LlamaCppGenerator(sigill_llama, probe_cache=tmp_path / "cache")
    # set-up's check: exit status 1 and a message that says how to fix it
    assert probe.main(["--models-dir", str(sigill_llama.parent)]) == 1
    assert "portable build" in capsys.readouterr().err
