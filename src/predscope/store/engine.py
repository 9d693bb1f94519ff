"""Opening a store: where it lives, how SQLite is tuned for several writers, and transactions.

SQLite runs in WAL mode with a busy timeout, and every write transaction starts with
``BEGIN IMMEDIATE``: two processes writing at once then queue on the write lock at BEGIN instead of
one failing when it tries to upgrade a read lock. A lock held past the timeout becomes
``StoreBusyError``. PostgreSQL needs none of this.

``synchronous = NORMAL`` under WAL is a deliberate speed choice: a commit appends to the WAL without
waiting for an fsync (the WAL is synced at checkpoints), so many small commits do not each wait on
the disk. It is safe against corruption: an application crash loses nothing, and a power loss or
OS crash can lose the last committed transactions but never leaves a half-written store. The
syncs left are the checkpoint's: the commit that takes the WAL past 1,000 pages copies it into the
database file and syncs both (0.3 s for the 60 MB of a run's rewritten columns), which is why large
derived writes rewrite unchanged bytes in place (``_util.rewritten``) rather than anew.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry

from predscope.exceptions import StoreBusyError, StoreError
from predscope.store.migrate import MIGRATIONS, Migration, current_version, migrate

DB_FILENAME = "predscope.db"
DEFAULT_BUSY_TIMEOUT = 30.0
_READ_ONLY = "predscope_read_only"


def default_home() -> Path:
    env = os.environ.get("PREDSCOPE_HOME")
    return Path(env).expanduser() if env else Path.home() / ".predscope"


def resolve_location(location: str | os.PathLike[str] | None) -> str:
    """A folder (created on first use) becomes a SQLite URL inside it; a URL passes through."""
    if location is None:
        location = default_home()
    text_location = os.fspath(location)
    if "://" in text_location:
        try:
            url = make_url(text_location)
        except ArgumentError as exc:
            raise StoreError(
                f"store location {text_location!r}: not a valid database URL ({exc}) - pass a "
                "folder or a URL such as postgresql+psycopg://user@host/db"
            ) from exc
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        return url.render_as_string(hide_password=False)
    folder = Path(text_location).expanduser()
    if folder.suffix == ".db" and not folder.is_dir():
        raise StoreError(
            f"store location {folder}: expected a folder, got a database file path - pass the "
            "folder that holds (or will hold) predscope.db"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"store location {folder}: cannot create the folder ({exc}) - choose a writable "
            "folder or set PREDSCOPE_HOME"
        ) from exc
    return f"sqlite:///{(folder / DB_FILENAME).resolve()}"


def _is_busy(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", exc)
    if not isinstance(orig, sqlite3.OperationalError):
        return False
    message = str(orig).lower()
    return "locked" in message or "busy" in message


class Store:
    """An opened, migrated store. ``begin()`` is one write transaction, ``read()`` a read one."""

    def __init__(self, engine: Engine, url: str, busy_timeout: float) -> None:
        self.engine = engine
        self.url = url
        self.busy_timeout = busy_timeout

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def location(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._translate_errors(), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A transaction that does not take SQLite's write lock (readers never queue)."""
        with self._translate_errors(), self.engine.connect() as conn:
            conn = conn.execution_options(**{_READ_ONLY: True})
            with conn.begin():
                yield conn

    def schema_version(self) -> int:
        with self.read() as conn:
            return current_version(conn)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _translate_errors(self) -> Iterator[None]:
        try:
            yield
        except OperationalError as exc:
            if _is_busy(exc):
                raise StoreBusyError(
                    f"store {self.location}: another process held the write lock for more than "
                    f"{self.busy_timeout:g} s - wait for it to finish (or stop it) and retry"
                ) from exc
            raise StoreError(
                f"store {self.location}: {exc.orig} - check that the database is reachable and "
                "the location is right"
            ) from exc


def _ensure_wal(cur: sqlite3.Cursor, busy_timeout: float) -> None:
    """Put the database file in WAL mode (a property of the file, so usually already done).

    Switching a file to WAL needs an exclusive lock, and SQLite answers "database is locked" at
    once, without its busy handler, when another connection is switching the same new file: two
    processes opening a brand-new store together hit that. So retry, with backoff, for as long as
    the busy timeout allows.
    """
    if str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
        return
    deadline = time.monotonic() + busy_timeout
    delay = 0.002
    while True:
        try:
            cur.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def _tune_sqlite(engine: Engine, busy_timeout: float) -> None:
    timeout_ms = int(busy_timeout * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
        # Autocommit at the driver level: SQLAlchemy's "begin" hook below issues BEGIN itself.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {timeout_ms}")
        _ensure_wal(cur, busy_timeout)
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(_READ_ONLY):
            conn.exec_driver_sql("BEGIN DEFERRED")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": busy_timeout, "check_same_thread": False}
        )
        _tune_sqlite(engine, busy_timeout)
        return engine
    return create_engine(url, pool_pre_ping=True)


def open_store(
    location: str | os.PathLike[str] | None = None,
    *,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    migrations: Sequence[Migration] = MIGRATIONS,
) -> Store:
    """Open (creating or upgrading as needed) the store at ``location``."""
    url = resolve_location(location)
    try:
        engine = make_engine(url, busy_timeout=busy_timeout)
    except ArgumentError as exc:
        raise StoreError(f"store {url}: cannot use this URL ({exc})") from exc
    store = Store(engine, url, busy_timeout)
    target = migrations[-1].version if migrations else 0
    try:
        # Check under a read transaction first, so opening an up-to-date store never waits for
        # the write lock; migrate() checks again under the lock.
        with store.read() as conn:
            up_to_date = current_version(conn) == target
        if not up_to_date:
            with store.begin() as conn:
                migrate(conn, migrations, location=store.location)
    except StoreError:
        engine.dispose()
        raise
    return store
