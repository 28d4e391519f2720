"""Everything about schema ml that an install defines, as comparable text: two databases
with the same snapshot have the same schema (tables, columns in order, constraints, indexes,
triggers and whether they are enabled, policies, functions, aggregates, types, operators,
views, comments, grants, extension membership and pg_dump registrations). Names that embed
OIDs (the foreign keys' internal triggers) are replaced by what they stand for."""

QUERIES = {
    "tables": """
        SELECT c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity, c.reloptions::text, c.relacl::text
          FROM pg_class c WHERE c.relnamespace = 'ml'::regnamespace AND c.relkind IN ('r', 'v', 'S', 'p', 'm')""",
    "columns": """
        SELECT c.relname, row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum), a.attname,
               format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity, a.attgenerated,
               pg_get_expr(d.adbin, d.adrelid), a.attcollation::regcollation::text, a.attacl::text
          FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
          LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
         WHERE c.relnamespace = 'ml'::regnamespace AND c.relkind IN ('r', 'v')""",
    "constraints": """
        SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid), condeferrable, convalidated
          FROM pg_constraint WHERE connamespace = 'ml'::regnamespace""",
    "indexes": """
        SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid)
          FROM pg_index WHERE indrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'ml'::regnamespace)""",
    "triggers": """
        SELECT t.tgrelid::regclass::text,
               CASE WHEN t.tgisinternal THEN 'internal for ' || con.conname || ' ' || t.tgfoid::regproc::text ELSE t.tgname END,
               t.tgenabled,
               CASE WHEN t.tgisinternal THEN t.tgtype::text ELSE pg_get_triggerdef(t.oid) END
          FROM pg_trigger t LEFT JOIN pg_constraint con ON con.oid = t.tgconstraint
         WHERE t.tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'ml'::regnamespace)""",
    "policies": """
        SELECT tablename, policyname, permissive, roles::text, cmd, qual, with_check FROM pg_policies WHERE schemaname = 'ml'""",
    "functions": """
        SELECT p.pronamespace::regnamespace::text, p.proname, pg_get_function_identity_arguments(p.oid), pg_get_function_arguments(p.oid),
               pg_get_function_result(p.oid), p.prokind, p.provolatile, p.proparallel, p.proisstrict, p.prosecdef,
               p.proleakproof, p.procost, p.prorows, l.lanname, p.prosrc, p.probin, p.proconfig::text, p.proacl::text,
               p.prosupport::regproc::text
          FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang WHERE p.pronamespace::regnamespace::text IN ('ml', 'ml_internal')""",
    "aggregates": """
        SELECT a.aggfnoid::regprocedure::text, a.aggkind, a.aggtransfn::regproc::text, a.aggfinalfn::regproc::text,
               a.aggcombinefn::regproc::text, a.aggserialfn::regproc::text, a.aggdeserialfn::regproc::text,
               format_type(a.aggtranstype, NULL), a.agginitval, a.aggfinalextra, a.aggfinalmodify, a.aggtransspace
          FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid WHERE p.pronamespace = 'ml'::regnamespace""",
    "types": """
        SELECT typname, typtype, typlen, typbyval, typalign, typstorage, typcategory, typinput::regproc::text,
               typoutput::regproc::text, typreceive::regproc::text, typsend::regproc::text, typacl::text
          FROM pg_type WHERE typnamespace = 'ml'::regnamespace AND typtype <> 'c' AND typname NOT LIKE '\\_%'""",
    "operators": """
        SELECT oprname, format_type(oprleft, NULL), format_type(oprright, NULL), oprcode::regproc::text,
               oprcom::regoperator::text, oprnegate::regoperator::text, oprrest::regproc::text, oprjoin::regproc::text,
               oprcanmerge, oprcanhash
          FROM pg_operator WHERE oprnamespace = 'ml'::regnamespace""",
    "views": """
        SELECT c.relname, pg_get_viewdef(c.oid) FROM pg_class c WHERE c.relnamespace = 'ml'::regnamespace AND c.relkind = 'v'""",
    "sequences": """
        SELECT s.seqrelid::regclass::text, s.seqtypid::regtype::text, s.seqstart, s.seqincrement, s.seqmax, s.seqmin, s.seqcache, s.seqcycle
          FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid WHERE c.relnamespace = 'ml'::regnamespace""",
    "members": """
        SELECT pg_describe_object(d.classid, d.objid, d.objsubid)
          FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
         WHERE d.refclassid = 'pg_extension'::regclass AND e.extname = 'pg_mlkit' AND d.deptype = 'e'""",
    "comments": """
        SELECT pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description
          FROM pg_description d
         WHERE (d.classoid, d.objoid) IN (SELECT classid, objid FROM pg_depend dd JOIN pg_extension e ON e.oid = dd.refobjid
                                          WHERE dd.refclassid = 'pg_extension'::regclass AND e.extname = 'pg_mlkit' AND dd.deptype = 'e')""",
    "dump_registrations": """
        SELECT c.oid::regclass::text, coalesce(e.extcondition[i], '')
          FROM pg_extension e, unnest(e.extconfig) WITH ORDINALITY AS u(oid, i) JOIN pg_class c ON c.oid = u.oid
         WHERE e.extname = 'pg_mlkit'""",
    "schema": """
        SELECT n.nspname, n.nspacl::text, pg_get_userbyid(n.nspowner) FROM pg_namespace n WHERE n.nspname IN ('ml', 'ml_internal')""",
    "extension": """
        SELECT extname, extversion, extrelocatable, extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_mlkit'""",
}


def snapshot(conn):
    return {name: sorted(tuple("" if v is None else str(v) for v in row) for row in conn.execute(q).fetchall())
            for name, q in QUERIES.items()}


def differences(a, b, label_a="a", label_b="b"):
    out = []
    for name in QUERIES:
        only_a = sorted(set(a[name]) - set(b[name]))
        only_b = sorted(set(b[name]) - set(a[name]))
        for row in only_a:
            out.append(f"{name}: only in {label_a}: {row}")
        for row in only_b:
            out.append(f"{name}: only in {label_b}: {row}")
    return out
