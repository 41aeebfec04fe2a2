"""Headline posts: "the channel posted about this" with the post, without the model."""

from __future__ import annotations

import pytest
from conftest import CHANNEL_ID, NEWS, channel_refusal_file, message, service

from postfinder.answering.headline import article_links, content_overlap, is_headline
from postfinder.app import App
from postfinder.evaluation import AnswerOutcome, Question, evaluate_answers
from postfinder.generation.fake import FakeGenerator
from postfinder.ingest.post import Post
from postfinder.lexical.tokenize import Tokenizer

MARS = "Учёные рассчитали, где на Марсе смогут впервые зацвести деревья https://example.org/mars"


def _post(text: str, links: tuple[str, ...] = ()) -> Post:
    return Post(CHANNEL_ID, 1, 1_700_000_000, text, links=links)


@pytest.mark.parametrize(
    ("text", "links", "headline"),
    [
        (MARS, (), True),
        ("Слоны узнали сотрудников зоопарка спустя 13 лет", ("https://naked-science.ru/a",), True),
        ("🐧 Подборка шпаргалок по Linux", ("https://x.com/sysxplore",), True),
        ("科学家发现火星上最早可能开花的地方 https://example.cn/a", (), True),
        # The channel's own furniture is not where a detail would be.
        ("Умер Владимир Левкин. Ему было 57 лет. Подписаться", ("https://t.me/+abc",), False),
        ("Каток в парке откроется 25 ноября, прокат 500 рублей.", (), False),
        # A site's home says where to go: the post answers that itself.
        ("Запись на сайте sport-park.ru, подробности по телефону.", (), False),
        ("Запись на https://sport-park.ru/ по телефону.", (), False),
        # The news itself, with a source link at the end: the detail is in the post.
        (
            "Каток в парке откроется 25 ноября. Прокат коньков стоит 500 рублей в час, вход "
            "бесплатный. Раздевалки работают до 22:00. Инструкторы занимаются с детьми по "
            "выходным, запись на сайте парка. Источник: https://park.example/news",
            (),
            False,
        ),
    ],
)
def test_what_a_headline_post_is(text: str, links: tuple[str, ...], headline: bool) -> None:
    assert is_headline(_post(text, links)) is headline


def test_article_links_leave_out_the_messenger() -> None:
    post = _post("Новость https://t.me/channel/5 и www.example.org/x", ("https://t.me/+join",))
    assert article_links(post) == ["www.example.org/x"]
    assert article_links(_post("Читать: https://example.org/?id=5 или example.org")) == [
        "https://example.org/?id=5"
    ]


def test_overlap_is_the_share_of_the_question_the_headline_holds() -> None:
    tokenize = Tokenizer().tokenize
    post = _post(MARS)
    assert content_overlap("Где на Марсе зацветут деревья?", post, tokenize) == 1.0
    # "какие" says nothing of the topic; of "деревья", "посадят", "Москве" one is held.
    assert content_overlap("Какие деревья посадят в Москве?", post, tokenize) == 1 / 3
    assert content_overlap("?", post, tokenize) == 0.0


@pytest.fixture
def news_app(make_app, write_export, always_answer) -> tuple[App, FakeGenerator]:
    llm = FakeGenerator(default="На Марсе [1].")
    app = make_app(llm)
    posts = [service(1), *(message(i + 2, t) for i, t in enumerate(NEWS)), message(20, MARS)]
    app.indexer().index_export(write_export(posts), username="city", progress=False)
    always_answer.save(channel_refusal_file())
    return app, llm


def test_asked_what_the_headline_says_the_reply_is_the_post(news_app) -> None:
    app, llm = news_app
    answer = app.answerer().answer("Где на Марсе смогут зацвести деревья?")
    assert answer.mode == "topic" and not llm.history and not llm.probes  # no model
    assert answer.answer == (
        "В канале был пост об этом, подробности — по ссылке в нём:\n"
        f"«{MARS}» [1]"  # the article link stays as the post has it
    )
    assert [s.link for s in answer.sources] == ["https://t.me/city/20"]


def test_a_detail_the_headline_does_not_hold_goes_the_usual_way(news_app) -> None:
    app, llm = news_app
    answer = app.answerer().answer("Сколько стоит прокат коньков на катке в парке?")
    assert answer.mode != "topic" and llm.history  # a full post: the model writes


def test_the_headline_reply_can_be_turned_off(news_app) -> None:
    app, _ = news_app
    app.settings.answer.headline_min_overlap = 1.01
    answer = app.answerer(use_llm=False).answer("Где на Марсе смогут зацвести деревья?")
    assert answer.mode == "extractive"


def test_evaluation_judges_headline_questions_by_their_post() -> None:
    questions = [
        Question("Где на Марсе зацветут деревья?", (20,), False, (), "headline"),
        Question("Когда откроют Лесную?", (), False, ("1 марта",), ""),
        Question("До скольки открыт каток?", (), True, (), "near_miss"),
    ]
    replies = {
        questions[0].query: AnswerOutcome("topic", f"«{MARS}»", None, {}, {}, sources=(20,)),
        questions[1].query: AnswerOutcome("generated", "1 марта [1].", "1 марта [1].", {}, {}),
        questions[2].query: AnswerOutcome("topic", "«Каток…»", None, {}, {}, sources=(6,)),
    }
    metrics, records = evaluate_answers(replies.__getitem__, questions)
    assert [r.correct for r in records] == [True, True, False]
    assert metrics["n_headline"] == 1 and metrics["headline_given_post"] == 1.0
    assert metrics["n_answerable"] == 1 and metrics["accuracy"] == 1.0  # headlines apart
    assert metrics["topic_near_miss"] == 1.0 and metrics["topic_answerable"] == 0.0
    wrong_post = AnswerOutcome("topic", "«…»", None, {}, {}, sources=(7,))
    _, records = evaluate_answers(lambda q: wrong_post, questions[:1])
    assert not records[0].correct
