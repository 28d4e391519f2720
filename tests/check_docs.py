#!/usr/bin/env python3
"""Checks that the documentation's examples are what the regression suites really print.

An example in docs/ is a fenced block preceded by a marker naming the expected output it
comes from:

    <!-- checked: tests/expected/cluster_embeddings.out -->
    ```
    SELECT ...;
     result
    ...
    ```

Its lines must appear, in order and contiguously, in that file (trailing blanks ignored), and
pg_regress has already checked that file against the real output. Also, every SQL function
the extension installs must be documented with at least one checked example that calls it.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
MARK = re.compile(r"<!-- checked: (\S+) -->\s*\n```[a-z]*\n(.*?)\n```", re.S)


def lines(text):
    return [l.rstrip() for l in text.splitlines()]


def contains(haystack, needle):
    n = len(needle)
    return any(haystack[i:i + n] == needle for i in range(len(haystack) - n + 1))


SUPPORT = re.compile(r"\b(?:SFUNC|COMBINEFUNC|FINALFUNC|INPUT|OUTPUT|RECEIVE|SEND|PROCEDURE)\s*=\s*ml(?:_internal)?\.(\w+)")


def public_functions():
    """Names of ml.* functions and aggregates created by the install script, trigger functions
    and the support functions of types, aggregates and operators (called by PostgreSQL, not
    by users) excepted."""
    names, support = set(), set()
    for path in list((ROOT / "sql").rglob("*.sql")) + list((ROOT / "src").rglob("*.rs")):
        text = path.read_text()
        for m in re.finditer(r"CREATE (?:OR REPLACE )?FUNCTION ml\.(\w+)\((.*?)\)\s*RETURNS (\w+)", text, re.S):
            if m.group(3).lower() not in ("trigger", "event_trigger"):
                names.add(m.group(1))
        names.update(re.findall(r"CREATE AGGREGATE ml\.(\w+)\(", text))
        support.update(SUPPORT.findall(text))
    return names - support


def main():
    failures, checked, called = [], 0, set()
    for doc in sorted((ROOT / "docs").rglob("*.md")):
        for m in MARK.finditer(doc.read_text()):
            source, block = ROOT / m.group(1), lines(m.group(2))
            rel = doc.relative_to(ROOT)
            if not source.exists():
                failures.append(f"{rel}: example refers to missing {m.group(1)}")
            elif not contains(lines(source.read_text()), block):
                failures.append(f"{rel}: example starting {block[0]!r} is not in {m.group(1)}")
            else:
                checked += 1
                called.update(re.findall(r"ml\.(\w+)\(", m.group(2)))
    for name in sorted(public_functions() - called):
        failures.append(f"ml.{name} has no checked example in docs/")
    for f in failures:
        print("docs:", f, file=sys.stderr)
    print(f"docs: {checked} examples checked against the regression output, {len(failures)} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
