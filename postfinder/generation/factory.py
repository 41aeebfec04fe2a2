"""Build the configured generator; llama-cpp-python is imported only when chosen."""

from __future__ import annotations

import logging
from pathlib import Path

from postfinder.generation.base import Generator
from postfinder.settings import Settings

log = logging.getLogger(__name__)


def find_gguf(models_dir: Path) -> Path | None:
    """Return the largest ``.gguf`` file in ``models_dir`` (bigger is usually better)."""
    if not models_dir.is_dir():
        return None
    files = [p for p in models_dir.glob("*.gguf") if p.is_file()]
    return max(files, key=lambda p: p.stat().st_size) if files else None


def build_generator(settings: Settings) -> Generator | None:
    """Create the configured generator, or ``None`` for extractive answers only."""
    cfg = settings.llm
    if cfg.mode == "none":
        return None
    if cfg.mode == "fake":
        from postfinder.generation.fake import (  # pylint: disable=import-outside-toplevel
            FakeGenerator,
        )

        return FakeGenerator(default=cfg.fake_reply, context_size=cfg.n_ctx)
    model = cfg.model or find_gguf(settings.models_dir)
    if model is None:
        if cfg.mode == "llama-cpp":
            from postfinder.errors import ModelError  # pylint: disable=import-outside-toplevel

            raise ModelError(
                f"No GGUF model in {settings.models_dir}. Run 'postfinder models pull NAME' "
                "or 'python scripts/fetch_models.py', or set POSTFINDER_LLM__MODEL."
            )
        log.warning("No GGUF model found in %s: answers will be extractive.", settings.models_dir)
        return None
    from postfinder.generation.llama_backend import (  # pylint: disable=import-outside-toplevel
        LlamaCppGenerator,
    )

    return LlamaCppGenerator(
        model,
        n_ctx=cfg.n_ctx,
        n_threads=cfg.n_threads,
        n_batch=cfg.n_batch,
        n_gpu_layers=cfg.n_gpu_layers,
        temperature=cfg.temperature,
        stop=cfg.stop,
        probe_cache=settings.data_dir / "cache",
    )
