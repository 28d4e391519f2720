#!/usr/bin/env python3
"""Composes the upgrade script of the release in development, so that every schema object is
written once, in sql/schema/ (CONTRIBUTING.md, "Cutting a release").

    python3 scripts/compose_upgrade.py        # writes sql/pg_mlkit--PREV--CUR.sql for each delta

A delta, sql/upgrade/PREV--CUR.sql, holds only what an upgrade does beyond the install: data
migrations, drops, ALTERs. Two directives pull in what the install defines:

    -- @functions        every function of sql/schema/*.sql (they are CREATE OR REPLACE, so
                         running them again is the upgrade), with its COMMENT, in install order
    -- @include NAME     the statements between "-- @begin NAME" and "-- @end NAME" in
                         sql/schema/*.sql (a new table, a new trigger), its functions left
                         to -- @functions
    -- @rust NAME        the CREATE FUNCTION of ml.NAME (or SCHEMA.NAME, when NAME has one) as its #[pg_extern(sql = ...)] in src/
                         writes it (a Rust function whose signature changed, after a DROP),
                         or the CREATE FUNCTION / AGGREGATE / DOMAIN / OPERATOR (CLASS) and COMMENT of an extension_sql!

The result is written next to it as sql/pg_mlkit--PREV--CUR.sql (ignored by git: it is built,
by scripts/install.sh and scripts/package.sh, before cargo pgrx copies it). Released upgrade
scripts are frozen in sql/released/ and copied into place here too. The upgrade test
(scripts/test_upgrade.sh) checks that the composed script gives the schema of a fresh install."""
import gzip
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCHEMA = sorted((ROOT / "sql" / "schema").glob("*.sql"))


def statements(text):
    """The top-level statements of SQL text, each with the comment lines just before it."""
    out, start, i, n = [], 0, 0, len(text)
    while i < n:
        c = text[i]
        if c == "'":
            i += 1
            while i < n and not (text[i] == "'" and text[i + 1:i + 2] != "'"):
                i += 2 if text[i] == "'" else 1
            i += 1
        elif text.startswith("--", i):
            i = text.find("\n", i) if text.find("\n", i) >= 0 else n
        elif c == "$":
            m = re.match(r"\$[A-Za-z_]*\$", text[i:])
            if m:
                end = text.find(m.group(0), i + len(m.group(0)))
                i = (end + len(m.group(0))) if end >= 0 else n
            else:
                i += 1
        elif c == ";":
            out.append(text[start:i + 1].strip("\n"))
            start = i + 1
            i += 1
        else:
            i += 1
    return out


def code_of(stmt):
    """A statement without the comment lines before it (its own text, bodies included, as is)."""
    lines = stmt.split("\n")
    while lines and (not lines[0].strip() or lines[0].lstrip().startswith("--")):
        lines.pop(0)
    return "\n".join(lines).strip()


def functions():
    parts = []
    for path in SCHEMA:
        chunk = []
        for s in statements(path.read_text()):
            code = code_of(s)
            if is_function(code):
                chunk.append(code)
            elif code.startswith("CREATE FUNCTION ml."):
                sys.exit(f"{path.name}: write functions as CREATE OR REPLACE FUNCTION (the upgrade runs them again): {code[:60]}")
        if chunk:
            parts.append(f"-- sql/schema/{path.name}\n\n" + "\n\n".join(chunk))
    return "\n\n".join(parts)


def sql_function_names():
    """The names of the functions sql/schema/ defines (C functions it only comments are not)."""
    names = set()
    for path in SCHEMA:
        names.update(re.findall(r"^CREATE OR REPLACE FUNCTION ml\.(\w+)\(", path.read_text(), re.M))
    return names


def is_function(code):
    """A function sql/schema/ defines, or the COMMENT on one; the COMMENT on a C function
    (a support function of a type or aggregate) belongs to its block instead."""
    if code.startswith("CREATE OR REPLACE FUNCTION ml."):
        return True
    m = re.match(r"COMMENT ON FUNCTION ml\.(\w+)\b", code)
    return bool(m) and m.group(1) in sql_function_names()


