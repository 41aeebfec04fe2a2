"""The default answer model, for real: a grounded, generated answer on a small channel."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CHANNEL_ID

from postfinder.answering.refusal import RefusalModel
from postfinder.app import App
from postfinder.embeddings.fake import FakeEmbedder
from postfinder.generation.factory import find_gguf
from postfinder.settings import load_settings
from postfinder.store.vectors import MemoryVectorStore

MODELS = Path(__file__).resolve().parent.parent / "models"
POSTS = [
    "Городские новости недели. Открылась новая библиотека на Лесной улице. В парке прошёл "
    "осенний концерт. Каток в парке Горького откроется 25 ноября, прокат коньков стоит "
    "500 рублей в час. Следующий выпуск новостей — через неделю.",
    "Электрички до аэропорта теперь ходят каждые 15 минут, билет стоит 300 рублей.",
    "Библиотеки продлили часы работы: теперь они открыты до 22:00 по будням.",
]


@pytest.mark.slow
def test_default_model_answers_from_the_right_sentence(write_export) -> None:
    model = find_gguf(MODELS)
    if model is None or model.stat().st_size < 200_000_000:
        pytest.skip("the default answer model is not in models/: run scripts/fetch_models.py")
    from conftest import message  # pylint: disable=import-outside-toplevel

    settings = load_settings(embedding={"mode": "fake"}, llm={"model": str(model)})
    app = App(settings, embedder=FakeEmbedder(), vectors=MemoryVectorStore())
    try:
        messages = [message(i + 2, text) for i, text in enumerate(POSTS)]
        app.indexer().index_export(write_export(messages), username="city", progress=False)
        RefusalModel("fake-64", [0.0] * 10, [1.0] * 10, [0.0] * 10, 10.0, 0.5).save(
            app.catalog.get(CHANNEL_ID).directory / "refusal.json"
        )
        answerer = app.answerer()
        answer = answerer.answer("Сколько стоит прокат коньков на катке?")
        assert answer.mode == "generated", answer.rejected_draft
        assert "500" in answer.answer and [s.id for s in answer.sources] == [2]
        assert answer.tokens["prompt"] <= settings.answer.max_prompt_tokens
        second = answerer.answer("Как часто ходят электрички до аэропорта?")
        assert second.mode in ("generated", "extractive") and "15 минут" in second.answer
    finally:
        app.close()
