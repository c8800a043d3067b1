"""What the application talks to: an SMTP server (aiosmtpd) and two webhook receivers, one that
answers 204 and one that accepts connections and never answers. Each counts what it received."""

import socket
import threading
from collections import Counter
from email.parser import BytesHeaderParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


class MailCounter:
    """aiosmtpd handler: counts every message by its Message-ID."""

    def __init__(self) -> None:
        self.by_id: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        headers = BytesHeaderParser().parsebytes(envelope.content)
        with self.lock:
            self.by_id[str(headers.get("Message-ID", "")).strip()] += 1
        return "250 OK"


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int) -> None:
        self.by_id: Counter[str] = Counter()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _ReceiverHandler)


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.server.lock:
            self.server.by_id[self.headers.get("webhook-id", "")] += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class Hanging:
    """Accepts connections and reads what comes, never answering: a receiver that hangs."""

    def __init__(self, port: int) -> None:
        self.socket = socket.create_server(("127.0.0.1", port), backlog=64)
        self.held: list[socket.socket] = []
        self.accepted = 0
        self.stopped = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stopped:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.accepted += 1
            self.held.append(connection)
            if len(self.held) > 200:
                self.held.pop(0).close()

    def close(self) -> None:
        self.stopped = True
        self.socket.close()
        for connection in self.held:
            connection.close()


class Sinks:
    def __init__(self, *, smtp_port: int, receiver_port: int, hanging_port: int) -> None:
        self.mail = MailCounter()
        self.smtp = Controller(self.mail, hostname="127.0.0.1", port=smtp_port)
        self.smtp.start()
        self.receiver = Receiver(receiver_port)
        threading.Thread(target=self.receiver.serve_forever, daemon=True).start()
        self.hanging = Hanging(hanging_port)

    def stop(self) -> None:
        self.smtp.stop()
        self.receiver.shutdown()
        self.hanging.close()
