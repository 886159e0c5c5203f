#!/usr/bin/env python3
"""Module-level import graph of a Rust crate, and the import circles in it.

    scripts/import-graph.py [--depth N] [--tests] [--check] [--edges] [SRC_DIR ...]

SRC_DIR is a crate's source directory (default: `src` and `crates/policy/src`, relative to the
repository root). The crate root is `lib.rs` (or `main.rs` when there is no `lib.rs`); every
other `.rs` file is the module its path names (`federation/saml/pool.rs` is
`federation::saml::pool`). A node of the graph is a module path cut to `--depth` segments
(default 1: the top-level modules, `crate` for the root); `--depth 2` splits `federation` into
`federation::saml` and `federation::oidc`, and so on.

An edge A -> B means a file of A names an item of B through a path that resolves into B:
`use crate::...` (grouped forms included), `super::` / `self::` paths, a `crate::b::...` path in
code, and a path that starts with a name a `use` brought in (`use crate::sts;` then
`sts::saml::request(...)`). A path to a re-export (`crate::Context` where the root says
`pub use context::Context`) counts for the module that defines the item. Comments and string
literals are ignored (intra-doc links are not dependencies). Code under `#[cfg(test)]` (a
`mod tests { ... }` block, or a file declared by `#[cfg(test)] mod NAME;`, and the files below it)
is left out unless `--tests` is given. The binary's `main.rs`, which
names the library as `idbroker::...`, is not part of the library's graph.

Output: every edge with the places that make it (file:line), then the strongly connected
components with more than one node (each is a set of modules that import one another in a
circle) and, for each, the pairs that import each other directly. `--check` exits with status 1
when there is any circle, so a test or CI step can prove that there are none.

Plain Python 3 standard library; it reads files and runs nothing. It is a lexical approximation
(no macro expansion, no glob-import resolution beyond the module named), which is enough for a
code base that imports with explicit paths.
"""

import argparse
import os
import re
import sys
from collections import defaultdict

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def strip_code(text):
    """`text` with comments, string and char literals replaced by spaces (newlines kept)."""
    out = []
    i, n = 0, len(text)

    def blank(s):
        return "".join("\n" if c == "\n" else " " for c in s)

    while i < n:
        c = text[i]
        nxt = text[i + 1] if i + 1 < n else ""
        if c == "/" and nxt == "/":
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(blank(text[i:j]))
            i = j
        elif c == "/" and nxt == "*":
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(blank(text[i:j]))
            i = j
        elif re.match(r'b?r(#*)"', text[i:i + 260]) and (i == 0 or not re.match(r"\w", text[i - 1])):
            m = re.match(r'b?r(#*)"', text[i:])
            end = '"' + m.group(1)
            j = text.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            out.append(blank(text[i:j]))
            i = j
        elif c == '"' or (c == "b" and nxt == '"' and (i == 0 or not re.match(r"\w", text[i - 1]))):
            j = i + (2 if c == "b" else 1)
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(blank(text[i:j + 1]))
            i = j + 1
        elif c == "'":
            # A char literal ('x', '\n', '\u{1F}', b'x' is caught here too); otherwise a lifetime.
            m = re.match(r"'(\\u\{[0-9A-Fa-f]+\}|\\.|[^\\'\n])'", text[i:])
            if m:
                out.append(blank(m.group(0)))
                i += m.end()
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_use_tree(s):
    """Expand a use tree (`crate::a::{self, b::C as D, e::*}`) into (segments, alias) pairs."""
    tokens = re.findall(r"::|[{},*]|" + IDENT, s)
    pos = 0

    def tree(prefix):
        nonlocal pos
        out = []
        path = list(prefix)
        while pos < len(tokens):
            t = tokens[pos]
            if t == "{":
                pos += 1
                while pos < len(tokens) and tokens[pos] != "}":
                    out.extend(tree(path))
                    if pos < len(tokens) and tokens[pos] == ",":
                        pos += 1
                pos += 1
                return out
            if t == "*":
                pos += 1
                out.append((path, "*"))
                return out
            if t == "::":
                pos += 1
                continue
            if t in (",", "}"):
                break
            pos += 1
            if t == "self" and path:
                alias = path[-1]
            else:
                path = path + [t]
                alias = t
            if pos < len(tokens) and tokens[pos] == "as":
                alias = tokens[pos + 1]
                pos += 2
            if pos >= len(tokens) or tokens[pos] in (",", "}"):
                out.append((path, alias))
                return out
        return out

    return tree([])


