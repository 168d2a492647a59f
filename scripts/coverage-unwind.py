#!/usr/bin/env python3
# Counts, per file of lib/, the branches that run only while an exception unwinds out of a
# function: what scripts/coverage.sh takes out of gcovr's branch figure (issue 24: "exception-cleanup
# branches excluded"). gcovr's --exclude-throw-branches drops the arcs from a call into its landing
# pad, not the branches inside the landing pad: the loop that destroys a partly built
# initializer_list, the tests of a destructor run while unwinding. GCC makes them for almost every
# line that builds JSON or a string, and only an exception thrown at that very call takes them.
#
# Reads GCC 12's files as gcov does (gcc/gcov.cc): each function's flow graph from the .gcno, its
# arc counters from the .gcda, the other arcs' counts by flow conservation.
# - A branch is a non-fake arc out of a block with two or more of them, counted on the highest line
#   of each of the block's locations (gcov's add_line_counts; the first and last block are skipped).
# - A throw arc is a non-fake, non-fall-through arc out of a block that also has a fake one (a call).
# - A block is exceptional when no path from the entry reaches it without a throw arc (gcov's
#   find_exception_blocks). Its branches are unwinding ones when it is on a line where normal code
#   runs too (the cleanup of what that line built); on a line of its own (a catch handler's body,
#   the choice of a catch clause) they are orch's decisions and stay.
# Prints JSON {file: {"branches", "taken", "unwind", "unwind_taken"}}: branches without throw arcs
# and without those on lines gcovr's --exclude-unreachable-branches drops (only braces), so that
# "branches"/"taken" are gcovr's own figures and "unwind"/"unwind_taken" the part to take out.
# Usage: coverage-unwind.py BUILD_DIR ROOT [PREFIX]   (PREFIX: lib/)
import json
import os
import re
import struct
import sys

TAG_FUNCTION, TAG_BLOCKS, TAG_ARCS, TAG_LINES, TAG_ARC_COUNTS = 0x01000000, 0x01410000, 0x01430000, 0x01450000, 0x01A10000
ON_TREE, FAKE, FALLTHROUGH = 1, 2, 4
ENTRY, EXIT = 0, 1


class Reader:
    def __init__(self, data):
        self.d, self.p = data, 0

    def u32(self):
        v = struct.unpack_from("<I", self.d, self.p)[0]
        self.p += 4
        return v

    def string(self):  # GCC 12: a byte length (with the NUL), then the bytes
        n = self.u32()
        s = self.d[self.p:self.p + n].split(b"\0", 1)[0].decode(errors="replace")
        self.p += n
        return s


class Function:
    def __init__(self, ident, name):
        self.ident, self.name = ident, name
        self.nblocks = 0
        self.arcs = []  # (src, dst, flags), in the .gcno's order (the counters' order)
        self.locations = {}  # block -> [[file, [lines]]]


def read_gcno(path):
    r = Reader(open(path, "rb").read())
    if r.u32() != 0x67636E6F:
        raise ValueError(f"{path}: not a .gcno")
    r.u32(), r.u32(), r.u32()  # version, stamp, checksum
    cwd = r.string()
    r.u32()  # has_unexecuted_blocks
    functions, fn = [], None
    while r.p + 8 <= len(r.d):
        tag, length = r.u32(), r.u32()
        end = r.p + length
        if tag == TAG_FUNCTION:
            ident = r.u32()
            r.u32(), r.u32()  # checksums
            fn = Function(ident, r.string())
            functions.append(fn)
        elif tag == TAG_BLOCKS and fn:
            fn.nblocks = r.u32()
        elif tag == TAG_ARCS and fn:
            src = r.u32()
            while r.p < end:
                dst, flags = r.u32(), r.u32()
                fn.arcs.append((src, dst, flags))
        elif tag == TAG_LINES and fn:
            locations = fn.locations.setdefault(r.u32(), [])
            while True:
                line = r.u32()
                if line:
                    locations[-1][1].append(line)
                    continue
                name = r.string()
                if not name:
                    break
                locations.append([name, []])
        r.p = end
    return cwd, functions


