//! The live guest: its cached exports and the [`Heap`] over a `Caller`.
//!
//! Exports are looked up once per instance ([`GuestExports::capture`]) and
//! kept in the store's [`HostState`]; every import reaches guest memory,
//! `alloc` and the shadow stack through [`GuestHeap`], never by name.

use vera_layout::collection::{self, Kind};
use vera_layout::{mem, Field, GuestError, GuestResult, Heap, StringMaps, Tag};
use wasmtime::Result;
use wasmtime::{
    AsContextMut, Caller, Extern, Func, Global, Instance, Memory, Mutability, TypedFunc, Val, ValRaw, ValType,
};

use crate::state::HostState;
use crate::trap::HostTrap;

/// The exports of a Vera module that imports need, captured once.
#[derive(Clone)]
pub struct GuestExports {
    pub memory: Option<Memory>,
    pub alloc: Option<GuestAlloc>,
    pub gc_sp: Option<Global>,
    pub gc_stack_limit: Option<u32>,
    pub heap_ptr: Option<Global>,
    pub register_wrapper: Option<TypedFunc<(i32, i32, i32), ()>>,
    /// Set when the module keeps its own maps (Vera 0.2.4 and later).
    pub module_maps: Option<ModuleMaps>,
}

/// The exports through which a host builds and reads the `Map<String, V>`
/// values it makes (JSON objects, HTML attributes) when the module's maps
/// are its own hash tries (Vera 0.2.4 and later): `map_from_arrays$ks_v<t>`
/// builds one from a keys array of `(ptr, len)` cells and a values array,
/// `map_keys$ks` and `map_values$v<t>` read one back in insertion order
/// (`<t>`: `b` for a heap pointer such as `Json`, 4-byte cells; `s` for a
/// `String`, 8-byte cells).
#[derive(Clone)]
pub struct ModuleMaps {
    from_arrays_word: Option<TypedFunc<(i32, i32, i32, i32), i32>>,
    from_arrays_str: Option<TypedFunc<(i32, i32, i32, i32), i32>>,
    keys: Option<TypedFunc<i32, (i32, i32)>>,
    values_word: Option<TypedFunc<i32, (i32, i32)>>,
    values_str: Option<TypedFunc<i32, (i32, i32)>>,
}

impl ModuleMaps {
    fn capture(mut store: impl AsContextMut, instance: &Instance) -> Option<ModuleMaps> {
        let mut store = store.as_context_mut();
        let mut func = |name: &str| instance.get_func(&mut store, name);
        let (fw, fs) = (func("map_from_arrays$ks_vb"), func("map_from_arrays$ks_vs"));
        let (keys, vw, vs) = (func("map_keys$ks"), func("map_values$vb"), func("map_values$vs"));
        if fw.is_none() && fs.is_none() {
            return None;
        }
        Some(ModuleMaps {
            from_arrays_word: fw.and_then(|f| f.typed(&store).ok()),
            from_arrays_str: fs.and_then(|f| f.typed(&store).ok()),
            keys: keys.and_then(|f| f.typed(&store).ok()),
            values_word: vw.and_then(|f| f.typed(&store).ok()),
            values_str: vs.and_then(|f| f.typed(&store).ok()),
        })
    }
}

/// A module map export the host needs, or the error that names it.
fn needed<T: Clone>(export: &Option<T>, name: &str) -> GuestResult<T> {
    export.clone().ok_or_else(|| {
        GuestError::host(format!(
            "the module keeps its own maps but does not export `{name}` (with the type Vera gives it), \
                 which vera-rt builds or reads them through"
        ))
    })
}

