#!/usr/bin/env python3
"""Side-by-side comparison of the benchmark programs (bench/programs), in
one run, printed as Markdown.

For every program and size it runs, best of --repeat:
  rt      vera-rt on the Vera 0.2.3 build, NAME.wasm (Map/Set buckets in
          guest memory behind vera-rt's imports)
  hamt    vera-rt on the Vera 0.2.5 build, NAME.v025.wasm, as compiled
          (`--as-is`: Map/Set as a hash trie inside the module, and the
          module's own allocator, as `vera run` 0.2.5 runs it)
  rt25    vera-rt on the same 0.2.5 build as it loads it by default
          (vera-rt's buckets in place of the module's trie, and its
          size-class allocator in place of the module's: vera-rewrite's
          collections.rs and allocator.rs)
  py      `vera run` 0.2.3, Vera's own Python host, on NAME.vera (one run)

and prints
  1. whole-process seconds of each engine and the ratios HAMT / vera-rt,
     rt25 / vera-rt and Python / vera-rt;
  2. vera-rt's own `run time:` (`vera-rt run --stats`: the called function
     only, without compiling or instantiating) of the builds, in ms, and
     the 0.2.3 build's peak heap per entry;
  3. the targets of issues #6, #13 and #15 as measured (#15: every
     program's 0.2.5 build as vera-rt loads it within 3x of its 0.2.3
     build at 100 000, whole process); at 100 000 Int inserts
     (insert_chain) and at 100 000 String inserts (string_insert_chain) the
     HAMT build's whole-process time >= 100x the 0.2.3 build's; insert_chain's
     run time under 2 ms at 10 000 and under 300 ms at 1 000 000;
     1 000 000 String inserts in under 1.5 s, whole process; peak heap
     linear in N (bytes per entry at 1 000 000 within 1.5x of 100 000's).

Every engine must print the same result, and that result must be the one
this script computes for the program itself (expected()); otherwise the
script exits with status 1 after the tables. vera-rt failing does the
same; the Python host failing is shown in its column and noted below the
table (its known failures are noted next to STRING_MAX and JSON_MAX).

The slow peers are skipped past a bound: the HAMT build above --hamt-max
N (default 100 000, so the 100K ratio is always measured; it takes several
seconds a run there), the Python host above --py-max Map/Set operations
(default 1 000: lookups makes 2 * 100 000 of them at any N, so it is never
run there). String-keyed programs stop at STRING_MAX, json_file at
JSON_MAX, on every engine; the rt25 column runs wherever the HAMT one does.

json_file and json_wide_object read their document from a file named on
the command line (one argument is limited to 128 KiB on Linux): the script
writes N objects in an array (json_document()), or one object of N keys
(json_wide_document()), into a temporary directory and passes the path.

JSON throughput (issue #14), after the tables: for each --json-mb size
(default 1,10,100), a document of mixed records (json_mixed_document():
long strings with escapes and non-ASCII text, floats, deep nesting, wide
objects) is parsed and written back by bench/programs/json_roundtrip.wasm
(vera-rt's `json_parse` and `json_stringify` as `--stats` times each
import), by Node (`JSON.parse`, `JSON.stringify`, in process) and by
Python (`json.loads`, `json.dumps` compact, in process), best of
--repeat each; vera-rt and Node must write texts of the same length. Peak
heap is json_file.wasm's (parse only; the document's own copy in guest
memory included) over the document's size. --json-mb 0 skips it.

Each build runs once, untimed, before it is timed, so wasmtime's on-disk
cache of compiled code (used by the CLI by default) is warm.

  bench/compare.py [--quick] [--sizes 1000,10000,100000,1000000]
                   [--programs insert_chain,...] [--repeat 3]
                   [--hamt-max 100000] [--py-max 1000]

--quick is --sizes 1000,10000 --repeat 1 (a smoke run; explicit --sizes or
--repeat win). Needs target/release/vera-rt (cargo build --release), the
.wasm builds (bench/build.sh) and, for the Python column, VERA_VENV or
.venv-vera.
"""

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "bench" / "programs"
RT = ROOT / "target" / "release" / "vera-rt"

