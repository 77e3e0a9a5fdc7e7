"""``python -m pipeline.devstack up|down|status``."""

from pipeline.devstack.cli import build_app

build_app()(prog_name="python -m pipeline.devstack")