impl GuestExports {
    /// Looks each export up by its Vera 0.2.3 name, or with the `vera.`
    /// prefix that Vera 0.2.4 and later give the runtime's own exports.
    pub fn capture(mut store: impl AsContextMut<Data = HostState>, instance: &Instance) -> GuestExports {
        let mut store = store.as_context_mut();
        let mut export = |name: &str| {
            instance
                .get_export(&mut store, name)
                .or_else(|| instance.get_export(&mut store, &format!("{RUNTIME_PREFIX}{name}")))
        };
        let memory = export("memory").and_then(Extern::into_memory);
        let alloc = export("alloc").and_then(Extern::into_func);
        let gc_sp = export("gc_sp").and_then(Extern::into_global);
        let gc_stack_limit = export("gc_stack_limit").and_then(Extern::into_global);
        // Only a mutable i32 is a bump pointer the host can advance.
        let heap_ptr = export("heap_ptr").and_then(Extern::into_global);
        let register_wrapper = export("register_wrapper").and_then(Extern::into_func);
        let heap_ptr = heap_ptr.filter(|g| {
            let ty = g.ty(&store);
            ty.mutability() == Mutability::Var && matches!(ty.content(), ValType::I32)
        });
        GuestExports {
            memory,
            alloc: alloc
                .and_then(|f| f.typed::<i32, i32>(&store).ok())
                .map(|f| GuestAlloc(*f.func())),
            gc_sp,
            gc_stack_limit: gc_stack_limit.and_then(|g| match g.get(&mut store) {
                Val::I32(v) => Some(v as u32),
                _ => None,
            }),
            heap_ptr,
            register_wrapper: register_wrapper.and_then(|f| f.typed(&store).ok()),
            module_maps: ModuleMaps::capture(&mut store, instance),
        }
    }
}

const PAGE: u64 = 65536;

/// Least free space left at the top after a guest grow, so small programs
/// (a 10K-entry chain peaks under 2 MB) also bump rather than collect.
const MIN_HEADROOM: u64 = 8 << 20;

/// After this many bytes bump-allocated in one import, running out of room
/// grows memory instead of calling the guest's `alloc` (see
/// `alloc_without_collecting`).
const LARGE_BUILD: u64 = 1 << 20;

/// The guest's `alloc` keeps the heap below 2 GiB (Vera 0.2.3 #578).
const HEAP_CEILING: u64 = 0x8000_0000;

/// The prefix Vera 0.2.4 and later put on the runtime's exports
/// (`vera.memory`, `vera.alloc`, ...); a module's own functions have none.
pub const RUNTIME_PREFIX: &str = "vera.";

/// The module's `alloc(size: i32) -> i32`, its type checked at capture.
///
/// Called through raw values: a `TypedFunc` clones its registered type on
/// every copy, and the host allocates once or twice per Map/Set operation.
#[derive(Clone, Copy)]
pub struct GuestAlloc(Func);

impl GuestAlloc {
    pub fn call(&self, mut store: impl AsContextMut, size: i32) -> Result<i32> {
        let mut cells = [ValRaw::i32(size)];
        // SAFETY: the function was checked to be `(i32) -> i32` when it
        // was captured, and one cell holds both the argument and the result.
        unsafe { self.0.call_unchecked(&mut store, &mut cells)? };
        Ok(cells[0].get_i32())
    }
}

/// Guest memory, allocator and shadow stack, seen from inside an import.
pub struct GuestHeap<'a, 'c> {
    caller: &'a mut Caller<'c, HostState>,
    memory: Memory,
    /// The memory's base and length, read once: wasmtime's accessors look
    /// the memory up in the store on every call, and an operation touches
    /// memory many times. Only a grow moves or resizes it, and every grow
    /// happens through this type (its own, or guest code it runs), which
    /// marks the view stale.
    view: View,
    /// `heap_ptr`, when the host may bump it.
    heap_ptr: Option<Global>,
    /// `heap_ptr` and the memory size while this import bump-allocates:
    /// read once, advanced locally, written back before any call into the
    /// guest and when the import returns (wasmtime's global accessors cost
    /// hundreds of instructions, a JSON document needs one block per value).
    bump: Option<Bump>,
    /// The last bump did not fit; cleared by a call to the guest's `alloc`.
    bump_exhausted: bool,
    /// Bytes and blocks this import has bump-allocated.
    bumped_bytes: u64,
    bumped_blocks: u64,
    /// `heap_ptr` as a rewritten call site passed it (see `vera_rewrite`),
    /// good until guest code runs.
    passed_heap_ptr: Option<u32>,
}

#[derive(Clone, Copy)]
struct View {
    base: *mut u8,
    len: usize,
    stale: bool,
}

#[derive(Clone, Copy)]
struct Bump {
    top: u32,
    end: u64,
    dirty: bool,
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

    /// Grows memory by `pages` (a refused grow is not an error here).
    fn grow(&mut self, pages: u64) -> bool {
        self.view.stale = true;
        self.memory.grow(&mut *self.caller, pages).is_ok()
    }

