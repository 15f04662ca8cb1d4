//! The allocator and shadow-stack contract between host and guest.
//!
//! A Vera guest allocates with its exported `alloc`, which may run the
//! guest's conservative mark-sweep collector and grow memory. The collector
//! sees only the shadow stack `[gc_stack_base, gc_sp)` and the words of live
//! blocks, so a pointer the host keeps in a Rust local across `alloc` must be
//! pushed first ([`Heap::with_roots`]). Because [`Heap::memory`] borrows the
//! heap, no slice of memory can be held across [`Heap::alloc`]: the borrow
//! checker enforces "memory may move".

use crate::error::{GuestError, GuestErrorKind, GuestResult};
use crate::mem;

/// Bytes a block of `size` takes in the guest's heap: a 4-byte header,
/// rounded to 8.
pub const fn block_bytes(size: u32) -> u64 {
    (size as u64 + 4).next_multiple_of(8)
}

/// Guest memory plus the guest's allocator and shadow stack.
///
/// Rooting is lazy: [`Heap::with_roots`] only records its pointers, and
/// they are written to the shadow stack just around a call that can
/// collect ([`Heap::collecting`]): every call of the guest's `alloc`, and
/// any other call into the guest. (Vera 0.2.3's `alloc` collects only when
/// its bump space runs out, but a debugging build collects on every call,
/// and nothing in the module tells the two apart, so every call of it is
/// treated as collecting.) A block the heap can hand out without calling
/// the guest at all ([`Heap::alloc_without_collecting`]) needs no rooting.
pub trait Heap {
    /// The whole linear memory as it is now.
    fn memory(&self) -> &[u8];
    /// The whole linear memory, writable.
    fn memory_mut(&mut self) -> &mut [u8];
    /// Calls the guest's `alloc(size)`; may collect and grow memory.
    fn alloc_raw(&mut self, size: u32) -> GuestResult<u32>;
    /// Allocates without any chance of running the collector, or returns
    /// `None` (the default) when it cannot; [`Heap::alloc`] then calls
    /// [`Heap::alloc_raw`] with the held roots pushed. A block it returns
    /// must lie inside memory (it is not checked again).
    fn alloc_without_collecting(&mut self, _size: u32) -> GuestResult<Option<u32>> {
        Ok(None)
    }
    /// Lends the caller the next `bytes` of the heap above its bump
    /// pointer, growing memory first if it must, to lay blocks in itself
    /// ([`Region`]): the address of the first block's header, or `None`
    /// where the heap cannot (the caller then allocates block by block).
    /// Until [`Heap::end_region`] nothing else allocates and nothing is
    /// collected, so a block the caller refers to only from the host
    /// stays valid.
    fn begin_region(&mut self, bytes: u64) -> GuestResult<Option<u32>> {
        let _ = bytes;
        Ok(None)
    }
    /// Ends the region [`Heap::begin_region`] lent: `blocks` blocks were
    /// laid, each with its header, up to `end`, where the bump pointer
    /// now stands.
    fn end_region(&mut self, end: u32, blocks: u64) -> GuestResult<()> {
        let _ = (end, blocks);
        Err(GuestError::host("end_region without a region"))
    }
    /// The shadow-stack pointer and its limit, or `None` when the module
    /// has no collector (nothing to root against then).
    fn shadow_stack(&mut self) -> GuestResult<Option<(u32, u32)>>;
    /// Sets `gc_sp`.
    fn set_gc_sp(&mut self, sp: u32) -> GuestResult<()>;
    /// The pointers recorded by the [`Heap::with_roots`] calls in progress.
    fn pending_roots(&mut self) -> &mut Vec<u32>;

    /// Allocates `size` bytes and checks the block lies inside memory.
    fn alloc(&mut self, size: u32) -> GuestResult<u32>
    where
        Self: Sized,
    {
        if let Some(ptr) = self.alloc_without_collecting(size)? {
            return Ok(ptr);
        }
        let ptr = self.collecting(|heap| heap.alloc_raw(size))?;
        if ptr == 0 || ptr as u64 + size as u64 > self.memory().len() as u64 {
            return Err(GuestErrorKind::BadAlloc { size, ptr }.into());
        }
        Ok(ptr)
    }

    /// Allocates `size` bytes, holding `roots` only if the guest's `alloc`
    /// has to run. Also says whether it ran: guest code may then have
    /// collected or rewritten memory, so what the caller read before must
    /// be read again.
    #[inline]
    fn alloc_holding(&mut self, size: u32, roots: &[u32]) -> GuestResult<(u32, bool)>
    where
        Self: Sized,
    {
        if let Some(ptr) = self.alloc_without_collecting(size)? {
            return Ok((ptr, false));
        }
        let ptr = self.with_roots(roots, |heap| heap.alloc(size))?;
        Ok((ptr, true))
    }

