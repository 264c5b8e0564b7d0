"""A tiny OpenAI-compatible chat server for tests: real HTTP on 127.0.0.1, scripted answers.

    with LLMServer() as srv:
        srv.enqueue({"items": [...]})          # the next answer's JSON (content or tool call)
        srv.enqueue(Status(429))               # an HTTP error
        srv.enqueue(Hang())                    # no answer until the client has given up
        srv.enqueue(Raw("not json"))           # content that is not JSON
        srv.enqueue(lambda request: {...})     # computed from the request body
        srv.default = echo_narratives          # used when the queue is empty
        ... OPENAI_BASE_URL = srv.base_url ...
        srv.requests                           # every request body received, in order

It answers `/v1/chat/completions` (and `/v1/models`). When the request carries `tools`, a JSON
answer comes back as a tool call of the requested function, otherwise as message content, so it
serves every instructor mode. Only the loopback interface is ever bound.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


@dataclass
class Status:
    """An HTTP error answer."""

    code: int
    body: dict = field(default_factory=lambda: {"error": {"message": "scripted error", "type": "server_error"}})
    headers: dict = field(default_factory=dict)


@dataclass
class Hang:
    """Hold the request without answering until the server stops (or `seconds` pass)."""

    seconds: float = 30.0


@dataclass
class Raw:
    """Message content sent verbatim (e.g. invalid JSON)."""

    content: str


Answer = dict | str | Status | Hang | Raw | Callable[[dict], Any]


def request_text(body: dict) -> str:
    """All message contents of a recorded request, joined (for assertions)."""
    return "\n".join(str(m.get("content") or "") for m in body.get("messages", []))


def data_block(body: dict, tag: str = "untrusted_data") -> str:
    """The text between the first <tag> and </tag> of the request's last user message."""
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    text = str(users[0].get("content") or "") if users else ""
    start, end = text.find(f"<{tag}>"), text.find(f"</{tag}>")
    return text[start + len(tag) + 2:end] if 0 <= start < end else ""


def request_items(body: dict) -> list[dict]:
    """The JSON item list inside a request's untrusted-data block."""
    try:
        return json.loads(data_block(body))
    except ValueError:
        return []


class LLMServer:
    def __init__(self) -> None:
        self.queue: deque[Answer] = deque()
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.default: Answer | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle
    def start(self) -> LLMServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                if self.path.rstrip("/").endswith("/models"):
                    self._send(200, {"object": "list", "data": [{"id": "test-model", "object": "model"}]})
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    self._send(400, {"error": {"message": "bad json"}})
                    return
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, {"error": {"message": "not found"}})
                    return
                with server._lock:
                    server.requests.append(body)
                    server.headers.append({k.lower(): v for k, v in self.headers.items()})
                    answer = server.queue.popleft() if server.queue else server.default
                if callable(answer) and not isinstance(answer, (Status, Hang, Raw)):
                    answer = answer(body)
                if answer is None:
                    self._send(500, {"error": {"message": "no scripted answer left"}})
                elif isinstance(answer, Status):
                    self._send(answer.code, answer.body, answer.headers)
                elif isinstance(answer, Hang):
                    server._stop.wait(answer.seconds)
                    try:
                        self._send(500, {"error": {"message": "hung"}})
                    except OSError:
                        pass
                elif isinstance(answer, Raw):
                    self._send(200, completion(body, answer.content))
                else:
                    content = answer if isinstance(answer, str) else json.dumps(answer)
                    self._send(200, completion(body, content))

            def _send(self, code: int, payload: dict, headers: dict | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="llm-test-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> LLMServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- script
    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def enqueue(self, *answers: Answer) -> None:
        with self._lock:
            self.queue.extend(answers)

    def reset(self) -> None:
        with self._lock:
            self.queue.clear()
            self.requests.clear()
            self.headers.clear()
            self.default = None

    @property
    def calls(self) -> int:
        return len(self.requests)


def completion(request: dict, content: str) -> dict:
    """A chat.completion object carrying `content` as text or, if tools were offered, as a tool call."""
    prompt_chars = len(request_text(request))
    usage = {"prompt_tokens": max(1, prompt_chars // 4), "completion_tokens": max(1, len(content) // 4)}
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    message: dict[str, Any] = {"role": "assistant", "content": content}
    finish = "stop"
    tools = request.get("tools") or []
    if tools:
        choice = request.get("tool_choice")
        name = (choice.get("function", {}).get("name") if isinstance(choice, dict) else None) \
            or tools[0].get("function", {}).get("name", "tool")
        message = {"role": "assistant", "content": None, "tool_calls": [{
            "id": f"call_{len(content)}", "type": "function",
            "function": {"name": name, "arguments": content},
        }]}
        finish = "tool_calls"
    return {
        "id": f"chatcmpl-test-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": request.get("model", "test-model"),
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": usage,
    }