    /// Writes the locally advanced `heap_ptr` back to the guest.
    fn flush_bump(&mut self) {
        if let Some(bump) = self.bump.take() {
            if let (true, Some(heap_ptr)) = (bump.dirty, self.heap_ptr) {
                // An i32 global set to an i32 cannot fail.
                let _ = heap_ptr.set(&mut *self.caller, Val::I32(bump.top as i32));
                // The global is the pointer's one copy from now on.
                self.passed_heap_ptr = None;
            }
        }
    }
}

impl Drop for GuestHeap<'_, '_> {
    fn drop(&mut self) {
        self.flush_bump();
        self.caller.data_mut().stats.bump_allocs += self.bumped_blocks;
    }
}

impl<'c> GuestHeap<'_, 'c> {
    /// Where bump allocation must stop: the end of memory, below the
    /// guest's 2 GiB heap ceiling.
    #[inline]
    fn bump_end(&mut self) -> u64 {
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

    /// The guest's `alloc` grows memory only by its shortfall, and only
    /// after a collection freed too little, so a heap that keeps growing
    /// (a collection being built) would otherwise collect on nearly every
    /// page and pay for the whole live heap each time. When the guest has
    /// just grown, the host makes the free space at the top twice the heap
    /// in use, so collections run at geometrically spaced sizes and their
    /// cost is amortised, like a garbage-collected runtime's growth factor,
    /// and host blocks are bumped there rather than taken from the free
    /// list (measured on the 100K Int chain: factor 2 sent half the host
    /// allocations through `alloc`, factor 3 none, for 17% fewer
    /// instructions). Memory stays within about three times the heap the
    /// guest needed; a grow refused by the memory limit just leaves the
    /// guest's own policy.
    fn leave_headroom(&mut self) {
        self.caller.data_mut().stats.guest_grows += 1;
        let Some(heap_ptr) = self.caller.data().exports.heap_ptr else {
            return;
        };
        let Some(top) = heap_ptr.get(&mut *self.caller).i32().map(|p| p as u32 as u64) else {
            return;
        };
        let end = self.memory.size(&*self.caller) * PAGE;
        let wanted_end = top.saturating_mul(3).max(top + MIN_HEADROOM).min(u32::MAX as u64 + 1);
        if wanted_end > end {
            self.grow((wanted_end - end).div_ceil(PAGE));
        }
    }

    /// Before guest code allocates for a large build of this import's (a
    /// parsed document's maps, built by the module's own exports): makes
    /// what the build made so far fit again above the bump pointer
    /// ([`GuestHeap::grow_for_large_build`]); the guest's `alloc` would
    /// otherwise collect and grow by its shortfall at nearly every
    /// allocation, each collection paying for the whole heap.
    fn room_for_the_module(&mut self) {
        if self.bumped_bytes < LARGE_BUILD {
            return;
        }
        let top = match self.bump {
            Some(bump) => bump.top as u64,
            None => match self.heap_ptr.and_then(|g| g.get(&mut *self.caller).i32()) {
                Some(p) => p as u32 as u64,
                None => return,
            },
        };
        let free = (self.memory_mut().len() as u64).saturating_sub(top);
        if free < self.bumped_bytes && self.grow_for_large_build(self.bumped_bytes - free) {
            let end = self.bump_end();
            if let Some(bump) = &mut self.bump {
                bump.end = end;
            }
        }
    }

    /// When this import is building something large (a parsed document),
    /// everything it made so far is still held, so a collection would find
    /// nothing to free: grows memory instead, by `shortfall` or as much as
    /// it built, whichever is more. Whether it grew.
    fn grow_for_large_build(&mut self, shortfall: u64) -> bool {
        self.bumped_bytes >= LARGE_BUILD && self.grow(shortfall.max(self.bumped_bytes).div_ceil(PAGE))
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
    fn alloc_without_collecting(&mut self, size: u32) -> GuestResult<Option<u32>> {
        if self.bump.is_none() && self.bump_exhausted {
            return Ok(None);
        }
        let Some(mut bump) = self.bump_state() else {
            return Ok(None);
        };
        let block = (size as u64 + 4).next_multiple_of(8);
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
    /// Grows memory, if it must, so that `bytes` more fit above the bump
    /// pointer, and lends them. Refused where bumping is off, where the
    /// module keeps its own maps (building one calls it), and where
    /// memory cannot grow.
    fn begin_region(&mut self, bytes: u64) -> GuestResult<Option<u32>> {
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
            // Room to spare as well, as after a guest grow
            // (`leave_headroom`): what the import makes next (the text
            // `json_stringify` writes of the tree just built) would
            // otherwise start a collection that finds it all alive.
            let generous = (needed + needed / 2).max(needed + MIN_HEADROOM).min(HEAP_CEILING);
            let grown =
                self.grow((generous - bump.end).div_ceil(PAGE)) || self.grow((needed - bump.end).div_ceil(PAGE));
            if !grown {
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
    fn end_region(&mut self, end: u32, blocks: u64) -> GuestResult<()> {
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
    fn pending_roots(&mut self) -> &mut Vec<u32> {
        &mut self.caller.data_mut().held_roots
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
/// its exports ([`ModuleMaps`]).
impl StringMaps for GuestHeap<'_, '_> {
    fn build_string_map(&mut self, vtag: Tag, entries: &[(Field, Field)]) -> GuestResult<u32> {
        let Some(maps) = self.caller.data().exports.module_maps.clone() else {
            return collection::from_entries(self, Kind::Map, Tag::Str, entries);
        };
        let (build, value_cell) = match vtag {
            Tag::Str => (needed(&maps.from_arrays_str, "map_from_arrays$ks_vs")?, 8),
            _ => (needed(&maps.from_arrays_word, "map_from_arrays$ks_vb")?, 4),
        };
        let n = u32::try_from(entries.len()).map_err(|_| GuestError::too_large(entries.len() as u64))?;
        let (keys, values) = if n == 0 {
            (0, 0)
        } else {
            let keys = self.alloc(n.checked_mul(8).ok_or_else(|| GuestError::too_large(n as u64 * 8))?)?;
            let values = self.with_roots(&[keys], |h| h.alloc(n * value_cell))?;
            let memory = self.memory_mut();
            for (i, &(key, value)) in entries.iter().enumerate() {
                let i = i as u32;
                mem::write_u64(memory, keys + 8 * i, key.0)?;
                mem::write_bytes(
                    memory,
                    values + value_cell * i,
                    &value.0.to_le_bytes()[..value_cell as usize],
                )?;
            }
            (keys, values)
        };
        let args = (keys as i32, n as i32, values as i32, n as i32);
        self.room_for_the_module();
        let map = self.with_roots(&[keys, values], |h| {
            h.collecting(|h| h.call_guest(|c| build.call(c, args)))
        })?;
        Ok(map as u32)
    }
    fn string_map_entries(&mut self, vtag: Tag, w: u32) -> GuestResult<Vec<(Field, Field)>> {
        let Some(maps) = self.caller.data().exports.module_maps.clone() else {
            return collection::entries(self.memory_mut(), Kind::Map, w);
        };
        let keys_of = needed(&maps.keys, "map_keys$ks")?;
        let (values_of, value_cell) = match vtag {
            Tag::Str => (needed(&maps.values_str, "map_values$vs")?, 8),
            _ => (needed(&maps.values_word, "map_values$vb")?, 4),
        };
        self.with_roots(&[w], |h| {
            let (keys, n) = h.collecting(|h| h.call_guest(|c| keys_of.call(c, w as i32)))?;
            let (values, m) = h.with_roots(&[keys as u32], |h| {
                h.collecting(|h| h.call_guest(|c| values_of.call(c, w as i32)))
            })?;
            if n < 0 || m != n {
                return Err(GuestError::bad_length("map_keys$ks/map_values result", n.min(m) as i64));
            }
            let memory = h.memory();
            (0..n as u32)
                .map(|i| {
                    let key = Field(mem::read_u64(memory, mem::offset(keys as u32, 8 * i as u64)?)?);
                    let at = mem::offset(values as u32, value_cell * i as u64)?;
                    let value = match value_cell {
                        8 => Field(mem::read_u64(memory, at)?),
                        _ => Field::word(mem::read_u32(memory, at)?),
                    };
                    Ok((key, value))
                })
                .collect()
        })
    }
}
