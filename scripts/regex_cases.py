"""Generate fixtures/regex_cases.json: what Python's `re` answers for
thousands of patterns and subjects built from a seed, as Vera 0.2.3's
regex imports report it (vera/runtime/regex.py):

  regex_match     re.search(p, s) is not None
  regex_find      re.search(p, s).group(0), or None
  regex_find_all  [m.group(0) for m in re.finditer(p, s)]
  regex_replace   re.sub(p, REPL, s, count=1)

and, for a pattern `re` refuses, the `Err` text `invalid regex: {exc}`.
Run with the Python of the `vera` under test (scripts/regen-fixtures runs
it with 0.2.3's); the Rust test `crates/vera-host/tests/regex_cases.rs`
runs the same cases through vera-rt's regex port and compares.

It also writes crates/vera-families/src/regex_classes.rs: the
characters `re` counts as `\d`, `\s` and `\w` in a str pattern
(`str.isdecimal`, `str.isspace`, `str.isalnum() or "_"`, by this Python's
Unicode tables), which the port uses in place of Rust's classes.

  python scripts/regex_cases.py [OUT] [--seed N] [--count N]
"""

import json
import random
import re
import sys
from pathlib import Path

SEED = 19
COUNT = 4000
# A template using a group and an escape, so template parsing is covered too.
REPL = r"<\g<0>>"

# Pieces of a pattern: literals, Python's classes and anchors, characters
# where Python's and Rust's Unicode tables disagree, flags.
ATOMS = [
    "a", "b", "c", "ab", "é", "İ", "ı", "K", "_", "1", "²", " ", "\\.",
    ".", "\\s", "\\S", "\\w", "\\W", "\\d", "\\D", "\\b", "\\B",
    "^", "$", "\\A", "\\Z", "[abc]", "[^a]", "[a-c]", "[\\w]", "[\\s]", "[^\\W\\d]",
    "\\x1c", "\\u0301", "\\n", "(?i:a)", "(?i:k)", "(?i:i)", "(?a:\\w)", "(?a:\\s)", "(?a:\\b)",
]
QUANTS = ["", "", "", "*", "+", "?", "*?", "+?", "??", "{2}", "{0,2}", "{1,}", "*+", "{2,3}?"]
FLAGS = ["", "", "", "", "(?i)", "(?a)", "(?m)", "(?s)", "(?ai)", "(?x)"]
# Subject characters: ASCII, the separators Python counts as space
# (\x1c-\x1f, \x85), combining marks, dotless/dotted i, Kelvin sign,
# superscript digits, newlines.
SUBJECT = ["a", "b", "c", "a", "b", " ", "\n", "_", "1", "²", "é", "e\u0301", "\u0301",
           "\x1c", "\x1f", "\x85", "\xa0", "ı", "İ", "i", "I", "K", "\u212a", "k", ".", "-"]


def gen_piece(rng: random.Random, depth: int) -> str:
    r = rng.random()
    if depth < 3 and r < 0.15:
        kind = rng.choice(["(", "(?:", "(?P<g>", "(?=", "(?!", "(?<=", "(?<!"])
        if kind == "(?P<g>":
            kind = f"(?P<g{depth}{rng.randrange(100)}>"
        inner = gen_seq(rng, depth + 1)
        if kind in ("(?<=", "(?<!"):
            # Python needs a fixed width: literals only.
            inner = rng.choice(["a", "b", "ab", "\\s", "\\w"])
        return kind + inner + ")" + rng.choice(QUANTS if kind in ("(", "(?:") or kind.startswith("(?P") else [""])
    if depth < 3 and r < 0.22:
        return "(?:" + gen_seq(rng, depth + 1) + "|" + gen_seq(rng, depth + 1) + ")"
    atom = rng.choice(ATOMS)
    quant = rng.choice(QUANTS)
    if atom in ("^", "$", "\\A", "\\Z", "\\b", "\\B", "(?a:\\b)"):
        # Python refuses most repeats of an anchor ("nothing to
        # repeat"): a few, for the error.
        quant = "*" if rng.random() < 0.03 else ""
    return atom + quant


