//! The four representation tags of Map keys/values and Set elements.
//!
//! Vera 0.2.3 names each Map/Set import after the representation of its key,
//! value or element (`map_insert$ks_vi`): `i` (Int, Nat: i64), `f` (Float64),
//! `s` (String: ptr, len) and `b` (any single i32: Bool, Byte, ADT and
//! collection pointers). Each is stored as one 8-byte [`Field`]. This module
//! owns their equality (SameValueZero for `f`, content for `s`, the i32 for
//! `b`) and the hash the bucket index uses, which `runtime.mjs` mirrors.

use crate::error::{GuestError, GuestResult};
use crate::mem;

/// A representation tag, as spelled in import names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tag {
    Int,
    Float,
    Str,
    Word,
}

impl Tag {
    pub const ALL: [Tag; 4] = [Tag::Int, Tag::Float, Tag::Str, Tag::Word];

    /// The letter used in import names.
    pub fn letter(self) -> char {
        match self {
            Tag::Int => 'i',
            Tag::Float => 'f',
            Tag::Str => 's',
            Tag::Word => 'b',
        }
    }

    pub fn from_letter(c: char) -> Option<Tag> {
        Tag::ALL.into_iter().find(|t| t.letter() == c)
    }

    /// Bytes per element of an `Array` of this tag, as the guest reads it.
    /// `Word` arrays hold 4-byte pointers or 1-byte Bool/Byte cells; see
    /// [`word_cell_size`].
    pub fn array_cell_size(self) -> u32 {
        match self {
            Tag::Int | Tag::Float | Tag::Str => 8,
            Tag::Word => 4,
        }
    }
}

/// Cell size for an `Array` of `b` values: the tag does not say whether the
/// guest's type is Bool/Byte (1-byte cells) or a heap pointer (4-byte cells).
/// A heap pointer is never below 256 (the heap begins after the data
/// segment, beyond the first page), so a collection whose values all fit a
/// byte is read as Bool/Byte.
pub fn word_cell_size(values: impl IntoIterator<Item = u32>) -> u32 {
    if values.into_iter().all(|v| v <= 0xff) {
        1
    } else {
        4
    }
}

/// One key, value or element in its 8-byte bucket encoding: `i` i64 bits,
/// `f` f64 bits, `s` ptr in the low word and len in the high word, `b` the
/// i32 in the low word and 0 in the high word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Field(pub u64);

impl Field {
    pub fn int(v: i64) -> Field {
        Field(v as u64)
    }
    pub fn float(v: f64) -> Field {
        Field(v.to_bits())
    }
    pub fn str(ptr: u32, len: u32) -> Field {
        Field(ptr as u64 | (len as u64) << 32)
    }
    pub fn word(v: u32) -> Field {
        Field(v as u64)
    }
    pub fn lo(self) -> u32 {
        self.0 as u32
    }
    pub fn hi(self) -> u32 {
        (self.0 >> 32) as u32
    }
    pub fn as_int(self) -> i64 {
        self.0 as i64
    }
    pub fn as_float(self) -> f64 {
        f64::from_bits(self.0)
    }

    /// The guest pointer this field may hold, for rooting: the string
    /// bytes of an `s`, the i32 of a `b`; nothing for numbers.
    pub fn pointer(self, tag: Tag) -> u32 {
        match tag {
            Tag::Str | Tag::Word => self.lo(),
            Tag::Int | Tag::Float => 0,
        }
    }

    /// Checks a field the guest passed in: a string's bytes must lie in
    /// memory (an empty string is `""` whatever its pointer, as Vera 0.2.3
    /// slices it).
    pub fn validate(self, tag: Tag, memory: &[u8]) -> GuestResult<()> {
        if tag == Tag::Str {
            str_bytes(memory, self)?;
        }
        Ok(())
    }
}

/// The string bytes a `s` field points at (empty for len 0, whatever ptr).
#[inline]
pub fn str_bytes(memory: &[u8], field: Field) -> GuestResult<&[u8]> {
    if field.hi() == 0 {
        return Ok(&[]);
    }
    if field.hi() > i32::MAX as u32 {
        return Err(GuestError::bad_length("String", field.hi() as i32 as i64));
    }
    mem::bytes(memory, field.lo(), field.hi() as usize)
}

