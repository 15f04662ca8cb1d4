//! [`GuestHeap`]: guest memory, `alloc` and the shadow stack behind an
//! import's `Caller`, the `vera_layout::Heap` every family works on; it
//! reads memory through a cached view, calls into the guest
//! (`call_guest`) and hands allocation to `bump` and `growth`.

use vera_layout::{Field, GuestError, GuestResult, Heap, StringMaps, Tag};
use wasmtime::{Caller, Global, Memory, Val};

use super::bump::Bump;
use crate::state::HostState;
use crate::trap::HostTrap;

/// Guest memory, allocator and shadow stack, seen from inside an import.
pub struct GuestHeap<'a, 'c> {
    pub(super) caller: &'a mut Caller<'c, HostState>,
    pub(super) memory: Memory,
    /// The memory's base and length, read once: wasmtime's accessors look
    /// the memory up in the store on every call, and an operation touches
    /// memory many times. Only a grow moves or resizes it, and every grow
    /// happens through this type (its own, or guest code it runs), which
    /// marks the view stale.
    pub(super) view: View,
    /// `heap_ptr`, when the host may bump it.
    pub(super) heap_ptr: Option<Global>,
    /// `heap_ptr` and the memory size while this import bump-allocates:
    /// read once, advanced locally, written back before any call into the
    /// guest and when the import returns (wasmtime's global accessors cost
    /// hundreds of instructions, a JSON document needs one block per value).
    pub(super) bump: Option<Bump>,
    /// The last bump did not fit; cleared by a call to the guest's `alloc`.
    pub(super) bump_exhausted: bool,
    /// Bytes and blocks this import has bump-allocated.
    pub(super) bumped_bytes: u64,
    pub(super) bumped_blocks: u64,
    /// `heap_ptr` as a rewritten call site passed it (see `vera_rewrite`),
    /// good until guest code runs.
    pub(super) passed_heap_ptr: Option<u32>,
}

#[derive(Clone, Copy)]
pub(super) struct View {
    pub(super) base: *mut u8,
    pub(super) len: usize,
    pub(super) stale: bool,
}

impl<'a, 'c> GuestHeap<'a, 'c> {
    /// The heap of a module that exports `memory`; `passed_heap_ptr` is the
    /// `heap_ptr` a rewritten call site passed (see `vera_rewrite`), which
    /// the call site stores back from [`GuestHeap::finish`].
    #[inline(always)]
    pub fn new(
        caller: &'a mut Caller<'c, HostState>,
        memory: Memory,
        passed_heap_ptr: Option<u32>,
    ) -> GuestHeap<'a, 'c> {
        let state = caller.data();
        let heap_ptr = state.exports.heap_ptr.filter(|_| state.bump_allocate);
        GuestHeap {
            caller,
            memory,
            view: View {
                base: std::ptr::null_mut(),
                len: 0,
                stale: true,
            },
            heap_ptr,
            bump: None,
            bump_exhausted: false,
            bumped_bytes: 0,
            bumped_blocks: 0,
            passed_heap_ptr,
        }
    }

    /// Ends a threaded import: the `heap_ptr` its call site is to store.
    #[inline]
    pub fn finish(mut self) -> u32 {
        if let Some(bump) = self.bump.take() {
            return bump.top;
        }
        if let Some(passed) = self.passed_heap_ptr {
            return passed;
        }
        // Guest code ran: its `alloc` has the pointer now.
        self.caller
            .data()
            .exports
            .heap_ptr
            .and_then(|g| g.get(&mut *self.caller).i32())
            .unwrap_or(0) as u32
    }

    pub fn state(&mut self) -> &mut HostState {
        self.caller.data_mut()
    }

    /// The caller, for calls into the guest: the bump pointer is written
    /// back first.
    pub fn caller(&mut self) -> &mut Caller<'c, HostState> {
        self.flush_bump();
        self.passed_heap_ptr = None;
        self.view.stale = true;
        self.caller
    }

    fn refresh_view(&mut self) {
        let data = self.memory.data_mut(&mut *self.caller);
        self.view = View {
            base: data.as_mut_ptr(),
            len: data.len(),
            stale: false,
        };
    }
}

impl Drop for GuestHeap<'_, '_> {
    fn drop(&mut self) {
        self.flush_bump();
        self.caller.data_mut().stats.bump_allocs += self.bumped_blocks;
    }
}

