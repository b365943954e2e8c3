#!/usr/bin/python3
"""Checks the layout of src/ (make layout):

- which folder's headers each file includes ("x.h" resolves to the one
  folder of src/ that holds x.h);
- no two folders include each other, directly or through a cycle;
- pure folders (PURE) include no libevent, OpenSSL or socket header, and
  no header of an impure folder;
- no C file or header in src/ is longer than MAX_LINES.

Prints one line per problem and exits 1 if there is any.
"""
import os
import re
import sys

PURE = ["lib", "conf", "routing", "proto", "engine"]
IMPURE_SYSTEM = re.compile(r'#include\s*<(event2/|openssl/|sys/socket\.h)')
LOCAL = re.compile(r'#include\s*"([^"]+)"')
MAX_LINES = 900


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                        "src")
    owner = {}      # header name -> folder
    files = []
    for folder in sorted(os.listdir(root)):
        path = os.path.join(root, folder)
        if not os.path.isdir(path):
            continue
        for name in sorted(os.listdir(path)):
            if name.endswith((".c", ".h")):
                files.append((folder, name, os.path.join(path, name)))
                if name.endswith(".h"):
                    owner[name] = folder
    problems = []
    edges = {}
    for folder, name, path in files:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        lines = text.count("\n")
        if lines > MAX_LINES:
            problems.append("src/%s/%s: %d lines (at most %d)"
                            % (folder, name, lines, MAX_LINES))
        pure = folder in PURE
        if pure and IMPURE_SYSTEM.search(text):
            problems.append("src/%s/%s: pure module includes an I/O "
                            "header" % (folder, name))
        for inc in LOCAL.findall(text):
            dep = owner.get(os.path.basename(inc))
            if dep is None or dep == folder:
                continue
            edges.setdefault(folder, set()).add(dep)
            if pure and dep not in PURE:
                problems.append("src/%s/%s: pure module includes %s "
                                "from impure src/%s"
                                % (folder, name, inc, dep))
    # cycles between folders (depth-first search)
    state = {}

    def visit(node, stack):
        state[node] = 1
        for dep in sorted(edges.get(node, ())):
            if state.get(dep) == 1:
                cyc = stack[stack.index(dep):] + [dep]
                problems.append("folder cycle: %s" % " -> ".join(cyc))
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    for p in problems:
        print(p)
    if "-v" in sys.argv:
        for node in sorted(edges):
            print("%s -> %s" % (node, " ".join(sorted(edges[node]))))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
