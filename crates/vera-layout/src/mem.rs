//! Bounds-checked little-endian access to a guest memory slice.
//!
//! Guest pointers are `u32` offsets; every access checks `ptr + len` against
//! the slice (in 64-bit arithmetic, so no wrap-around) and fails with
//! [`GuestError::OutOfBounds`] instead of panicking.

use crate::error::{GuestError, GuestResult};

fn range(mem_len: usize, ptr: u32, len: usize) -> GuestResult<std::ops::Range<usize>> {
    let start = ptr as u64;
    let end = start + len as u64;
    if end > mem_len as u64 {
        return Err(GuestError::OutOfBounds {
            ptr: start,
            len: len as u64,
            size: mem_len as u64,
        });
    }
    Ok(start as usize..end as usize)
}

/// The `len` bytes at `ptr`.
pub fn bytes(mem: &[u8], ptr: u32, len: usize) -> GuestResult<&[u8]> {
    Ok(&mem[range(mem.len(), ptr, len)?])
}

/// The `len` bytes at `ptr`, writable.
pub fn bytes_mut(mem: &mut [u8], ptr: u32, len: usize) -> GuestResult<&mut [u8]> {
    let r = range(mem.len(), ptr, len)?;
    Ok(&mut mem[r])
}

fn array<const N: usize>(mem: &[u8], ptr: u32) -> GuestResult<[u8; N]> {
    let mut out = [0u8; N];
    out.copy_from_slice(bytes(mem, ptr, N)?);
    Ok(out)
}

pub fn read_u32(mem: &[u8], ptr: u32) -> GuestResult<u32> {
    Ok(u32::from_le_bytes(array(mem, ptr)?))
}

pub fn read_u64(mem: &[u8], ptr: u32) -> GuestResult<u64> {
    Ok(u64::from_le_bytes(array(mem, ptr)?))
}

pub fn read_i64(mem: &[u8], ptr: u32) -> GuestResult<i64> {
    Ok(i64::from_le_bytes(array(mem, ptr)?))
}

pub fn read_f64(mem: &[u8], ptr: u32) -> GuestResult<f64> {
    Ok(f64::from_le_bytes(array(mem, ptr)?))
}

pub fn write_u32(mem: &mut [u8], ptr: u32, value: u32) -> GuestResult<()> {
    bytes_mut(mem, ptr, 4)?.copy_from_slice(&value.to_le_bytes());
    Ok(())
}

pub fn write_u64(mem: &mut [u8], ptr: u32, value: u64) -> GuestResult<()> {
    bytes_mut(mem, ptr, 8)?.copy_from_slice(&value.to_le_bytes());
    Ok(())
}

pub fn write_bytes(mem: &mut [u8], ptr: u32, data: &[u8]) -> GuestResult<()> {
    bytes_mut(mem, ptr, data.len())?.copy_from_slice(data);
    Ok(())
}

/// Adds a byte offset to a guest pointer, failing instead of wrapping.
pub fn offset(ptr: u32, by: u64) -> GuestResult<u32> {
    u32::try_from(ptr as u64 + by).map_err(|_| GuestError::OutOfBounds {
        ptr: ptr as u64,
        len: by,
        size: u32::MAX as u64,
    })
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
            Err(GuestError::OutOfBounds { ptr: 2, len: 4, .. })
        ));
        assert!(read_u32(&mem, u32::MAX).is_err());
    }
}
