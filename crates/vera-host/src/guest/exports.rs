//! The exports of a Vera module that the host needs ([`GuestExports`]),
//! found once per instance under 0.2.3's names or 0.2.4+'s `vera.`
//! prefix, and the guest's `alloc` as the host calls it ([`GuestAlloc`]).

use wasmtime::Result;
use wasmtime::{AsContextMut, Extern, Func, Global, Instance, Memory, Mutability, TypedFunc, Val, ValRaw, ValType};

use super::module_maps::ModuleMaps;
use crate::state::HostState;

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