def gen_seq(rng: random.Random, depth: int) -> str:
    return "".join(gen_piece(rng, depth) for _ in range(rng.randint(1, 4)))


def gen_pattern(rng: random.Random) -> str:
    body = gen_seq(rng, 0)
    if rng.random() < 0.2:
        body += "|" + gen_seq(rng, 0)
    if rng.random() < 0.05:
        # A syntax error, so errors are compared too.
        body += rng.choice(["(", ")", "[", "*", "\\", "{1,0}", "(?P<1>a)", "\\g", "(?z)"])
    return rng.choice(FLAGS) + body


def gen_subject(rng: random.Random) -> str:
    text = "".join(rng.choice(SUBJECT) for _ in range(rng.randint(0, 12)))
    # Where `$` means two places: the subject ends with a newline.
    return text + "\n" if rng.random() < 0.2 else text


def run(pattern: str, subject: str) -> dict:
    case = {"pattern": pattern, "subject": subject}
    try:
        m = re.search(pattern, subject)
        case["match"] = m is not None
        case["find"] = m.group(0) if m else None
        case["find_all"] = [m.group(0) for m in re.finditer(pattern, subject)]
        case["replace"] = re.sub(pattern, REPL, subject, count=1)
    except re.error as exc:
        case["error"] = f"invalid regex: {exc}"
    return case


def cases(seed: int, count: int) -> list:
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        pattern = gen_pattern(rng)
        for _ in range(3):
            out.append(run(pattern, gen_subject(rng)))
    return out


def write(path: Path, seed: int = SEED, count: int = COUNT) -> None:
    doc = {
        "python": sys.version.split()[0],
        "seed": seed,
        "replacement": REPL,
        "cases": cases(seed, count),
    }
    # One case a line: a regenerated file diffs line by line.
    lines = ",\n".join(json.dumps(c, ensure_ascii=True) for c in doc.pop("cases"))
    head = json.dumps(doc, ensure_ascii=True)[:-1]
    path.write_text(f'{head}, "cases": [\n{lines}\n]}}\n')


ROOT = Path(__file__).resolve().parent.parent
CLASSES = ROOT / "crates" / "vera-families" / "src" / "regex_classes.rs"


def ranges(test) -> str:
    """The code points passing `test`, as the inside of a regex class."""
    out, start = [], None
    for cp in range(0x110001):
        ok = cp < 0x110000 and not 0xD800 <= cp <= 0xDFFF and test(chr(cp))
        if ok and start is None:
            start = cp
        elif not ok and start is not None:
            end = cp - 1
            out.append(f"\\x{{{start:x}}}" if start == end else f"\\x{{{start:x}}}-\\x{{{end:x}}}")
            start = None
    return "".join(out)


def write_classes(path: Path = CLASSES) -> None:
    classes = [
        ("DIGIT", "`\\d`: `str.isdecimal`", str.isdecimal),
        ("SPACE", "`\\s`: `str.isspace`", str.isspace),
        ("WORD", "`\\w`: `str.isalnum` or `_`", lambda c: c.isalnum() or c == "_"),
    ]
    body = "".join(
        f"/// {doc}.\npub const {name}: &str = r\"{ranges(test)}\";\n\n" for name, doc, test in classes
    )
    path.write_text(
        "//! Python's `re` classes for str patterns, as the inside of a regex class.\n"
        f"//! Generated by scripts/regex_cases.py with Python {sys.version.split()[0]}: do not edit.\n\n"
        + body.rstrip("\n") + "\n"
    )


def main() -> None:
    args = sys.argv[1:]
    seed, count = SEED, COUNT
    if "--seed" in args:
        i = args.index("--seed")
        seed = int(args[i + 1])
        del args[i:i + 2]
    if "--count" in args:
        i = args.index("--count")
        count = int(args[i + 1])
        del args[i:i + 2]
    out = Path(args[0]) if args else ROOT / "fixtures" / "regex_cases.json"
    write(out, seed, count)
    write_classes()


if __name__ == "__main__":
    main()
