"""Migrations apply from empty to head on SQLite and PostgreSQL, and match the models."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_appbuilder import Model
from sqlalchemy import create_engine, inspect, text

from tests.conftest import DATABASE_URL, IS_POSTGRES, make_config

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")


def _diff(engine):
    import app.models  # noqa: F401

    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, Model.metadata)


def _upgrade_fresh(url: str):
    from flask_migrate import downgrade, upgrade

    from app import create_app
    from app.extensions import db

    scratch = create_app(make_config(SQLALCHEMY_DATABASE_URI=url))
    with scratch.app_context():
        upgrade(directory=MIGRATIONS)
        tables = set(inspect(db.engine).get_table_names())
        diff = _diff(db.engine)
        downgrade(directory=MIGRATIONS, revision="base")
        after_down = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        upgrade(directory=MIGRATIONS)
        db.engine.dispose()
    return tables, diff, after_down


def test_sqlite_from_empty_to_head_and_back(tmp_path):
    tables, diff, after_down = _upgrade_fresh(f"sqlite:///{tmp_path / 'm.db'}")
    assert {"tenant", "product", "orders", "ab_user", "ab_role", "ab_api_key"} <= tables
    assert diff == []
    assert after_down == set()


@pytest.mark.skipif(not IS_POSTGRES, reason="PostgreSQL not configured (DATABASE_URL)")
def test_postgres_from_empty_to_head_and_back():
    name = f"closer_mig_{uuid.uuid4().hex[:8]}"
    admin = create_engine(DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = DATABASE_URL.rsplit("/", 1)[0] + f"/{name}"
        tables, diff, after_down = _upgrade_fresh(url)
        assert {"tenant", "product", "orders", "ab_user"} <= tables
        assert diff == []
        assert after_down == set()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_session_database_matches_models(app):
    """The database the suite runs on (PostgreSQL in CI) has no pending autogenerate diff."""
    from app.extensions import db

    with app.app_context():
        assert _diff(db.engine) == []


def test_tenant_tables_have_indexed_not_null_tenant_id(app):
    from app.extensions import db
    from app.models import tenant_models

    with app.app_context():
        insp = inspect(db.engine)
        for model in tenant_models():
            cols = {c["name"]: c for c in insp.get_columns(model.__tablename__)}
            assert cols["tenant_id"]["nullable"] is False, model.__tablename__
            indexed = {tuple(i["column_names"]) for i in insp.get_indexes(model.__tablename__)}
            uniques = {tuple(u["column_names"]) for u in insp.get_unique_constraints(model.__tablename__)}
            assert any(cols_[0] == "tenant_id" for cols_ in indexed | uniques), model.__tablename__
