"""Dump the trap registry of veralang 0.2.3 or 0.2.5: every trap kind
`vera run` can report, with its description and its Fix paragraph, both
as the registry states it (what `vera run --json` puts in a trap's
`fix`) and as `vera run` prints it under `Fix:` (`textwrap.fill` to 76
columns, indented two spaces; empty where `vera run` prints no Fix).

    .venv-vera/bin/python scripts/vera_traps.py > crates/vera-rt/data/vera-0.2.3-traps.json
    .venv-vera25/bin/python scripts/vera_traps.py > crates/vera-rt/data/vera-0.2.5-traps.json

Also the names of the prelude's functions (every `fn NAME` of the Vera
source `vera/prelude.py` injects): `vera run` shows their frames as
`<builtin>`, as it does the runtime's helpers.

`scripts/regen-fixtures` runs both. The CLI embeds the files
(crates/vera-rt/src/traps.rs). Do not edit them by hand.
"""

import json
import re
import sys
import textwrap

import vera
import vera.prelude
from vera.runtime.traps import _TRAP_FIX_PARAGRAPHS
from vera.trap_registry import TRAP_KINDS


def printed(fix: str) -> str:
    # The exact call of `cmd_run` (vera/cli.py) for the text mode.
    if not fix:
        return ""
    return textwrap.fill(fix, width=76, initial_indent="  ", subsequent_indent="  ")


def prelude_functions() -> list:
    names = set()
    for value in vars(vera.prelude).values():
        if isinstance(value, str):
            names.update(re.findall(r"\bfn\s+([a-z][A-Za-z0-9_]*)\s*\(", value))
    return sorted(names)


def main() -> None:
    kinds = []
    for name, kind in TRAP_KINDS.items():
        fix = _TRAP_FIX_PARAGRAPHS[name]
        kinds.append({
            "kind": name,
            "code": kind.code,
            "description": kind.description,
            "fix": fix,
            "fix_printed": printed(fix),
        })
    json.dump({
        "vera": vera.__version__,
        "generated_by": "scripts/vera_traps.py; do not edit by hand",
        "kinds": kinds,
        "prelude_functions": prelude_functions(),
    }, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
