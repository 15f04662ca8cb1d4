//! The compact encoding of values between the core and `browser/runtime.mjs`.
//!
//! The guest's memory lives in another WebAssembly instance, so the core
//! never writes it: it answers with a tree that runtime.mjs builds in guest
//! memory with its own allocator, rooting and bucket code (`buildWire`),
//! and it reads guest trees (Markdown, HTML) that runtime.mjs encoded the
//! same way (`readMd`, `readHtml`). Every number is a little-endian `u32`
//! unless said otherwise; each value starts with one kind byte:
//!
//! ```text
//! 1 STR    len, bytes          a String: (ptr, len) in guest memory, "" is (0, 0)
//! 2 WORD   u32                 an i32 or a pointer
//! 3 WIDE   u64                 an i64, or an f64's bits
//! 4 BLOCK  size, tag, n, n × (offset, value)
//!                              a zeroed ADT block of `size` bytes, `tag` at +0;
//!                              a STR or ARRAY field is (ptr, len) at offset
//! 5 ARRAY  cell, n, n × value  an Array of n cells of 1, 4 or 8 bytes
//! 6 MAP    vtag u8, n, n × (key STR, value)
//!                              a Map<String, V>, V's tag `s` or `b`,
//!                              built with the insert semantics
//! ```
//!
//! A BLOCK read from guest memory has size 0 (the reader does not know it).

pub const STR: u8 = 1;
pub const WORD: u8 = 2;
pub const WIDE: u8 = 3;
pub const BLOCK: u8 = 4;
pub const ARRAY: u8 = 5;
pub const MAP: u8 = 6;

/// Writes values in the encoding above (pre-order: a block's or array's
/// header, then its parts).
#[derive(Default)]
pub struct Enc(pub Vec<u8>);

impl Enc {
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn count(&mut self, n: usize) {
        self.u32(u32::try_from(n).expect("fewer than 2^32 parts"));
    }
    pub fn str(&mut self, s: &str) {
        self.str_bytes(s.as_bytes());
    }
    /// A STR of UTF-8 bytes.
    pub fn str_bytes(&mut self, s: &[u8]) {
        self.0.push(STR);
        self.count(s.len());
        self.0.extend_from_slice(s);
    }
    pub fn word(&mut self, v: u32) {
        self.0.push(WORD);
        self.u32(v);
    }
    pub fn wide(&mut self, v: u64) {
        self.0.push(WIDE);
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    /// A block with `n` fields; each follows as [`Enc::field`] then its value.
    pub fn block(&mut self, size: u32, tag: u32, n: usize) {
        self.0.push(BLOCK);
        self.u32(size);
        self.u32(tag);
        self.count(n);
    }
    pub fn field(&mut self, offset: u32) {
        self.u32(offset);
    }
    /// An array of `n` cells; the `n` values follow.
    pub fn array(&mut self, cell: u32, n: usize) {
        self.0.push(ARRAY);
        self.u32(cell);
        self.count(n);
    }
    /// A `Map<String, V>` of `n` entries; each key ([`Enc::str`]) and value follow.
    pub fn map(&mut self, vtag: u8, n: usize) {
        self.0.push(MAP);
        self.0.push(vtag);
        self.count(n);
    }
    /// `tag(s)`: `Ok(s)`, `Err(s)`, `Some(s)` (12 bytes, as `alloc_adt_with_str`).
    pub fn adt_str(&mut self, tag: u32, s: &str) {
        self.block(12, tag, 1);
        self.field(4);
        self.str(s);
    }
    /// `tag(w)` with a word payload (8 bytes); the payload's value follows.
    pub fn adt_word(&mut self, tag: u32) {
        self.block(8, tag, 1);
        self.field(4);
    }
    /// `tag(array)` with an array payload at +4 (12 bytes); the array follows.
    pub fn adt_pair(&mut self, tag: u32) {
        self.block(12, tag, 1);
        self.field(4);
    }
    /// `tag` with no payload (4 bytes).
    pub fn adt_empty(&mut self, tag: u32) {
        self.block(4, tag, 0);
    }
}

/// Reads values in the encoding above. Every read checks the input; a
/// malformed one is an `Err` naming what was expected.
pub struct Dec<'a> {
    bytes: &'a [u8],
    at: usize,
}

pub type DecResult<T> = Result<T, String>;

impl<'a> Dec<'a> {
    pub fn new(bytes: &'a [u8]) -> Dec<'a> {
        Dec { bytes, at: 0 }
    }
    fn take(&mut self, n: usize) -> DecResult<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| format!("input ends at byte {} (wanted {n} more)", self.at))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    pub fn u32(&mut self) -> DecResult<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn kind(&mut self, want: u8, what: &str) -> DecResult<()> {
        let k = self.take(1)?[0];
        if k == want {
            Ok(())
        } else {
            Err(format!("expected {what}, found kind {k} at byte {}", self.at - 1))
        }
    }
    pub fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }
    /// A STR, as Vera 0.2.3 reads guest text (invalid UTF-8 becomes U+FFFD).
    pub fn str(&mut self) -> DecResult<String> {
        self.kind(STR, "a string")?;
        let n = self.u32()? as usize;
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }
    pub fn word(&mut self) -> DecResult<u32> {
        self.kind(WORD, "a word")?;
        self.u32()
    }
    pub fn wide(&mut self) -> DecResult<u64> {
        self.kind(WIDE, "a wide value")?;
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    /// A block's header: its tag and field count (the size is ignored).
    pub fn block(&mut self) -> DecResult<(u32, u32)> {
        self.kind(BLOCK, "a block")?;
        let _size = self.u32()?;
        Ok((self.u32()?, self.u32()?))
    }
    /// The next field's offset.
    pub fn field(&mut self) -> DecResult<u32> {
        self.u32()
    }
    /// An array's header: its length.
    pub fn array(&mut self) -> DecResult<u32> {
        Ok(self.array_cells()?.1)
    }
    /// An array's header: its cell size and length.
    pub fn array_cells(&mut self) -> DecResult<(u32, u32)> {
        self.kind(ARRAY, "an array")?;
        Ok((self.u32()?, self.u32()?))
    }
    /// A map's header: its length.
    pub fn map(&mut self) -> DecResult<u32> {
        self.kind(MAP, "a map")?;
        self.take(1)?;
        self.u32()
    }
    /// Bytes not read yet.
    pub fn rest(&self) -> usize {
        self.bytes.len() - self.at
    }
    pub fn end(&self) -> DecResult<()> {
        if self.at == self.bytes.len() {
            Ok(())
        } else {
            Err(format!("{} bytes left over", self.bytes.len() - self.at))
        }
    }
}