DEFAULT_PROGRAMS = ("insert_chain,set_insert_chain,string_insert_chain,set_string_insert_chain,"
                    "int_string_insert_chain,int_chain,set_chain,remove_chain,string_chain,lookups,json_file,"
                    "json_wide_object")
DEFAULT_SIZES = "1000,10000,100000,1000000"
QUICK_SIZES = "1000,10000"

# Programs whose buckets hold a String pointer per entry. Past ~16 000 of
# them Vera 0.2.3's own mark phase overflows its worklist; vera-rt replaces
# it with an overflow-safe one and the module's first-fit allocator with
# size classes (README: where the time goes), so they run to 1 000 000.
# Vera 0.2.3's Python host traps on these chains far earlier
# (fixtures/map_string_chain_2k.correction.json).
STRING_MAX = 1_000_000
STRING_PROGRAMS = {"string_chain", "string_insert_chain", "set_string_insert_chain", "int_string_insert_chain"}

# json_file: N objects of ~215 bytes each. 100 000 objects (21 MB) parse on
# vera-rt's 0.2.3 build (~0.65 s run time, ~400 MB resident) without
# reaching the guest's 16K mark worklist limit. 1 000 000 objects would be a 215 MB document, past vera-rt's default
# --max-host-string of 64 MiB (and ~4 GB resident), so the sizes stop here.
# Vera 0.2.3's Python host fails from ~200 objects on ("host shadow-stack
# overflow").
JSON_MAX = 100_000
# json_wide_object: one object of N keys, ~14 bytes a key.
JSON_WIDE_MAX = 1_000_000

LOOKUPS = 100_000

TIMEOUT = 900  # seconds; one run of any engine


def json_document(n):
    """N small objects in a top-level array, deterministic: strings with
    escapes and non-ASCII text, integers, floats with exponents, booleans,
    null, a nested object and nested arrays."""
    items = []
    for i in range(n):
        items.append(
            '{"id": %d, "name": "item \\"%d\\" \\u00e9t\\u00e9 \u2713", "price": %d.%02d, '
            '"ratio": %de-3, "tags": ["a", "b\\n", "c\\\\d"], "active": %s, "parent": null, '
            '"dims": {"w": %d, "h": %d, "deep": [[1, 2], [3, [4, 5.5]]]}}'
            % (i, i, i * 37 % 1000, i % 100, i % 997, "true" if i % 2 == 0 else "false",
               i % 13, i % 17))
    return "[" + ", ".join(items) + "]"


def json_wide_document(n):
    """One object of N keys, "k0": 0 ... "kN-1": N - 1."""
    return "{" + ", ".join('"k%d": %d' % (i, i) for i in range(n)) + "}"


def json_mixed_document(target_bytes, seed=14):
    """Records of what real documents mix, deterministic, about
    `target_bytes` long: an Int id, a title and a long body with escapes
    (\\n, \\", \\\\, \\u00e9, surrogate pairs) and raw non-ASCII text, floats
    (fractions and exponents), Bools and null, tags, nesting three to six
    deep, and every fourth record a wide object of 20 to 60 keys. No key
    looks like an integer (JavaScript would reorder it), so Node's
    JSON.stringify writes Vera's canonical text."""
    import random
    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "été", "naïve", "中文", "emoji 😀", "tab\\t", "quote \\\"x\\\"",
             "back\\\\slash", "line\\nbreak", "\\u00e9t\\u00e9", "\\ud83d\\ude00", "ünïcödé ✓", "plain", "text"]

    def text(n):
        return " ".join(rng.choice(words) for _ in range(n))

    def number():
        kind = rng.randrange(4)
        if kind == 0:
            return str(rng.randrange(-10**6, 10**6))
        if kind == 1:
            return f"{rng.uniform(-1000, 1000):.6f}"
        if kind == 2:
            return f"{rng.randrange(1, 999)}e{rng.randrange(-3, 5)}"
        return repr(rng.random())

    def nested(depth):
        if depth == 0:
            return number() if rng.random() < 0.5 else '"%s"' % text(2)
        if rng.random() < 0.5:
            return "[" + ", ".join(nested(depth - 1) for _ in range(rng.randrange(1, 4))) + "]"
        return "{" + ", ".join('"k%s": %s' % (chr(97 + i), nested(depth - 1))
                               for i in range(rng.randrange(1, 4))) + "}"

    items, size, i = [], 2, 0
    while size < target_bytes:
        fields = [
            '"id": %d' % i,
            '"title": "%s"' % text(4),
            '"body": "%s"' % text(rng.randrange(20, 70)),
            '"score": %s' % number(),
            '"ratio": %s' % number(),
            '"flags": [true, false, null]',
            '"tags": [%s]' % ", ".join('"%s"' % rng.choice(words) for _ in range(rng.randrange(0, 6))),
            '"tree": %s' % nested(rng.randrange(3, 6)),
        ]
        if i % 4 == 0:
            fields.append('"wide": {%s}' % ", ".join('"field_%d": %s' % (j, number())
                                                      for j in range(rng.randrange(20, 60))))
        item = "{" + ", ".join(fields) + "}"
        items.append(item)
        size += len(item.encode()) + 2
        i += 1
    return "[" + ",\n".join(items) + "]"


