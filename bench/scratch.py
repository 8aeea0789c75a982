"""What the benchmarks share: a free port and a database of their own."""

import os
import socket
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ScratchDatabase:
    """The bench's own PostgreSQL database beside DATABASE_URL's (`name`, or `<prefix>_<pid>`), created
    and dropped here; or, when DATABASE_URL names no PostgreSQL database and `sqlite` is given, that
    SQLite file (nothing to create or drop)."""

    def __init__(self, prefix: str, *, name: str = "", sqlite: Path | None = None):
        given = os.environ.get("DATABASE_URL", "")
        self.postgres = given.startswith(("postgres://", "postgresql://"))
        if not self.postgres:
            if sqlite is None:
                raise SystemExit("DATABASE_URL must name a PostgreSQL database (the bench creates its own beside it)")
            self.name, self.url = str(sqlite), f"sqlite:///{sqlite}"
            return
        self.name = name or f"{prefix}_{os.getpid()}"
        self.admin_url = given
        self.url = urlunsplit(urlsplit(given)._replace(path=f"/{self.name}"))

    def _admin(self, sql: str, params=None) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql, params)

    def create(self) -> None:
        if self.postgres:
            self._admin(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        if self.postgres:
            self._admin(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [self.name],
            )
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}"')
