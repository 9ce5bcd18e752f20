"""The only module that imports apsw.

``Database`` opens connections with Salon's pragmas, hands out one per
thread, runs the numbered migrations in ``migrations/`` and offers a
``transaction()`` that takes the write lock up front (``BEGIN IMMEDIATE``),
so concurrent writers queue on ``busy_timeout`` instead of failing on a
lock upgrade.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import apsw

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
Row = dict[str, Any]
Params = Sequence[Any] | dict[str, Any]

PRAGMAS = (
    # busy_timeout first: switching to WAL needs a lock, and a process starting at the
    # same moment as another must wait for it rather than fail with "database is locked".
    "PRAGMA busy_timeout=5000",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-16000",
)

IntegrityError = apsw.ConstraintError
QueryInterrupted = apsw.InterruptError


def _dict_row(cursor: apsw.Cursor, row: tuple[Any, ...]) -> Row:
    return {name: value for (name, _), value in zip(cursor.getdescription(), row, strict=True)}


class Database:
    """A SQLite file, with one apsw connection per thread."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._local = threading.local()

    def connect(self) -> apsw.Connection:
        """A new connection with Salon's pragmas; callers own and close it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = apsw.Connection(str(self.path))
        for pragma in PRAGMAS:
            conn.execute(pragma).fetchall()
        conn.row_trace = _dict_row
        return conn

    @property
    def conn(self) -> apsw.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self.connect()
        return conn

    def release(self) -> None:
        """End this thread's request: roll back anything a failed view left open."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and not conn.in_transaction:
            return
        if conn is not None:
            conn.execute("ROLLBACK")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- queries ----------------------------------------------------------------

    def all(self, sql: str, params: Params = ()) -> list[Row]:
        return list(self.conn.execute(sql, params))

    def one(self, sql: str, params: Params = ()) -> Row | None:
        for row in self.conn.execute(sql, params):
            return row
        return None

    def value(self, sql: str, params: Params = ()) -> Any:
        row = self.one(sql, params)
        return None if row is None else next(iter(row.values()))

    def execute(self, sql: str, params: Params = ()) -> int:
        """Run a statement; return the last inserted rowid."""
        self.conn.execute(sql, params).fetchall()
        return self.conn.last_insert_rowid()

    def changes(self) -> int:
        return self.conn.changes()

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; nested use joins the outer one."""
        conn = self.conn
        if conn.in_transaction:
            yield self
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def time_limit(self, milliseconds: int) -> Iterator[None]:
        """Interrupt a long query on this connection after ``milliseconds``."""
        conn = self.conn
        deadline = time.monotonic() + milliseconds / 1000

        def progress() -> bool:
            return time.monotonic() > deadline

        conn.set_progress_handler(progress, 2000)
        try:
            yield
        finally:
            conn.set_progress_handler(None)

    # -- schema -----------------------------------------------------------------

    def migrate(self, folder: Path = MIGRATIONS) -> list[str]:
        """Apply the numbered ``*.sql`` files not yet recorded; return their names."""
        conn = self.conn
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name TEXT PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT (datetime('now')))"
        )
        done = {row["name"] for row in self.all("SELECT name FROM schema_migrations")}
        applied = []
        for path in sorted(folder.glob("[0-9][0-9][0-9][0-9]_*.sql")):
            if path.name in done:
                continue
            with self.transaction():
                conn.execute(path.read_text())
                self.execute("INSERT INTO schema_migrations (name) VALUES (?)", (path.name,))
            log.info("applied migration %s", path.name)
            applied.append(path.name)
        return applied

    def schema(self) -> list[Row]:
        """Every schema object but SQLite's own, for comparing databases."""
        return self.all(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema"
            " WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
        )


def init_app(app: Any) -> None:
    """Attach the app's ``Database`` and release the thread's connection after each request."""
    database = Database(app.config["DATABASE"])
    app.extensions["salon.db"] = database
    app.teardown_appcontext(lambda _exc: database.release())


def get_db() -> Database:
    from flask import current_app

    return current_app.extensions["salon.db"]
