//! Strings, ADTs and arrays as the host reads and builds them.
//!
//! Layouts (Vera 0.2.3, `ABI.md`): a String is `(ptr, len)` of UTF-8 bytes,
//! `""` is `(0, 0)`; an ADT is a pointer to a block with its constructor tag
//! at +0 and the payload at +4 (i32, pointer, or String as ptr, len) or at +8
//! (i64, f64); an `Array<T>` is `(ptr, len)` of cells.

use crate::error::{GuestError, GuestResult};
use crate::field::{self, Field, Tag};
use crate::heap::Heap;
use crate::mem;

/// Constructor tags of the prelude ADTs the host builds.
pub const NONE: u32 = 0;
pub const SOME: u32 = 1;
pub const OK: u32 = 0;
pub const ERR: u32 = 1;

/// Checks a guest `(ptr, len)` string and returns its bytes.
pub fn str_bytes(memory: &[u8], ptr: u32, len: u32) -> GuestResult<&[u8]> {
    if (len as i32) < 0 {
        return Err(GuestError::bad_length("String", len as i32 as i64));
    }
    field::str_bytes(memory, Field::str(ptr, len))
}

/// Reads a guest string the way Vera 0.2.3 does: invalid UTF-8 becomes
/// U+FFFD (Python's `errors="replace"`).
pub fn read_string(memory: &[u8], ptr: u32, len: u32) -> GuestResult<String> {
    Ok(guest_text(str_bytes(memory, ptr, len)?).into_owned())
}

/// Where `bytes` stop being UTF-8, if they do.
pub fn first_invalid_utf8(bytes: &[u8]) -> Option<usize> {
    simdutf8::compat::from_utf8(bytes).err().map(|e| e.valid_up_to())
}

/// Guest bytes as the text Vera 0.2.3 reads: invalid UTF-8 as U+FFFD.
/// Borrowed when valid, which a SIMD validator checks at memory speed
/// (the lossy decoder, and std's validator on non-ASCII text, take
/// several instructions a byte).
pub fn guest_text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    // Short strings are mostly ASCII, which std checks a word at a time
    // without simdutf8's call overhead.
    let checked = match bytes.len() {
        0..64 => std::str::from_utf8(bytes).ok(),
        _ => simdutf8::basic::from_utf8(bytes).ok(),
    };
    match checked {
        Some(text) => std::borrow::Cow::Borrowed(text),
        None => String::from_utf8_lossy(bytes),
    }
}

/// Copies `text` into a fresh guest block; `""` is `(0, 0)` and allocates
/// nothing.
pub fn alloc_str(heap: &mut impl Heap, text: &[u8]) -> GuestResult<(u32, u32)> {
    if text.is_empty() {
        return Ok((0, 0));
    }
    let len = u32::try_from(text.len())
        .ok()
        .filter(|&l| l <= i32::MAX as u32)
        .ok_or_else(|| GuestError::too_large(text.len() as u64))?;
    Ok((heap.alloc_bytes(text)?, len))
}

/// What an ADT block carries after its tag.
#[derive(Clone, Copy, Debug)]
pub enum Payload {
    /// No payload: a 4-byte block.
    Empty,
    /// An i32 or guest pointer at +4 (8-byte block).
    Word(u32),
    /// An i64 or f64 (as bits) at +8 (16-byte block).
    Wide(u64),
    /// A String at +4 (ptr) and +8 (len) (12-byte block).
    Str(u32, u32),
}

impl Payload {
    /// The bytes of an ADT block carrying this payload.
    pub const fn adt_size(self) -> u32 {
        match self {
            Payload::Empty => 4,
            Payload::Word(_) => 8,
            Payload::Wide(_) => 16,
            Payload::Str(..) => 12,
        }
    }

    pub fn from_field(tag: Tag, f: Field) -> Payload {
        match tag {
            Tag::Int | Tag::Float => Payload::Wide(f.0),
            Tag::Str => Payload::Str(f.lo(), f.hi()),
            Tag::Word => Payload::Word(f.lo()),
        }
    }
}

/// Allocates an ADT value `tag(payload)`; a pointer payload is rooted
/// across the allocation.
pub fn alloc_adt(heap: &mut impl Heap, tag: u32, payload: Payload) -> GuestResult<u32> {
    let root = match payload {
        Payload::Word(w) | Payload::Str(w, _) => w,
        Payload::Empty | Payload::Wide(_) => 0,
    };
    let (ptr, _) = heap.alloc_holding(payload.adt_size(), &[root])?;
    let memory = heap.memory_mut();
    mem::write_u32(memory, ptr, tag)?;
    match payload {
        Payload::Empty => {}
        Payload::Word(w) => mem::write_u32(memory, ptr + 4, w)?,
        Payload::Wide(bits) => {
            mem::write_u32(memory, ptr + 4, 0)?;
            mem::write_u64(memory, ptr + 8, bits)?
        }
        Payload::Str(p, l) => {
            mem::write_u32(memory, ptr + 4, p)?;
            mem::write_u32(memory, ptr + 8, l)?
        }
    }
    Ok(ptr)
}

