//! Bump allocation at `heap_ptr`, as the guest's `alloc` does when its
//! free list has no fit: `heap_ptr` is read once per import (or taken
//! from a rewritten call site), advanced locally and written back before
//! any guest code runs and when the import returns.

use vera_layout::heap::block_bytes;
use vera_layout::{GuestError, GuestResult, Heap};
use wasmtime::Val;

use super::heap::GuestHeap;

/// The guest's `alloc` keeps the heap below 2 GiB (Vera 0.2.3 #578).
pub(super) const HEAP_CEILING: u64 = 0x8000_0000;

#[derive(Clone, Copy)]
pub(super) struct Bump {
    pub(super) top: u32,
    pub(super) end: u64,
    pub(super) dirty: bool,
}

impl GuestHeap<'_, '_> {
    /// Where bump allocation must stop: the end of memory, below the
    /// guest's 2 GiB heap ceiling.
    #[inline]
    pub(super) fn bump_end(&mut self) -> u64 {
        (self.memory_mut().len() as u64).min(HEAP_CEILING - 1)
    }

    /// The bump pointer as this import has it, read from the guest on
    /// first use; `None` where the host may not bump.
    #[inline]
    fn bump_state(&mut self) -> Option<Bump> {
        if let Some(bump) = self.bump {
            return Some(bump);
        }
        let heap_ptr = self.heap_ptr?;
        let top = match self.passed_heap_ptr {
            Some(passed) => passed,
            None => heap_ptr.get(&mut *self.caller).i32()? as u32,
        };
        let end = self.bump_end();
        Some(Bump { top, end, dirty: false })
    }

    /// `Heap::begin_region`: grows memory, if it must, so that `bytes`
    /// more fit above the bump pointer, and lends them. Refused where
    /// bumping is off, where the module keeps its own maps (building one
    /// calls it), and where memory cannot grow.
    pub(super) fn lend_region(&mut self, bytes: u64) -> GuestResult<Option<u32>> {
        if self.caller.data().exports.module_maps.is_some() {
            return Ok(None);
        }
        let Some(mut bump) = self.bump_state() else {
            return Ok(None);
        };
        let needed = bump.top as u64 + bytes;
        if needed >= HEAP_CEILING {
            return Ok(None);
        }
        if needed > bump.end {
            if !self.grow_for_region(needed, bump.end) {
                return Ok(None);
            }
            bump.end = self.bump_end();
        }
        if needed > bump.end {
            return Ok(None);
        }
        self.bump = Some(bump);
        self.bump_exhausted = false;
        Ok(Some(bump.top))
    }

    /// `Heap::end_region`: `blocks` blocks were laid up to `end`.
    pub(super) fn end_lent_region(&mut self, end: u32, blocks: u64) -> GuestResult<()> {
        let Some(bump) = &mut self.bump else {
            return Err(GuestError::host("end_region without a region"));
        };
        if (end as u64) < bump.top as u64 || end as u64 > bump.end {
            return Err(GuestError::host("a region ended outside what was lent"));
        }
        self.bumped_bytes += (end - bump.top) as u64;
        self.bumped_blocks += blocks;
        bump.top = end;
        bump.dirty = true;
        Ok(())
    }

    /// Writes the locally advanced `heap_ptr` back to the guest.
    pub(super) fn flush_bump(&mut self) {
        if let Some(bump) = self.bump.take() {
            if let (true, Some(heap_ptr)) = (bump.dirty, self.heap_ptr) {
                // An i32 global set to an i32 cannot fail.
                let _ = heap_ptr.set(&mut *self.caller, Val::I32(bump.top as i32));
                // The global is the pointer's one copy from now on.
                self.passed_heap_ptr = None;
            }
        }
    }

    /// Bump-allocates at `heap_ptr` exactly as the guest's `alloc` does when
    /// its free list has no fit (header `size << 1`, blocks of
    /// `align8(size + 4)` bytes, the heap below 2 GiB), when the block fits
    /// below the end of memory; `None` otherwise, or when turned off.
    ///
    /// Why: the guest's free list is first-fit and unsorted, so after a
    /// collection that freed many small blocks (strings), every wrapper- or
    /// Option-sized request walks the whole list; bumping needs no rooting
    /// (nothing can collect) and no call into the guest. The guest's
    /// collector walks and frees these blocks like its own, and its own
    /// allocations reuse them.
    #[inline]
    pub(super) fn bump_alloc(&mut self, size: u32) -> GuestResult<Option<u32>> {
        if self.bump.is_none() && self.bump_exhausted {
            return Ok(None);
        }
        let Some(mut bump) = self.bump_state() else {
            return Ok(None);
        };
        let block = block_bytes(size);
        let next = bump.top as u64 + block;
        if next > bump.end && self.grow_for_large_build(next - bump.end) {
            bump.end = self.bump_end();
        }
        if next > bump.end {
            // Until the guest's `alloc` has run (and maybe grown memory),
            // there is no room to look for.
            self.bump = Some(bump);
            self.flush_bump();
            self.bump_exhausted = true;
            return Ok(None);
        }
        vera_layout::mem::write_u32(self.memory_mut(), bump.top, size << 1)?;
        let ptr = bump.top + 4;
        bump.top = next as u32;
        bump.dirty = true;
        self.bump = Some(bump);
        self.bumped_bytes += block;
        self.bumped_blocks += 1;
        Ok(Some(ptr))
    }
}
