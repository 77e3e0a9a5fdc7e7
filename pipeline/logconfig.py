"""One structlog set-up for every command: human-readable by default, JSON lines with PIPELINE_LOG_JSON=1."""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from pipeline.settings import Settings


class _StderrLogger:
    """Writes to whatever ``sys.stderr`` is at the moment of writing (test runners and daemons swap it)."""

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


def _stderr_logger(*_args: Any) -> _StderrLogger:
    return _StderrLogger()


def configure_logging(settings: Settings) -> None:
    level = logging.getLevelName(settings.log_level.upper())
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if settings.log_json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level if isinstance(level, int) else logging.INFO),
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=level if isinstance(level, int) else logging.INFO, stream=sys.stderr)
    # Client libraries log every request at INFO; our own logs say what matters.
    for noisy in ("elastic_transport", "kafka", "aiokafka", "httpx", "httpcore", "trafilatura", "htmldate"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, level if isinstance(level, int) else 0))
    # Their retries of a refused connection come with a traceback each time; our own logs and the final
    # message say it once (PIPELINE_LOG_LEVEL=DEBUG or --debug shows them).
    if level != logging.DEBUG:
        for chatty in ("elastic_transport.transport", "elastic_transport.node_pool", "kafka.conn", "kafka.client"):
            logging.getLogger(chatty).setLevel(logging.CRITICAL)
