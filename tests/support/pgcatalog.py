"""A PostgreSQL database's catalog read back as plain data (tables, columns, constraints, indexes,
comments), to compare with the model (tests/engines/test_pg_catalog.py) or with another database
(tests/migrate/)."""

from __future__ import annotations

ON_DELETE = {"r": "restrict", "c": "cascade", "n": "set null", "a": "no action", "d": "set default"}


def catalog(conn) -> dict:
    """Everything the model says, as the server has it, keyed by object name."""
    q = lambda sql, *p: conn.execute(sql, p or None).fetchall()  # noqa: E731
    tables = {
        r[0]
        for r in q("""SELECT c.relname FROM pg_class c
                                 JOIN pg_namespace n ON n.oid = c.relnamespace
                                 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')""")
    }
    out = {"tables": tables, "columns": {}, "constraints": {}, "indexes": {}, "comments": {}}
    for name, col, ctype, notnull, default, identity, comment in q("""
            SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   pg_get_expr(d.adbin, d.adrelid), a.attidentity,
                   col_description(c.oid, a.attnum)
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0
              AND NOT a.attisdropped ORDER BY c.relname, a.attnum"""):
        out["columns"].setdefault(name, []).append(
            {
                "name": col,
                "type": ctype,
                "not_null": notnull,
                "default": default,
                "identity": identity,
                "comment": comment,
            }
        )
    for table, con, kind, cols, ref_table, ref_cols, deltype, comment, definition in q("""
            SELECT c.relname, k.conname, k.contype,
                   ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(n, i)
                         JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n
                         ORDER BY u.i),
                   f.relname,
                   ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(n, i)
                         JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n
                         ORDER BY u.i),
                   k.confdeltype, obj_description(k.oid, 'pg_constraint'),
                   pg_get_constraintdef(k.oid)
            FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_class f ON f.oid = k.confrelid
            -- PG 18 lists NOT NULL constraints too; constraint triggers are checked below
            WHERE n.nspname = 'public' AND k.contype NOT IN ('n', 't')
            """):
        out["constraints"][con] = {
            "table": table,
            "kind": kind,
            "columns": tuple(cols),
            "ref_table": ref_table,
            "ref_columns": tuple(ref_cols or ()),
            "on_delete": ON_DELETE.get(deltype),
            "comment": comment,
            "definition": definition,
        }
    for table, index, unique, cols in q("""
            SELECT t.relname, i.relname, x.indisunique,
                   ARRAY(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY u(n, o)
                         JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.n
                         ORDER BY u.o)
            FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class t ON t.oid = x.indrelid
            JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE n.nspname = 'public'
              AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)"""):
        out["indexes"][index] = {"table": table, "unique": unique, "columns": tuple(cols)}
    for name, comment in q("""SELECT c.relname, obj_description(c.oid, 'pg_class')
                               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                               WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v')"""):
        out["comments"][name] = comment
    # The migration runner's table (schema version record) is not part of the model.
    runner = "schema_migrations"
    out["tables"].discard(runner)
    out["columns"].pop(runner, None)
    out["comments"].pop(runner, None)
    for key in ("constraints", "indexes"):
        out[key] = {k: v for k, v in out[key].items() if v["table"] != runner}
    return out
