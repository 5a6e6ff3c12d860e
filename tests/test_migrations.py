"""The schema changes only through Alembic: head must equal the models, exactly."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from handover.models import Base
from handover.store.db import alembic_config, migrate

pytestmark = pytest.mark.both_databases


def pending_differences(url: str) -> list:
    engine = create_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    return diff


def test_upgrade_head_on_an_empty_database_yields_the_models(db_url):
    migrate(db_url)
    assert pending_differences(db_url) == []
    engine = create_engine(db_url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert set(Base.metadata.tables) <= tables


def test_migrating_twice_is_harmless(db_url):
    migrate(db_url)
    migrate(db_url)
    assert pending_differences(db_url) == []


def test_replicas_starting_together_on_an_empty_database_migrate_it_once(baton_process, db_url):
    """`baton serve` migrates at start: three replicas racing on one empty database all come
    up, and the schema is there once, at head."""
    replicas = baton_process.together(3)
    assert all(replica.proc.poll() is None for replica in replicas)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    engine.dispose()
    head = ScriptDirectory.from_config(alembic_config(db_url)).get_current_head()
    assert versions == [head]
    assert pending_differences(db_url) == []
