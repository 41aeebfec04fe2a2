"""A fake Telegram Bot API server on 127.0.0.1 for driving the real python-telegram-bot stack.

getUpdates hands out scripted updates; every other call is recorded and answered the
way Telegram would. `fail_next(method, n, retry_after)` makes the next n calls of a
method answer 429 Too Many Requests.
"""

from __future__ import annotations

import json
import threading
import time
from email.parser import BytesParser
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

BOT = {"id": 999, "is_bot": True, "first_name": "PostFinder", "username": "pf_bot"}


class FakeTelegram:
    """The server's state: queued updates, recorded calls, chats and members."""

    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any], float]] = []
        self.chats: dict[int, dict[str, Any]] = {}
        self.admins: set[tuple[int, int]] = set()
        self.failures: dict[str, list[int]] = {}
        self.reject_token = False
        self.next_update_id = 1
        self.next_message_id = 10_000
        self.lock = threading.Lock()
        ThreadingHTTPServer.request_queue_size = 256  # bursts open many connections at once
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """URL to give the bot as its Bot API server."""
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeTelegram:
        """Serve in a background thread."""
        self.thread.start()
        return self

    def stop(self) -> None:
        """Shut the server down."""
        self.server.shutdown()
        self.server.server_close()

    # -- scripting ----------------------------------------------------------------------
    def push(self, **update: Any) -> None:
        """Queue one update (``message=...``, ``channel_post=...``, ...)."""
        with self.lock:
            update["update_id"] = self.next_update_id
            self.next_update_id += 1
            self.updates.append(update)

    def fail_next(self, method: str, times: int, retry_after: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with 429."""
        self.failures[method] = [retry_after] * times

    def sent(self, method: str) -> list[dict[str, Any]]:
        """Parameters of every recorded call of ``method``."""
        with self.lock:
            return [params for name, params, _ in self.calls if name == method]

    def times(self, method: str) -> list[float]:
        """Monotonic times of the recorded calls of ``method``."""
        with self.lock:
            return [at for name, _, at in self.calls if name == method]

    # -- protocol -----------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                return

            def do_POST(self) -> None:  # noqa: N802
                method = self.path.rsplit("/", 1)[-1]
                length = int(self.headers.get("Content-Length") or 0)
                params = fake._params(self.rfile.read(length), self.headers.get("Content-Type", ""))
                status, body = fake._dispatch(method, params)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST  # noqa: N815

        return Handler

    @staticmethod
    def _params(raw: bytes, content_type: str) -> dict[str, Any]:
        if not raw:
            return {}
        if "json" in content_type:
            return dict(json.loads(raw))
        if content_type.startswith("multipart/form-data"):  # file uploads
            parsed = BytesParser(policy=default_policy).parsebytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + raw
            )
            form: dict[str, Any] = {}
            for part in parsed.iter_parts():
                name = part.get_param("name", header="content-disposition")
                body = part.get_payload(decode=True) or b""
                form[str(name)] = body if part.get_filename() else body.decode()
            return form
        params: dict[str, Any] = {}
        for key, values in parse_qs(raw.decode(), keep_blank_values=True).items():
            try:
                params[key] = json.loads(values[0])
            except ValueError:
                params[key] = values[0]
        return params

    def _dispatch(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method != "getUpdates":
            with self.lock:
                self.calls.append((method, params, time.monotonic()))
        if self.reject_token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        pending = self.failures.get(method)
        if pending:
            retry = pending.pop(0)
            return 429, {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {retry}",
                "parameters": {"retry_after": retry},
            }
        handler = getattr(self, f"_{method}", None)
        result = handler(params) if handler else True
        return 200, {"ok": True, "result": result}

    def _getMe(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        return BOT

    def _getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:  # noqa: N802
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 0.2)
        while True:
            with self.lock:
                ready = [u for u in self.updates if u["update_id"] >= offset]
            if ready or time.monotonic() >= deadline:
                return ready[:100]
            time.sleep(0.01)

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.next_message_id += 1
            message_id = self.next_message_id
        chat_id = int(params["chat_id"])
        return {
            "message_id": int(params.get("message_id") or message_id),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "supergroup" if chat_id < 0 else "private"},
            "from": BOT,
            "text": params.get("text", ""),
        }

    _sendMessage = _message  # noqa: N815
    _sendDocument = _message  # noqa: N815
    _editMessageText = _message  # noqa: N815

    def _getChat(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        chat_id = int(params["chat_id"])
        default = {"id": chat_id, "type": "channel", "title": "Channel"}
        return {"accent_color_id": 0, "max_reaction_count": 11, **self.chats.get(chat_id, default)}

    def _getChatMember(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        user_id = int(params["user_id"])
        is_admin = (int(params["chat_id"]), user_id) in self.admins
        user = {"id": user_id, "is_bot": False, "first_name": "U"}
        if is_admin:
            return {
                "status": "administrator",
                "user": user,
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_delete_messages": True,
                "can_manage_video_chats": True,
                "can_restrict_members": True,
                "can_promote_members": False,
                "can_change_info": True,
                "can_invite_users": True,
                "can_post_stories": False,
                "can_edit_stories": False,
                "can_delete_stories": False,
            }
        return {"status": "member", "user": user}


def main() -> None:
    """Local trial: serve the fake Bot API and turn each line typed on stdin into a question.

    Run ``python tests/fake_telegram.py --port 8081`` in one terminal and, in another,
    ``POSTFINDER_TELEGRAM__TOKEN=1:local POSTFINDER_TELEGRAM__BASE_URL=http://127.0.0.1:8081
    POSTFINDER_TELEGRAM__GROUPS='{"-1009000000001": CHANNEL_ID}' postfinder serve``.
    """
    import argparse  # pylint: disable=import-outside-toplevel
    import sys  # pylint: disable=import-outside-toplevel

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--group", type=int, default=-1009000000001)
    args = parser.parse_args()
    fake = FakeTelegram()
    fake.server.server_close()
    fake.server = ThreadingHTTPServer(("127.0.0.1", args.port), fake._handler())
    fake.thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    fake.start()
    print(f"fake Bot API on {fake.base_url}; type a question and press Enter", flush=True)
    seen = 0

    def printer() -> None:
        nonlocal seen
        while True:
            time.sleep(0.2)
            with fake.lock:
                new = fake.calls[seen:]
                seen = len(fake.calls)
            for name, params, _ in new:
                if name in ("sendMessage", "editMessageText"):
                    print(f"[bot {name}] {params.get('text')}", flush=True)

    threading.Thread(target=printer, daemon=True).start()
    for number, line in enumerate(sys.stdin, start=1):
        fake.push(
            message={
                "message_id": number,
                "date": int(time.time()),
                "chat": {"id": args.group, "type": "supergroup", "title": "Discussion"},
                "from": {"id": 1, "is_bot": False, "first_name": "You"},
                "text": f"@{BOT['username']} {line.strip()}",
            }
        )
    time.sleep(60)


if __name__ == "__main__":
    main()