class Crate:
    def __init__(self, src):
        self.src = src
        self.files = {}  # module path (tuple) -> file path
        for dirpath, _, names in os.walk(src):
            for name in names:
                if not name.endswith(".rs"):
                    continue
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, src)[:-3].split(os.sep)
                if rel[-1] == "mod":
                    rel = rel[:-1]
                if rel in (["lib"], ["main"]):
                    rel = []
                if rel == [] and name == "main.rs" and os.path.exists(os.path.join(src, "lib.rs")):
                    continue  # the binary: a crate of its own
                self.files[tuple(rel)] = full
        self.modules = set(self.files)
        # File modules declared under `#[cfg(test)]` (`#[cfg(test)] mod testkit;`): test code,
        # with everything below them.
        self.test_files = set()
        for mod, path in self.files.items():
            with open(path, encoding="utf-8") as f:
                code = strip_code(f.read())
            decl = r"((?:#\[[^\]]*\]\s*)*)(?:pub(?:\([^)]*\))?\s+)?mod\s+(" + IDENT + r")\s*;"
            for m in re.finditer(decl, code):
                if "cfg(test)" in m.group(1).replace(" ", ""):
                    self.test_files.add(tuple(mod) + (m.group(2),))
        self.scopes = {}  # module path -> {alias: absolute path}
        self.uses = []  # (module path, file, line, segments, is_test, use alias, is pub use)
        for mod, path in sorted(self.files.items()):
            self.scan(mod, path)

    def scan(self, file_mod, path):
        with open(path, encoding="utf-8") as f:
            code = strip_code(f.read())
        line_at = [0]
        for i, c in enumerate(code):
            if c == "\n":
                line_at.append(i + 1)

        def line_of(pos):
            lo, hi = 0, len(line_at) - 1
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if line_at[mid] <= pos:
                    lo = mid
                else:
                    hi = mid - 1
            return lo + 1

        # Inline modules: (start, end, module path, is_test).
        regions = []
        for m in re.finditer(r"((?:#\[[^\]]*\]\s*)*)(?:pub(?:\([^)]*\))?\s+)?mod\s+(" + IDENT + r")\s*\{", code):
            depth, j = 1, m.end()
            while j < len(code) and depth:
                depth += {"{": 1, "}": -1}.get(code[j], 0)
                j += 1
            regions.append((m.end(), j, m.group(2), "cfg(test)" in m.group(1).replace(" ", "")))

        in_test_file = any(tuple(file_mod[:i]) in self.test_files for i in range(1, len(file_mod) + 1))

        def where(pos):
            mod, test = list(file_mod), in_test_file
            for start, end, name, is_test in regions:
                if start <= pos < end:
                    mod.append(name)
                    test = test or is_test
            return tuple(mod), test

        for start, _, name, _ in regions:
            self.modules.add(where(start)[0])

        use_spans = []
        for m in re.finditer(r"\buse\s+([^;]*);", code):
            use_spans.append((m.start(), m.end()))
            mod, test = where(m.start())
            is_pub = re.search(r"pub(\([^)]*\))?\s*$", code[max(0, m.start() - 20):m.start()])
            for segs, alias in parse_use_tree(m.group(1)):
                self.uses.append((mod, path, line_of(m.start()), segs, test, alias, bool(is_pub)))
        for m in re.finditer(r"(?<![\w:$])(" + IDENT + r"(?:\s*::\s*" + IDENT + r")+)", code):
            if any(s <= m.start() < e for s, e in use_spans):
                continue
            segs = re.split(r"\s*::\s*", m.group(1))
            mod, test = where(m.start())
            self.uses.append((mod, path, line_of(m.start()), segs, test, None, False))

    def relative(self, mod, segs):
        """An absolute path for `segs` as written in module `mod`, or None (an extern path)."""
        segs = list(segs)
        if not segs:
            return None
        if segs[0] == "crate":
            return segs[1:]
        if segs[0] in ("self", "super"):
            base = list(mod)
            while segs and segs[0] in ("self", "super"):
                if segs.pop(0) == "super":
                    if not base:
                        return None
                    base.pop()
            return base + segs
        if tuple(mod) + (segs[0],) in self.modules:
            return list(mod) + segs
        alias = self.scopes.get(tuple(mod), {}).get(segs[0])
        if alias is not None:
            return alias + segs[1:]
        return None

    def resolve(self):
        """(module path, file, line, absolute target, is_test) for every path into the crate."""
        # Aliases first (a `use` may name a module another `use` brought in), to a fixed point.
        for _ in range(5):
            for mod, _, _, segs, _, alias, _ in self.uses:
                if alias and alias != "*":
                    target = self.relative(mod, segs)
                    if target is not None:
                        self.scopes.setdefault(tuple(mod), {})[alias] = target
        out = []
        for mod, path, line, segs, test, alias, _ in self.uses:
            target = self.relative(mod, segs)
            if target is not None:
                out.append((mod, path, line, self.through_reexports(target), test))
        return out

    def through_reexports(self, target, hops=0):
        """The defining module's path for a path that names a `pub use` re-export."""
        prefix = self.module_prefix(target)
        rest = target[len(prefix):]
        if rest and hops < 8:
            for mod, _, _, segs, _, alias, is_pub in self.uses:
                if is_pub and tuple(mod) == tuple(prefix) and alias == rest[0]:
                    real = self.relative(mod, segs)
                    if real is not None and real != target:
                        return self.through_reexports(real + rest[1:], hops + 1)
        return target

    def module_prefix(self, target):
        best = []
        for k in range(len(target) + 1):
            if tuple(target[:k]) in self.modules:
                best = target[:k]
        return best


