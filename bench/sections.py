"""docs/benchmarks.md is written by several benchmarks. The clustering ones (kmeans.sh) write
the top of the file; every other benchmark owns one marked section, which it replaces on each
run and which the clustering benchmark keeps when it rewrites the top."""
import os
import re

PATH = os.path.join(os.path.dirname(__file__), "..", "docs", "benchmarks.md")
BLOCK = re.compile(r"<!-- section: (\w+) -->\n.*?<!-- /section: \1 -->\n", re.S)


def marked_sections():
    """The marked sections of the current file, as one string (empty if none)."""
    if not os.path.exists(PATH):
        return ""
    return "".join(m.group(0) for m in BLOCK.finditer(open(PATH).read()))


def put_section(name, text):
    """Replaces (or appends) section `name` with `text`."""
    block = f"<!-- section: {name} -->\n{text.rstrip()}\n<!-- /section: {name} -->\n"
    old = open(PATH).read() if os.path.exists(PATH) else ""
    pattern = re.compile(rf"<!-- section: {name} -->\n.*?<!-- /section: {name} -->\n", re.S)
    new = pattern.sub(lambda _: block, old) if pattern.search(old) else old.rstrip("\n") + "\n\n" + block
    with open(PATH, "w") as f:
        f.write(new)
