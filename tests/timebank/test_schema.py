"""The shipped migrations build exactly the models' tables, and the app can tell how a database compares."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from ledger.models import metadata
from timebank import schema


def test_the_migrations_create_exactly_the_tables_the_models_describe(migrated_database_url, engine_for):
    with engine_for(migrated_database_url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def _named(constraints) -> set[str]:
    return {constraint.name for constraint in constraints if constraint.name}


def test_every_check_and_unique_constraint_and_index_carries_the_models_name(migrated_database_url, engine_for):
    # Autogenerate ignores check constraints, so compare the names the database reports with the models'.
    inspector = sa.inspect(engine_for(migrated_database_url))
    for table in metadata.sorted_tables:
        expected_checks = _named(c for c in table.constraints if isinstance(c, sa.CheckConstraint))
        expected_uniques = _named(c for c in table.constraints if isinstance(c, sa.UniqueConstraint))
        assert _named_rows(inspector.get_check_constraints(table.name)) == expected_checks, table.name
        assert _named_rows(inspector.get_unique_constraints(table.name)) == expected_uniques, table.name
        indexes = {row["name"] for row in inspector.get_indexes(table.name) if "duplicates_constraint" not in row}
        assert indexes == _named(table.indexes), table.name


def _named_rows(rows) -> set[str]:
    return {row["name"] for row in rows if row["name"]}


def test_a_database_is_empty_before_the_first_upgrade_and_up_to_date_after(empty_database_url, engine_for):
    engine = engine_for(empty_database_url)
    assert schema.schema_state(engine) is schema.SchemaState.EMPTY
    assert schema.current_revision(engine) is None
    schema.upgrade(empty_database_url)
    assert schema.schema_state(engine) is schema.SchemaState.UP_TO_DATE
    assert schema.current_revision(engine) == schema.head_revision()


def test_upgrading_an_up_to_date_database_changes_nothing(migrated_database_url, engine_for):
    schema.upgrade(migrated_database_url)
    assert schema.schema_state(engine_for(migrated_database_url)) is schema.SchemaState.UP_TO_DATE


def test_a_database_one_revision_behind_the_code_is_outdated(empty_database_url, engine_for, code_one_revision_ahead):
    shipped_head, head = code_one_revision_ahead
    schema.upgrade(empty_database_url, shipped_head)
    engine = engine_for(empty_database_url)
    assert schema.head_revision() == head
    assert schema.schema_state(engine) is schema.SchemaState.OUTDATED
    schema.upgrade(empty_database_url)
    assert schema.schema_state(engine) is schema.SchemaState.UP_TO_DATE


def test_a_migration_that_fails_half_way_leaves_the_database_as_it_was(
    migrated_database_url, engine_for, code_with_a_migration_that_fails_half_way
):
    shipped_head, _ = code_with_a_migration_that_fails_half_way
    with pytest.raises(RuntimeError, match="half-way"):
        schema.upgrade(migrated_database_url)
    engine = engine_for(migrated_database_url)
    assert schema.current_revision(engine) == shipped_head
    assert "test_probe" not in sa.inspect(engine).get_table_names()


def test_a_database_at_a_revision_the_code_does_not_know_is_ahead(migrated_database_url, engine_for):
    engine = engine_for(migrated_database_url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = 'from-the-future'"))
    assert schema.schema_state(engine) is schema.SchemaState.AHEAD


def test_the_migrations_downgrade_to_an_empty_database(migrated_database_url, engine_for):
    from alembic import command

    command.downgrade(schema.alembic_config(migrated_database_url), "base")
    engine = engine_for(migrated_database_url)
    assert set(sa.inspect(engine).get_table_names()) == {"alembic_version"}
    assert schema.schema_state(engine) is schema.SchemaState.EMPTY


def test_a_database_that_cannot_be_reached_is_reported_not_raised(tmp_path, engine_for):
    engine = engine_for(f"sqlite:///{tmp_path / 'no-such-folder' / 'x.sqlite'}")
    status = schema.database_status(engine)
    assert status == schema.DatabaseStatus(reachable=False, schema=None)
    assert not status.healthy


def test_percent_signs_in_a_database_url_survive_the_alembic_configuration():
    url = "postgresql://root@/timebank?host=/var/run/postgresql&options=-csearch_path%3Dtest"
    assert schema.alembic_config(url).get_main_option("sqlalchemy.url") == url


def test_the_migrations_live_inside_the_package():
    assert schema.MIGRATIONS_PATH.parent.name == "timebank"
    assert (schema.MIGRATIONS_PATH / "env.py").is_file()
    assert schema.head_revision() in schema.known_revisions()
