//! A guest heap on a `Vec<u8>`, for tests and fuzzing without wasmtime.
//!
//! It mimics a Vera 0.2.3 guest: blocks carry a 4-byte header
//! `(size << 1) | mark` before the payload (blocks of `align8(size + 4)` bytes), and a shadow stack
//! holds the roots. In stress mode every allocation first runs a
//! conservative mark-sweep (roots: the shadow stack and [`TestHeap::pin`]ned
//! pointers; every word of a marked block that names a live block is
//! traced) and fills what it frees with [`POISON`], never reusing it, so a
//! pointer held across `alloc` without a root shows up at once as a bad
//! tag or a corrupt bucket.

use std::collections::BTreeMap;

use crate::error::{GuestError, GuestResult};
use crate::heap::{block_bytes, Heap};
use crate::mem;

/// Byte written over freed blocks.
pub const POISON: u8 = 0xDB;
const STACK_BASE: u32 = 1024;
const STACK_LIMIT: u32 = STACK_BASE + 64 * 1024;

/// A growable guest memory with a bump allocator and optional eager GC.
pub struct TestHeap {
    memory: Vec<u8>,
    gc_sp: u32,
    bump: u32,
    blocks: BTreeMap<u32, u32>,
    pinned: Vec<u32>,
    pending: Vec<u32>,
    stress: bool,
    /// Where the region lent by `begin_region` starts.
    region: Option<u32>,
    /// Blocks freed so far.
    pub freed: usize,
}

impl TestHeap {
    /// A heap that never collects.
    pub fn new() -> TestHeap {
        TestHeap {
            memory: vec![0; STACK_LIMIT as usize + 4096],
            gc_sp: STACK_BASE,
            bump: STACK_LIMIT + 4,
            blocks: BTreeMap::new(),
            pinned: Vec::new(),
            pending: Vec::new(),
            stress: false,
            region: None,
            freed: 0,
        }
    }

    /// A heap that collects before every allocation.
    pub fn stressed() -> TestHeap {
        TestHeap {
            stress: true,
            ..TestHeap::new()
        }
    }

    /// Keeps `ptr` alive across collections, as a guest local would.
    pub fn pin(&mut self, ptr: u32) {
        self.pinned.push(ptr);
    }

    /// Bytes of live blocks (payloads).
    pub fn live_bytes(&self) -> u64 {
        self.blocks.values().map(|&s| s as u64).sum()
    }

    /// The high-water mark of the bump pointer.
    pub fn heap_top(&self) -> u32 {
        self.bump
    }

    /// Runs a full conservative mark-sweep now.
    pub fn collect(&mut self) {
        let mut marked = std::collections::HashSet::new();
        let mut work: Vec<u32> = self.pinned.clone();
        for sp in (STACK_BASE..self.gc_sp).step_by(4) {
            work.push(mem::read_u32(&self.memory, sp).unwrap_or(0));
        }
        while let Some(p) = work.pop() {
            let Some(&size) = self.blocks.get(&p) else { continue };
            if !marked.insert(p) {
                continue;
            }
            for at in (p..p + size).step_by(4) {
                if let Ok(word) = mem::read_u32(&self.memory, at) {
                    work.push(word);
                }
            }
        }
        let dead: Vec<(u32, u32)> = self
            .blocks
            .iter()
            .filter(|(p, _)| !marked.contains(p))
            .map(|(&p, &s)| (p, s))
            .collect();
        for (p, size) in dead {
            self.memory[p as usize..(p + size) as usize].fill(POISON);
            self.blocks.remove(&p);
            self.freed += 1;
        }
    }
}

impl Default for TestHeap {
    fn default() -> Self {
        TestHeap::new()
    }
}

impl crate::collection::StringMaps for TestHeap {}

impl Heap for TestHeap {
    fn memory(&self) -> &[u8] {
        &self.memory
    }
    fn memory_mut(&mut self) -> &mut [u8] {
        &mut self.memory
    }
    fn alloc_raw(&mut self, size: u32) -> GuestResult<u32> {
        if size >= 1 << 31 {
            return Err(GuestError::too_large(size as u64));
        }
        if self.stress {
            self.collect();
        }
        let ptr = self.bump + 4;
        let total = block_bytes(size) as u32;
        let payload = total - 4;
        let end = self.bump as u64 + total as u64;
        if end > u32::MAX as u64 / 2 {
            return Err(GuestError::too_large(size as u64));
        }
        if end as usize > self.memory.len() {
            self.memory.resize((end as usize).next_power_of_two(), 0);
        }
        mem::write_u32(&mut self.memory, ptr - 4, size << 1)?;
        // Fresh memory is not promised to be zero: make forgetting to
        // initialise a field visible.
        self.memory[ptr as usize..(ptr + payload) as usize].fill(0xA5);
        self.blocks.insert(ptr, size);
        self.bump += total;
        Ok(ptr)
    }
    /// Only a heap that never collects lends one.
    fn begin_region(&mut self, bytes: u64) -> GuestResult<Option<u32>> {
        if self.stress {
            return Ok(None);
        }
        let end = self.bump as u64 + bytes;
        if end > u32::MAX as u64 / 2 {
            return Ok(None);
        }
        if end as usize > self.memory.len() {
            self.memory.resize((end as usize).next_power_of_two(), 0);
        }
        self.region = Some(self.bump);
        Ok(Some(self.bump))
    }
    /// Records the blocks the region holds, by their headers.
    fn end_region(&mut self, end: u32, _blocks: u64) -> GuestResult<()> {
        let mut at = self
            .region
            .take()
            .ok_or_else(|| GuestError::host("end_region without a region"))?;
        while at < end {
            let size = mem::read_u32(&self.memory, at)? >> 1;
            self.blocks.insert(at + 4, size);
            at += block_bytes(size) as u32;
        }
        self.bump = end;
        Ok(())
    }
    fn shadow_stack(&mut self) -> GuestResult<Option<(u32, u32)>> {
        Ok(Some((self.gc_sp, STACK_LIMIT)))
    }
    fn set_gc_sp(&mut self, sp: u32) -> GuestResult<()> {
        self.gc_sp = sp;
        Ok(())
    }
    fn pending_roots(&mut self) -> &mut Vec<u32> {
        &mut self.pending
    }
}
