"""A protocol-level Ollama API server on localhost for tests (stdlib, one thread).

Answers `/api/chat`, `/api/generate`, `/api/embed`, `/api/tags`, `/api/show` in Ollama's
wire format (non-streaming JSON, or NDJSON lines when `stream` is true or absent, as Ollama
does).  Special models: `broken` answers HTTP 500, `slow` sleeps `slow_seconds` first; an
unknown model answers 404 `{"error": "model 'x' not found"}`.  Chat replies are taken from
`replies` (FIFO) when given, else a JSON instance of the requested `format` schema, else an
echo.  Every request body is recorded in `requests` as (path, body).
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODELS = {
    "llama3.2:1b": {"kind": "gen", "family": "llama", "size": "1.2B"},
    "mxbai-embed-large:latest": {"kind": "embed", "family": "bert", "size": "334M", "dim": 1024},
    "nomic-embed-text:latest": {"kind": "embed", "family": "nomic-bert", "size": "137M",
                                "dim": 768},
    "slow:latest": {"kind": "gen", "family": "llama", "size": "1B"},
    "broken:latest": {"kind": "gen", "family": "llama", "size": "1B"},
}


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _canonical(name: str) -> str:
    return name if ":" in name else f"{name}:latest"


def fake_vector(text: str, dim: int) -> list[float]:
    """Deterministic unit vector of `text` (same text, same vector)."""
    seed = hashlib.sha256(text.encode()).digest()
    raw = [((seed[i % 32] ^ (i * 31)) % 255) / 127.0 - 1.0 for i in range(dim)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


def instance_of(schema: dict, defs: dict | None = None):
    """A minimal JSON value satisfying a (pydantic-made) JSON schema."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return instance_of(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema:
        return instance_of(schema["anyOf"][0], defs)
    kind = schema.get("type", "object")
    if kind == "object":
        return {k: instance_of(v, defs) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [instance_of(schema.get("items", {}), defs)] * schema.get("minItems", 1)
    return {"string": "text", "integer": schema.get("minimum", 1),
            "number": float(schema.get("minimum", 1)), "boolean": True, "null": None}[kind]


def _timings(tokens: int) -> dict:
    return {"total_duration": 12_000_000, "load_duration": 1_000_000,
            "prompt_eval_count": 10, "prompt_eval_duration": 2_000_000,
            "eval_count": tokens, "eval_duration": 9_000_000}


class OllamaTestServer:
    def __init__(self, slow_seconds: float = 2.0):
        self.slow_seconds = slow_seconds
        self.replies: list[str] = []
        self.requests: list[tuple[str, dict]] = []
        self.fail_times = 0  # answer HTTP 500 to the next n requests of any model
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> OllamaTestServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                return

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    return  # the client gave up (timeout test): nothing to answer

            def _stream(self, parts: list[dict]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.end_headers()
                for part in parts:
                    self.wfile.write(json.dumps(part).encode() + b"\n")

            def do_GET(self):
                if self.path == "/api/tags":
                    return self._send(200, {"models": [server.tag(n) for n in MODELS]})
                if self.path == "/":
                    body = b"Ollama is running"
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    return self.wfile.write(body)
                return self._send(404, {"error": "404 page not found"})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append((self.path, body))
                status, answer = server.answer(self.path, body)
                if status == 200 and body.get("stream", True) and "stream_parts" in answer:
                    return self._stream(answer["stream_parts"])
                answer.pop("stream_parts", None)
                return self._send(status, answer)

        return Handler

    def tag(self, name: str) -> dict:
        info = MODELS[name]
        return {"name": name, "model": name, "modified_at": "2025-01-01T00:00:00Z",
                "size": 1_300_000_000, "digest": hashlib.sha256(name.encode()).hexdigest(),
                "details": {"parent_model": "", "format": "gguf", "family": info["family"],
                            "families": [info["family"]], "parameter_size": info["size"],
                            "quantization_level": "Q8_0"}}

    def answer(self, path: str, body: dict) -> tuple[int, dict]:
        raw = body.get("model") or body.get("name") or ""
        name = _canonical(raw)
        if path not in ("/api/chat", "/api/generate", "/api/embed", "/api/show"):
            return 404, {"error": "404 page not found"}
        if name not in MODELS:
            return 404, {"error": f"model '{raw}' not found"}
        if self.fail_times > 0 or name == "broken:latest":
            self.fail_times = max(0, self.fail_times - 1)
            return 500, {"error": "llama runner process has terminated: exit status 2"}
        if name == "slow:latest":
            time.sleep(self.slow_seconds)
        info = MODELS[name]
        if path == "/api/show":
            return 200, self.show(name)
        if path == "/api/embed":
            if info["kind"] != "embed":
                return 400, {"error": f'"{raw}" does not support embeddings'}
            texts = body.get("input", "")
            texts = [texts] if isinstance(texts, str) else texts
            return 200, {"model": raw, "embeddings": [fake_vector(t, info["dim"]) for t in texts],
                         "total_duration": 5_000_000, "load_duration": 1_000_000,
                         "prompt_eval_count": sum(len(t.split()) for t in texts)}
        if info["kind"] != "gen":
            return 400, {"error": f'"{raw}" does not support {path.rsplit("/", 1)[-1]}'}
        text = self.reply(body)
        done = {"model": raw, "created_at": _now(), "done": True, "done_reason": "stop",
                **_timings(len(text.split()))}
        if path == "/api/chat":
            final = {**done, "message": {"role": "assistant", "content": text}}
            first = {"model": raw, "created_at": _now(), "done": False,
                     "message": {"role": "assistant", "content": text}}
            last = {**done, "message": {"role": "assistant", "content": ""}}
        else:
            final = {**done, "response": text, "context": [1, 2, 3]}
            first = {"model": raw, "created_at": _now(), "done": False, "response": text}
            last = {**done, "response": "", "context": [1, 2, 3]}
        return 200, {**final, "stream_parts": [first, last]}

    def reply(self, body: dict) -> str:
        if self.replies:
            return self.replies.pop(0)
        fmt = body.get("format")
        if isinstance(fmt, dict):
            return json.dumps(instance_of(fmt))
        if fmt == "json":
            return "{}"
        if "messages" in body:
            return "You said: " + body["messages"][-1].get("content", "")
        return "You said: " + body.get("prompt", "")

    def show(self, name: str) -> dict:
        info = MODELS[name]
        model_info = {"general.architecture": info["family"],
                      "general.parameter_count": 1_000_000_000}
        if "dim" in info:
            model_info[f"{info['family']}.embedding_length"] = info["dim"]
        return {"license": "", "modelfile": f"FROM {name}\n", "parameters": "stop <|eot|>",
                "template": "{{ .Prompt }}", "details": self.tag(name)["details"],
                "model_info": model_info, "modified_at": "2025-01-01T00:00:00Z",
                "capabilities": ["embedding"] if info["kind"] == "embed" else ["completion"]}