def read_gcda(path):
    counts = {}  # function ident -> arc counters
    if not os.path.exists(path):
        return counts
    r = Reader(open(path, "rb").read())
    if r.u32() != 0x67636461:
        raise ValueError(f"{path}: not a .gcda")
    r.u32(), r.u32(), r.u32()  # version, stamp, checksum
    ident = None
    while r.p + 8 <= len(r.d):
        tag, length = r.u32(), r.u32()
        if length & 0x80000000:  # GCC 12: a negative length is that many bytes of zero counters
            if tag == TAG_ARC_COUNTS:
                counts[ident] = [0] * ((0x100000000 - length) // 8)
            continue
        if tag == TAG_FUNCTION and length:
            ident = struct.unpack_from("<I", r.d, r.p)[0]
        elif tag == TAG_ARC_COUNTS:
            counts[ident] = list(struct.unpack_from(f"<{length // 8}q", r.d, r.p))
        r.p += length
    return counts


def solve(fn, counters):
    """Every arc's count: the instrumented ones from the .gcda, the spanning tree's by conservation."""
    count = [None] * len(fn.arcs)
    given = iter(counters)
    for i, (_, _, flags) in enumerate(fn.arcs):
        if not flags & ON_TREE:
            count[i] = next(given, 0)
    outs = [[] for _ in range(fn.nblocks)]
    ins = [[] for _ in range(fn.nblocks)]
    for i, (s, d, _) in enumerate(fn.arcs):
        outs[s].append(i)
        ins[d].append(i)
    changed = True
    while changed:
        changed = False
        for b in range(fn.nblocks):
            # The entry has no arcs in and the exit none out: their count comes from the other side.
            for whole, other in ((ins[b], outs[b]), (outs[b], ins[b])):
                if not whole or any(count[i] is None for i in whole):
                    continue
                unknown = [i for i in other if count[i] is None]
                if len(unknown) == 1:
                    count[unknown[0]] = sum(count[i] for i in whole) - sum(count[i] for i in other if count[i] is not None)
                    changed = True
    return [c or 0 for c in count]


def can_contain_branches(code):  # gcovr 5.2's _line_can_contain_branches
    code = re.sub(r"//.*", "", code)
    code = re.sub(r"/\*.*?\*/", "", code)
    return code.strip().replace(" ", "") not in ("", "{", "}", "{}")


def analyse(fn, counters):
    """(source, lines, exceptional, [(arc, taken)]) of each location of each block."""
    counts = solve(fn, counters)
    outs = [[] for _ in range(fn.nblocks)]
    for i, (s, _, _) in enumerate(fn.arcs):
        outs[s].append(i)
    call = [b != ENTRY and any(fn.arcs[i][2] & FAKE for i in outs[b]) for b in range(fn.nblocks)]
    throw = [call[s] and not f & (FAKE | FALLTHROUGH) for s, _, f in fn.arcs]
    normal, stack = {ENTRY}, [ENTRY]  # gcov's find_exception_blocks: the rest is "exceptional"
    while stack:
        for i in outs[stack.pop()]:
            d, f = fn.arcs[i][1], fn.arcs[i][2]
            if not f & FAKE and not throw[i] and d not in normal:
                normal.add(d)
                stack.append(d)
    for b in range(1, fn.nblocks - 1):
        arcs = [i for i in outs[b] if not fn.arcs[i][2] & FAKE]
        branches = [(i, counts[i] > 0) for i in arcs if not throw[i]] if len(arcs) >= 2 else []
        for source, lines in fn.locations.get(b, []):
            if lines:
                yield source, lines, b not in normal, branches


def main(build_dir, root, prefix):
    """An exceptional block's branches on a line that normal code runs too are that line's
    cleanup; on a line only exceptional code runs (a catch handler's own) they are kept."""
    root = os.path.abspath(root)
    blocks, unexceptional, texts = [], set(), {}
    for dirpath, _, names in os.walk(build_dir):
        for name in sorted(names):
            if not name.endswith(".gcno"):
                continue
            gcno = os.path.join(dirpath, name)
            cwd, functions = read_gcno(gcno)
            counters = read_gcda(gcno[:-5] + ".gcda")
            for fn in functions:
                for source, lines, exceptional, branches in analyse(fn, counters.get(fn.ident, [])):
                    rel = os.path.relpath(os.path.normpath(os.path.join(cwd, source)), root)
                    if not rel.startswith(prefix):
                        continue
                    if not exceptional:
                        unexceptional.update((rel, line) for line in lines)
                    if branches:
                        blocks.append((rel, max(lines), exceptional, fn.name, branches))
    # A function of a header (or an inline one) is in every object that uses it: one branch each,
    # taken when any object took it (gcovr merges them too).
    merged = {}
    for rel, line, exceptional, name, branches in blocks:
        for arc, taken in branches:
            key = (rel, line, name, arc)
            merged[key] = (merged.get(key, (False,))[0] or taken, exceptional)
    result = {}
    for (rel, line, _, _), (taken, exceptional) in sorted(merged.items()):
        if rel not in texts:
            with open(os.path.join(root, rel), errors="replace") as f:
                texts[rel] = f.read().split("\n")
        text = texts[rel]
        if line > len(text) or not can_contain_branches(text[line - 1]):
            continue
        unwind = exceptional and (rel, line) in unexceptional
        f = result.setdefault(rel, {"branches": 0, "taken": 0, "unwind": 0, "unwind_taken": 0})
        f["branches"] += 1
        f["taken"] += taken
        f["unwind"] += unwind
        f["unwind_taken"] += taken and unwind
    return result


if __name__ == "__main__":
    json.dump(main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "lib/"), sys.stdout, indent=1, sort_keys=True)
    print()