NODE_JSON = r"""
const fs = require('fs');
const text = fs.readFileSync(process.argv[1], 'utf8');
const repeat = +process.argv[2];
let parse = Infinity, write = Infinity, out = '';
for (let i = 0; i < repeat; i++) {
  const a = process.hrtime.bigint();
  const v = JSON.parse(text);
  const b = process.hrtime.bigint();
  out = JSON.stringify(v);
  const c = process.hrtime.bigint();
  parse = Math.min(parse, Number(b - a) / 1e6);
  write = Math.min(write, Number(c - b) / 1e6);
}
console.log(JSON.stringify({parse, write, length: Buffer.byteLength(out)}));
"""

PYTHON_JSON = r"""
import json, sys, time
text = open(sys.argv[1], encoding="utf-8").read()
parse = write = float("inf")
for _ in range(int(sys.argv[2])):
    a = time.perf_counter()
    v = json.loads(text)
    b = time.perf_counter()
    out = json.dumps(v, separators=(",", ":"), ensure_ascii=False)
    c = time.perf_counter()
    parse, write = min(parse, (b - a) * 1e3), min(write, (c - b) * 1e3)
print(json.dumps({"parse": parse, "write": write, "length": len(out.encode())}))
"""


def json_section(sizes_mb, repeat, tmp):
    """Issue #14's table: json_parse and json_stringify against Node and
    Python on the same documents, in MiB/s of the document, and the
    targets (parse and stringify at least 2x Node's speed, peak heap at
    most 4x the document). Returns the failures."""
    import json as pyjson
    failures = []
    print(f"\nJSON throughput (issue #14): mixed records, MiB/s of the document (higher is better), "
          f"best of {repeat}; vera-rt's figures are its imports' own time (`--stats`), Node's and "
          f"Python's the call's in-process time:\n")
    print("| document | json_parse | Node JSON.parse | Python json.loads | vera-rt / Node "
          "| json_stringify | Node JSON.stringify | Python json.dumps | vera-rt / Node | peak heap / document |")
    print("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|", flush=True)
    rows = []
    for mb in sizes_mb:
        path = Path(tmp) / f"mixed{mb}.json"
        path.write_text(json_mixed_document(mb << 20), encoding="utf-8")
        size = path.stat().st_size
        mib = size / (1 << 20)
        cmd = [str(RT), "run", str(PROGRAMS / "json_roundtrip.wasm"), "--stats", "--max-host-string", "1024",
               "--max-memory", "4096", "--", str(path)]
        parse_ms = write_ms = length = None
        for _ in range(repeat):
            r = run(cmd)
            if not r.ok:
                failures.append(f"json_roundtrip {mb} MB: vera-rt failed: {r.why()}")
                break
            times = dict(re.findall(r"^(json_parse|json_stringify):.* in ([0-9.]+) ms", r.err, re.M))
            p, w = float(times["json_parse"]), float(times["json_stringify"])
            parse_ms = p if parse_ms is None else min(parse_ms, p)
            write_ms = w if write_ms is None else min(write_ms, w)
            length = int(r.out)
        peak = run([str(RT), "run", str(PROGRAMS / "json_file.wasm"), "--stats", "--max-host-string", "1024",
                    "--max-memory", "4096", "--", str(path)])
        peers = {}
        for who, cmd in (("node", ["node", "-e", NODE_JSON, str(path), str(repeat)]),
                         ("python", [sys.executable, "-c", PYTHON_JSON, str(path), str(repeat)])):
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT)
            if p.returncode != 0:
                failures.append(f"{who} on {mb} MB failed: {p.stderr.strip()[:200]}")
                continue
            peers[who] = pyjson.loads(p.stdout)
        # Python writes integral floats as 2.0 where ECMAScript writes 2;
        # Node's text is Vera's canonical one.
        node_length = peers.get("node", {}).get("length")
        if length is not None and node_length is not None and node_length != length:
            failures.append(f"{mb} MB: Node wrote {node_length} bytes, vera-rt {length}")
        rate = lambda t: None if t is None else mib / (t / 1e3)
        cell = lambda x: "-" if x is None else f"{x:.0f}"
        node, py = peers.get("node", {}), peers.get("python", {})
        vp, np_, pp = rate(parse_ms), rate(node.get("parse")), rate(py.get("parse"))
        vw, nw, pw = rate(write_ms), rate(node.get("write")), rate(py.get("write"))
        heap = peak.peak_heap / size if peak.ok and peak.peak_heap else None
        rows.append((mb, vp, np_, vw, nw, heap))
        print(f"| {mib:.1f} MB | {cell(vp)} | {cell(np_)} | {cell(pp)} | {ratio(vp, np_)} "
              f"| {cell(vw)} | {cell(nw)} | {cell(pw)} | {ratio(vw, nw)} "
              f"| {'-' if heap is None else f'{heap:.1f}x'} |", flush=True)
    print("\nTargets (issue #14), on every document:\n")
    checks = [("json_parse at least 2x Node's JSON.parse", lambda r: r[1] and r[2] and r[1] / r[2], 2, True),
              ("json_stringify at least 2x Node's JSON.stringify", lambda r: r[3] and r[4] and r[3] / r[4], 2, True),
              ("peak heap at most 4x the document", lambda r: r[5], 4, False)]
    for line, value, bound, at_least in checks:
        values = [value(r) for r in rows]
        if not rows or any(v is None for v in values):
            print(f"- {line}: not measured")
            continue
        worst = min(values) if at_least else max(values)
        met = worst >= bound if at_least else worst <= bound
        print(f"- {line}: {'worst' if len(values) > 1 else ''} {worst:.1f}x ({'met' if met else 'NOT met'})")
    return failures


