//! The names and signatures of Vera 0.2.3's `Map`/`Set` imports.
//!
//! `map_insert$ks_vi` is String keys and Int values; `set_add$ef`, Float
//! elements. [`Import::parse`] decodes every name Vera emits into a
//! collection kind and an operation with its tags, and
//! [`Import::signature`] gives the wasm types 0.2.3 declares it with: the
//! host links its imports by them, and a Vera 0.2.4+ module's own
//! collection functions, which have the same names and types, are matched
//! against them to be replaced by these imports.

use crate::collection::Kind;
use crate::Tag;

/// A wasm value type of an import's signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wasm {
    I32,
    I64,
    F64,
}

/// One Map/Set operation with its tags, decoded from an import name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    New,
    Size,
    Insert(Tag, Tag),
    Get(Tag, Tag),
    Contains(Tag),
    Remove(Tag),
    Keys(Tag),
    Values(Tag),
}

/// A decoded import: which collection and which operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Import {
    pub kind: Kind,
    pub op: Op,
}

impl Import {
    /// Decodes `map_insert$ks_vi`, `set_add$ef`, `map_new`, ...
    pub fn parse(name: &str) -> Option<Import> {
        let (base, tags) = name.split_once('$').unwrap_or((name, ""));
        let tag_after = |prefix: char, at: usize| -> Option<Tag> {
            let mut chars = tags.chars().skip(at);
            (chars.next()? == prefix).then_some(())?;
            Tag::from_letter(chars.next()?)
        };
        let one = |prefix| if tags.len() == 2 { tag_after(prefix, 0) } else { None };
        let two = || {
            if tags.len() == 5 && &tags[2..3] == "_" {
                Some((tag_after('k', 0)?, tag_after('v', 3)?))
            } else {
                None
            }
        };
        let (kind, op) = match base {
            "map_new" if tags.is_empty() => (Kind::Map, Op::New),
            "set_new" if tags.is_empty() => (Kind::Set, Op::New),
            "map_size" if tags.is_empty() => (Kind::Map, Op::Size),
            "set_size" if tags.is_empty() => (Kind::Set, Op::Size),
            "map_insert" => two().map(|(k, v)| (Kind::Map, Op::Insert(k, v)))?,
            "map_get" => two().map(|(k, v)| (Kind::Map, Op::Get(k, v)))?,
            "map_contains" => (Kind::Map, Op::Contains(one('k')?)),
            "map_remove" => (Kind::Map, Op::Remove(one('k')?)),
            "map_keys" => (Kind::Map, Op::Keys(one('k')?)),
            "map_values" => (Kind::Map, Op::Values(one('v')?)),
            "set_add" => (Kind::Set, Op::Insert(one('e')?, Tag::Word)),
            "set_contains" => (Kind::Set, Op::Contains(one('e')?)),
            "set_remove" => (Kind::Set, Op::Remove(one('e')?)),
            "set_to_array" => (Kind::Set, Op::Keys(one('e')?)),
            _ => return None,
        };
        Some(Import { kind, op })
    }

    /// Every import name Vera 0.2.3 can emit for Map and Set.
    pub fn all_names() -> Vec<String> {
        let mut names: Vec<String> = ["map_new", "map_size", "set_new", "set_size"]
            .map(String::from)
            .to_vec();
        for kl in Tag::ALL.map(Tag::letter) {
            for v in Tag::ALL.map(Tag::letter) {
                names.push(format!("map_insert$k{kl}_v{v}"));
                names.push(format!("map_get$k{kl}_v{v}"));
            }
            for op in [
                "map_contains$k",
                "map_remove$k",
                "map_keys$k",
                "map_values$v",
                "set_add$e",
                "set_contains$e",
                "set_remove$e",
                "set_to_array$e",
            ] {
                names.push(format!("{op}{kl}"));
            }
        }
        names
    }

    /// The wasm signature Vera 0.2.3 gives this import: parameters,
    /// results.
    pub fn signature(&self) -> (Vec<Wasm>, Vec<Wasm>) {
        let i32s = |n| vec![Wasm::I32; n];
        match self.op {
            Op::New => (vec![], i32s(1)),
            Op::Size => (i32s(1), vec![Wasm::I64]),
            Op::Insert(k, v) => {
                let v = if self.kind == Kind::Set { vec![] } else { wasm_types(v) };
                ([i32s(1), wasm_types(k), v].concat(), i32s(1))
            }
            Op::Get(k, _) | Op::Contains(k) | Op::Remove(k) => ([i32s(1), wasm_types(k)].concat(), i32s(1)),
            Op::Keys(_) | Op::Values(_) => (i32s(1), i32s(2)),
        }
    }
}

fn wasm_types(tag: Tag) -> Vec<Wasm> {
    match tag {
        Tag::Int => vec![Wasm::I64],
        Tag::Float => vec![Wasm::F64],
        Tag::Str => vec![Wasm::I32, Wasm::I32],
        Tag::Word => vec![Wasm::I32],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_decode_to_their_tags() {
        assert_eq!(
            Import::parse("map_insert$ks_vi"),
            Some(Import {
                kind: Kind::Map,
                op: Op::Insert(Tag::Str, Tag::Int)
            })
        );
        assert_eq!(
            Import::parse("set_to_array$eb"),
            Some(Import {
                kind: Kind::Set,
                op: Op::Keys(Tag::Word)
            })
        );
        assert_eq!(
            Import::parse("map_values$vf"),
            Some(Import {
                kind: Kind::Map,
                op: Op::Values(Tag::Float)
            })
        );
        assert_eq!(Import::parse("map_insert$kx_vi"), None);
        assert_eq!(Import::parse("map_contains$ki_vi"), None);
        assert_eq!(Import::parse("map_new$ki"), None);
    }

    #[test]
    fn every_name_round_trips() {
        let names = Import::all_names();
        assert_eq!(names.len(), 4 + 4 * (8 + 8));
        for name in names {
            assert!(Import::parse(&name).is_some(), "{name}");
        }
    }
}
