//! When the host grows guest memory itself: headroom after the guest's
//! own grow, and room for a large build of one import's, so collections
//! run at geometrically spaced sizes instead of at every page.

use vera_layout::Heap;

use super::bump::HEAP_CEILING;
use super::heap::GuestHeap;

const PAGE: u64 = 65536;

/// Least free space left at the top after a guest grow, so small programs
/// (a 10K-entry chain peaks under 2 MB) also bump rather than collect.
const MIN_HEADROOM: u64 = 8 << 20;

/// After this many bytes bump-allocated in one import, running out of room
/// grows memory instead of calling the guest's `alloc` (see
/// `alloc_without_collecting`).
const LARGE_BUILD: u64 = 1 << 20;

impl GuestHeap<'_, '_> {
    /// Grows memory by `pages` (a refused grow is not an error here).
    pub(super) fn grow(&mut self, pages: u64) -> bool {
        self.view.stale = true;
        self.memory.grow(&mut *self.caller, pages).is_ok()
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
    pub(super) fn leave_headroom(&mut self) {
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

    /// Grows memory from `end` to hold a region lent up to `needed`
    /// (`Heap::begin_region`), with room to spare as after a guest grow
    /// ([`GuestHeap::leave_headroom`]): what the import makes next (the
    /// text `json_stringify` writes of the tree just built) would
    /// otherwise start a collection that finds it all alive. Falls back to
    /// exactly `needed` where the limit refuses more; whether it grew.
    pub(super) fn grow_for_region(&mut self, needed: u64, end: u64) -> bool {
        let generous = (needed + needed / 2).max(needed + MIN_HEADROOM).min(HEAP_CEILING);
        self.grow((generous - end).div_ceil(PAGE)) || self.grow((needed - end).div_ceil(PAGE))
    }

    /// Before guest code allocates for a large build of this import's (a
    /// parsed document's maps, built by the module's own exports): makes
    /// what the build made so far fit again above the bump pointer
    /// ([`GuestHeap::grow_for_large_build`]); the guest's `alloc` would
    /// otherwise collect and grow by its shortfall at nearly every
    /// allocation, each collection paying for the whole heap.
    pub(super) fn room_for_the_module(&mut self) {
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
    pub(super) fn grow_for_large_build(&mut self, shortfall: u64) -> bool {
        self.bumped_bytes >= LARGE_BUILD && self.grow(shortfall.max(self.bumped_bytes).div_ceil(PAGE))
    }
}