/// Equality of two fields under `tag`'s semantics.
#[inline]
pub fn equal(tag: Tag, memory: &[u8], a: Field, b: Field) -> GuestResult<bool> {
    Ok(match tag {
        Tag::Int | Tag::Word => a == b,
        Tag::Float => {
            let (x, y) = (a.as_float(), b.as_float());
            x == y || (x.is_nan() && y.is_nan())
        }
        Tag::Str => a == b || (a.hi() == b.hi() && str_bytes(memory, a)? == str_bytes(memory, b)?),
    })
}

/// murmur3's 32-bit finaliser: a cheap, well-mixed integer hash that is
/// simple to reproduce exactly in JavaScript (`Math.imul`).
#[inline]
pub fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

#[inline]
fn hash_u64(bits: u64) -> u32 {
    fmix32((bits as u32) ^ fmix32((bits >> 32) as u32).wrapping_add(0x9e37_79b9))
}

/// FNV-1a over the bytes, then [`fmix32`].
pub fn hash_bytes(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for &b in bytes {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    fmix32(h)
}

/// The hash the bucket index uses; equal fields (per [`equal`]) hash alike.
/// Its low bits place a key in the index, its top five are the key's
/// fingerprint (see `LAYOUT.md`).
#[inline]
pub fn hash(tag: Tag, memory: &[u8], field: Field) -> GuestResult<u32> {
    Ok(match tag {
        // Consecutive Int keys share an index cache line: groups of 8 hash
        // together, to 8 different offsets (the low bits, permuted by the
        // group's hash, so keys that share their low bits still spread
        // over all offsets). The offset also goes into the top bits, so
        // the members of a group have different fingerprints.
        Tag::Int => {
            let group = hash_u64(field.0 >> 3);
            let offset = (field.0 as u32 ^ group >> 29) & 7;
            (group << 3 | offset) ^ offset << 29
        }
        Tag::Word => hash_u64(field.0),
        Tag::Float => {
            let x = field.as_float();
            let canonical = if x.is_nan() {
                f64::NAN.to_bits()
            } else if x == 0.0 {
                0
            } else {
                x.to_bits()
            };
            hash_u64(canonical)
        }
        Tag::Str => hash_bytes(str_bytes(memory, field)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_keys_follow_same_value_zero() {
        let nan_a = Field::float(f64::NAN);
        let nan_b = Field(f64::NAN.to_bits() | 1);
        assert!(equal(Tag::Float, &[], nan_a, nan_b).unwrap());
        assert_eq!(
            hash(Tag::Float, &[], nan_a).unwrap(),
            hash(Tag::Float, &[], nan_b).unwrap()
        );
        let (pz, nz) = (Field::float(0.0), Field::float(-0.0));
        assert!(equal(Tag::Float, &[], pz, nz).unwrap());
        assert_eq!(hash(Tag::Float, &[], pz).unwrap(), hash(Tag::Float, &[], nz).unwrap());
        assert!(!equal(Tag::Float, &[], Field::float(1.0), Field::float(2.0)).unwrap());
    }

    #[test]
    fn strings_compare_by_content() {
        let mem = b"abcabc";
        let (a, b) = (Field::str(0, 3), Field::str(3, 3));
        assert!(equal(Tag::Str, mem, a, b).unwrap());
        assert!(!equal(Tag::Str, mem, a, Field::str(1, 3)).unwrap());
        assert_eq!(hash(Tag::Str, mem, a).unwrap(), hash(Tag::Str, mem, b).unwrap());
        assert!(equal(Tag::Str, mem, Field::str(0, 0), Field::str(5, 0)).unwrap());
        assert!(hash(Tag::Str, mem, Field::str(4, 9)).is_err());
    }

    #[test]
    fn word_cells_are_bytes_only_when_every_value_fits() {
        assert_eq!(word_cell_size([0, 1, 255]), 1);
        assert_eq!(word_cell_size([0, 70_000]), 4);
        assert_eq!(word_cell_size([]), 1);
    }
}
