"""``predscope demo``: the README's main job, on the photos shipped in ``data/skimage-images``.

``bash scripts/demo`` is ``predscope demo --serve``: the same command, which builds the project,
analyses every branch (``services.demo``), then serves the store over HTTP. ``--scale N`` builds a
generated project of N images instead (``services.demo_scale``).
"""

from __future__ import annotations

import contextlib
import errno
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.table import Table

from predscope.cli.common import console

if TYPE_CHECKING:
    from predscope.server.settings import Settings
    from predscope.services.demo import DemoResult
    from predscope.store.engine import Store

REPO_DATA = Path(__file__).resolve().parents[3] / "data" / "skimage-images"
STAT_COLUMNS = ("AP", "AP50", "AP75", "AR100")  # the rest are in `predscope metrics`
DEFAULT_PORT = 8000


def _fmt(value: float) -> str:
    return "n/a" if value < 0 else f"{value:.3f}"


def demo(
    store: Annotated[
        Path,
        typer.Option(
            "--store",
            help="Store to add the demo project to (only an earlier demo project is replaced).",
        ),
    ] = Path(".predscope-demo"),
    data: Annotated[
        Path,
        typer.Option("--data", help="The scikit-image demo folder."),
    ] = REPO_DATA,
    scale: Annotated[
        int | None,
        typer.Option(
            "--scale",
            help="Build a generated project of N images (sizes only, GT and three detectors' "
            "errors) instead of the photo demo.",
            min=1,
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the --scale generator.")] = 0,
    serve: Annotated[
        bool,
        typer.Option(
            "--serve/--no-serve",
            help="Then serve the store over HTTP and print its URL (scripts/demo passes --serve).",
        ),
    ] = False,
    host: Annotated[str, typer.Option("--host", help="Address to serve on.")] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            "--port", help="Port to serve on (0: a free one; 8000 falls back to a free one)."
        ),
    ] = DEFAULT_PORT,
) -> None:
    """Build a project from real photos, import three detectors' predictions, analyse every branch.

    --scale N builds a generated project of N images instead; --serve then serves the store and
    prints its URL (what scripts/demo does).
    """
    from predscope.store.engine import open_store

    if scale is None and not (data / "photos_ontology.json").is_file():
        raise typer.BadParameter(
            f"{data} has no photos_ontology.json - point --data at data/skimage-images"
        )
    settings = _server_settings(host, port) if serve else None
    with open_store(store) as opened:  # never deletes files: the store keeps everything else
        # Serving is checked (token rule, port) before any work, so a refusal costs nothing.
        sock = None if settings is None else _listen(opened, settings, port)
        with contextlib.ExitStack() as stack:
            if sock is not None:
                stack.callback(sock.close)  # closed on failure; the server closes it otherwise
            result = _build(opened, data, scale, seed)
            _print_result(result)
            console.print(
                f"\nStore: {store.resolve()}  (try: predscope metrics {result.project.title} "
                f"--branch {result.branches[1]} --per-class --store {store})",
                markup=False,
            )
            if settings is not None and sock is not None:
                _serve(opened, settings, sock)


def _build(opened: Store, data: Path, scale: int | None, seed: int) -> DemoResult:
    from predscope.cli.progress import show_progress, terminal_progress

    with terminal_progress(show_progress(False)) as progress:

        def say(line: str) -> None:
            console.print(f"- {line}", markup=False)

        if scale is None:
            from predscope.services.demo import run_demo

            return run_demo(opened, data, say=say, progress=progress)
        from predscope.services.demo_scale import run_scale_demo

        return run_scale_demo(opened, scale, seed=seed, say=say, progress=progress)


def _print_result(result: DemoResult) -> None:
    table = Table(
        title=f"COCO bbox metrics against 'main' ({result.ground_truth_objects} GT objects, "
        f"{result.data_units} images)",
        box=box.SIMPLE_HEAD,
        collapse_padding=True,
        pad_edge=False,
    )
    table.add_column("branch", no_wrap=True)
    table.add_column("dets", justify="right")
    for column in STAT_COLUMNS:
        table.add_column(column, justify="right")
    for column in ("TP@.5", "FP@.5", "FN@.5"):
        table.add_column(column, justify="right")
    for r in result.results:
        counts = r.outcomes_at_50
        table.add_row(
            r.branch,
            str(r.detections),
            *(_fmt(r.stats[c]) for c in STAT_COLUMNS),
            *(str(counts[k]) for k in ("tp", "fp", "fn")),
        )
    console.print(table)
    for r in result.results:
        predicted = [c for c in r.per_class if c["num_predictions"]]
        if predicted:
            classes = ", ".join(f"{c['name']} AP {_fmt(c['AP'])}" for c in predicted)
            console.print(f"  {r.branch}: {classes}", markup=False)


def _server_settings(host: str, port: int) -> Settings:
    from predscope.server.settings import resolve_settings

    return resolve_settings(host=host, port=port)  # refuses a bad host or port before any work


def _listen(opened: Store, settings: Settings, port: int) -> socket.socket:
    from predscope.cli.serve import bind_socket, check_token_rule
    from predscope.exceptions import ServerConfigError

    check_token_rule(opened, settings)
    try:
        return bind_socket(settings.host, settings.port)
    except OSError as exc:
        if port != DEFAULT_PORT or exc.errno != errno.EADDRINUSE:
            raise ServerConfigError(
                f"demo --serve: cannot listen on {settings.host}:{settings.port} "
                f"({exc.strerror}) - pick another --port (0 picks a free one)"
            ) from None
    console.print(f"- port {port} is in use; serving on a free port instead", markup=False)
    return bind_socket(settings.host, 0)


def _serve(opened: Store, settings: Settings, sock: socket.socket) -> None:
    from predscope.cli.serve import run_server

    def announce(url: str, auth: str) -> None:
        console.print(
            f"\npredscope is serving the demo at {url}  ({auth}; API docs at {url}docs; "
            "Ctrl-C stops)",
            markup=False,
        )
        console.file.flush()

    run_server(opened, settings, announce, sock=sock)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
