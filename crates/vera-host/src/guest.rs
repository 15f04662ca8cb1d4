//! The live guest: its cached exports and the [`Heap`] over a `Caller`.
//!
//! Exports are looked up once per instance ([`GuestExports::capture`]) and
//! kept in the store's [`HostState`]; every import reaches guest memory,
//! `alloc` and the shadow stack through [`GuestHeap`], never by name.

use vera_layout::{GuestError, GuestResult, Heap};
use wasmtime::Result;
use wasmtime::{AsContextMut, Caller, Global, Instance, Memory, TypedFunc, Val};

use crate::state::HostState;
use crate::trap::HostTrap;

/// The exports of a Vera module that imports need, captured once.
#[derive(Clone)]
pub struct GuestExports {
    pub memory: Option<Memory>,
    pub alloc: Option<TypedFunc<i32, i32>>,
    pub gc_sp: Option<Global>,
    pub gc_stack_limit: Option<u32>,
    pub heap_ptr: Option<Global>,
    pub register_wrapper: Option<TypedFunc<(i32, i32, i32), ()>>,
}

impl GuestExports {
    pub fn capture(mut store: impl AsContextMut<Data = HostState>, instance: &Instance) -> GuestExports {
        let mut store = store.as_context_mut();
        let gc_stack_limit = instance
            .get_global(&mut store, "gc_stack_limit")
            .and_then(|g| match g.get(&mut store) {
                Val::I32(v) => Some(v as u32),
                _ => None,
            });
        GuestExports {
            memory: instance.get_memory(&mut store, "memory"),
            alloc: instance.get_typed_func(&mut store, "alloc").ok(),
            gc_sp: instance.get_global(&mut store, "gc_sp"),
            gc_stack_limit,
            heap_ptr: instance.get_global(&mut store, "heap_ptr"),
            register_wrapper: instance.get_typed_func(&mut store, "register_wrapper").ok(),
        }
    }
}

/// Guest memory, allocator and shadow stack, seen from inside an import.
pub struct GuestHeap<'a, 'c> {
    caller: &'a mut Caller<'c, HostState>,
    memory: Memory,
}

impl<'a, 'c> GuestHeap<'a, 'c> {
    /// Fails when the module exports no memory (it then cannot pass the
    /// host a pointer at all).
    pub fn new(caller: &'a mut Caller<'c, HostState>) -> Result<GuestHeap<'a, 'c>, GuestError> {
        let memory = caller
            .data()
            .exports
            .memory
            .ok_or_else(|| GuestError::host("the module exports no `memory`"))?;
        Ok(GuestHeap { caller, memory })
    }

    pub fn state(&mut self) -> &mut HostState {
        self.caller.data_mut()
    }

    pub fn caller(&mut self) -> &mut Caller<'c, HostState> {
        self.caller
    }

    /// Calls into the guest (`alloc`, `register_wrapper`). Imports the
    /// guest calls meanwhile are refused (see `families::with_heap`); a
    /// trap keeps its reason for `trap::classify`.
    pub fn call_guest<R>(
        &mut self,
        call: impl FnOnce(&mut Caller<'c, HostState>) -> wasmtime::Result<R>,
    ) -> GuestResult<R> {
        let outer = std::mem::replace(&mut self.caller.data_mut().in_alloc, true);
        let called = call(&mut *self.caller);
        self.caller.data_mut().in_alloc = outer;
        called.map_err(|e| match e.downcast_ref::<wasmtime::Trap>() {
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
    fn memory(&self) -> &[u8] {
        self.memory.data(&*self.caller)
    }
    fn memory_mut(&mut self) -> &mut [u8] {
        self.memory.data_mut(&mut *self.caller)
    }
    fn alloc_raw(&mut self, size: u32) -> GuestResult<u32> {
        if size > i32::MAX as u32 {
            return Err(GuestError::TooLarge(size as u64));
        }
        let alloc = self
            .caller
            .data()
            .exports
            .alloc
            .clone()
            .ok_or_else(|| GuestError::host("the module exports no `alloc`"))?;
        let ptr = self.call_guest(|caller| alloc.call(caller, size as i32))?;
        Ok(ptr as u32)
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
