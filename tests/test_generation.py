"""Generators: the bounded async service, GGUF checks, and the real llama.cpp model (slow)."""

from __future__ import annotations

import asyncio
import ctypes
import re
import threading
import time
from pathlib import Path

import pytest

from postfinder.answering.span import NO_SPAN, SpanConstraint
from postfinder.errors import ModelError
from postfinder.generation.base import ChatMessage, Generator, Token
from postfinder.generation.factory import build_generator, find_gguf
from postfinder.generation.fake import FakeGenerator
from postfinder.generation.llama_backend import check_gguf
from postfinder.settings import load_settings
from postfinder.workqueue import WorkQueue

MODELS = Path(__file__).resolve().parent.parent / "models"
SMOLLM = MODELS / "SmolLM2-135M-Instruct.Q4_1.gguf"
PROMPT = [ChatMessage("user", "hi")]


def test_fake_generator_records_and_replies() -> None:
    gen = FakeGenerator(default="default reply")
    gen.enqueue("first one")
    assert "".join(t.text for t in gen.stream(PROMPT, 10)) == "first one"
    assert "".join(t.text for t in gen.stream(PROMPT, 1)) == "default"
    assert gen.history == [PROMPT, PROMPT]
    assert isinstance(gen, Generator)


def test_queue_runs_one_job_at_a_time_and_answers_everyone() -> None:
    queue = WorkQueue(max_waiting=10, timeout_s=5)
    running: list[int] = []
    peak = [0]

    def job(cancel: threading.Event) -> int:
        running.append(1)
        peak[0] = max(peak[0], len(running))
        time.sleep(0.02)
        running.pop()
        return 7

    async def main() -> list[int]:
        return await asyncio.gather(*(queue.run(job) for _ in range(5)))

    assert asyncio.run(main()) == [7] * 5 and peak[0] == 1


def test_queue_is_busy_when_the_line_is_full() -> None:
    queue = WorkQueue(max_waiting=2, timeout_s=10)

    async def main() -> tuple[list[bool], int]:
        reserved = [queue.try_reserve() for _ in range(5)]
        results = await asyncio.gather(
            *(queue.run(lambda c: time.sleep(0.01), reserved=True) for ok in reserved if ok)
        )
        return reserved, len(results)

    reserved, ran = asyncio.run(main())
    assert reserved == [True, True, True, False, False] and ran == 3
    assert queue.in_flight == 0


def test_queue_time_limit_cancels_the_job_and_frees_the_model() -> None:
    queue = WorkQueue(max_waiting=2, timeout_s=0.2)

    def slow(cancel: threading.Event) -> str:
        return "stopped" if cancel.wait(5) else "finished"

    async def main() -> tuple[str, str]:
        first = await queue.run(slow)
        second = await queue.run(lambda c: "next")
        return first, second

    assert asyncio.run(main()) == ("stopped", "next")


def test_queue_propagates_job_errors() -> None:
    def broken(cancel: threading.Event) -> None:
        raise ModelError("boom")

    with pytest.raises(ModelError, match="boom"):
        asyncio.run(WorkQueue(1, 5).run(broken))


def test_queue_ticks_while_the_job_runs() -> None:
    ticks: list[float] = []

    async def tick() -> None:
        ticks.append(time.monotonic())

    asyncio.run(WorkQueue(1, 5).run(lambda c: time.sleep(0.35), on_tick=tick, tick_s=0.1))
    assert 2 <= len(ticks) <= 4


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
    assert gen.prompt_rate() is None  # nothing evaluated yet
    gen.prefill([ChatMessage("system", "You answer questions about a channel. " * 12)])
    rate = gen.prompt_rate()  # the system prompt's evaluation measured this machine
    assert rate is not None and rate > 0
    pieces = list(gen.stream([ChatMessage("user", "What is the capital of France?")], 16))
    assert pieces and "".join(t.text for t in pieces).strip()
    # Each piece carries the model's own log probability: at most 0, and not all certain.
    assert all(t.logprob <= 0 for t in pieces) and min(t.logprob for t in pieces) < 0
    assert 1 <= gen.count_tokens("Hello world") <= 4


