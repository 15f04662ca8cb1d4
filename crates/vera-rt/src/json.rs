//! JSON written byte for byte as Python's `json.dumps(value, indent=2)`
//! writes it, which is how `vera run --json` prints its envelope: keys in
//! insertion order, `": "` and `","` separators, non-ASCII escaped as
//! `\uXXXX`, floats as Python's `repr` (`NaN`, `Infinity`).

/// A JSON value.
pub enum Json {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(&'static str, Json)>),
}

impl Json {
    pub fn str(s: impl Into<String>) -> Json {
        Json::Str(s.into())
    }

    /// The text `json.dumps(self, indent=2)` gives.
    pub fn dumps(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out
    }

    fn write(&self, out: &mut String, level: usize) {
        let indent = |out: &mut String, level: usize| {
            out.push('\n');
            out.push_str(&"  ".repeat(level));
        };
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(v) => out.push_str(&v.to_string()),
            Json::Float(v) => out.push_str(&match vera_families::format::python_float_repr(*v).as_str() {
                "nan" => "NaN".to_owned(),
                "inf" => "Infinity".to_owned(),
                "-inf" => "-Infinity".to_owned(),
                other => other.to_owned(),
            }),
            Json::Str(s) => write_str(out, s),
            Json::Array(items) if items.is_empty() => out.push_str("[]"),
            Json::Array(items) => {
                out.push('[');
                for (k, item) in items.iter().enumerate() {
                    if k > 0 {
                        out.push(',');
                    }
                    indent(out, level + 1);
                    item.write(out, level + 1);
                }
                indent(out, level);
                out.push(']');
            }
            Json::Object(fields) if fields.is_empty() => out.push_str("{}"),
            Json::Object(fields) => {
                out.push('{');
                for (k, (key, value)) in fields.iter().enumerate() {
                    if k > 0 {
                        out.push(',');
                    }
                    indent(out, level + 1);
                    write_str(out, key);
                    out.push_str(": ");
                    value.write(out, level + 1);
                }
                indent(out, level);
                out.push('}');
            }
        }
    }
}

/// A string as Python's `json` module writes it with `ensure_ascii`.
fn write_str(out: &mut String, s: &str) {
    vera_families::json::quote_ascii(s, out);
}

#[cfg(test)]
mod tests {
    use super::Json;

    #[test]
    fn writes_as_python_does() {
        let value = Json::Object(vec![
            ("ok", Json::Bool(true)),
            ("none", Json::Null),
            ("list", Json::Array(vec![])),
            ("obj", Json::Object(vec![])),
            (
                "nums",
                Json::Array(vec![Json::Int(-3), Json::Float(2.0), Json::Float(f64::NAN)]),
            ),
            ("text", Json::str("é\"\\\n\u{7f}😀")),
        ]);
        assert_eq!(
            value.dumps(),
            "{\n  \"ok\": true,\n  \"none\": null,\n  \"list\": [],\n  \"obj\": {},\n  \"nums\": [\n    -3,\n    2.0,\n    NaN\n  ],\n  \"text\": \"\\u00e9\\\"\\\\\\n\\u007f\\ud83d\\ude00\"\n}"
        );
    }
}
