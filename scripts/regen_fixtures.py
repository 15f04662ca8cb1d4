"""Compile each fixtures/NAME.vera and record the reference run.

Per fixture (NAME is the file stem):
  NAME.vera             the program (ours; never copied from Vera's tree)
  NAME.stdin            optional: fed to the program's stdin
  NAME.run.json         optional: {"fn": "f", "args": ["1", "x"]}; with
                        "cli": true (and optionally "flags": ["--json"])
                        a fixture of `vera run`'s own behaviour: see CLI
                        fixtures below
  NAME.correction.json  optional: {"why": "...", "stdout": ..., ...}, for
                        cases where `vera run` 0.2.3 is wrong; the listed
                        fields replace the reference's (see ../shared ABI notes);
                        with "expected_from": "vera run 0.2.5" the expected
                        output is what `vera run` 0.2.5 prints instead.
                        {"v025": {"why": "..."}} (alone or beside those): the
                        program itself behaves differently when Vera 0.2.5
                        compiles it, so its 0.2.5 build is expected to print
                        what `vera run` 0.2.5 prints (recorded as
                        expected.json's "v025": {"stdout", ..., "why"})
Written:
  NAME.wasm             `vera compile` output, run by the Rust tests
  NAME.eager-gc.wasm    for collection-heavy fixtures (EAGER_GC_PREFIXES):
                        the same program compiled with VERA_EAGER_GC=1, so
                        the guest collects on every allocation; it must
                        print the same, which catches any pointer the host
                        holds across `alloc` without rooting it (not for
                        the long folds: their eager builds overflow the
                        guest collector's own mark worklist, under
                        `vera run` too)
  NAME.v025.wasm        the same program compiled by Vera 0.2.5 (runtime
                        exports prefixed `vera.`, maps inside the module, so
                        JSON objects and HTML attributes are built and read
                        through the module's exports), wherever 0.2.5
                        compiles it; it must print the same
  NAME.expected.json    {"stdout", "stderr_first_line", "exit_code"} and,
                        where corrected, "reference" (what vera run printed)
                        and "why"

Fixtures listed in fixtures/V025_ONLY use what only Vera 0.2.4 and later
have (IO.read_bytes, IO.write_bytes, ...): they are compiled by 0.2.5 alone
(NAME.v025.wasm and NAME.v025.eager-gc.wasm, its VERA_EAGER_GC=1 build, to
be run with --guest-alloc; no NAME.wasm) and their expected output is what
`vera run` of 0.2.5 printed; NAME.expected.json then says
"vera": "0.2.5", which is how the tests know to run only that build.

CLI fixtures (NAME.run.json says "cli": true) check what `vera run` itself
prints: argument errors, source backtraces, Fix paragraphs, --json
envelopes. Each is run as `vera run [FLAGS] NAME.vera [--fn F] [-- ARGS]`
in a fresh directory holding a copy of NAME.vera (so the file names in
the output are the bare NAME.vera; "args": [] passes a bare `--`), by
0.2.3 and by 0.2.5; NAME.expected.json records stdout, the whole stderr
and the exit status of each (0.2.5's under "v025"). The Rust test runs
`vera-rt run NAME.wasm ...` the same way, with the build beside the copy.

`--v025-builds` (re)builds only NAME.v025.wasm, leaving the 0.2.3 builds
and the expected output as they are.

Every program runs with the current directory set to a fresh temporary
directory, VERA_RT_FIXTURE_ENV=fixture-env-value in its environment and
stdin from NAME.stdin (empty otherwise): the Rust test does the same.
Both also start scripts/fixture_server.py and pass its addresses as
VERA_RT_FIXTURE_HTTP and VERA_RT_FIXTURE_CLOSED, and remove the
Inference variables (VERA_INFERENCE_*, VERA_*_API_KEY), so a program
sees no provider configured.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FIXTURE_ENV = {"VERA_RT_FIXTURE_ENV": "fixture-env-value"}
SERVER = Path(__file__).resolve().parent / "fixture_server.py"
INFERENCE_VARS = ("VERA_INFERENCE_PROVIDER", "VERA_INFERENCE_MODEL", "VERA_INFERENCE_URL",
                  "VERA_ANTHROPIC_API_KEY", "VERA_OPENAI_API_KEY", "VERA_MOONSHOT_API_KEY",
                  "VERA_MISTRAL_API_KEY", "VERA_XAI_API_KEY", "VERA_DEEPSEEK_API_KEY")


def start_server() -> subprocess.Popen:
    """Starts the fixture HTTP server; its addresses go into FIXTURE_ENV."""
    server = subprocess.Popen([sys.executable, str(SERVER)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    port, closed = server.stdout.readline().split()
    FIXTURE_ENV["VERA_RT_FIXTURE_HTTP"] = f"http://127.0.0.1:{port}"
    FIXTURE_ENV["VERA_RT_FIXTURE_CLOSED"] = f"http://127.0.0.1:{closed}"
    return server
EAGER_GC_PREFIXES = ("map_", "set_", "json_", "app_", "html_", "md_", "http_", "async_", "wide_eager_")
# Vera 0.2.3 miscompiles html_tree's rooting: its eager-GC build prints
# garbage under `vera run` too.
EAGER_GC_SKIP = {"html_tree"}
# These must compile under 0.2.5 (their maps are the reason for the build);
# any other fixture gets a 0.2.5 build where 0.2.5 compiles it.
V025_PREFIXES = ("json_", "html_", "app_")


def build_v025(vera25: str, source: Path, wasm: Path) -> None:
    """Writes NAME.v025.wasm, or removes a stale one where 0.2.5 does not
    compile the program (a V025_PREFIXES fixture must compile)."""
    target = source.with_suffix("").with_suffix(".v025.wasm")
    proc = subprocess.run([vera25, "compile", str(source), "-o", str(wasm)],
                          check=source.stem.startswith(V025_PREFIXES), capture_output=True)
    if proc.returncode == 0:
        shutil.copyfile(wasm, target)
    else:
        target.unlink(missing_ok=True)
        print(f"{source.name}: Vera 0.2.5 does not compile it")


def v025_only() -> set:
    """The names listed in fixtures/V025_ONLY (`#` starts a comment)."""
    listing = FIXTURES / "V025_ONLY"
    if not listing.exists():
        return set()
    names = (line.split("#")[0].strip() for line in listing.read_text().splitlines())
    return {n for n in names if n}


def run_reference(vera: str, source: Path) -> dict:
    stem = source.with_suffix("")
    run_spec = {}
    spec_file = stem.with_suffix(".run.json")
    if spec_file.exists():
        run_spec = json.loads(spec_file.read_text())
    stdin_file = stem.with_suffix(".stdin")
    stdin = stdin_file.read_bytes() if stdin_file.exists() else b""
    cmd = [vera, "run", str(source)]
    if "fn" in run_spec:
        cmd += ["--fn", run_spec["fn"]]
    if run_spec.get("args"):
        cmd += ["--"] + run_spec["args"]
    env = dict(os.environ, **FIXTURE_ENV)
    for var in INFERENCE_VARS:
        env.pop(var, None)
    with tempfile.TemporaryDirectory() as cwd:
        proc = subprocess.run(cmd, input=stdin, capture_output=True,
                              cwd=cwd, env=env, timeout=600)
    stderr = proc.stderr.decode("utf-8", "replace")
    return {
        "stdout": proc.stdout.decode("utf-8", "replace"),
        "stderr_first_line": stderr.splitlines()[0] if stderr else "",
        "exit_code": proc.returncode,
    }


def run_cli_reference(vera: str, source: Path) -> dict:
    """What `vera run` prints for a CLI fixture: stdout, the whole stderr
    and the exit status, run on a copy of the source in a fresh directory."""
    stem = source.with_suffix("")
    spec = json.loads(stem.with_suffix(".run.json").read_text())
    cmd = [vera, "run"] + spec.get("flags", []) + [source.name]
    if "fn" in spec:
        cmd += ["--fn", spec["fn"]]
    if "args" in spec:
        cmd += ["--"] + spec["args"]
    env = dict(os.environ, **FIXTURE_ENV)
    for var in INFERENCE_VARS:
        env.pop(var, None)
    with tempfile.TemporaryDirectory() as cwd:
        shutil.copyfile(source, Path(cwd) / source.name)
        proc = subprocess.run(cmd, input=b"", capture_output=True,
                              cwd=cwd, env=env, timeout=600)
    stderr = proc.stderr.decode("utf-8", "replace")
    return {
        "stdout": proc.stdout.decode("utf-8", "replace"),
        "stderr": stderr,
        "stderr_first_line": stderr.splitlines()[0] if stderr else "",
        "exit_code": proc.returncode,
    }


def is_cli(source: Path) -> bool:
    spec = source.with_suffix("").with_suffix(".run.json")
    return spec.exists() and json.loads(spec.read_text()).get("cli", False)


def regen_v025_only(vera25: str, source: Path) -> dict:
    """Builds NAME.v025.wasm and NAME.v025.eager-gc.wasm and returns what
    `vera run` 0.2.5 printed."""
    stem = source.with_suffix("")
    for stale in (".wasm", ".eager-gc.wasm"):
        stem.with_suffix(stale).unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as out:
        wasm = Path(out) / "prog.wasm"
        subprocess.run([vera25, "compile", str(source), "-o", str(wasm)],
                       check=True, capture_output=True)
        shutil.copyfile(wasm, stem.with_suffix(".v025.wasm"))
        subprocess.run([vera25, "compile", str(source), "-o", str(wasm)],
                       check=True, capture_output=True,
                       env=dict(os.environ, VERA_EAGER_GC="1"))
        shutil.copyfile(wasm, stem.with_suffix(".v025.eager-gc.wasm"))
    return dict(run_reference(vera25, source), vera="0.2.5")


def regen(vera: str, vera25: str, source: Path) -> None:
    stem = source.with_suffix("")
    if source.stem in v025_only():
        write_expected(stem, regen_v025_only(vera25, source))
        return
    with tempfile.TemporaryDirectory() as out:
        wasm = Path(out) / "prog.wasm"
        subprocess.run([vera, "compile", str(source), "-o", str(wasm)],
                       check=True, capture_output=True)
        shutil.copyfile(wasm, stem.with_suffix(".wasm"))
        build_v025(vera25, source, wasm)
        if source.stem.startswith(EAGER_GC_PREFIXES) and source.stem not in EAGER_GC_SKIP and not any(w in source.stem for w in ("chain", "fold")):
            subprocess.run([vera, "compile", str(source), "-o", str(wasm)],
                           check=True, capture_output=True,
                           env=dict(os.environ, VERA_EAGER_GC="1"))
            shutil.copyfile(wasm, stem.with_suffix(".eager-gc.wasm"))
    if is_cli(source):
        expected = dict(run_cli_reference(vera, source), cli=True)
        if stem.with_suffix(".v025.wasm").exists():
            expected["v025"] = dict(run_cli_reference(vera25, source),
                                    why="a CLI fixture: what `vera run` 0.2.5 itself prints")
        write_expected(stem, expected)
        return
    expected = run_reference(vera, source)
    correction_file = stem.with_suffix(".correction.json")
    if correction_file.exists():
        correction = json.loads(correction_file.read_text())
        if correction.get("expected_from") == "vera run 0.2.5":
            # 0.2.3 cannot run the program; 0.2.5's `vera run` is the oracle.
            expected = dict(run_reference(vera25, source), reference=expected, why=correction["why"])
        v025 = correction.get("v025")
        if v025 is not None:
            expected["v025"] = dict(run_reference(vera25, source), why=v025["why"])
    write_expected(stem, expected)


def write_expected(stem: Path, expected: dict) -> None:
    """Applies NAME.correction.json, if any, and writes NAME.expected.json."""
    correction_file = stem.with_suffix(".correction.json")
    if correction_file.exists():
        correction = json.loads(correction_file.read_text())
        reference = {k: v for k, v in expected.items() if k != "v025"}
        for field in ("stdout", "stderr_first_line", "exit_code"):
            if field in correction:
                expected[field] = correction[field]
        reference.pop("vera", None)
        if any(field in correction for field in ("stdout", "stderr_first_line", "exit_code")):
            expected["reference"] = reference
            expected["why"] = correction["why"]
    stem.with_suffix(".expected.json").write_text(
        json.dumps(expected, indent=2, ensure_ascii=False) + "\n")
    print(f"{stem.name}.vera: exit {expected['exit_code']}")


def main() -> None:
    vera, vera25 = sys.argv[1], sys.argv[2]
    names = sys.argv[3:]
    if not names or "regex_cases" in names:
        # Python's re answers for the regex port's differential test
        # (this script runs under the Python of Vera 0.2.3).
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import regex_cases
        regex_cases.write(FIXTURES / "regex_cases.json")
        regex_cases.write_classes()
        names = [n for n in names if n != "regex_cases"]
        if not names and "regex_cases" in sys.argv[3:]:
            return
    v025_builds = "--v025-builds" in names
    names = [n for n in names if n != "--v025-builds"]
    sources = sorted(FIXTURES.glob("*.vera"))
    if names:
        sources = [s for s in sources if s.stem in names]
    if v025_builds:
        only = v025_only()
        with tempfile.TemporaryDirectory() as out:
            for source in sources:
                if source.stem not in only:
                    build_v025(vera25, source, Path(out) / "prog.wasm")
        return
    server = start_server()
    try:
        for source in sources:
            regen(vera, vera25, source)
    finally:
        server.stdin.close()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
