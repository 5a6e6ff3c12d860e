"""Alembic environment: `baton migrate` and `baton serve` call it with the configured URL."""

import os

from alembic import context

from handover.models import Base
from handover.store.db import make_engine

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or os.environ.get(
        "DATABASE_URL", "sqlite:///baton.db"
    )


def run_migrations_offline() -> None:
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = _url()
    engine = make_engine(url)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        # SQLite cannot ALTER most things: batch mode rebuilds tables instead. Its DDL is
        # transactional too: one transaction (BEGIN IMMEDIATE, handover/store/db.py) holds the write
        # lock from reading the version to the last step, so replicas starting together
        # migrate one after the other, and the later ones find the schema at head.
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            transactional_ddl=True if sqlite else None,
            compare_type=True,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Replicas starting together: one migrates, the others wait, then find head.
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(72160419)")
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