/// Allocates a String and then an ADT carrying it (`Ok(s)`, `Some(s)`...).
pub fn alloc_adt_with_str(heap: &mut impl Heap, tag: u32, text: &[u8]) -> GuestResult<u32> {
    let (p, l) = alloc_str(heap, text)?;
    alloc_adt(heap, tag, Payload::Str(p, l))
}

/// Allocates an `Array` of `fields` under `tag`: 8-byte cells for `i`, `f`,
/// `s`; for `b`, 1-byte cells when every value fits a byte (Bool, Byte),
/// else 4-byte pointer cells. The caller keeps any pointed-to blocks alive.
pub fn alloc_field_array(heap: &mut impl Heap, tag: Tag, fields: &[Field]) -> GuestResult<(u32, u32)> {
    if fields.is_empty() {
        return Ok((0, 0));
    }
    let cell = match tag {
        Tag::Word => field::word_cell_size(fields.iter().map(|f| f.lo())),
        _ => tag.array_cell_size(),
    };
    let count = u32::try_from(fields.len()).map_err(|_| GuestError::too_large(fields.len() as u64))?;
    let size = count
        .checked_mul(cell)
        .ok_or_else(|| GuestError::too_large(fields.len() as u64 * cell as u64))?;
    let ptr = heap.alloc(size)?;
    let out = mem::bytes_mut(heap.memory_mut(), ptr, size as usize)?;
    for (chunk, f) in out.chunks_exact_mut(cell as usize).zip(fields) {
        chunk.copy_from_slice(&f.0.to_le_bytes()[..cell as usize]);
    }
    Ok((ptr, count))
}

/// Allocates an array of `n` cells of `cell` bytes (at most 8), zeroed and
/// rooted while `fill` builds each element in turn; `fill` returns the
/// cell's bytes (a pointer, or a String as [`Field::str`]), whose blocks are
/// from then on reachable from the backing block.
pub fn alloc_array_with<H: Heap>(
    heap: &mut H,
    n: usize,
    cell: u32,
    mut fill: impl FnMut(&mut H, usize) -> GuestResult<u64>,
) -> GuestResult<(u32, u32)> {
    if n == 0 {
        return Ok((0, 0));
    }
    let count = u32::try_from(n).map_err(|_| GuestError::too_large(n as u64))?;
    let size = count
        .checked_mul(cell)
        .filter(|_| cell <= 8)
        .ok_or_else(|| GuestError::too_large(n as u64 * cell as u64))?;
    let backing = heap.alloc(size)?;
    mem::bytes_mut(heap.memory_mut(), backing, size as usize)?.fill(0);
    heap.with_roots(&[backing], |heap| {
        for i in 0..n {
            let bytes = fill(heap, i)?.to_le_bytes();
            mem::write_bytes(heap.memory_mut(), backing + cell * i as u32, &bytes[..cell as usize])?;
        }
        Ok((backing, count))
    })
}

/// Allocates an `Array<String>` of host strings.
pub fn alloc_string_array<S: AsRef<[u8]>>(heap: &mut impl Heap, items: &[S]) -> GuestResult<(u32, u32)> {
    alloc_array_with(heap, items.len(), 8, |heap, i| {
        let (p, l) = alloc_str(heap, items[i].as_ref())?;
        Ok(Field::str(p, l).0)
    })
}

/// Allocates a zeroed ADT block of `size` bytes with `tag` at +0 and the
/// given `(offset, u32)` words; `roots` (the blocks those words point to)
/// are kept alive across the allocation.
pub fn alloc_block(heap: &mut impl Heap, size: u32, tag: u32, words: &[(u32, u32)], roots: &[u32]) -> GuestResult<u32> {
    let (ptr, _) = heap.alloc_holding(size, roots)?;
    let m = heap.memory_mut();
    mem::bytes_mut(m, ptr, size as usize)?.fill(0);
    mem::write_u32(m, ptr, tag)?;
    for &(off, v) in words {
        mem::write_u32(m, mem::offset(ptr, off as u64)?, v)?;
    }
    Ok(ptr)
}

/// Reads the ADT tag at `ptr`.
pub fn adt_tag(memory: &[u8], ptr: u32) -> GuestResult<u32> {
    mem::read_u32(memory, ptr)
}