@pytest.mark.slow
def test_real_model_copies_only_words_of_the_shown_sentences() -> None:
    if not SMOLLM.is_file():
        pytest.fail(
            "models/SmolLM2-135M-Instruct.Q4_1.gguf is missing: run scripts/fetch_models.py"
        )
    gen = build_generator(load_settings(llm={"mode": "llama-cpp", "model": SMOLLM, "n_ctx": 1024}))
    assert gen is not None
    sentences = ["The rink opens on 25 November.", "Skate rental costs 500 roubles an hour."]
    constraint = SpanConstraint(sentences, yes_no=False)
    messages = [ChatMessage("user", " ".join(sentences) + "\nHow much is skate rental?")]
    choice = gen.choose(messages, constraint, NO_SPAN, 12)
    reply = choice.text.encode("utf-8")
    assert constraint.complete(reply) or constraint.accepts(reply), choice.text
    assert choice.text.strip() == NO_SPAN or choice.text.strip() in " ".join(sentences)
    assert 0.0 <= choice.refused <= 1.0 and all(lp <= 0.0 for lp in choice.logprobs)
    again = gen.choose(messages, constraint, NO_SPAN, 12)  # the cached prompt is reused
    assert again.text == choice.text


@pytest.mark.gpu
def test_smollm2_offloads_every_layer_to_cuda() -> None:
    """Where llama-cpp-python is a GPU build, every layer goes to the GPU and it answers.

    CI installs the CPU wheel, where this skips; it runs with a CUDA build (Dockerfile.cuda).
    """
    llama_cpp = pytest.importorskip("llama_cpp")
    if not llama_cpp.llama_supports_gpu_offload():
        pytest.skip(
            "llama-cpp-python here has no GPU offload (llama_supports_gpu_offload() is False: "
            "the CPU wheel, or no GPU visible); this test needs a CUDA build and a GPU"
        )
    if not SMOLLM.is_file():
        pytest.fail(
            "models/SmolLM2-135M-Instruct.Q4_1.gguf is missing: run scripts/fetch_models.py"
        )
    log: list[str] = []

    @llama_cpp.llama_log_callback  # type: ignore[misc]
    def collect(_level: int, text: bytes, _user_data: object) -> None:
        log.append(text.decode("utf-8", "replace"))

    llama_cpp.llama_log_set(collect, ctypes.c_void_p(0))  # llama.cpp's own load log
    try:
        gen = build_generator(
            load_settings(
                llm={"mode": "llama-cpp", "model": SMOLLM, "n_ctx": 1024, "n_gpu_layers": -1}
            )
        )
    finally:
        llama_cpp.llama_log_set(llama_cpp._logger.llama_log_callback, ctypes.c_void_p(0))
    assert gen is not None
    # llama.cpp reports "load_tensors: offloaded 31/31 layers to GPU" (blocks + output).
    offloaded = re.findall(r"offloaded (\d+)/(\d+) layers to GPU", "".join(log))
    assert offloaded and offloaded[-1][0] == offloaded[-1][1], "".join(log)[-3000:]
    assert "".join(t.text for t in gen.stream([ChatMessage("user", "Say hello.")], 8)).strip()


def test_stop_strings_cut_the_streamed_reply_and_keep_its_log_probabilities() -> None:
    from postfinder.generation.llama_backend import _StopFilter  # no native import

    stops = _StopFilter(["\n\n", "END"])
    assert stops.feed("Hello", -0.5) == (Token("Hello", -0.5), False)
    assert stops.feed(" E", -0.25) == (Token(" ", -0.25), False)  # "E" may begin END
    assert stops.feed("N", -0.25) == (None, False)
    assert stops.feed("D more", -1.0) == (None, True)  # cut at END: nothing more is shown
    stops = _StopFilter(["\n\n"])
    assert stops.feed("a\n", -0.1) == (Token("a", -0.1), False)
    assert stops.feed("\nb", -0.2) == (None, True)
    stops = _StopFilter([])
    assert stops.feed("x", -0.3) == (Token("x", -0.3), False)
    assert stops.flush("") is None
