"""Bring a state database made by an earlier version of syncd up to date when it is opened.

`create_all` adds missing tables but never touches existing ones, so a column added to a
table later (always nullable, by rule) is added here with ALTER TABLE ... ADD COLUMN. Nothing
is ever dropped or rewritten: an older syncd reading the same database ignores the new
columns.

New tables take the `create_all` path: a table module registers them on `schema.metadata`
before the store creates its tables (e.g. syncd.state.crm_memory's `crm_objects` and
`crm_links`, imported by the store), so an older database gains them, empty, when opened
(tests/test_hubspot_floor.py opens a state without them). Their columns added later come
through `add_missing_columns` like any other.
"""

from __future__ import annotations

from sqlalchemy import Connection, MetaData, inspect, text


def add_missing_columns(
    conn: Connection, metadata: MetaData, schema: str | None = None
) -> list[str]:
    """Add each nullable column of `metadata`'s tables that the database's table lacks;
    returns them as `table.column`. A missing NOT NULL column is a programming error: new
    columns must be nullable so that existing rows stay valid."""
    inspector = inspect(conn)
    existing_tables = set(inspector.get_table_names(schema=schema))
    preparer = conn.dialect.identifier_preparer
    added: list[str] = []
    for table in metadata.sorted_tables:
        if table.name not in existing_tables:
            continue
        have = {column["name"] for column in inspector.get_columns(table.name, schema=schema)}
        for column in table.columns:
            if column.name in have:
                continue
            if not column.nullable:
                raise RuntimeError(f"{table.name}.{column.name}: a new column must be nullable")
            name = preparer.quote(table.name)
            if schema:
                name = f"{preparer.quote_schema(schema)}.{name}"
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(
                text(f"ALTER TABLE {name} ADD COLUMN {preparer.quote(column.name)} {kind}")
            )
            added.append(f"{table.name}.{column.name}")
    return added
