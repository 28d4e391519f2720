"""Look-alikes generated from pg_mlkit's own SQL and the catalog.

`names(c)` reads the SQL the extension runs - pg_proc.prosrc of its functions, its views'
definitions and the SQL string literals of src/*.rs - and picks out every word that names a
pg_catalog function, type or relation, an ml relation, and every operator symbol.
`public_sql(c, found)` then writes the look-alikes an attacker with CREATE on public plants, and
`temp_sql(c, found)` those any role plants in its own pg_temp:

  * functions: `public.<name>` with the argument types of every pg_catalog overload (for
    polymorphic and VARIADIC "any" ones, concrete variants: the types read off each call site of
    the extension's SQL, else a list of common types and the ml tables' row types);
  * types: `CREATE DOMAIN pg_temp.<name>` and `public.<name>` over the real type;
  * operators: `public.<op>` for every pg_catalog operator of that name over the types in use;
  * relations: temp views (and public views) named after each pg_catalog relation and each ml
    relation, reading the real one.

Each look-alike behaves as the real object does and calls `lk_rec(marker)` (conftest.RECORDER),
which raises a WARNING with conftest.MARKER, so a run can show that none of them ever ran."""
import itertools
import re

from .conftest import recorder_sql, rust_sql

# Type names the SQL grammar maps to pg_catalog itself: never looked up through search_path.
KEYWORD_TYPES = {"int", "integer", "int2", "smallint", "bigint", "real", "float", "double", "boolean", "numeric",
                 "decimal", "char", "character", "varchar", "timestamp", "time", "interval", "bit", "varbit", "dec"}
COMMON = ["text", "integer", "bigint", "double precision", "numeric", "jsonb", "boolean", "name", "regclass",
          "timestamp with time zone", "real[]", "double precision[]", "text[]", "bigint[]", "integer[]"]
ARRAY_ELEMS = ["text", "double precision", "real", "jsonb", "boolean", "integer", "bigint"]
MAX_VARIANTS = 48


def extension_sql(c):
    """The SQL texts pg_mlkit runs: its functions' bodies, its views, the Rust SQL literals."""
    texts = [r[0] for r in c.execute("""
        SELECT p.prosrc FROM pg_catalog.pg_proc p
          JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
                                     AND d.objid OPERATOR(pg_catalog.=) p.oid AND d.deptype OPERATOR(pg_catalog.=) 'e'
          JOIN pg_catalog.pg_extension e ON e.oid OPERATOR(pg_catalog.=) d.refobjid AND e.extname OPERATOR(pg_catalog.=) 'pg_mlkit'
          JOIN pg_catalog.pg_language l ON l.oid OPERATOR(pg_catalog.=) p.prolang
         WHERE l.lanname OPERATOR(pg_catalog.=) ANY ('{plpgsql,sql}'::pg_catalog.name[])""")]
    texts += [r[0] for r in c.execute("""
        SELECT pg_catalog.pg_get_viewdef(r.oid) FROM pg_catalog.pg_class r
         WHERE r.relnamespace OPERATOR(pg_catalog.=) 'ml'::pg_catalog.regnamespace AND r.relkind OPERATOR(pg_catalog.=) ANY ('{v,m}'::pg_catalog."char"[])""")]
    return texts + rust_sql()


def call_sites(texts, name):
    """The argument lists (top-level split) of every call `name(...)` in the texts."""
    out = []
    for t in texts:
        for m in re.finditer(r"(?<![\w.])" + re.escape(name) + r"\s*\(", t, re.I):
            depth, i, start, args, quote = 1, m.end(), m.end(), [], False
            while i < len(t) and depth:
                ch = t[i]
                if ch == "'":
                    quote = not quote
                elif not quote:
                    if ch == "(":
                        depth += 1
                    elif ch == ")":
                        depth -= 1
                    elif ch == "," and depth == 1:
                        args.append(t[start:i].strip())
                        start = i + 1
                i += 1
            last = t[start:i - 1].strip()
            if last or args:
                args.append(last)
            out.append(args)
    return out