def block(name):
    """The statements of block NAME, but its functions (which -- @functions brings)."""
    for path in SCHEMA:
        m = re.search(rf"^-- @begin {re.escape(name)}\b[^\n]*\n(.*?)^-- @end {re.escape(name)}\n", path.read_text(), re.S | re.M)
        if m:
            kept = [s for s in statements(m.group(1)) if not is_function(code_of(s))]
            return f"-- sql/schema/{path.name}: {name}\n\n" + "\n\n".join(kept)
    sys.exit(f"no block '-- @begin {name}' in sql/schema/")


def rust_function(name):
    """The CREATE FUNCTION text a #[pg_extern(sql = ...)] in src/ gives ml.NAME, as pgrx
    writes it into the install script (its @FUNCTION_NAME@ the wrapper of the Rust fn); for
    an overloaded name, every overload, in the order of the source. `NAME(first args` picks
    the overloads whose CREATE FUNCTION starts so (`hash_bands(hash bit varying`). A function
    or aggregate written in an extension_sql! block comes as its CREATE statement with the
    COMMENT that follows it."""
    found = []
    if "(" not in name:
        name += "("
    # A name without a schema is in ml.
    if "." not in name.split("(")[0]:
        name = "ml." + name
    for path in sorted((ROOT / "src").rglob("*.rs")):
        text = path.read_text()
        for m in re.finditer(r'r#"(.*?)"#', text, re.S):
            if text[:m.start()].rstrip().endswith("extension_sql!("):
                found += extension_sql_objects(path, m.group(1), name)
            elif f"CREATE FUNCTION {name}" in m.group(1):
                fn = re.search(r"\bfn (\w+)\(", text[m.end():]).group(1)
                found.append(f"-- {path.relative_to(ROOT)}\n" + m.group(1).strip("\n").replace("@FUNCTION_NAME@", f"{fn}_wrapper"))
    if not found:
        sys.exit(f"no #[pg_extern] or extension_sql! in src/ creates {name}...")
    return "\n\n".join(found)


def extension_sql_objects(path, sql, name):
    """The CREATE FUNCTION / AGGREGATE / DOMAIN / OPERATOR / OPERATOR CLASS ml.NAME statements
    of an extension_sql! block, each with the COMMENT ON it that follows."""
    out, stmts = [], [code_of(s) for s in statements(sql)]
    base = name.split("(")[0]
    for i, code in enumerate(stmts):
        kind = next((k for k in ("FUNCTION", "AGGREGATE") if code.startswith(f"CREATE {k} {name}")), None)
        if kind is None:
            kind = next((k for k in ("DOMAIN", "OPERATOR CLASS", "OPERATOR") if code.startswith(f"CREATE {k} {base} ")), None)
        if kind is None:
            continue
        text = code
        if i + 1 < len(stmts) and re.match(rf"COMMENT ON {kind} {re.escape(base)}[ (]", stmts[i + 1]):
            text += "\n" + stmts[i + 1]
        out.append(f"-- {path.relative_to(ROOT)}\n{text}")
    return out


def compose(delta):
    out = []
    for line in delta.read_text().split("\n"):
        if line.strip().startswith("-- @functions"):
            out.append(functions())
        elif line.strip().startswith("-- @include "):
            out.append(block(line.strip()[len("-- @include "):].strip()))
        elif line.strip().startswith("-- @rust "):
            out.append(rust_function(line.strip()[len("-- @rust "):].strip()))
        else:
            out.append(line)
    return "\n".join(out).rstrip("\n") + "\n"


def main():
    for frozen in sorted((ROOT / "sql" / "released").glob("pg_mlkit--*--*.sql.gz")):
        (ROOT / "sql" / frozen.name[:-3]).write_bytes(gzip.decompress(frozen.read_bytes()))
    for delta in sorted((ROOT / "sql" / "upgrade").glob("*--*.sql")):
        target = ROOT / "sql" / f"pg_mlkit--{delta.name}"
        text = ("-- Composed by scripts/compose_upgrade.py from sql/upgrade/" + delta.name
                + " and sql/schema/: edit those, not this file.\n" + compose(delta))
        if not target.exists() or target.read_text() != text:
            target.write_text(text)


if __name__ == "__main__":
    main()
