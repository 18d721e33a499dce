#!/usr/bin/env python3
# The core's layering (docs/design.md, "Layers"), as the code has it: every
# #include "x.h" between the core's files, and every symbol one object takes
# from another (nm), must point to the same layer or a lower one; no circle
# may join files, whatever their layers; every core file is in the table;
# preload.c includes only boundary.h; no core file takes a lock but
# through lock_order.h.  AS_SRC: the tree; AS_BUILD: a build
# (its obj/ holds the core's objects).
import os
import re
import subprocess
import sys

src = os.environ["AS_SRC"]
objs = os.path.join(os.environ["AS_BUILD"], "obj")
n = 0
failed = 0


def ok(cond, desc, why=()):
    global n, failed
    n += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (n, desc))
    if not cond:
        failed += 1
        for line in why:
            print("#   " + line)
    return cond


# The table: "| N name | a, b, c |" rows of the section "## Layers".
design = open(os.path.join(src, "docs/design.md")).read()
section = design.split("## Layers", 1)[1].split("\n## ", 1)[0]
layer = {}
for m in re.finditer(r"^\| (\d+) [^|]*\| ([a-z_, ]+) \|$", section, re.M):
    for f in m.group(2).split(","):
        layer[f.strip()] = int(m.group(1))
# Headers of no file of their own, and their layers (the paragraph after it).
for m in re.finditer(r"`([a-z_]+)\.h` \([^)]*?layer (\d+)\)", section):
    layer.setdefault(m.group(1), int(m.group(2)))

shim = os.path.join(src, "shim")
files = sorted(f[:-2] for f in os.listdir(shim) if f.endswith(".c") and f != "preload.c")
missing = [f for f in files if f not in layer]
ok(not missing, "every core file has a layer in docs/design.md", ["missing: " + ", ".join(missing)])

# Include edges: file -> header name (a file's own header, or one of the
# headers of no file).
edges = {}
unknown = []
for f in files:
    text = open(os.path.join(shim, f + ".c")).read()
    for h in re.findall(r'#include "([a-z_]+)\.h"', text):
        if h == f:
            continue
        if h not in layer:
            unknown.append("%s.c includes %s.h" % (f, h))
            continue
        edges.setdefault(f, {}).setdefault(h, "includes %s.h" % h)
ok(not unknown, "every header a core file includes has a layer", unknown)

# Symbol edges: what each object takes from the others.
defined, used, read = {}, {}, 0
for f in files:
    o = os.path.join(objs, f + ".o")
    if not os.path.exists(o):
        continue
    read += 1
    out = subprocess.run(["nm", o], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        p = line.split()
        if len(p) == 3 and p[1] in "TDBRVC":
            defined[p[2]] = f
        elif len(p) == 2 and p[0] == "U":
            used.setdefault(f, set()).add(p[1])
ok(read == len(files), "every core file's object is read (%d of %d)" % (read, len(files)))
for f, syms in used.items():
    for s in sorted(syms):
        g = defined.get(s)
        if g is not None and g != f:
            edges.setdefault(f, {}).setdefault(g, "calls %s" % s)

# Every lock is taken through lock_order.h (which checks the order in
# sanitized builds, and is inline otherwise): no other core file takes a
# mutex or waits on a condition itself.
direct = []
for f in files:
    if f == "lock_order":
        continue
    text = open(os.path.join(shim, f + ".c")).read()
    for s in sorted(set(re.findall(r"\b(pthread_mutex_(?:lock|trylock|timedlock)|pthread_cond_(?:timed)?wait)\s*\(", text))):
        direct.append("%s.c calls %s" % (f, s))
ok(not direct, "every lock is taken through lock_order.h", direct)

# No edge up a layer.
up = []
for f in files:
    for g, how in sorted(edges.get(f, {}).items()):
        if f in layer and g in layer and layer[g] > layer[f]:
            up.append("%s (layer %d) %s, of %s (layer %d)" % (f, layer[f], how, g, layer[g]))
ok(not up, "no file reaches up a layer", up)

# No circle (Tarjan's strongly connected components).
index, low, stack, on, circles = {}, {}, [], set(), []


def visit(v):
    index[v] = low[v] = len(index)
    stack.append(v)
    on.add(v)
    for w in edges.get(v, {}):
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
        if len(comp) > 1:
            circles.append(comp)


for f in files:
    if f not in index:
        visit(f)
ok(not circles, "no circle between core files",
   ["%s: %s" % (" <-> ".join(sorted(c)),
                "; ".join("%s %s" % (a, edges[a][b]) for a in sorted(c) for b in sorted(edges.get(a, {}))
                          if b in c)) for c in circles])

preload = re.findall(r'#include "([a-z_]+)\.h"', open(os.path.join(shim, "preload.c")).read())
ok(preload == ["boundary"], "preload.c includes boundary.h only", ["includes: " + ", ".join(preload)])

print("1..%d" % n)
sys.exit(1 if failed else 0)
