"""What Vera's compiler records about each fixture's functions, for
checking vera-rt's own reading of the source (`vera_host::source`).

For every fixtures/NAME.vera that compiles, the compile result `vera run`
uses: each function's lowered parameter types (`fn_param_types`, with
`fn_param_nat` and `fn_param_byte`), whether it returns a String
(`fn_string_returns`) and its source span (`fn_source_map`), plus the
exports and the prelude's functions (whose frames are `<builtin>`).

    .venv-vera/bin/python scripts/vera_sources.py > fixtures/vera-0.2.3-sources.json

`scripts/regen-fixtures` runs it; `crates/vera-rt/tests/source.rs`
checks that vera-rt reads every fixture the same. Do not edit the output
by hand.
"""

import json
import sys
from pathlib import Path

from vera.checker import typecheck_with_artifacts
from vera.codegen import compile as codegen_compile
from vera.parser import parse
from vera.resolver import ModuleResolver
from vera.transform import transform

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def describe(path: Path) -> dict | None:
    source = path.read_text(encoding="utf-8")
    ast = transform(parse(source, file=path.name))
    resolver = ModuleResolver(_root=path.parent)
    resolved = resolver.resolve_imports(ast, path)
    diags, artifacts = typecheck_with_artifacts(
        ast, source, file=path.name, resolved_modules=resolved,
        collect_module_artifacts=True)
    if any(d.severity == "error" for d in resolver.errors + diags):
        return None
    result = codegen_compile(
        ast, source=source, file=path.name, resolved_modules=resolved,
        expr_semantic_types=artifacts.expr_semantic_types,
        expr_target_types=artifacts.expr_target_types,
        module_artifacts=artifacts.module_artifacts)
    if not result.ok:
        return None
    functions = {}
    for name, (_file, start, end) in sorted(result.fn_source_map.items()):
        functions[name] = {
            "lines": [start, end],
            "params": result.fn_param_types.get(name),
            "nat": result.fn_param_nat.get(name),
            "byte": result.fn_param_byte.get(name),
            "returns_string": name in result.fn_string_returns,
        }
    return {"exports": result.exports, "functions": functions}


def main() -> None:
    out = {}
    for path in sorted(FIXTURES.glob("*.vera")):
        described = describe(path)
        if described is not None:
            out[path.stem] = described
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
