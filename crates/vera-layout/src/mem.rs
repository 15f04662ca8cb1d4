//! Bounds-checked little-endian access to a guest memory slice.
//!
//! Guest pointers are `u32` offsets; every access checks `ptr + len` against
//! the slice (in 64-bit arithmetic, so no wrap-around) and fails with
//! [`GuestErrorKind::OutOfBounds`](crate::GuestErrorKind::OutOfBounds) instead of panicking.

#[cfg(test)]
use crate::error::GuestErrorKind;
use crate::error::{GuestError, GuestResult};

/// The byte range `ptr .. ptr + len` when it lies in a memory of
/// `mem_len` bytes.
#[inline]
pub fn range(mem_len: usize, ptr: u32, len: usize) -> GuestResult<std::ops::Range<usize>> {
    let start = ptr as u64;
    let end = start + len as u64;
    if end > mem_len as u64 {
        return Err(GuestError::out_of_bounds(start, len as u64, mem_len as u64));
    }
    Ok(start as usize..end as usize)
}

/// The `len` bytes at `ptr`.
#[inline]
pub fn bytes(mem: &[u8], ptr: u32, len: usize) -> GuestResult<&[u8]> {
    Ok(&mem[range(mem.len(), ptr, len)?])
}

/// The `len` bytes at `ptr`, writable.
#[inline]
pub fn bytes_mut(mem: &mut [u8], ptr: u32, len: usize) -> GuestResult<&mut [u8]> {
    let r = range(mem.len(), ptr, len)?;
    Ok(&mut mem[r])
}

/// The `N` bytes at `ptr`, as an array whose fields can then be read
/// without further checks ([`u32_in`]).
#[inline]
pub fn block<const N: usize>(mem: &[u8], ptr: u32) -> GuestResult<&[u8; N]> {
    let r = range(mem.len(), ptr, N)?;
    <&[u8; N]>::try_from(&mem[r]).map_err(|_| GuestError::out_of_bounds(ptr as u64, N as u64, mem.len() as u64))
}

/// The little-endian u32 at byte `at` of a block.
#[inline]
pub fn u32_in<const N: usize>(block: &[u8; N], at: usize) -> u32 {
    u32::from_le_bytes(block[at..at + 4].try_into().unwrap_or([0; 4]))
}

#[inline]
fn array<const N: usize>(mem: &[u8], ptr: u32) -> GuestResult<[u8; N]> {
    let mut out = [0u8; N];
    out.copy_from_slice(bytes(mem, ptr, N)?);
    Ok(out)
}

#[inline]
pub fn read_u32(mem: &[u8], ptr: u32) -> GuestResult<u32> {
    Ok(u32::from_le_bytes(array(mem, ptr)?))
}

#[inline]
pub fn read_u64(mem: &[u8], ptr: u32) -> GuestResult<u64> {
    Ok(u64::from_le_bytes(array(mem, ptr)?))
}

#[inline]
pub fn read_i64(mem: &[u8], ptr: u32) -> GuestResult<i64> {
    Ok(i64::from_le_bytes(array(mem, ptr)?))
}

#[inline]
pub fn read_f64(mem: &[u8], ptr: u32) -> GuestResult<f64> {
    Ok(f64::from_le_bytes(array(mem, ptr)?))
}

#[inline]
pub fn write_u32(mem: &mut [u8], ptr: u32, value: u32) -> GuestResult<()> {
    bytes_mut(mem, ptr, 4)?.copy_from_slice(&value.to_le_bytes());
    Ok(())
}

#[inline]
pub fn write_u64(mem: &mut [u8], ptr: u32, value: u64) -> GuestResult<()> {
    bytes_mut(mem, ptr, 8)?.copy_from_slice(&value.to_le_bytes());
    Ok(())
}

#[inline]
pub fn write_bytes(mem: &mut [u8], ptr: u32, data: &[u8]) -> GuestResult<()> {
    bytes_mut(mem, ptr, data.len())?.copy_from_slice(data);
    Ok(())
}

/// Adds a byte offset to a guest pointer, failing instead of wrapping.
#[inline]
pub fn offset(ptr: u32, by: u64) -> GuestResult<u32> {
    u32::try_from(ptr as u64 + by).map_err(|_| GuestError::out_of_bounds(ptr as u64, by, u32::MAX as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_little_endian_and_bounded() {
        let mem = [1u8, 0, 0, 0, 0xff];
        assert_eq!(read_u32(&mem, 0).unwrap(), 1);
        assert!(matches!(
            read_u32(&mem, 2),
            Err(e) if matches!(e.kind(), GuestErrorKind::OutOfBounds { ptr: 2, len: 4, .. })
        ));
        assert!(read_u32(&mem, u32::MAX).is_err());
    }
}