def max_size(program):
    if program in STRING_PROGRAMS:
        return STRING_MAX
    if program == "json_file":
        return JSON_MAX
    if program == "json_wide_object":
        return JSON_WIDE_MAX
    return None


def operations(program, n):
    """Map/Set operations a run makes (json_file: objects parsed), which is
    what bounds the Python host."""
    return n + 2 * LOOKUPS if program == "lookups" else n


def expected(program, n):
    """What main prints, computed here independently of every engine."""
    if program in ("insert_chain", "set_insert_chain", "string_insert_chain", "set_string_insert_chain",
                   "int_string_insert_chain", "json_file", "json_wide_object"):
        return n
    if program == "int_chain":  # N inserts of (i, 2i), then the sum of N lookups, plus the size
        return n * (n - 1) + n
    if program == "string_chain":  # values i, sum of N lookups plus the size
        return n * (n - 1) // 2 + n
    if program == "remove_chain":
        return 0
    if program == "set_chain":
        half = n // 2 + 1
        members = {(i % half) * 3 for i in range(n)}
        return sum(1 for i in range(n) if i in members) + len(members)
    if program == "lookups":  # keys 7j -> j for j < N; probes ((i * 7919) % (N + 1)) * 7
        total = 0
        for i in range(LOOKUPS):
            j = (i * 7919) % (n + 1)
            if j < n:
                total += j + 1
        return total
    return None