def infer(arg, columns, rowtypes):
    """Candidate types of one call argument, read off its text."""
    a = arg.strip()
    m = re.search(r"::\s*([\w.\" ]+?(?:\[\])?)\s*$", a)
    if m:
        return [m.group(1).replace("pg_catalog.", "").strip('"')]
    if a.startswith("'"):
        return ["text"]
    if re.fullmatch(r"-?\d+", a):
        return ["integer"]
    if re.fullmatch(r"-?\d+\.\d*", a):
        return ["numeric"]
    low = a.lower()
    if low.startswith("count("):
        return ["bigint"]
    if low.startswith(("avg(", "sum(")):
        return ["numeric", "double precision", "bigint"]
    if low.startswith(("jsonb_build_object(", "to_jsonb(", "jsonb_")):
        return ["jsonb"]
    if low in ("current_user", "session_user"):
        return ["name"]
    if low in ("new", "old"):
        return rowtypes
    m = re.fullmatch(r"(?:\w+\.)?(\w+)", a)
    if m and m.group(1).lower() in columns:
        return sorted(columns[m.group(1).lower()])
    return ["text", "double precision", "bigint"]


def names(c):
    texts = extension_sql(c)
    words = {w.lower() for t in texts for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", t)}
    called = {w.lower() for t in texts for w in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(", t)}
    symbols = {s for t in texts for s in re.findall(r"[-+*/<>=~!@#%^&|?]+", re.sub(r"'[^']*'", "''", t))}
    symbols |= {"="}  # IN, CASE ... WHEN, IS DISTINCT FROM and = ANY use it too
    columns = {}
    for col, typ in c.execute("""
            SELECT a.attname::pg_catalog.text, pg_catalog.format_type(a.atttypid, NULL) FROM pg_catalog.pg_attribute a
              JOIN pg_catalog.pg_class r ON r.oid OPERATOR(pg_catalog.=) a.attrelid
             WHERE r.relnamespace OPERATOR(pg_catalog.=) 'ml'::pg_catalog.regnamespace AND a.attnum OPERATOR(pg_catalog.>) 0"""):
        columns.setdefault(col.lower(), set()).add(typ)
    rowtypes = [r[0] for r in c.execute("""
        SELECT r.oid::pg_catalog.regclass::pg_catalog.text FROM pg_catalog.pg_class r
         WHERE r.relnamespace OPERATOR(pg_catalog.=) 'ml'::pg_catalog.regnamespace AND r.relkind OPERATOR(pg_catalog.=) 'r'""")]
    return {"texts": texts, "words": words, "called": called, "symbols": symbols, "columns": columns, "rowtypes": rowtypes}


def qualify(t):
    """A type name as a look-alike's signature writes it (pg_catalog-qualified unless a keyword)."""
    arr = t.endswith("[]")
    base = t[:-2] if arr else t
    if base.split()[0] in KEYWORD_TYPES or base.startswith("ml.") or base.startswith('"'):
        q = base
    else:
        q = "pg_catalog." + ('"char"' if base == '"char"' else base)
    return q + ("[]" if arr else "")


def probe_type(c, expr):
    """The type PostgreSQL gives expr (set-returning allowed), or None if it does not resolve."""
    try:
        c.execute("BEGIN")
        c.execute(f"CREATE TEMP VIEW lk_probe AS SELECT {expr} AS r")
        t = c.execute("""SELECT pg_catalog.format_type(a.atttypid, NULL) FROM pg_catalog.pg_attribute a
                          WHERE a.attrelid OPERATOR(pg_catalog.=) 'pg_temp.lk_probe'::pg_catalog.regclass
                            AND a.attnum OPERATOR(pg_catalog.=) 1""").fetchone()[0]
        return t
    except Exception:
        return None
    finally:
        c.execute("ROLLBACK")


def function_variants(c, found):
    """(name, [arg types], return type, retset, volatility) of every function look-alike."""
    overloads = c.execute("""
        SELECT p.proname::pg_catalog.text, p.pronargs, p.provariadic::pg_catalog.regtype::pg_catalog.text,
               ARRAY(SELECT pg_catalog.format_type(t, NULL) FROM pg_catalog.unnest(p.proargtypes::pg_catalog.oid[]) t),
               pg_catalog.format_type(p.prorettype, NULL), p.proretset, p.provolatile::pg_catalog.text,
               ARRAY(SELECT y.typtype::pg_catalog.text FROM pg_catalog.unnest(p.proargtypes::pg_catalog.oid[]) t
                                  JOIN pg_catalog.pg_type y ON y.oid OPERATOR(pg_catalog.=) t)
          FROM pg_catalog.pg_proc p
         WHERE p.pronamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace AND p.prokind OPERATOR(pg_catalog.=) 'f'
           AND p.proname OPERATOR(pg_catalog.=) ANY (%s)""", (sorted(found["called"]),)).fetchall()
    out = {}
    bad = {"internal", "cstring", "trigger", "event_trigger", "language_handler", "fdw_handler", "table_am_handler",
           "index_am_handler", "tsm_handler", "void", "opaque", "unknown", "record"}
    for name, nargs, variadic, args, ret, retset, vol, kinds in overloads:
        if set(args) & bad or ret in bad - {"void"} or ret == "record":
            continue
        if "p" not in kinds and ret not in ("anyelement", "anyarray") and "p" != ret:
            if not (variadic != "-" and variadic != "0"):
                out[(name, tuple(args))] = (ret, retset, vol)
                continue
        # Polymorphic or variadic: concrete variants from the call sites, else common types.
        sites = call_sites(found["texts"], name) or [[""] * nargs]
        if variadic == "-" and nargs == 1:  # unnest(a, b, ...) in FROM is one call per argument
            sites = [[a] for site in sites for a in site]
        combos = []
        for site in sites:
            if variadic == "-" and len(site) != nargs:
                continue
            per = []
            for i, a in enumerate(site):
                declared = args[min(i, len(args) - 1)]
                if declared in ("anyarray", "anycompatiblearray"):
                    cands = [t for t in infer(a, found["columns"], found["rowtypes"]) if t.endswith("[]")] or \
                            [t + "[]" for t in ARRAY_ELEMS]
                elif declared.startswith("any") or declared == '"any"':
                    cands = infer(a, found["columns"], found["rowtypes"]) if a else COMMON + found["rowtypes"]
                elif variadic not in ("-", "0") and i >= len(args) - 1:
                    cands = [declared[:-2] if declared.endswith("[]") else declared]
                else:
                    cands = [declared]
                per.append(cands)
            for combo in itertools.islice(itertools.product(*per), MAX_VARIANTS):
                combos.append(tuple(combo))
        for combo in dict.fromkeys(combos):
            if not combo:
                continue
            expr = f"pg_catalog.{name}(" + ", ".join(f"NULL::{qualify(t)}" for t in combo) + ")"
            rt = probe_type(c, expr)
            if rt and rt not in bad and rt != "record":
                out[(name, combo)] = (rt, retset, vol)
    return out


def function_sql(variants):
    sql = []
    for n, ((name, args), (ret, retset, vol)) in enumerate(sorted(variants.items())):
        sig = ", ".join(qualify(t) for t in args)
        call = f"pg_catalog.{name}(" + ", ".join(f"${i + 1}" for i in range(len(args))) + ")"
        vol = {"i": "IMMUTABLE", "s": "STABLE"}.get(vol, "VOLATILE")
        marker = f"function public.{name}({', '.join(args)})".replace("'", "")
        if retset:
            body = f"BEGIN PERFORM public.lk_rec('{marker}'); RETURN QUERY SELECT {call}; END"
            rs = f"SETOF {qualify(ret)}"
        else:
            body = f"BEGIN PERFORM public.lk_rec('{marker}'); RETURN {call}; END"
            rs = qualify(ret)
        sql.append(f"CREATE OR REPLACE FUNCTION public.{name}({sig}) RETURNS {rs} LANGUAGE plpgsql {vol} AS $lk${body}$lk$;")
    return sql


def type_names(c, found):
    return [r[0] for r in c.execute("""
        SELECT t.typname::pg_catalog.text FROM pg_catalog.pg_type t
         WHERE t.typnamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace
           AND t.typtype OPERATOR(pg_catalog.=) ANY ('{b,e,r}'::pg_catalog."char"[])
           AND t.typname OPERATOR(pg_catalog.=) ANY (%s) AND pg_catalog.left(t.typname, 1) OPERATOR(pg_catalog.<>) '_'
           AND t.typname OPERATOR(pg_catalog.<>) ALL (%s)
         ORDER BY 1""", (sorted(found["words"]), sorted(KEYWORD_TYPES | {"char"}))).fetchall()]


def domain_sql(types, schema):
    return [f"CREATE DOMAIN {schema}.{t} AS pg_catalog.{t} CHECK ({schema}.lk_rec('type {schema}.{t}'));" for t in types]


def operator_sql(c, found):
    types = set(COMMON) | {t for ts in found["columns"].values() for t in ts}
    ops = c.execute("""
        SELECT o.oprname::pg_catalog.text, pg_catalog.format_type(o.oprleft, NULL), pg_catalog.format_type(o.oprright, NULL),
               pg_catalog.format_type(o.oprresult, NULL), o.oprcode::pg_catalog.regproc::pg_catalog.text
          FROM pg_catalog.pg_operator o
         WHERE o.oprnamespace OPERATOR(pg_catalog.=) 'pg_catalog'::pg_catalog.regnamespace AND o.oprkind OPERATOR(pg_catalog.=) 'b'
           AND o.oprname OPERATOR(pg_catalog.=) ANY (%s)
           AND pg_catalog.format_type(o.oprleft, NULL) OPERATOR(pg_catalog.=) ANY (%s)
           AND pg_catalog.format_type(o.oprright, NULL) OPERATOR(pg_catalog.=) ANY (%s)
         ORDER BY 1, 2, 3""", (sorted(found["symbols"]), sorted(types), sorted(types))).fetchall()
    sql = []
    for n, (op, left, right, res, code) in enumerate(ops):
        fn = f"public.lk_op_{n}"
        code = code if code.startswith("pg_catalog.") else "pg_catalog." + code
        marker = f"operator public.{op}({left}, {right})".replace("'", "")
        sql.append(f"CREATE OR REPLACE FUNCTION {fn}({qualify(left)}, {qualify(right)}) RETURNS {qualify(res)} LANGUAGE plpgsql IMMUTABLE "
                   f"AS $lk$BEGIN PERFORM public.lk_rec('{marker}'); RETURN {code}($1, $2); END$lk$;")
        sql.append(f"CREATE OPERATOR public.{op} (LEFTARG = {qualify(left)}, RIGHTARG = {qualify(right)}, FUNCTION = {fn});")
    return sql


def relation_sql(c, found, schema):
    """Views named after each pg_catalog and ml relation the SQL names, reading the real one
    (pseudo-typed columns left out), recording on every read and write."""
    rels = c.execute("""
        SELECT n.nspname::pg_catalog.text, r.relname::pg_catalog.text,
               pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum)
          FROM pg_catalog.pg_class r JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) r.relnamespace
          JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) r.oid AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
          JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid AND t.typtype OPERATOR(pg_catalog.<>) 'p'
         WHERE n.nspname OPERATOR(pg_catalog.=) ANY ('{pg_catalog,ml}'::pg_catalog.name[])
           AND r.relkind OPERATOR(pg_catalog.=) ANY ('{r,v,m}'::pg_catalog."char"[])
           AND r.relname OPERATOR(pg_catalog.=) ANY (%s)
         GROUP BY 1, 2 ORDER BY 1, 2""", (sorted(found["words"]),)).fetchall()
    view = "TEMP VIEW " if schema == "pg_temp" else f"VIEW {schema}."
    sql = [f"""CREATE OR REPLACE FUNCTION {schema}.lk_write() RETURNS trigger LANGUAGE plpgsql
               AS $lk$BEGIN PERFORM {schema}.lk_rec(pg_catalog.concat('write ', TG_TABLE_SCHEMA, '.', TG_TABLE_NAME)); RETURN NULL; END$lk$;"""]
    for nsp, rel, cols in rels:
        name = rel if schema == "pg_temp" else rel
        sql.append(f"CREATE {view}{name} AS SELECT {cols} FROM {nsp}.{rel} WHERE {schema}.lk_rec('relation {schema}.{rel}');")
        sql.append(f"CREATE TRIGGER lk_write INSTEAD OF INSERT OR UPDATE OR DELETE ON {schema}.{rel} "
                   f"FOR EACH ROW EXECUTE FUNCTION {schema}.lk_write();")
    return sql, [r[1] for r in rels]


def public_sql(c, found):
    """What a role with CREATE on public plants (once, for every session)."""
    sql = [recorder_sql("public")]
    variants = function_variants(c, found)
    sql += function_sql(variants)
    types = type_names(c, found)
    sql += domain_sql(types, "public")
    sql += operator_sql(c, found)
    rels, relnames = relation_sql(c, found, "public")
    sql += rels
    return sql, {"functions": len(variants), "types": types, "relations": relnames}


def temp_sql(c, found):
    """What any role plants in its own pg_temp (per session)."""
    sql = [recorder_sql("pg_temp")]
    sql += domain_sql(type_names(c, found), "pg_temp")
    rels, _ = relation_sql(c, found, "pg_temp")
    return sql + rels


def execute_all(conn, statements):
    """Runs the statements; returns those PostgreSQL refused (a look-alike it cannot make)."""
    failed = []
    for s in statements:
        try:
            conn.execute("SAVEPOINT lk") if not conn.autocommit else None
            conn.execute(s)
        except Exception as e:  # noqa: BLE001 - report, keep planting
            failed.append((s[:160], str(e).splitlines()[0]))
            if not conn.autocommit:
                conn.execute("ROLLBACK TO SAVEPOINT lk")
    return failed
