#!/usr/bin/env python3
"""Runs every documentation page from an empty database, top to bottom, as a reader would.

For each page of docs/ with SQL examples, a fresh database gets `CREATE EXTENSION pg_mlkit`
and nothing else; then the page's runnable blocks are fed, in page order, to one psql
session started in the repository's root (so `\\copy ... FROM PROGRAM 'gzip -dc
data/digits.csv.gz'` finds the data). Runnable blocks are:

* checked examples (`<!-- checked: tests/expected/X.out -->`): their SQL, without the output
  they show. Which lines are SQL is read from the suite they come from: pg_regress echoes each
  line of tests/sql/X.sql into X.out, so the lines of X.out that match X.sql in order are the
  input, the others output;
* setup blocks (`<!-- runs -->` before a fence): all of it is SQL, shown as such.

A page that uses an optional extension says so (`<!-- needs: vector -->`); it is skipped,
with a note, where that extension cannot be created (not installed, or, as Citus, not in
shared_preload_libraries; pg_mlkit never requires either).

The page passes when every error the session raises is one the page shows (an example of an
error prints it), and every error the page shows is raised: so each example finds the tables,
models and psql variables the page made before it. Output is not compared here: the checked
examples' output is compared with the suites' by tests/check_docs.py, and the suites' with the
server's by pg_regress.

Usage: python3 tests/run_docs.py [page.md ...]   (PGHOST/PGPORT of the throwaway server)
"""
import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"<!-- (checked: (\S+)|runs) -->\s*\n```[a-z]*\n(.*?)\n```", re.S)


def lines(text):
    return [l.rstrip() for l in text.splitlines()]


def input_flags(out_file):
    """For each line of tests/expected/X.out, whether it is an echoed input line of X.sql."""
    out = lines(out_file.read_text())
    # psql echoes every input line but the blank ones.
    sql = [l for l in lines((ROOT / "tests" / "sql" / (out_file.stem + ".sql")).read_text()) if l.strip()]
    flags, j = [], 0
    for line in out:
        if j < len(sql) and line == sql[j]:
            flags.append(True)
            j += 1
        else:
            flags.append(False)
    return out, flags


_cache = {}


def sql_of_checked(source, block):
    """The input lines of a checked example (a contiguous excerpt of `source`)."""
    if source not in _cache:
        _cache[source] = input_flags(ROOT / source)
    out, flags = _cache[source]
    n = len(block)
    for i in range(len(out) - n + 1):
        if out[i:i + n] == block:
            return [l for l, f in zip(block, flags[i:i + n]) if f]
    raise SystemExit(f"example not found in {source} (run tests/check_docs.py)")


def page_script(page):
    parts = []
    for m in BLOCK.finditer(page.read_text()):
        block = lines(m.group(3))
        parts.append(block if m.group(1) == "runs" else sql_of_checked(m.group(2), block))
    return parts


ERROR = re.compile(r"^\s*(?:psql:[^:]*:\d+: )?(ERROR: .*)$")


def contains(haystack, needle):
    n = len(needle)
    return any(haystack[i:i + n] == needle for i in range(len(haystack) - n + 1))


def errors_in(text):
    """The ERROR lines of psql's output (as pg_regress shows them: without psql's prefix)."""
    return [m.group(1).rstrip() for m in map(ERROR.match, text.splitlines()) if m]


# The settings pg_regress gives the suites the examples come from (an interval prints as
# "@ 1 hour ago" there).
ENV = dict(os.environ, PGTZ="PST8PDT", PGDATESTYLE="Postgres, MDY",
           PGOPTIONS=(os.environ.get("PGOPTIONS", "") + " -c intervalstyle=postgres_verbose").strip())


def psql(db, *args, stdin=None):
    """psql's output, errors in their place among the results (as pg_regress records it)."""
    return subprocess.run(["psql", "-X", "-d", db, *args], input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, cwd=ROOT, env=ENV)


def run_page(page):
    parts = page_script(page)
    if not parts:
        return None
    rel = page.relative_to(ROOT)
    db = "pg_mlkit_docs"
    psql("postgres", "-q", "-c", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    created = psql("postgres", "-q", "-c", f"CREATE DATABASE {db}")
    if created.returncode != 0:
        raise SystemExit(created.stdout)
    # An optional extension the page needs: skipped where it cannot be created (not installed,
    # or, as Citus, not preloaded on this server).
    for ext in re.findall(r"<!-- needs: (\w+) -->", page.read_text()):
        if psql(db, "-q", "-v", "ON_ERROR_STOP=1", "-c", f"CREATE EXTENSION IF NOT EXISTS {ext}").returncode != 0:
            print(f"skip {rel}: needs {ext}, which cannot be created on this server")
            psql("postgres", "-q", "-c", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
            return []
    psql(db, "-q", "-c", "CREATE EXTENSION pg_mlkit")
    script = "\n".join("\n".join(p) for p in parts) + "\n"
    # Roles are the server's, not the database's: a page that creates roles gets them afresh
    # (on this throwaway server, dropped with whatever they were granted elsewhere), and they
    # are dropped after it.
    roles = re.findall(r"(?im)^CREATE ROLE (\w+)", script)
    drop_roles(roles)
    shown = [e for m in BLOCK.finditer(page.read_text()) for e in errors_in(m.group(3))]
    # As pg_regress runs the suites: echo every line, no command tags, errors inline.
    result = psql(db, "-a", "-q", "-v", "ON_ERROR_STOP=0", stdin=script)
    raised = errors_in(result.stdout)
    problems = []
    # Every checked example, output included, must be what running the page printed.
    session = lines(re.sub(r"(?m)^psql:<stdin>:\d+: ", "", result.stdout))
    for m in BLOCK.finditer(page.read_text()):
        if m.group(1) != "runs":
            block = lines(m.group(3))
            if not contains(session, block):
                first = next((i for i, l in enumerate(block) if l not in session), 0)
                problems.append(f"{rel}: the example starting {block[0][:60]!r} printed otherwise (from its line {first + 1}: {block[first][:80]!r})")
    unexpected = [e for e in raised if e not in shown]
    missing = [e for e in shown if e not in raised]
    if unexpected:
        problems.append(f"{rel}: raised errors the page does not show: " + "; ".join(unexpected[:5]))
    if missing:
        problems.append(f"{rel}: shows errors that running the page does not raise: " + "; ".join(missing[:5]))
    psql("postgres", "-q", "-c", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    drop_roles(roles)
    return problems


def drop_roles(roles):
    if not roles:
        return
    dbs = psql("postgres", "-At", "-c", "SELECT datname FROM pg_database WHERE datallowconn").stdout.split()
    for role in roles:
        if psql("postgres", "-At", "-c", f"SELECT 1 FROM pg_roles WHERE rolname = '{role}'").stdout.strip() != "1":
            continue
        for d in dbs:
            psql(d, "-q", "-c", f"DROP OWNED BY {role}")
        psql("postgres", "-q", "-c", f"DROP ROLE {role}")


def main():
    pages = [pathlib.Path(p).resolve() for p in sys.argv[1:]] or sorted((ROOT / "docs").rglob("*.md"))
    failures, ran = [], 0
    for page in pages:
        problems = run_page(page)
        if problems is None:
            continue
        ran += 1
        failures += problems
        print(f"{'FAIL' if problems else 'ok  '} {page.relative_to(ROOT)}", flush=True)
    for f in failures:
        print("docs:", f, file=sys.stderr)
    print(f"docs: {ran} pages run from an empty database, {len(failures)} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