class Run:
    def __init__(self, wall, run_ms, ok, out, err):
        self.wall, self.run_ms, self.ok, self.out, self.err = wall, run_ms, ok, out, err
        m = re.search(r"^peak heap:\s*([0-9]+) bytes", err, re.M)
        self.peak_heap = int(m.group(1)) if m else None

    def why(self):
        lines = [l for l in self.err.splitlines() if l.strip() and not l.startswith("---")]
        return lines[0].strip() if lines else "no message"


def run(cmd, cwd=None):
    start = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return Run(time.perf_counter() - start, None, False, "", f"timed out after {TIMEOUT} s")
    wall = time.perf_counter() - start
    m = re.search(r"^run time:\s*([0-9.]+) ms", p.stderr, re.M)
    return Run(wall, float(m.group(1)) if m else None, p.returncode == 0, p.stdout.strip(), p.stderr)


def best(cmd, repeat, cwd=None):
    """Best wall time and best run time of `repeat` runs; a failed run (or
    a different output) is returned as is."""
    runs = []
    for _ in range(repeat):
        r = run(cmd, cwd)
        if not r.ok or (runs and r.out != runs[0].out):
            return r
        runs.append(r)
    first = runs[0]
    ms = [r.run_ms for r in runs if r.run_ms is not None]
    return Run(min(r.wall for r in runs), min(ms) if ms else None, True, first.out, first.err)


def machine():
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    distro = ""
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                distro = ", " + line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT,
                                capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = ""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"Machine: {cpu}, {os.cpu_count()} cores, {platform.machine()}, "
            f"{platform.system()} {platform.release()}{distro}; load average {load} at start.\n"
            f"Date: {datetime.now().strftime('%Y-%m-%d %H:%M')}; vera-rt at {commit or 'unknown commit'}.")


def ratio(a, b):
    if a is None or b is None or b <= 0:
        return "-"
    r = a / b
    return f"{r:.0f}x" if r >= 10 else f"{r:.1f}x"


