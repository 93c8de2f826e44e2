"""``kstock``: serve the API, manage the schema, load demo or real KRX data."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.ext.asyncio import AsyncEngine

from kstock.cli import workers as worker_processes
from kstock.config import ConfigurationError, Settings, get_settings
from kstock.db import migrate
from kstock.db.engine import create_engine

app = typer.Typer(help="kstock: market data, screening, portfolios and paper trading for Korean equities.")
db_app = typer.Typer(help="Database schema (Alembic migrations).")
data_app = typer.Typer(help="Load data: the demo dataset or real KRX files.")
users_app = typer.Typer(help="User accounts.")
app.add_typer(db_app, name="db")
app.add_typer(data_app, name="data")
app.add_typer(users_app, name="users")

console = Console(stderr=True)
T = TypeVar("T")


def _progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _with_engine(settings: Settings, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = create_engine(settings)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply migrations up to REVISION (default: head)."""
    settings = get_settings()
    _with_engine(settings, lambda engine: migrate.upgrade(engine, revision))
    console.print(f"database at revision [bold]{revision}[/]")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()]) -> None:
    """Revert migrations down to REVISION ('base' empties the schema)."""
    _with_engine(get_settings(), lambda engine: migrate.downgrade(engine, revision))
    console.print(f"database at revision [bold]{revision}[/]")


@db_app.command("current")
def db_current() -> None:
    """Print the database's current revision and the code's head."""
    current = _with_engine(get_settings(), migrate.current_revision)
    typer.echo(f"current: {current or 'none'}  head: {migrate.head_revision()}")


@data_app.command("demo")
def data_demo(
    stocks: Annotated[int | None, typer.Option(help="number of instruments (default KSTOCK_DEMO_STOCKS)")] = None,
    years: Annotated[int | None, typer.Option(help="years of daily bars (default KSTOCK_DEMO_YEARS)")] = None,
    seed: Annotated[int | None, typer.Option(help="random seed; the same seed gives the same data")] = None,
    replace: Annotated[bool, typer.Option(help="replace existing market data")] = False,
) -> None:
    """Generate the deterministic demo dataset and load it."""
    from kstock.market.demo import DemoDataExistsError, generate_demo

    settings = get_settings()

    async def work(engine: AsyncEngine) -> None:
        await migrate.upgrade(engine)
        with _progress() as progress:
            summary = await generate_demo(
                engine,
                stocks=stocks or settings.demo_stocks,
                years=years or settings.demo_years,
                seed=settings.demo_seed if seed is None else seed,
                replace=replace,
                progress=progress,
            )
        console.print(summary.as_table())

    try:
        _with_engine(settings, work)
    except DemoDataExistsError as exc:
        console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(code=1) from exc


def _run_import(kind: str, file: Path) -> None:
    from kstock.market.importers import import_listing, import_prices

    importer = import_listing if kind == "listing" else import_prices
    settings = get_settings()

    async def work(engine: AsyncEngine) -> bool:
        await migrate.upgrade(engine)
        with _progress() as progress:
            summary = await importer(engine, file, batch_size=settings.import_batch_size, progress=progress)
        console.print(summary.as_table())
        return summary.ok

    if not _with_engine(settings, work):
        raise typer.Exit(code=1)


