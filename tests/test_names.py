"""The names a question asks about, and whether the posts shown mention one of them."""

from __future__ import annotations

import pytest

from postfinder.answering.names import asked_names, names_held


@pytest.mark.parametrize(
    ("question", "names"),
    [
        ("В какой стране находится стадион «Маракана»?", ["Маракана"]),
        (
            "Сколько лет было Дженсену Хуану, когда он основал NVIDIA?",
            ["Дженсену", "Хуану", "NVIDIA"],
        ),
        ("скольких разрабов опросили SlashData?", ["SlashData"]),
        ("How many qubits does Intel's Tunnel Falls chip have?", ["Intel", "Tunnel", "Falls"]),
        # A capital that starts a sentence names nothing; nor do short words or digits.
        ("Каток открыт? Сколько стоит вход?", []),
        ("AI и ML: где учиться?", []),
        ("Что взять на 24h?", []),
        # German capitalises every noun; Chinese has no capitals and may name in its own
        # script what the Latin words around it name too.
        ("Wie viel kostet die Fahrkarte nach Berlin?", []),
        ("Who wrote the original novel of Toradora (龙与虎)?", []),
    ],
)
def test_the_names_a_question_asks_about(question: str, names: list[str]) -> None:
    assert asked_names(question) == names


@pytest.mark.parametrize(
    ("question", "post", "held"),
    [
        ("Куда впадает река Нил?", "Дельта Рейна и Мааса, важнейшая река.", False),
        ("Почём билет на каток в саду Баумана?", "Каток в парке Горького: 500 ₽.", False),
        # Inflected: the name less its last two letters starts a word of the post.
        ("Сколько углерода хранят леса Амазонки?", "Леса Амазонии хранят углерод.", True),
        # One name held is enough: the post is about the subject.
        ("Какой национальности Путин Владимир Владимирович?", "Владимир Путин примет", True),
        # Across Cyrillic and Latin, the same consonants.
        ("Когда Гугл покажет новый Пиксель?", "Google покажет Pixel 9 в августе.", True),
        ("Сколько стоит новый Айфон?", "Новый iPhone стоит 999 долларов.", True),
        ("Сколько лет было Дженсену Хуану?", "Jensen Huang основал NVIDIA в 1993.", True),
        ("How much is the Navegante card?", "O passe navegante custa 40 euros.", True),
        # A question that names nothing is never held against the posts.
        ("сколько стоит вход?", "Вход 300 рублей.", True),
    ],
)
def test_names_held_by_the_posts(question: str, post: str, held: bool) -> None:
    assert names_held(question, [post]) is held


def test_a_name_is_looked_for_in_every_post_shown() -> None:
    question = "Где находится стадион «Маракана»?"
    assert not names_held(question, ["Стадион Полонии.", "Концерт в парке."])
    assert names_held(question, ["Стадион Полонии.", "Маракана — стадион в Рио."])
