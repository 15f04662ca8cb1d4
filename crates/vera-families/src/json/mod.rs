//! `Json`: `json_parse` and `json_stringify`, as Vera 0.2.3 does them.
//!
//! `json_parse` is Python's `json.loads` (the C scanner) followed by Vera's
//! accept-domain gates: the same error messages and positions (in code
//! points, `Expecting value: line 1 column 2 (char 1)`), integers without
//! fraction or exponent converted like `float(int)` (so `-0` is `+0.0`),
//! duplicate keys keeping the first key's place and the last value, the
//! JavaScript constants refused after a successful parse, then overflowing
//! numbers and lone surrogates refused in document order. Nesting deeper
//! than [`MAX_DEPTH`] traps with Python's RecursionError text.
//!
//! It runs in two steps. [`parse_document`] scans the text's bytes once
//! into a [`Document`] (`scan`): nodes in post-order, strings as spans of
//! the text unless they had escapes, and the guest bytes the build will
//! need. [`build_document`] (`build`) writes it into guest memory,
//! children before parents; where the heap can reserve the whole
//! document's room up front, nothing can collect meanwhile, so it shares
//! one block among equal keys, short strings, small integers, nulls and
//! Bools (all immutable in Vera), and every object's bucket is built at
//! its final size. Every JObject's `Map<String, Json>` comes from
//! [`vera_layout::StringMaps::build_string_map`] (a bucket, or for a
//! Vera 0.2.4+ module that keeps its own maps, the module's
//! `map_from_arrays$ks_vb`).
//!
//! `json_stringify` (`emit`) walks the guest tree (JObject maps in
//! insertion order) and writes Vera's canonical form: compact separators,
//! numbers as ECMAScript's Number::toString, strings escaped as
//! `json.dumps(ensure_ascii=False)`. A non-finite number traps with Vera's
//! sentence.
//!
//! Json ADT tags: JNull 0, JBool 1 (i32 @+4), JNumber 2 (f64 @+8),
//! JString 3 (ptr, len @+4), JArray 4 (ptr, len @+4; 4-byte cells),
//! JObject 5 (Map wrapper @+4).

mod build;
mod emit;
mod scan;

use std::collections::HashMap;

pub use build::build_document;
pub use emit::{format_number, quote, quote_ascii, stringify, stringify_document, StringifyError};
pub use scan::{parse_document, Document};

use crate::bounds::Meter;
use scan::Node;

const JNULL: u32 = 0;
const JBOOL: u32 = 1;
const JNUMBER: u32 = 2;
const JSTRING: u32 = 3;
const JARRAY: u32 = 4;
const JOBJECT: u32 = 5;

/// The block of a JNull or JBool (tag, flag), as 0.2.3's host made them.
const CONSTANT_SIZE: u32 = 8;

/// Deepest container nesting accepted by parse and stringify (Python's
/// recursion limit stops Vera 0.2.3 a little below 1000).
pub const MAX_DEPTH: usize = 1000;

/// A decoded string: WTF-8 bytes (a lone surrogate keeps its own 3-byte
/// encoding, so keys compare as Python's do) and the first lone surrogate.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JStr {
    bytes: Vec<u8>,
    lone: Option<u32>,
}

impl JStr {
    fn new(bytes: &[u8]) -> JStr {
        JStr {
            bytes: bytes.to_vec(),
            lone: scan::lone_surrogate(bytes),
        }
    }

    /// The text, a lone surrogate as U+FFFD.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// A parsed document as a host tree (for the host's own uses of JSON and
/// for tests; `json_parse` builds from the [`Document`] directly).
#[derive(Clone, Debug, PartialEq)]
pub enum JVal {
    Null,
    Bool(bool),
    Num(f64),
    Str(JStr),
    Arr(Vec<JVal>),
    /// Entries in first-key order, each key's last value (as a Python
    /// dict holds them).
    Obj(Vec<(JStr, JVal)>),
}

/// What `json_parse` answers.
#[derive(Debug, PartialEq)]
pub enum Parsed<T = JVal> {
    Ok(T),
    /// `Err(message)` for the program.
    Err(String),
    /// The run ends (Python raised something `json_parse` does not catch).
    Trap(String),
}

impl Document<'_> {
    /// The document as a host tree, duplicate keys merged as Python merges
    /// them.
    pub fn to_value(&self) -> JVal {
        let mut stack: Vec<JVal> = Vec::new();
        let mut keys: Vec<JStr> = Vec::new();
        for &node in &self.nodes {
            let value = match node {
                Node::Null => JVal::Null,
                Node::True => JVal::Bool(true),
                Node::False => JVal::Bool(false),
                Node::Num(x) => JVal::Num(x),
                Node::Str(span) => JVal::Str(JStr::new(self.bytes(span))),
                Node::Key(span) => {
                    keys.push(JStr::new(self.bytes(span)));
                    continue;
                }
                Node::Arr(n) => JVal::Arr(stack.split_off(stack.len() - n as usize)),
                Node::Obj(n) => {
                    let values = stack.split_off(stack.len() - n as usize);
                    let names = keys.split_off(keys.len() - n as usize);
                    let mut pairs: Vec<(JStr, JVal)> = Vec::with_capacity(names.len());
                    let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
                    for (key, val) in names.into_iter().zip(values) {
                        match index.get(&key.bytes) {
                            Some(&at) => pairs[at].1 = val,
                            None => {
                                index.insert(key.bytes.clone(), pairs.len());
                                pairs.push((key, val));
                            }
                        }
                    }
                    JVal::Obj(pairs)
                }
            };
            stack.push(value);
        }
        stack.pop().unwrap_or(JVal::Null)
    }
}