@data_app.command("import-listing")
def data_import_listing(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Import a KRX listing file (krx_desc_*, krx_quotes_marcap_* or krx_delisting_*; .csv, .csv.gz, .csv.xz)."""
    _run_import("listing", file)


@data_app.command("import-prices")
def data_import_prices(file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Import daily prices (code,date,open,high,low,close,volume; .csv, .csv.gz, .csv.xz)."""
    _run_import("prices", file)


@users_app.command("create-admin")
def users_create_admin(
    email: Annotated[str, typer.Argument(help="the admin's e-mail address")],
    name: Annotated[str, typer.Option(help="display name")] = "Administrator",
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            envvar="KSTOCK_ADMIN_PASSWORD",
            help="read from a prompt, or from KSTOCK_ADMIN_PASSWORD",
        ),
    ] = "",
) -> None:
    """Create an admin account (the first admin of a deployment; admins promote others through the API)."""
    from kstock.db.engine import create_sessionmaker
    from kstock.errors import AppError
    from kstock.identity.principal import Role, Tier
    from kstock.identity.service import create_user

    async def work(engine: AsyncEngine) -> tuple[str, str]:
        await migrate.upgrade(engine)
        async with create_sessionmaker(engine)() as session:
            user = await create_user(session, email, password, name, tier=Tier.PRO, role=Role.ADMIN)
            await session.commit()
            return user.email, str(user.id)

    try:
        stored_email, user_id = _with_engine(get_settings(), work)
    except AppError as exc:
        console.print(f"[red]{exc.message}[/] {exc.details or ''}")
        raise typer.Exit(code=1) from exc
    console.print(f"admin {stored_email} created (id {user_id})")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to bind")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="worker processes")] = 1,
    demo: Annotated[
        bool,
        typer.Option(help="fill an empty database with the demo dataset first, and run the market simulator inside"),
    ] = False,
) -> None:
    """Run the API server (applies migrations first unless KSTOCK_AUTO_MIGRATE=false)."""
    import os

    import uvicorn

    from kstock.app import STARTUP_CHECKS
    from kstock.cli.server import uvicorn_options
    from kstock.market.demo import database_is_empty, generate_demo

    if demo and "KSTOCK_FEED" not in os.environ:
        if workers == 1:
            os.environ["KSTOCK_FEED"] = "simulator"  # a live market on the demo data, in this one process
            get_settings.cache_clear()
        else:
            console.print("[yellow]--demo with several workers: run `kstock feed` beside them for live prices[/]")
    settings = get_settings()
    try:
        # Before the workers start, so that they all read the one development key rather than each making its own.
        settings.use_development_secret()
        settings.check_for_startup(*STARTUP_CHECKS)
    except ConfigurationError as exc:
        console.print(f"[red]refusing to start:[/] {exc}")
        raise typer.Exit(code=2) from exc

    async def prepare(engine: AsyncEngine) -> None:
        if settings.auto_migrate or demo:
            await migrate.upgrade(engine)
        if demo and await database_is_empty(engine):
            console.print("empty database: generating the demo dataset (once)")
            with _progress() as progress:
                summary = await generate_demo(
                    engine,
                    stocks=settings.demo_stocks,
                    years=settings.demo_years,
                    seed=settings.demo_seed,
                    replace=False,
                    progress=progress,
                )
            console.print(summary.as_table())

    _with_engine(settings, prepare)
    docs = f"  (docs: http://{host}:{port}/docs)" if settings.docs_on else ""
    console.print(f"kstock API on http://{host}:{port}{docs}")
    if settings.metrics_enabled and settings.metrics_port is not None:
        from kstock.gateway.metrics import serve_metrics

        # This process's metrics, or every worker's in prometheus_client's multiprocess mode.
        try:
            serve_metrics(settings.metrics_host, settings.metrics_port)
        except OSError as exc:
            console.print(f"[red]cannot serve metrics on {settings.metrics_host}:{settings.metrics_port}:[/] {exc}")
            raise typer.Exit(code=2) from exc
        console.print(f"metrics on http://{settings.metrics_host}:{settings.metrics_port}/metrics")
    if workers > 1 and worker_processes.supported():
        raise typer.Exit(code=worker_processes.run(host, port, workers))
    uvicorn.run("kstock.app:create_app_from_env", host=host, port=port, workers=workers, **uvicorn_options(settings))


@app.command()
def feed(
    source: Annotated[str, typer.Option(help="where prices come from: simulator")] = "simulator",
    speed: Annotated[float | None, typer.Option(help="market seconds per wall second (60: an hour a minute)")] = None,
    seed: Annotated[int | None, typer.Option(help="simulator seed (default KSTOCK_FEED_SEED)")] = None,
    demo_clock: Annotated[
        bool | None, typer.Option(help="a market clock of its own, always in session (default KSTOCK_FEED_DEMO_CLOCK)")
    ] = None,
) -> None:
    """Run the market feed: publish prices, order books and ticks to every API instance through Redis."""
    from kstock.feed.runner import run_feed

    if source != "simulator":
        console.print(f"[red]unknown source {source!r}[/]: the feed supports 'simulator'")
        raise typer.Exit(code=2)
    settings = get_settings()
    if settings.redis_url is None:
        console.print(
            "[red]kstock feed needs KSTOCK_REDIS_URL[/]: API instances receive the feed through Redis "
            "(for a single process, `kstock serve --demo` runs the feed inside the server)"
        )
        raise typer.Exit(code=2)
    updates: dict[str, object] = {"feed": "simulator"}
    for name, value in (("feed_speed", speed), ("feed_seed", seed), ("feed_demo_clock", demo_clock)):
        if value is not None:
            updates[name] = value
    settings = Settings.model_validate({**settings.model_dump(), **updates})
    console.print(f"kstock feed: simulator at {settings.feed_speed}x, publishing to {settings.redis_url}")
    asyncio.run(run_feed(settings))


@app.command()
def openapi(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="file to write (default: stdout)")] = None,
) -> None:
    """Print the OpenAPI document (JSON) that the API serves at /openapi.json."""
    import json

    from kstock.app import create_app

    text = json.dumps(create_app(get_settings()).openapi(), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


def main() -> None:  # pragma: no cover - console entry point
    app()
