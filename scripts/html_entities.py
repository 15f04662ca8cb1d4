#!/usr/bin/env python3
"""Writes crates/vera-families/src/html_entities.rs from Python's own tables.

The HTML families decode character references as Python's `html.parser`
does (`html.unescape`): the named references of `html.entities.html5`,
the numeric references HTML5 remaps (`html._invalid_charrefs`) and those
that decode to nothing (`html._invalid_codepoints`). This script prints
them as the Rust tables `vera_families::html` searches. Run with Python
3.11 (the committed file was generated from CPython 3.11's tables):

    python3 scripts/html_entities.py > crates/vera-families/src/html_entities.rs

The output is formatted as `cargo fmt` leaves it (max_width 120).
"""

import html
import html.entities
import sys

MAX_WIDTH = 120


def rust_str(text):
    """A Rust string literal: printable ASCII as itself, anything else
    (and `"`, `\\`) as a `\\u{..}` escape."""
    out = []
    for ch in text:
        if " " <= ch <= "~" and ch not in "\"\\":
            out.append(ch)
        else:
            out.append("\\u{%x}" % ord(ch))
    return '"' + "".join(out) + '"'


def rust_char(ch):
    if " " <= ch <= "~" and ch not in "'\\":
        return "'" + ch + "'"
    return "'\\u{%x}'" % ord(ch)


def packed(items, indent="    "):
    """Comma-separated items filling lines shorter than MAX_WIDTH, as rustfmt
    packs a long array of short literals."""
    lines = []
    line = indent
    for item in items:
        piece = item + ","
        if line == indent:
            line += piece
        elif len(line) + 1 + len(piece) < MAX_WIDTH:
            line += " " + piece
        else:
            lines.append(line)
            line = indent + piece
    if line != indent:
        lines.append(line)
    return lines


def main():
    out = [
        "//! The HTML5 named character references, as Python's `html.entities.html5`",
        "//! (names with and without `;`), sorted by name for binary search.",
        "//! Generated from CPython 3.11's table; do not edit by hand.",
        "",
        "pub const ENTITIES: &[(&str, &str)] = &[",
    ]
    for name in sorted(html.entities.html5):
        out.append("    (%s, %s)," % (rust_str(name), rust_str(html.entities.html5[name])))
    out += [
        "];",
        "",
        "/// Python's `_invalid_charrefs`: numeric references remapped by HTML5.",
        "pub const INVALID_CHARREFS: &[(u32, char)] = &[",
    ]
    for code, ch in html._invalid_charrefs.items():
        out.append("    (%#x, %s)," % (code, rust_char(ch)))
    out += [
        "];",
        "",
        "/// Python's `_invalid_codepoints`: numeric references that decode to nothing.",
        "pub const INVALID_CODEPOINTS: &[u32] = &[",
    ]
    out += packed(["%#x" % c for c in sorted(html._invalid_codepoints)])
    out.append("];")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
