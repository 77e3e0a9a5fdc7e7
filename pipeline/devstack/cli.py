"""``pipeline devstack up|down|status`` (also ``python -m pipeline.devstack ...``)."""

from __future__ import annotations

import shlex

import typer
from rich.console import Console

from pipeline.devstack import holder
from pipeline.devstack.layout import Layout
from pipeline.devstack.process import DevstackError
from pipeline.devstack.stack import down, ensure_up, kill_node, running_settings, status
from pipeline.errors import EXIT_UNAVAILABLE
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
        brokers: int | None = typer.Option(
            None,
            "--brokers",
            min=1,
            max=9,
            help="Kafka brokers (KRaft, each also a controller). Default: PIPELINE_DEVSTACK_BROKERS or 1.",
        ),
        es_nodes: int | None = typer.Option(
            None,
            "--es-nodes",
            min=1,
            max=9,
            help="Elasticsearch nodes. Default: PIPELINE_DEVSTACK_ES_NODES or 1.",
        ),
        test_run: int | None = typer.Option(
            None,
            "--test-run",
            envvar="DEVSTACK_TEST_RUN",
            metavar="PID",
            help="Asked by the test run with this PID (`./run test` sets DEVSTACK_TEST_RUN): it owns a stack it "
            "starts, takes over one a tool left (`./run demo`), and only reuses one started with `up`.",
        ),
    ) -> None:
        """Start Kafka and Elasticsearch (or reuse running ones) and wait until both are healthy.

        More than one broker or node makes a cluster on loopback, on ports from
        PIPELINE_DEVSTACK_CLUSTER_PORT_BASE (default 39100): broker i on base+i, ES node j on base+30+j.
        """
        settings = get_settings()
        overrides = {"devstack_brokers": brokers, "devstack_es_nodes": es_nodes}
        settings = settings.model_copy(update={key: value for key, value in overrides.items() if value is not None})
        claimant = holder.Holder.person() if test_run is None else holder.Holder.tool("test", test_run)
        try:
            info = ensure_up(settings, console=_err, claimant=claimant)
        except DevstackError as exc:
            _err.print(f"[red]devstack up failed:[/] {exc}", markup=True, highlight=False)
            raise typer.Exit(EXIT_UNAVAILABLE) from None
        if print_env:
            for key, value in info.env().items():
                print(f"export {key}={shlex.quote(value)}")
            # The secured listener, for the tests of the SASL path (not a pipeline setting).
            print(f"export DEVSTACK_KAFKA_SASL_BOOTSTRAP={shlex.quote(info.kafka_sasl_bootstrap)}")
            # Tells ./run whether the stack is its own (started, or taken over from the demo), so it injects
            # faults into and stops only such a stack; empty for a stack someone else keeps.
            owned = (" ".join(info.started) or "taken over") if info.owned else ""
            print(f"DEVSTACK_STARTED={shlex.quote(owned)}")

    @devstack.command("kill")
    def kill_command(
        service: str = typer.Argument(..., help="kafka or elasticsearch"),
        node: int = typer.Argument(1, help="Kafka node id or Elasticsearch node number (1-based)."),
    ) -> None:
        """SIGKILL one node, as a crash would (failover drills). `up` starts it again on its data."""
        try:
            killed = kill_node(get_settings(), service, node)
        except DevstackError as exc:
            _err.print(f"[red]devstack kill failed:[/] {exc}")
            raise typer.Exit(EXIT_UNAVAILABLE) from None
        _err.print("killed " + ", ".join(f"{r.name} (pid {r.pid})" for r in killed))

    @devstack.command("down")
    def down_command() -> None:
        """Stop both services (by recorded PID) and delete their data; downloads are kept."""
        try:
            down(get_settings(), console=_err)
        except DevstackError as exc:
            _err.print(f"[red]devstack down failed:[/] {exc}")
            raise typer.Exit(EXIT_UNAVAILABLE) from None

    @devstack.command("status")
    def status_command() -> None:
        """Show which services run, their PIDs and health. Exit code 0 only if both are healthy, else 69."""
        services = status(get_settings())
        out = Console(soft_wrap=True)
        for svc in services:
            colour = "green" if svc.healthy else ("yellow" if svc.running else "dim")
            pids = ", ".join(map(str, svc.pids)) or "-"
            out.print(
                f"[bold]{svc.name:<14}[/] {svc.version:<8} {svc.address:<24} pid {pids:<12} [{colour}]{svc.detail}[/]"
            )
            out.print(f"{'':<15}log: {svc.log}", highlight=False)
        if any(svc.running for svc in services):
            recorded = holder.read(Layout.from_settings(running_settings(get_settings())))
            out.print(f"{'held by':<15}{holder.describe_holding(recorded, holder.alive(recorded))}", highlight=False)
        if not all(svc.healthy for svc in services):
            raise typer.Exit(EXIT_UNAVAILABLE)

    return devstack


def register(app: typer.Typer) -> None:
    app.add_typer(build_app(), name="devstack")