    /// Allocates `data.len()` bytes and copies `data` in.
    fn alloc_bytes(&mut self, data: &[u8]) -> GuestResult<u32>
    where
        Self: Sized,
    {
        let size = u32::try_from(data.len()).map_err(|_| GuestError::too_large(data.len() as u64))?;
        let ptr = self.alloc(size)?;
        mem::write_bytes(self.memory_mut(), ptr, data)?;
        Ok(ptr)
    }

    /// Runs `body` with `roots` held, so the guest's collector keeps them
    /// (and all they reach) alive across allocations and other calls into
    /// the guest made through [`Heap::collecting`]. Zero entries are skipped.
    fn with_roots<R>(&mut self, roots: &[u32], body: impl FnOnce(&mut Self) -> GuestResult<R>) -> GuestResult<R>
    where
        Self: Sized,
    {
        if roots.iter().all(|&r| r == 0) {
            return body(self);
        }
        let held = self.pending_roots().len();
        self.pending_roots().extend(roots.iter().copied().filter(|&r| r != 0));
        let result = body(self);
        self.pending_roots().truncate(held);
        result
    }

    /// Runs `body`, a call into the guest that may collect, with every held
    /// root pushed on the shadow stack; `gc_sp` is restored on every exit.
    fn collecting<R>(&mut self, body: impl FnOnce(&mut Self) -> GuestResult<R>) -> GuestResult<R>
    where
        Self: Sized,
    {
        let count = self.pending_roots().len();
        if count == 0 {
            return body(self);
        }
        let Some((saved_sp, limit)) = self.shadow_stack()? else {
            return body(self);
        };
        let new_sp = saved_sp as u64 + 4 * count as u64;
        if new_sp > limit as u64 {
            return Err(GuestErrorKind::ShadowStackOverflow { sp: saved_sp, limit }.into());
        }
        for i in 0..count {
            let root = self.pending_roots()[i];
            mem::write_u32(self.memory_mut(), saved_sp + 4 * i as u32, root)?;
        }
        self.set_gc_sp(new_sp as u32)?;
        let result = body(self);
        self.set_gc_sp(saved_sp)?;
        result
    }
}

/// Blocks laid by the host itself in a stretch of the heap that
/// [`Heap::begin_region`] lent: each allocation writes the header `alloc`
/// would and moves a cursor, nothing more. Everything else goes to the
/// heap beneath; building a host-made map goes to the buckets (a heap
/// whose module keeps its own maps lends no region).
pub struct Region<'h, H: Heap> {
    heap: &'h mut H,
    cursor: u32,
    end: u32,
    blocks: u64,
}

impl<'h, H: Heap> Region<'h, H> {
    /// The region `[start, start + bytes)` of `heap`, as
    /// [`Heap::begin_region`] lent it.
    pub fn new(heap: &'h mut H, start: u32, bytes: u64) -> GuestResult<Region<'h, H>> {
        let end = u32::try_from(start as u64 + bytes).map_err(|_| GuestError::too_large(bytes))?;
        mem::bytes(heap.memory(), start, bytes as usize)?;
        Ok(Region {
            heap,
            cursor: start,
            end,
            blocks: 0,
        })
    }

    /// Gives the region back: the bump pointer moves to the end of the
    /// last block laid.
    pub fn finish(self) -> GuestResult<()> {
        self.heap.end_region(self.cursor, self.blocks)
    }
}

impl<H: Heap> Heap for Region<'_, H> {
    #[inline]
    fn memory(&self) -> &[u8] {
        self.heap.memory()
    }
    #[inline]
    fn memory_mut(&mut self) -> &mut [u8] {
        self.heap.memory_mut()
    }
    fn alloc_raw(&mut self, size: u32) -> GuestResult<u32> {
        Err(GuestError::host(format!(
            "a block of {size} bytes does not fit the region the heap lent"
        )))
    }
    #[inline]
    fn alloc_without_collecting(&mut self, size: u32) -> GuestResult<Option<u32>> {
        let next = self.cursor as u64 + block_bytes(size);
        if next > self.end as u64 {
            return Ok(None);
        }
        mem::write_u32(self.heap.memory_mut(), self.cursor, size << 1)?;
        let ptr = self.cursor + 4;
        self.cursor = next as u32;
        self.blocks += 1;
        Ok(Some(ptr))
    }
    fn shadow_stack(&mut self) -> GuestResult<Option<(u32, u32)>> {
        self.heap.shadow_stack()
    }
    fn set_gc_sp(&mut self, sp: u32) -> GuestResult<()> {
        self.heap.set_gc_sp(sp)
    }
    fn pending_roots(&mut self) -> &mut Vec<u32> {
        self.heap.pending_roots()
    }
}

impl<H: Heap> crate::collection::StringMaps for Region<'_, H> {}
