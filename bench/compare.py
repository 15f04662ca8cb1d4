#!/usr/bin/env python3
"""Whole-process comparison, side by side in one run, printed as a
Markdown table.

For every benchmark program (bench/programs) and size it times, best of
--repeat runs:
  rt      vera-rt on the Vera 0.2.3 build (Map/Set buckets in guest memory)
  hamt    vera-rt on the Vera 0.2.5 build (Map/Set as a trie in the module)
  py      `vera run` 0.2.3, Vera's own Python host, on the source
and checks that every engine printed the same result. A peer is skipped
above a number of Map/Set operations (it would take minutes): --hamt-max,
--py-max.

  bench/compare.py [--sizes 1000,10000,100000,1000000] [--programs int_chain,...]

Needs target/release/vera-rt (cargo build --release), the .wasm builds
(bench/build.sh) and, for the Python column, VERA_VENV or .venv-vera.
"""

import argparse
import os
import platform
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "bench" / "programs"
RT = ROOT / "target" / "release" / "vera-rt"
# Sizes past which a String-keyed 0.2.3 map overflows the guest collector's
# 16 384-entry mark worklist (on any host).
STRING_MAX = 10_000


def timed(cmd, cwd=None):
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    took = time.perf_counter() - start
    if out.returncode != 0:
        return took, f"exit {out.returncode}: {out.stderr.strip().splitlines()[:1]}"
    return took, out.stdout.strip()


def best(cmd, repeat, cwd=None):
    runs = [timed(cmd, cwd) for _ in range(repeat)]
    return min(t for t, _ in runs), runs[0][1]


LOOKUPS = 100_000


def args_for(program, n):
    return [str(n), str(LOOKUPS)] if program == "lookups" else [str(n)]


def operations(program, n):
    """Map/Set operations a run makes, which is what bounds the slow peers."""
    return n + 2 * LOOKUPS if program == "lookups" else n


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--programs", default="int_chain,set_chain,remove_chain,string_chain,lookups")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--hamt-max", type=int, default=400_000)
    parser.add_argument("--py-max", type=int, default=1_000)
    opts = parser.parse_args()
    venv = Path(os.environ.get("VERA_VENV", ROOT / ".venv-vera"))
    vera = venv / "bin" / "vera"
    sizes = [int(s) for s in opts.sizes.split(",")]

    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
          f"{platform.release()}; {date.today()}; best of {opts.repeat} runs, seconds, whole process.\n")
    print("| program | N | vera-rt (0.2.3 build) | vera-rt on the 0.2.5 HAMT build | HAMT / vera-rt "
          "| `vera run` 0.2.3 (Python) | Python / vera-rt |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    failed = False
    for program in opts.programs.split(","):
        for n in sizes:
            if program == "string_chain" and n > STRING_MAX:
                continue
            args = args_for(program, n)
            rt_s, rt_out = best([str(RT), "run", str(PROGRAMS / f"{program}.wasm"), "--", *args], opts.repeat)
            row = [program, f"{n:,}", f"{rt_s:.3f}"]
            if operations(program, n) <= opts.hamt_max:
                hamt_s, hamt_out = best(
                    [str(RT), "run", str(PROGRAMS / f"{program}.v025.wasm"), "--", *args], opts.repeat)
                row += [f"{hamt_s:.3f}", f"{hamt_s / rt_s:.0f}x"]
                if hamt_out != rt_out:
                    print(f"{program} {n}: 0.2.5 build printed {hamt_out!r}, 0.2.3 build {rt_out!r}", file=sys.stderr)
                    failed = True
            else:
                row += ["-", "-"]
            if operations(program, n) <= opts.py_max and vera.exists():
                py_s, py_out = best([str(vera), "run", f"{program}.vera", "--", *args], 1, cwd=PROGRAMS)
                if py_out.startswith("exit "):
                    # Vera 0.2.3's host traps on String-keyed chains of a few
                    # hundred inserts (fixtures/map_string_chain_2k.correction.json).
                    row += [f"traps after {py_s:.2f}", "-"]
                else:
                    row += [f"{py_s:.2f}", f"{py_s / rt_s:.0f}x"]
                if py_out != rt_out and not py_out.startswith("exit "):
                    print(f"{program} {n}: vera run printed {py_out!r}, vera-rt {rt_out!r}", file=sys.stderr)
                    failed = True
            else:
                row += ["-", "-"]
            print("| " + " | ".join(row) + " |", flush=True)
            if "exit" in rt_out:
                print(f"vera-rt failed: {rt_out}", file=sys.stderr)
                failed = True
    if failed:
        print("engines disagreed or failed (see above)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