def ms(x):
    return "-" if x is None else (f"{x:.3f}" if x < 10 else f"{x:.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", help=f"comma-separated N (default {DEFAULT_SIZES})")
    parser.add_argument("--programs", default=DEFAULT_PROGRAMS)
    parser.add_argument("--repeat", type=int, help="runs per engine and size, best taken (default 3)")
    parser.add_argument("--hamt-max", type=int, default=100_000, help="largest N for the 0.2.5 build")
    parser.add_argument("--py-max", type=int, default=1_000, help="most Map/Set operations for `vera run`")
    parser.add_argument("--quick", action="store_true", help=f"--sizes {QUICK_SIZES} --repeat 1")
    parser.add_argument("--json-mb", default="1,10,100",
                        help="document sizes of the JSON throughput table, MB (0: skip it)")
    opts = parser.parse_args()
    sizes = [int(s) for s in (opts.sizes or (QUICK_SIZES if opts.quick else DEFAULT_SIZES)).split(",")]
    repeat = opts.repeat or (1 if opts.quick else 3)
    programs = opts.programs.split(",")
    venv = Path(os.environ.get("VERA_VENV", ROOT / ".venv-vera"))
    vera = venv / "bin" / "vera"
    if not RT.exists():
        sys.exit(f"{RT} missing: cargo build --release")
    for program in programs:
        for suffix in (".wasm", ".v025.wasm", ".vera"):
            if not (PROGRAMS / f"{program}{suffix}").exists():
                sys.exit(f"{PROGRAMS / (program + suffix)} missing (bench/build.sh builds the .wasm)")

    tmp = tempfile.TemporaryDirectory(prefix="vera-bench-")
    documents = {}

    def args_for(program, n):
        if program == "lookups":
            return [str(n), str(LOOKUPS)]
        if program in ("json_file", "json_wide_object"):
            if (program, n) not in documents:
                documents[(program, n)] = Path(tmp.name) / f"{program}{n}.json"
                write = json_document if program == "json_file" else json_wide_document
                documents[(program, n)].write_text(write(n), encoding="utf-8")
            return [str(documents[(program, n)])]
        return [str(n)]

    def rt_cmd(wasm, args, as_is=False):
        return [str(RT), "run", str(PROGRAMS / wasm), "--stats", *(["--as-is"] if as_is else []), "--", *args]

    print(machine())
    print(f"Best of {repeat} runs (Python host: 1 run). Whole-process seconds; compiled code "
          f"cached (as the CLI does by default). HAMT build run up to N = {opts.hamt_max:,}, "
          f"Python host up to {opts.py_max:,} Map/Set operations; `lookups` is N entries then "
          f"{LOOKUPS:,} map_get + {LOOKUPS:,} map_contains; `json_file` N is objects in the document.\n")
    print("| program | N | vera-rt (0.2.3 build) | 0.2.5 HAMT build as compiled | HAMT / vera-rt "
          "| 0.2.5 build on vera-rt | that / vera-rt "
          "| `vera run` 0.2.3 (Python) | Python / vera-rt |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|", flush=True)

    failures, notes, run_rows, measured = [], [], [], {}
    for program in programs:
        cap = max_size(program)
        program_sizes = [n for n in sizes if cap is None or n <= cap]
        if not program_sizes:
            continue
        # Warm wasmtime's compiled-code cache for both builds.
        warm = args_for(program, program_sizes[0])
        run(rt_cmd(f"{program}.wasm", warm))
        if program_sizes[0] <= opts.hamt_max:
            run(rt_cmd(f"{program}.v025.wasm", warm))
            run(rt_cmd(f"{program}.v025.wasm", warm, as_is=True))
        for n in program_sizes:
            args = args_for(program, n)
            want = expected(program, n)
            label = f"{program} {n:,}"
            rt = best(rt_cmd(f"{program}.wasm", args), repeat)
            row = [program, f"{n:,}"]
            if rt.ok:
                cell = f"{rt.wall:.3f}"
                if want is not None and rt.out != str(want):
                    wrong = f"{label}: the 0.2.3 build printed {rt.out!r}, expected {want}"
                    failures.append(wrong)
                    notes.append(wrong)
                    cell += f" wrong ({len(notes)})"
                row.append(cell)
            else:
                row.append("fails")
                failures.append(f"{label}: vera-rt (0.2.3 build) failed: {rt.why()}")
            # What every engine must print: expected(), else the 0.2.3 build's output.
            reference = str(want) if want is not None else (rt.out if rt.ok else None)
            hamt = rt25 = None
            def timed_cell(result, who, digits):
                """A peer's time, marked when its output is not the reference."""
                cell = f"{result.wall:.{digits}f}"
                if reference is not None and result.out != reference:
                    wrong = f"{label}: {who} printed {result.out!r}, expected {reference}"
                    failures.append(wrong)
                    notes.append(wrong)
                    cell += f" wrong ({len(notes)})"
                return [cell, ratio(result.wall, rt.wall) if rt.ok else "-"]

            if n <= opts.hamt_max:
                hamt = best(rt_cmd(f"{program}.v025.wasm", args, as_is=True), repeat)
                rt25 = best(rt_cmd(f"{program}.v025.wasm", args), repeat)
                for result, who in ((hamt, "the 0.2.5 build as compiled"), (rt25, "the 0.2.5 build")):
                    if result.ok:
                        row += timed_cell(result, who, 3)
                    else:
                        row += ["fails", "-"]
                        failures.append(f"{label}: vera-rt ({who}) failed: {result.why()}")
            else:
                row += ["-", "-", "-", "-"]
            if operations(program, n) <= opts.py_max and vera.exists():
                py = run([str(vera), "run", f"{program}.vera", "--", *args], cwd=PROGRAMS)
                if py.ok:
                    row += timed_cell(py, "`vera run`", 2)
                else:
                    notes.append(f"{label}: `vera run` fails after {py.wall:.2f} s: {py.why()}")
                    row += [f"fails after {py.wall:.2f} ({len(notes)})", "-"]
            else:
                row += ["-", "-"]
            print("| " + " | ".join(row) + " |", flush=True)
            run_rows.append((program, n, rt if rt.ok else None,
                             hamt if hamt and hamt.ok else None, rt25 if rt25 and rt25.ok else None))
            measured[(program, n)] = (rt if rt.ok else None, hamt if hamt and hamt.ok else None)

    if notes:
        print()
        for i, note in enumerate(notes, 1):
            print(f"({i}) {note}")

    print(f"\nvera-rt's own `run time:` (`--stats`: the call of `main` only, without compiling "
          f"or instantiating), ms, best of {repeat}:\n")
    print("| program | N | 0.2.3 build | 0.2.5 HAMT build as compiled | HAMT / 0.2.3 "
          "| 0.2.5 build on vera-rt | 0.2.3 build's peak heap, bytes per N |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    run_ms = lambda r: r.run_ms if r else None
    for program, n, rt, hamt, rt25 in run_rows:
        per_n = f"{rt.peak_heap / n:.0f}" if rt and rt.peak_heap else "-"
        print(f"| {program} | {n:,} | {ms(run_ms(rt))} | {ms(run_ms(hamt))} "
              f"| {ratio(run_ms(hamt), run_ms(rt))} | {ms(run_ms(rt25))} | {per_n} |")

    print("\nTargets (issue #6: insert_chain, an array_fold of N map_insert over Int keys, "
          "returning map_size; issue #13: string_insert_chain, the same with String keys "
          "built at run time):\n")

    def target(line, value, met):
        print(f"- {line}: {value}" + ("" if met is None else (" (met)" if met else " (NOT met)")))

    # Issue #15: every program's 0.2.5 build as vera-rt loads it within 3x of
    # its 0.2.3 build.
    worst = [(r25.wall / rt.wall, program) for program, n, rt, _, r25 in run_rows
             if n == 100_000 and rt and r25]
    line = "every program at 100,000, whole process, 0.2.5 build on vera-rt / 0.2.3 build <= 3x"
    if worst:
        top, program = max(worst)
        target(line, f"at most {top:.1f}x ({program})", top <= 3)
    else:
        target(line, "not measured", None)
    for program in ("insert_chain", "string_insert_chain"):
        rt, hamt = measured.get((program, 100_000), (None, None))
        line = f"{program}, 100,000 inserts, whole process, HAMT build as compiled / 0.2.3 build >= 100x"
        if rt and hamt:
            target(line, ratio(hamt.wall, rt.wall), hamt.wall / rt.wall >= 100)
        else:
            target(line, "not measured", None)
    rt, _ = measured.get(("string_insert_chain", 1_000_000), (None, None))
    line = "string_insert_chain, 1,000,000 inserts, whole process < 1.5 s"
    target(line, f"{rt.wall:.3f} s" if rt else "not measured", rt.wall < 1.5 if rt else None)
    small, _ = measured.get(("string_insert_chain", 100_000), (None, None))
    line = "string_insert_chain, peak heap per entry at 1,000,000 within 1.5x of 100,000's"
    if rt and small and rt.peak_heap and small.peak_heap:
        growth = (rt.peak_heap / 1_000_000) / (small.peak_heap / 100_000)
        target(line, f"{growth:.2f}x", growth <= 1.5)
    else:
        target(line, "not measured", None)
    for n, limit in ((10_000, 2.0), (1_000_000, 300.0)):
        rt, _ = measured.get(("insert_chain", n), (None, None))
        line = f"{n:,} inserts, run time < {limit:g} ms"
        if rt and rt.run_ms is not None:
            target(line, f"{rt.run_ms:.3f} ms", rt.run_ms < limit)
        else:
            target(line, "not measured", None)

    json_sizes = [int(x) for x in opts.json_mb.split(",") if int(x) > 0]
    if json_sizes:
        failures += json_section(json_sizes, repeat, tmp.name)

    tmp.cleanup()
    if failures:
        print("\nFAILED:", file=sys.stderr)
        for f in failures:
            print(f"  {f}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
