"""llama.cpp in-process through llama-cpp-python: a GGUF model on CPU or GPU."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from postfinder.errors import ModelError
from postfinder.generation.base import ChatMessage
from postfinder.generation.probe import ensure_llama_runs

GGUF_MAGIC = b"GGUF"


def available_memory_bytes() -> int | None:
    """Return MemAvailable from /proc/meminfo, or ``None`` where it cannot be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def physical_cores() -> int:
    """Return the physical cores this process may use (hyper-threads only slow llama.cpp)."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    usable = usable or os.cpu_count() or 1
    cores: set[tuple[str, str]] = set()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            physical = core = ""
            for line in handle:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "physical id":
                    physical = value.strip()
                elif key == "core id":
                    core = value.strip()
                    cores.add((physical, core))
    except OSError:
        pass
    return max(1, min(usable, len(cores))) if cores else usable


def check_gguf(path: Path, gpu_layers: int = 0) -> None:
    """Check that ``path`` is a readable GGUF file that fits in memory.

    Raises
    ------
    ModelError
        If the file is missing, is not GGUF, is truncated, or is larger than the free memory.
    """
    if not path.is_file():
        raise ModelError(
            f"GGUF model {path} does not exist. List models with 'postfinder models list', "
            "download one with 'postfinder models pull NAME', or run "
            "'python scripts/fetch_models.py' for the small offline model."
        )
    with path.open("rb") as handle:
        header = handle.read(24)
    if len(header) < 24 or header[:4] != GGUF_MAGIC:
        raise ModelError(
            f"{path} is not a GGUF model file (bad header); it may be corrupt or an "
            "unfinished download. Delete it and download it again."
        )
    version = struct.unpack("<I", header[4:8])[0]
    if version not in (1, 2, 3):
        raise ModelError(f"{path} has unsupported GGUF version {version}.")
    size = path.stat().st_size
    free = available_memory_bytes()
    if gpu_layers == 0 and free is not None and size > free * 0.9:
        raise ModelError(
            f"{path.name} needs about {size / 2**30:.1f} GiB but only {free / 2**30:.1f} GiB "
            "of memory is free. Choose a smaller quantisation (e.g. Q4_K_M of a smaller model) "
            "or offload layers to a GPU with llm.n_gpu_layers."
        )


class LlamaCppGenerator:
    """A GGUF chat model loaded once per process.

    Parameters
    ----------
    model_path
        GGUF file.
    n_ctx, n_threads, n_batch, n_gpu_layers
        llama.cpp options; ``n_gpu_layers=-1`` offloads every layer to CUDA; threads
        default to the physical cores.
    temperature, stop
        Sampling options.
    probe_cache
        Folder for the verdict of the subprocess probe that runs before the first load
        on a machine (see `postfinder.generation.probe`); ``None`` skips the probe.
    """

    def __init__(  # pylint: disable=too-many-arguments
        self,
        model_path: Path,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        n_batch: int = 256,
        n_gpu_layers: int = 0,
        temperature: float = 0.2,
        stop: Sequence[str] = (),
        seed: int = 0,
        probe_cache: Path | None = None,
    ) -> None:
        check_gguf(model_path, n_gpu_layers)
        if probe_cache is not None:
            ensure_llama_runs(model_path, probe_cache)
        try:
            # Heavy import (native library), done only when this backend is chosen.
            from llama_cpp import Llama  # pylint: disable=import-outside-toplevel
        except ImportError as exc:
            raise ModelError(
                "The llama-cpp backend needs llama-cpp-python: pip install 'postfinder[llm]'"
            ) from exc
        try:
            self._llm: Any = Llama(
                model_path=str(model_path),
                n_ctx=n_ctx,
                n_threads=n_threads or physical_cores(),
                n_batch=n_batch,
                n_gpu_layers=n_gpu_layers,
                seed=seed,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(
                f"llama.cpp could not load {model_path.name}: {exc}. The file may be corrupt "
                "or need a newer llama-cpp-python."
            ) from exc
        self.name = f"llama-cpp/{model_path.name}"
        self.context_size = int(self._llm.n_ctx())
        self.temperature = temperature
        self.stop = list(stop)
        self._prefilled: tuple[tuple[str, str], ...] = ()

    def count_tokens(self, text: str) -> int:
        """Count model tokens."""
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def prefill(self, messages: Sequence[ChatMessage]) -> None:
        """Evaluate a fixed prompt prefix (the system prompt) once.

        llama.cpp keeps the state of the last prompt and evaluates only what differs, so
        every later prompt that starts with these messages skips them.
        """
        key = tuple((m.role, m.content) for m in messages)
        if key == self._prefilled:
            return  # already in the cache (one model serves every answerer of a process)
        self._prefilled = key
        prefix = [{"role": m.role, "content": m.content} for m in messages]
        self._llm.create_chat_completion(
            messages=[*prefix, {"role": "user", "content": ""}], max_tokens=1, temperature=0.0
        )

    def stream(self, messages: Sequence[ChatMessage], max_tokens: int) -> Iterator[str]:
        """Stream the reply using the chat template stored in the GGUF."""
        chunks = self._llm.create_chat_completion(
            messages=[{"role": m.role, "content": m.content} for m in messages],
            max_tokens=max_tokens,
            temperature=self.temperature,
            stop=self.stop or None,
            stream=True,
        )
        for chunk in chunks:
            piece = chunk["choices"][0]["delta"].get("content")
            if piece:
                yield str(piece)
