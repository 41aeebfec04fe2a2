"""Splitting long posts."""

from __future__ import annotations

from postfinder.chunking import Chunker


def words(text: str) -> int:
    return len(text.split())


def test_short_text_is_one_chunk() -> None:
    assert Chunker(words, 10, 2).split("  one two three  ") == ["one two three"]
    assert not Chunker(words, 10, 2).split("   ")


def test_long_text_chunks_fit_and_overlap() -> None:
    sentences = [f"Sentence {i} has five words." for i in range(20)]
    chunks = Chunker(words, 20, 5).split(" ".join(sentences))
    assert len(chunks) > 1
    assert all(words(c) <= 20 for c in chunks)
    for before, after in zip(chunks, chunks[1:]):
        assert before.split(". ")[-1].rstrip(".") in after  # last sentence repeated
    joined = " ".join(chunks)
    assert all(s.rstrip(".") in joined for s in sentences)


def test_overlong_sentence_is_cut_by_words() -> None:
    chunks = Chunker(words, 8, 2).split(" ".join(f"w{i}" for i in range(30)))
    assert all(words(c) <= 8 for c in chunks)
    assert " ".join(chunks).split()[:3] == ["w0", "w1", "w2"]
    assert "w29" in chunks[-1]


def test_text_without_spaces_is_cut_by_characters() -> None:
    text = "汉" * 100
    chunks = Chunker(len, 30, 5).split(text)
    assert all(len(c) <= 30 for c in chunks) and "".join(chunks) == text