def node(path, depth):
    return "::".join(path[:depth]) if path else "crate"


def sccs(nodes, edges):
    """Tarjan's strongly connected components."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def report(src, depth, tests, show_edges, root):
    crate = Crate(src)
    shown = os.path.relpath(src, root) if src.startswith(root + os.sep) else src
    edges = defaultdict(lambda: defaultdict(dict))  # a -> b -> {file: first line}
    nodes = {node(list(m), depth) for m in crate.files}
    for mod, path, line, target, test in crate.resolve():
        if test and not tests:
            continue
        a, b = node(list(mod), depth), node(crate.module_prefix(target), depth)
        if a != b:
            where = os.path.join(shown, os.path.relpath(path, src))
            places = edges[a][b]
            places[where] = min(line, places.get(where, line))

    def places(a, b):
        return " ".join(f"{f}:{n}" for f, n in sorted(edges[a][b].items()))

    print(f"# {shown} (depth {depth}{', with tests' if tests else ''})")
    for a in sorted(nodes):
        targets = sorted(edges.get(a, {}))
        print(f"{a} -> {', '.join(targets) if targets else '(nothing)'}")
        if show_edges:
            for b in targets:
                print(f"    {b}: {places(a, b)}")
    circles = [c for c in sccs(nodes, edges) if len(c) > 1]
    if not circles:
        print("circles: none")
    for c in circles:
        print(f"circle: {' '.join(c)}")
        inside = [(a, b) for a in c for b in c if b in edges.get(a, {})]
        mutual = [f"{a} <-> {b}" for a, b in inside if a < b and (b, a) in inside]
        if mutual:
            print(f"    mutual: {', '.join(mutual)}")
        for a, b in inside:
            print(f"    {a} -> {b}   {places(a, b)}")
    print()
    return len(circles)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", nargs="*", help="crate source directories")
    ap.add_argument("--depth", type=int, default=1, help="module path segments per node")
    ap.add_argument("--tests", action="store_true", help="count #[cfg(test)] code too")
    ap.add_argument("--edges", action="store_true", help="list the places behind each edge")
    ap.add_argument("--check", action="store_true", help="exit 1 when there is a circle")
    args = ap.parse_args()
    srcs = args.src or [os.path.join(root, "src"), os.path.join(root, "crates", "policy", "src")]
    circles = sum(report(os.path.abspath(s), args.depth, args.tests, args.edges, root) for s in srcs)
    if args.check and circles:
        sys.exit(1)


if __name__ == "__main__":
    main()
