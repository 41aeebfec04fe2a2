"""Generators: the bounded async service, GGUF checks, and the real llama.cpp model (slow)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from postfinder.errors import BusyError, GenerationTimeoutError, ModelError
from postfinder.generation.base import ChatMessage, Generator
from postfinder.generation.factory import build_generator, find_gguf
from postfinder.generation.fake import FakeGenerator
from postfinder.generation.llama_backend import check_gguf
from postfinder.generation.service import GenerationService
from postfinder.settings import load_settings

MODELS = Path(__file__).resolve().parent.parent / "models"
SMOLLM = MODELS / "SmolLM2-135M-Instruct.Q4_1.gguf"
PROMPT = [ChatMessage("user", "hi")]


async def collect(service: GenerationService, max_tokens: int = 50) -> str:
    return "".join([piece async for piece in service.stream(PROMPT, max_tokens)])


def test_fake_generator_records_and_replies() -> None:
    gen = FakeGenerator(default="default reply")
    gen.enqueue("first one")
    assert "".join(gen.stream(PROMPT, 10)) == "first one"
    assert "".join(gen.stream(PROMPT, 1)) == "default"
    assert gen.history == [PROMPT, PROMPT]
    assert isinstance(gen, Generator)


def test_service_serialises_and_answers_everyone() -> None:
    gen = FakeGenerator(default="a b c", delay=0.01)
    service = GenerationService(gen, max_waiting=10, timeout_s=5)

    async def main() -> list[str]:
        return await asyncio.gather(*(collect(service) for _ in range(5)))

    assert asyncio.run(main()) == ["a b c"] * 5


def test_service_says_busy_when_the_queue_is_full() -> None:
    gen = FakeGenerator(default="w " * 20, delay=0.02)
    service = GenerationService(gen, max_waiting=2, timeout_s=10)

    async def main() -> list[object]:
        return await asyncio.gather(*(collect(service) for _ in range(5)), return_exceptions=True)

    results = asyncio.run(main())
    busy = [r for r in results if isinstance(r, BusyError)]
    done = [r for r in results if isinstance(r, str)]
    assert len(done) == 3 and len(busy) == 2  # one generating, two waiting
    assert "busy" in str(busy[0])


def test_service_times_out_and_frees_the_model() -> None:
    gen = FakeGenerator(default="w " * 100, delay=0.05)
    service = GenerationService(gen, max_waiting=2, timeout_s=0.3)

    async def main() -> str:
        with pytest.raises(GenerationTimeoutError):
            await collect(service, 100)
        gen.default, gen.delay = "quick", 0.0
        return await collect(service)

    assert asyncio.run(main()) == "quick"


def test_service_propagates_model_errors() -> None:
    class Broken(FakeGenerator):
        def stream(self, messages, max_tokens):  # type: ignore[no-untyped-def]
            raise ModelError("boom")
            yield ""  # pragma: no cover

    with pytest.raises(ModelError, match="boom"):
        asyncio.run(collect(GenerationService(Broken())))


def test_check_gguf_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        check_gguf(tmp_path / "missing.gguf")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"<html>not a model</html>" * 4)
    with pytest.raises(ModelError, match="not a GGUF model file"):
        check_gguf(bad)
    huge = tmp_path / "huge.gguf"
    with huge.open("wb") as handle:  # sparse file larger than any machine's memory
        handle.write(b"GGUF" + (3).to_bytes(4, "little") + b"\0" * 16)
        handle.truncate(2**40)  # 1 TiB
    with pytest.raises(ModelError, match="of memory is free"):
        check_gguf(huge)


def test_factory_modes(tmp_path: Path) -> None:
    assert build_generator(load_settings(models_dir=tmp_path)) is None  # auto, nothing there
    assert build_generator(load_settings(llm={"mode": "none"})) is None
    fake = build_generator(load_settings(llm={"mode": "fake", "fake_reply": "ok"}))
    assert isinstance(fake, FakeGenerator) and fake.default == "ok"
    with pytest.raises(ModelError, match="No GGUF model in"):
        build_generator(load_settings(models_dir=tmp_path, llm={"mode": "llama-cpp"}))
    (tmp_path / "small.gguf").write_bytes(b"GGUF" + b"\0" * 100)
    (tmp_path / "big.gguf").write_bytes(b"GGUF" + b"\0" * 1000)
    assert find_gguf(tmp_path) == tmp_path / "big.gguf"


def test_corrupt_gguf_body_is_a_model_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + (3).to_bytes(4, "little") + b"\x07" * 4000)
    with pytest.raises(ModelError, match="could not load"):
        build_generator(load_settings(llm={"mode": "llama-cpp", "model": broken}))


@pytest.mark.slow
def test_smollm2_streams_with_the_gguf_chat_template() -> None:
    if not SMOLLM.is_file():
        pytest.fail(
            "models/SmolLM2-135M-Instruct.Q4_1.gguf is missing: run scripts/fetch_models.py"
        )
    gen = build_generator(
        load_settings(llm={"mode": "llama-cpp", "model": SMOLLM, "n_ctx": 1024, "temperature": 0})
    )
    assert gen is not None and gen.context_size == 1024
    pieces = list(gen.stream([ChatMessage("user", "What is the capital of France?")], 16))
    assert pieces and "".join(pieces).strip()
    assert 1 <= gen.count_tokens("Hello world") <= 4
