"""``pipeline devstack up|down|status`` (also ``python -m pipeline.devstack ...``)."""

from __future__ import annotations

import shlex

import typer
from rich.console import Console

from pipeline.devstack.process import DevstackError
from pipeline.devstack.stack import down, ensure_up, status
from pipeline.settings import get_settings

# soft_wrap: long paths and URLs stay on one line in CI logs instead of being cut at 80 columns.
_err = Console(stderr=True, soft_wrap=True)


def build_app() -> typer.Typer:
    devstack = typer.Typer(
        help="Local Kafka + Elasticsearch (real JVM processes, no Docker) for tests and the demo.",
        no_args_is_help=True,
        add_completion=False,
    )

    @devstack.command("up")
    def up_command(
        print_env: bool = typer.Option(
            False, "--print-env", help="Print `export PIPELINE_...=...` lines on stdout for `eval`."
        ),
    ) -> None:
        """Start Kafka and Elasticsearch (or reuse running ones) and wait until both are healthy."""
        try:
            info = ensure_up(get_settings(), console=_err)
        except DevstackError as exc:
            _err.print(f"[red]devstack up failed:[/] {exc}", markup=True, highlight=False)
            raise typer.Exit(1) from None
        if print_env:
            for key, value in info.env().items():
                print(f"export {key}={shlex.quote(value)}")
            # The secured listener, for the tests of the SASL path (not a pipeline setting).
            print(f"export DEVSTACK_KAFKA_SASL_BOOTSTRAP={shlex.quote(info.kafka_sasl_bootstrap)}")
            # Tells ./run whether this call started anything, so it stops only a stack it started.
            print(f"DEVSTACK_STARTED={shlex.quote(' '.join(info.started))}")

    @devstack.command("down")
    def down_command() -> None:
        """Stop both services (by recorded PID) and delete their data; downloads are kept."""
        try:
            down(get_settings(), console=_err)
        except DevstackError as exc:
            _err.print(f"[red]devstack down failed:[/] {exc}")
            raise typer.Exit(1) from None

    @devstack.command("status")
    def status_command() -> None:
        """Show which services run, their PIDs and health. Exit code 0 only if both are healthy."""
        services = status(get_settings())
        out = Console(soft_wrap=True)
        for svc in services:
            colour = "green" if svc.healthy else ("yellow" if svc.running else "dim")
            pids = ", ".join(map(str, svc.pids)) or "-"
            out.print(
                f"[bold]{svc.name:<14}[/] {svc.version:<8} {svc.address:<24} pid {pids:<12} [{colour}]{svc.detail}[/]"
            )
            out.print(f"{'':<15}log: {svc.log}", highlight=False)
        if not all(svc.healthy for svc in services):
            raise typer.Exit(1)

    return devstack


def register(app: typer.Typer) -> None:
    app.add_typer(build_app(), name="devstack")