/// `json_parse`'s decision for `text`, as a host tree.
pub fn parse(text: &str) -> Parsed {
    match parse_document(text, Meter::unbounded()) {
        Ok(Parsed::Ok(doc)) => Parsed::Ok(doc.to_value()),
        Ok(Parsed::Err(msg)) => Parsed::Err(msg),
        Ok(Parsed::Trap(msg)) => Parsed::Trap(msg),
        Err(_) => unreachable!("an unbounded meter never runs out"),
    }
}

fn non_finite_parse_message(name: &str) -> String {
    format!(
        "json_parse: {name} is not valid JSON — RFC 8259 has no NaN or Infinity.  json_parse accepts RFC 8259 \
         text only, not the JavaScript constants: quote the value as a string, or write null."
    )
}

fn lone_surrogate_message(cp: u32) -> String {
    format!(
        "json_parse: \\u{cp:04X} decodes to a lone surrogate, which is not a Unicode scalar value — a Vera \
         string is a sequence of scalar values, so this text has no representable decoding.  Write the \
         character as a matched high-then-low surrogate escape pair, or remove the escape."
    )
}

fn non_finite_number_message(name: &str) -> String {
    format!(
        "json_parse: a number in the text overflows to {name}, which JSON cannot represent — RFC 8259 §6 lets \
         an implementation set limits on the range of numbers it accepts, and Vera's accepted range is the \
         finite Float64 values.  Keep the magnitude at or below 1.7976931348623157e308, or carry the value as \
         a string."
    )
}

/// `first_domain_violation`: the first lone surrogate or non-finite
/// number in document order (an object's key before its value).
fn first_violation(v: &JVal) -> Option<String> {
    match v {
        JVal::Str(s) => s.lone.map(lone_surrogate_message),
        JVal::Num(x) if x.is_infinite() => Some(non_finite_number_message(if *x > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        })),
        JVal::Arr(items) => items.iter().find_map(first_violation),
        JVal::Obj(pairs) => pairs
            .iter()
            .find_map(|(k, v)| k.lone.map(lone_surrogate_message).or_else(|| first_violation(v))),
        _ => None,
    }
}

