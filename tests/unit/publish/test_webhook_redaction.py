"""A webhook URL's token is sent to its receiver and shown nowhere else: not in the retry log, nor in a refusal."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from structlog.testing import capture_logs

from pipeline.publish.webhook import WebhookRefused, WebhookSender

TOKEN = "tok-5ecr3t-0123456789"


class Answers:
    """A local HTTP receiver answering each POST with the next status of a list (the last one repeats)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.paths: list[str] = []
        answers = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                answers.paths.append(self.path)
                status = answers.statuses[min(len(answers.paths), len(answers.statuses)) - 1]
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook?token={TOKEN}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Answers]:
    answers = Answers(request.param)
    yield answers
    answers.server.shutdown()


@pytest.mark.parametrize("receiver", [[503, 503, 204]], indirect=True)
def test_retries_are_logged_without_the_urls_token(receiver: Answers) -> None:
    sender = WebhookSender(receiver.url, sleep=lambda _seconds: None)
    with capture_logs() as logs:
        attempts = sender.deliver(b"{}", event_id="evt_1", delivery_id="t/0/1")
    sender.close()
    assert attempts == 3 and receiver.paths[-1] == f"/hook?token={TOKEN}"  # the receiver gets it whole
    retries = [entry for entry in logs if entry["event"] == "webhook delivery failed, retrying"]
    assert len(retries) == 2
    assert all(TOKEN not in str(entry) for entry in logs)
    assert retries[0]["url"].endswith("/hook?token=***")


@pytest.mark.parametrize("receiver", [[400]], indirect=True)
def test_a_refusal_names_the_url_without_its_token(receiver: Answers) -> None:
    sender = WebhookSender(receiver.url, sleep=lambda _seconds: None)
    with pytest.raises(WebhookRefused) as refused:
        sender.deliver(b"{}", event_id="evt_1", delivery_id="t/0/1")
    sender.close()
    assert "HTTP 400" in str(refused.value) and TOKEN not in str(refused.value)
