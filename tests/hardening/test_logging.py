"""Log lines are JSON objects naming the request id, the signed-in user and the Celery task id."""

import json
import logging

from django.test import Client

from changemgmt.observability import ContextFilter, JsonFormatter


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        self.addFilter(ContextFilter())
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


def test_a_request_logs_one_json_line_with_its_id_and_user(demo, alice):
    capture = Capture()
    logger = logging.getLogger("changemgmt.request")
    logger.addHandler(capture)
    try:
        client = Client()
        client.force_login(alice)
        client.get("/", HTTP_X_REQUEST_ID="req-123")
    finally:
        logger.removeHandler(capture)
    [line] = capture.lines
    assert line["request_id"] == "req-123"
    assert line["user"] == "alice"
    assert line["status"] == 200
    assert line["task_id"] == ""
    assert line["message"] == "GET / 200"


def test_a_celery_task_logs_its_task_id(demo):
    from celery import shared_task

    capture = Capture()
    logger = logging.getLogger("changemgmt.test-task")
    logger.addHandler(capture)
    logger.setLevel(logging.INFO)

    @shared_task(name="tests.log_something")
    def log_something() -> None:
        logger.info("inside")

    try:
        log_something.apply(task_id="task-42")
    finally:
        logger.removeHandler(capture)
    assert capture.lines[0]["task_id"] == "task-42"
    assert capture.lines[0]["request_id"] == ""
