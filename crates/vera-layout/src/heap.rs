//! The allocator and shadow-stack contract between host and guest.
//!
//! A Vera guest allocates with its exported `alloc`, which may run the
//! guest's conservative mark-sweep collector and grow memory. The collector
//! sees only the shadow stack `[gc_stack_base, gc_sp)` and the words of live
//! blocks, so a pointer the host keeps in a Rust local across `alloc` must be
//! pushed first ([`Heap::with_roots`]). Because [`Heap::memory`] borrows the
//! heap, no slice of memory can be held across [`Heap::alloc`]: the borrow
//! checker enforces "memory may move".

use crate::error::{GuestError, GuestResult};
use crate::mem;

/// Guest memory plus the guest's allocator and shadow stack.
pub trait Heap {
    /// The whole linear memory as it is now.
    fn memory(&self) -> &[u8];
    /// The whole linear memory, writable.
    fn memory_mut(&mut self) -> &mut [u8];
    /// Calls the guest's `alloc(size)`; may collect and grow memory.
    fn alloc_raw(&mut self, size: u32) -> GuestResult<u32>;
    /// The shadow-stack pointer and its limit, or `None` when the module
    /// has no collector (nothing to root against then).
    fn shadow_stack(&mut self) -> GuestResult<Option<(u32, u32)>>;
    /// Sets `gc_sp`.
    fn set_gc_sp(&mut self, sp: u32) -> GuestResult<()>;

    /// Allocates `size` bytes and checks the block lies inside memory.
    fn alloc(&mut self, size: u32) -> GuestResult<u32> {
        let ptr = self.alloc_raw(size)?;
        if ptr == 0 || ptr as u64 + size as u64 > self.memory().len() as u64 {
            return Err(GuestError::BadAlloc { size, ptr });
        }
        Ok(ptr)
    }

    /// Allocates `data.len()` bytes and copies `data` in.
    fn alloc_bytes(&mut self, data: &[u8]) -> GuestResult<u32> {
        let size = u32::try_from(data.len()).map_err(|_| GuestError::TooLarge(data.len() as u64))?;
        let ptr = self.alloc(size)?;
        mem::write_bytes(self.memory_mut(), ptr, data)?;
        Ok(ptr)
    }

    /// Runs `body` with `roots` pushed on the shadow stack, so the guest's
    /// collector keeps them (and all they reach) alive across allocations;
    /// `gc_sp` is restored on every exit path. Zero entries are skipped.
    fn with_roots<R>(&mut self, roots: &[u32], body: impl FnOnce(&mut Self) -> GuestResult<R>) -> GuestResult<R>
    where
        Self: Sized,
    {
        let Some((saved_sp, limit)) = self.shadow_stack()? else {
            return body(self);
        };
        let live = roots.iter().copied().filter(|&r| r != 0);
        let pushed = live.clone().count();
        let new_sp = saved_sp as u64 + 4 * pushed as u64;
        if new_sp > limit as u64 {
            return Err(GuestError::ShadowStackOverflow { sp: saved_sp, limit });
        }
        for (i, root) in live.enumerate() {
            mem::write_u32(self.memory_mut(), saved_sp + 4 * i as u32, root)?;
        }
        if pushed > 0 {
            self.set_gc_sp(new_sp as u32)?;
        }
        let result = body(self);
        if pushed > 0 {
            self.set_gc_sp(saved_sp)?;
        }
        result
    }
}
