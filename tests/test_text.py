"""The small text helpers: sentences, cuts and joins in scripts with and without spaces."""

from __future__ import annotations

import pytest

from postfinder.text import join_sentences, shorten, split_sentences

CHINESE = "欧盟已批准Broadcom收购VMware的交易。委员会表示满意，要求提供访问。他说：“好的。”然后走了！真的吗？Yes. Done."


def test_chinese_sentences_end_at_full_width_marks_without_a_space() -> None:
    assert split_sentences(CHINESE) == [
        "欧盟已批准Broadcom收购VMware的交易。",
        "委员会表示满意，要求提供访问。",
        "他说：“好的。”",
        "然后走了！",
        "真的吗？",
        "Yes.",
        "Done.",
    ]


def test_joining_split_sentences_gives_the_text_back() -> None:
    assert join_sentences(split_sentences(CHINESE)) == CHINESE
    assert join_sentences(["Привет.", "Как дела?"]) == "Привет. Как дела?"


def test_russian_and_english_split_only_before_a_space_or_line_break() -> None:
    assert split_sentences("Стоит 2.5 млн. Открыто!\nДа") == ["Стоит 2.5 млн.", "Открыто!", "Да"]
    assert split_sentences("v1.5.0 is out.Really") == ["v1.5.0 is out.Really"]


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("Hello world this is a long sentence", 20, "Hello world this…"),
        ("short", 20, "short"),
        # The last space is after "Broadcom": cutting there would drop the rest; "VMware" stays whole.
        ("Broadcom 以610亿美元收购VMware的交易获得欧盟批准", 20, "Broadcom 以610亿美元收购…"),
        ("欧盟监管机构已批准交易委员会表示满意", 10, "欧盟监管机构已批准…"),
        ("Supercalifragilistic", 10, "Supercali…"),
    ],
)
def test_shorten_cuts_at_a_space_or_after_an_ideograph(
    text: str, limit: int, expected: str
) -> None:
    result = shorten(text, limit)
    assert result == expected and len(result) <= limit
