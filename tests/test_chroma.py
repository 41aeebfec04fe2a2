"""ChromaDB backends: embedded, and a real Chroma server on loopback."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from postfinder.app import App
from postfinder.embeddings.fake import FakeEmbedder
from postfinder.errors import StoreError
from postfinder.settings import VectorStoreSettings, load_settings
from postfinder.store.chroma import ChromaVectorStore
from postfinder.store.vectors import ChunkRecord


def _exercise(store: ChromaVectorStore) -> None:
    records = [ChunkRecord(1, 0, "a"), ChunkRecord(1, 1, "b"), ChunkRecord(2, 0, "c")]
    vectors = np.eye(3, 8, dtype=np.float32)
    store.add("col_test", records, vectors)
    assert store.count("col_test") == 3
    top = store.query("col_test", vectors[2], 2)
    assert (top[0].post_id, top[0].chunk, top[0].text) == (2, 0, "c")
    assert top[0].similarity == pytest.approx(1.0, abs=1e-5)
    store.delete_posts("col_test", [1])
    assert store.count("col_test") == 1
    store.add("col_test", [ChunkRecord(2, 0, "c2")], vectors[:1])  # upsert by key
    assert store.count("col_test") == 1 and store.query("col_test", vectors[0], 1)[0].text == "c2"
    store.drop("col_test")
    assert store.count("col_test") == 0 and store.query("col_test", vectors[0], 3) == []


def test_persistent_store(tmp_path: Path) -> None:
    _exercise(ChromaVectorStore(VectorStoreSettings(), tmp_path / "chroma"))


def test_unreachable_server_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(StoreError, match="Cannot open the Chroma server at 127.0.0.1"):
        ChromaVectorStore(VectorStoreSettings(mode="http", host="127.0.0.1", port=port), Path("."))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Run ``chroma run`` on loopback for the tests of the HTTP client."""
    exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    port = _free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    log = (path / "server.log").open("wb")
    proc = subprocess.Popen(  # pylint: disable=consider-using-with
        [exe, "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path / "db")],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"chroma run exited: {(path / 'server.log').read_text()}")
                time.sleep(0.3)
        else:
            pytest.fail("chroma server did not start within 60 s")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@pytest.mark.server
def test_http_store_against_real_server(chroma_server: int) -> None:
    store = ChromaVectorStore(
        VectorStoreSettings(mode="http", host="127.0.0.1", port=chroma_server), Path(".")
    )
    _exercise(store)


@pytest.mark.server
def test_index_and_search_through_server(chroma_server: int, write_export) -> None:
    settings = load_settings(
        vector_store={"mode": "http", "host": "127.0.0.1", "port": chroma_server}
    )
    app = App(settings, embedder=FakeEmbedder())
    app.indexer().index_export(write_export(), progress=False)
    assert app.retriever().search("загранпаспорт", k=1).hits[0].post_id == 3
    app.close()


def test_exact_search_ranks_like_brute_force_and_the_same_every_time(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(400, 16)).astype(np.float32)
    records = [ChunkRecord(i // 2, i % 2, f"t{i}") for i in range(400)]
    queries = rng.normal(size=(20, 16)).astype(np.float32)
    expected = []
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    for q in queries:
        sims = unit @ (q / np.linalg.norm(q))
        expected.append([(records[i].post_id, records[i].chunk) for i in np.argsort(-sims)[:10]])
    runs = []
    for attempt in range(2):  # two databases built in different insertion orders
        order = rng.permutation(400)
        store = ChromaVectorStore(VectorStoreSettings(), tmp_path / f"db{attempt}")
        store.add("col_exact", [records[i] for i in order], vectors[order])
        runs.append(
            [[(m.post_id, m.chunk) for m in store.query("col_exact", q, 10)] for q in queries]
        )
        store.add(
            "col_exact", [ChunkRecord(999, 0, "new")], queries[:1]
        )  # the cache follows writes
        assert store.query("col_exact", queries[0], 1)[0].post_id == 999
    assert runs[0] == runs[1] == expected
