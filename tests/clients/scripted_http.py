"""A real HTTP server on a free port that answers from a script: for retry and error tests."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: object = field(default_factory=dict)
    headers: dict = field(default_factory=dict)
    delay_s: float = 0.0
    drop: bool = False  # close the socket without an answer (a lost connection)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict
    body: bytes
    at: float


class ScriptedServer:
    """A real HTTP server on a free port answering from a script, one reply per request."""

    def __init__(self):
        self.replies: list[Reply] = []
        self.seen: list[Seen] = []
        self.fallback = Reply(500, {"error": {"message": "script exhausted", "type": "test"}})
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self):
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.seen.append(Seen(self.command, self.path, headers, body, time.monotonic()))
                reply = server.replies.pop(0) if server.replies else server.fallback
                time.sleep(reply.delay_s)
                if reply.drop:
                    self.close_connection = True
                    self.connection.close()
                    return
                data = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (timeout tests)

            do_GET = do_POST = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def script(self, *replies: Reply) -> None:
        self.replies[:] = list(replies)
        self.seen.clear()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def compare_body(content: str = "hi there", roles=("base", "instruct", "reasoning")) -> dict:
    """A /v1/compare answer (built from the wire model) in which every role said `content`."""
    from serve.api.protocol import CompareResponse, RoleResult, Usage

    results = [RoleResult(role=r, model=f"scripted-{r}", response=content, content=content,
                          usage=Usage.of(3, 2), latency_s=0.1) for r in roles]
    return CompareResponse(id="cmp-1", created=0, results=results).model_dump(mode="json")