impl<'c> GuestHeap<'_, 'c> {
    fn call_alloc(&mut self, size: u32) -> GuestResult<u32> {
        if size > i32::MAX as u32 {
            return Err(GuestError::too_large(size as u64));
        }
        let alloc = self
            .caller
            .data()
            .exports
            .alloc
            .ok_or_else(|| GuestError::host("the module exports no `alloc`"))?;
        self.flush_bump();
        self.bump_exhausted = false;
        self.caller.data_mut().stats.guest_allocs += 1;
        let ptr = self.call_guest(|caller| alloc.call(caller, size as i32))?;
        Ok(ptr as u32)
    }

    /// Calls into the guest (`alloc`, `register_wrapper`). Imports the
    /// guest calls meanwhile are refused (see `families::with_heap`); a
    /// trap keeps its reason for `trap::classify`.
    pub fn call_guest<R>(
        &mut self,
        call: impl FnOnce(&mut Caller<'c, HostState>) -> wasmtime::Result<R>,
    ) -> GuestResult<R> {
        self.flush_bump();
        self.passed_heap_ptr = None;
        self.view.stale = true;
        let outer = std::mem::replace(&mut self.caller.data_mut().in_alloc, true);
        let called = call(&mut *self.caller);
        self.caller.data_mut().in_alloc = outer;
        let sites = &self.caller.data().worklist_overflow_sites;
        called.map_err(|e| match e.downcast_ref::<wasmtime::Trap>() {
            Some(_) if crate::trap::worklist_overflowed(&e, sites) => GuestError::host(crate::trap::WorklistOverflow),
            Some(code) => GuestError::host(*code),
            // An import the guest called meanwhile stopped the run.
            None => match e.downcast::<HostTrap>() {
                Ok(host) => GuestError::host(host),
                Err(e) => GuestError::host(format!("{e:#}")),
            },
        })
    }
}

impl Heap for GuestHeap<'_, '_> {
    #[inline]
    fn memory(&self) -> &[u8] {
        if self.view.stale {
            return self.memory.data(&*self.caller);
        }
        // SAFETY: the view was read from this store's memory, which only a
        // grow moves or resizes; every grow goes through `self` (see
        // `view`) and marks the view stale, and `self` holds the only
        // access to the store, so these bytes are the memory as it is now.
        unsafe { std::slice::from_raw_parts(self.view.base, self.view.len) }
    }
    #[inline]
    fn memory_mut(&mut self) -> &mut [u8] {
        if self.view.stale {
            self.refresh_view();
        }
        // SAFETY: as in `memory`; the slice borrows `self` mutably, so no
        // other reference to the memory exists while it lives.
        unsafe { std::slice::from_raw_parts_mut(self.view.base, self.view.len) }
    }
    fn alloc_raw(&mut self, size: u32) -> GuestResult<u32> {
        let pages_before = self.memory.size(&*self.caller);
        let ptr = self.call_alloc(size)?;
        if self.memory.size(&*self.caller) > pages_before {
            self.leave_headroom();
        }
        Ok(ptr)
    }
    /// See `GuestHeap::bump_alloc` (guest/bump.rs).
    #[inline]
    fn alloc_without_collecting(&mut self, size: u32) -> GuestResult<Option<u32>> {
        self.bump_alloc(size)
    }
    fn pending_roots(&mut self) -> &mut Vec<u32> {
        &mut self.caller.data_mut().held_roots
    }
    /// See `GuestHeap::lend_region` (guest/bump.rs).
    fn begin_region(&mut self, bytes: u64) -> GuestResult<Option<u32>> {
        self.lend_region(bytes)
    }
    fn end_region(&mut self, end: u32, blocks: u64) -> GuestResult<()> {
        self.end_lent_region(end, blocks)
    }
    fn shadow_stack(&mut self) -> GuestResult<Option<(u32, u32)>> {
        let ex = &self.caller.data().exports;
        let (Some(sp), Some(limit)) = (ex.gc_sp, ex.gc_stack_limit) else {
            return Ok(None);
        };
        match sp.get(&mut *self.caller) {
            Val::I32(v) => Ok(Some((v as u32, limit))),
            _ => Err(GuestError::host("`gc_sp` is not an i32 global")),
        }
    }
    fn set_gc_sp(&mut self, sp: u32) -> GuestResult<()> {
        let Some(global) = self.caller.data().exports.gc_sp else {
            return Ok(());
        };
        global
            .set(&mut *self.caller, Val::I32(sp as i32))
            .map_err(GuestError::host)
    }
}

/// Host-made maps are buckets, unless the module keeps its own maps
/// (Vera 0.2.4+ run as compiled): then they are built and read through
/// its exports (guest/module_maps.rs).
impl StringMaps for GuestHeap<'_, '_> {
    fn build_string_map(&mut self, vtag: Tag, entries: &[(Field, Field)]) -> GuestResult<u32> {
        super::module_maps::build_string_map(self, vtag, entries)
    }
    fn string_map_entries(&mut self, vtag: Tag, w: u32) -> GuestResult<Vec<(Field, Field)>> {
        super::module_maps::string_map_entries(self, vtag, w)
    }
}
