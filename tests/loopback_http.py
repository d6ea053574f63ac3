"""A throwaway HTTP endpoint on 127.0.0.1 for tests that need an answer moto cannot give (an error page, a 501, a
call that never returns). It runs in a thread and stops within 50 ms (serve_forever's default poll is 0.5 s)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# The answer to one POST, given its body: (status, content type, payload), or None to close without answering.
Answer = Callable[[bytes], tuple[int, str, bytes] | None]


class LoopbackServer:
    def __init__(self, answer: Answer) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                reply = answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                if reply is None:
                    return
                status, kind, payload = reply
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