#[cfg(test)]
mod model;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use vera_layout::test_heap::TestHeap;
    use vera_layout::{Heap as _, StringMaps as _};

    fn err(text: &str) -> String {
        match parse(text) {
            Parsed::Err(m) => m,
            other => panic!("{text:?} gave {other:?}"),
        }
    }

    #[test]
    fn errors_match_python_json() {
        assert_eq!(err(""), "Expecting value: line 1 column 1 (char 0)");
        assert_eq!(err("{\"a\": 1"), "Expecting ',' delimiter: line 1 column 8 (char 7)");
        assert_eq!(err("{\"a"), "Unterminated string starting at: line 1 column 2 (char 1)");
        assert_eq!(err("true  \n false"), "Extra data: line 2 column 2 (char 8)");
        assert_eq!(err("\"\\u00\""), "Invalid \\uXXXX escape: line 1 column 3 (char 2)");
        assert_eq!(err("[\"\u{1F600}\", x]"), "Expecting value: line 1 column 7 (char 6)");
        assert_eq!(err("1e"), "Extra data: line 1 column 2 (char 1)");
        assert_eq!(
            err("\u{feff}[1]"),
            "Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)"
        );
        assert!(err("[1e400, NaN]").starts_with("json_parse: NaN is not valid JSON"));
        assert!(err("-1e400").contains("overflows to -Infinity"));
        assert!(err("\"\\ud83d x\"").starts_with("json_parse: \\uD83D decodes"));
        // Past int()'s 4300 digits, the overflow sentence all the same
        // (fixtures/json_bigint_limit.correction.json).
        assert!(err(&format!("[NaN, -{}]", "7".repeat(4301))).starts_with("json_parse: NaN"));
        assert!(err(&format!("-{}", "7".repeat(4301))).contains("overflows to -Infinity"));
        assert!(err(&"7".repeat(4300)).contains("overflows to Infinity"));
        // Positions count code points, on any line.
        assert_eq!(
            err("[\"é✓\",\n \"😀\", tru]"),
            "Expecting value: line 2 column 7 (char 13)"
        );
        assert_eq!(
            err("{\"é\": \"\u{1}\"}"),
            "Invalid control character at: line 1 column 8 (char 7)"
        );
    }

    #[test]
    fn values_follow_python() {
        assert_eq!(parse("-0"), Parsed::Ok(JVal::Num(0.0)));
        let Parsed::Ok(JVal::Num(z)) = parse("-0.0") else {
            panic!()
        };
        assert!(z.is_sign_negative());
        let Parsed::Ok(JVal::Obj(pairs)) = parse("{\"a\": 1, \"b\": 2, \"a\": 3}") else {
            panic!()
        };
        assert_eq!(pairs.len(), 2);
        assert_eq!(pairs[0].1, JVal::Num(3.0));
        // An overwritten value is never checked.
        assert!(matches!(parse("{\"a\": 1e400, \"a\": 1}"), Parsed::Ok(_)));
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(matches!(parse(&deep), Parsed::Trap(_)));
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(matches!(parse(&ok), Parsed::Ok(_)));
        let million = "[".repeat(1_000_000);
        assert!(matches!(parse(&million), Parsed::Trap(_)));
    }

    /// Vera's canonical text of a host tree, written independently of the
    /// guest walk in `emit`.
    fn canonical(v: &JVal) -> String {
        match v {
            JVal::Null => "null".into(),
            JVal::Bool(b) => b.to_string(),
            JVal::Num(x) => format_number(*x).unwrap(),
            JVal::Str(s) => {
                let mut out = String::new();
                quote(&s.text(), &mut out);
                out
            }
            JVal::Arr(items) => format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(",")),
            JVal::Obj(pairs) => format!(
                "{{{}}}",
                pairs
                    .iter()
                    .map(|(k, v)| format!("{}:{}", canonical(&JVal::Str(k.clone())), canonical(v)))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }

    /// Parses, builds into `heap`, stringifies back.
    fn round_trip(text: &str, heap: &mut TestHeap) -> String {
        let Ok(Parsed::Ok(doc)) = parse_document(text, Meter::unbounded()) else {
            panic!("{text:?} does not parse")
        };
        let ptr = build_document(heap, &doc).expect("build");
        heap.pin(ptr);
        stringify(heap, ptr, 1 << 24).expect("stringify")
    }

    const RECORDS: &str = r#"[{"id": 1, "name": "a\"b", "tags": ["x", "y", "x"], "ok": true, "none": null},
        {"id": 2, "name": "é✓😀", "tags": [], "ok": false, "none": null, "deep": {"k": [0, -0, -0.0, 1.5e300]}},
        {"id": 1023, "name": "", "tags": ["x"], "ok": true, "none": null, "id": 1024, "": {}}]"#;

    #[test]
    fn builds_share_nothing_observable() {
        let Parsed::Ok(value) = parse(RECORDS) else { panic!() };
        let expected = canonical(&value);
        let mut shared = TestHeap::new();
        assert_eq!(round_trip(RECORDS, &mut shared), expected);
        // Every allocation collects, so nothing is shared and a block held
        // across an allocation without a root is poisoned.
        let mut stressed = TestHeap::stressed();
        assert_eq!(round_trip(RECORDS, &mut stressed), expected);
        assert!(shared.live_bytes() < stressed.live_bytes());
    }

    #[test]
    fn shared_blocks_are_one_per_value() {
        let text = r#"[{"key": "value", "n": 7}, {"key": "value", "n": 7}, {"key": "value", "n": 7}]"#;
        let Ok(Parsed::Ok(doc)) = parse_document(text, Meter::unbounded()) else {
            panic!()
        };
        let mut heap = TestHeap::new();
        let ptr = build_document(&mut heap, &doc).unwrap();
        let m = heap.memory();
        let items: Vec<u32> = (0..3)
            .map(|i| mem::read_u32(m, mem::read_u32(m, ptr + 4).unwrap() + 4 * i).unwrap())
            .collect();
        let entries: Vec<Vec<(vera_layout::Field, vera_layout::Field)>> = items
            .iter()
            .map(|&obj| {
                let w = mem::read_u32(heap.memory(), obj + 4).unwrap();
                heap.string_map_entries(vera_layout::Tag::Word, w).unwrap()
            })
            .collect();
        assert_eq!(entries[0], entries[1]);
        assert_eq!(entries[1], entries[2]);
        assert!(doc.guest_bytes >= heap.live_bytes());
    }

    use vera_layout::mem;

    /// Text that is JSON, or nearly: tokens that make every error path
    /// and every value kind, multi-byte characters among them.
    fn near_json() -> impl Strategy<Value = String> {
        let token = prop_oneof![
            Just("{"),
            Just("}"),
            Just("["),
            Just("]"),
            Just(","),
            Just(":"),
            Just("\""),
            Just("\""),
            Just("\"k\""),
            Just("\"a\\\"b\""),
            Just("\\"),
            Just("\\u"),
            Just("\\ud83d"),
            Just("\\ude00"),
            Just("\\u00e9"),
            Just("\\n"),
            Just("\\x"),
            Just("u"),
            Just("d8"),
            Just("0"),
            Just("1"),
            Just("12"),
            Just("-"),
            Just("."),
            Just("e"),
            Just("E"),
            Just("+"),
            Just(" "),
            Just("\n"),
            Just("\t"),
            Just("null"),
            Just("true"),
            Just("false"),
            Just("nul"),
            Just("NaN"),
            Just("Infinity"),
            Just("-Infinity"),
            Just("1e400"),
            Just("é"),
            Just("✓"),
            Just("😀"),
            Just("\u{1}"),
            Just("\u{feff}"),
            Just("123456789012345678901234567890"),
            Just("0.1"),
            Just("5e-324"),
        ];
        prop::collection::vec(token, 0..40).prop_map(|t| t.concat())
    }

    /// Well-formed documents, their strings with every kind of escape.
    fn json_text() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("false".to_owned()),
            any::<f64>()
                .prop_filter("finite", |x| x.is_finite())
                .prop_map(|x| format!("{x:e}")),
            any::<i64>().prop_map(|i| i.to_string()),
            "([a-zé✓😀 \"\\\\/\n\t\u{1}\u{7f}]|\\\\u[0-9a-fA-F]{4}){0,12}".prop_map(|s| {
                let mut out = String::from("\"");
                for c in s.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\n' => out.push_str("\\n"),
                        '\t' => out.push_str("\\t"),
                        '\u{1}' => out.push_str("\\u0001"),
                        c => out.push(c),
                    }
                }
                out + "\""
            }),
        ];
        leaf.prop_recursive(4, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(", "))),
                prop::collection::vec(("[a-c]{0,2}", inner), 0..6).prop_map(|v| format!(
                    "{{{}}}",
                    v.iter()
                        .map(|(k, v)| format!("\"{k}\" : {v}"))
                        .collect::<Vec<_>>()
                        .join(",")
                )),
            ]
        })
    }

    /// An answer to compare to the letter (Debug tells -0.0 from 0.0).
    fn answer(parsed: Parsed) -> String {
        format!("{parsed:?}")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn numbers_print_as_before(bits in any::<u64>(), small in -1e7f64..1e7, digits in 0u32..12) {
            let rounded = (small * 10f64.powi(digits as i32)).round() / 10f64.powi(digits as i32);
            for x in [f64::from_bits(bits), small, rounded, rounded * 1e-9, rounded * 1e15] {
                let (ours, before) = (format_number(x), model::format_number(x));
                if let (Ok(ours), Ok(before)) = (&ours, &before) {
                    if ours != before {
                        // The old text rounded an exact tie up (Rust's own
                        // formatting); Python and ECMAScript take the even
                        // digit. Both read back as x, and differ in the
                        // last digit only.
                        prop_assert_eq!(ours.parse::<f64>().unwrap().to_bits(), x.to_bits());
                        prop_assert_eq!(before.parse::<f64>().unwrap().to_bits(), x.to_bits());
                        prop_assert_eq!(ours.len(), before.len());
                        let last = |t: &str| t.split('e').next().and_then(|m| m.bytes().last());
                        prop_assert!(last(ours).is_some_and(|d| d % 2 == 0), "{} / {}", ours, before);
                        continue;
                    }
                }
                prop_assert_eq!(ours, before);
            }
        }

        #[test]
        fn agrees_with_the_char_model(text in near_json()) {
            prop_assert_eq!(answer(parse(&text)), answer(model::parse(&text)));
        }

        #[test]
        fn agrees_with_the_char_model_on_json(text in json_text()) {
            prop_assert_eq!(answer(parse(&text)), answer(model::parse(&text)));
            if let Parsed::Ok(value) = parse(&text) {
                let expected = canonical(&value);
                prop_assert_eq!(round_trip(&text, &mut TestHeap::new()), expected.clone());
                if text.len() < 400 {
                    prop_assert_eq!(round_trip(&text, &mut TestHeap::stressed()), expected);
                }
            }
        }
    }
}
