//! Import glue declared once: what wiggle generates from an interface,
//! written as one macro ([`imports!`]) per family.
//!
//! A family lists each import once, with its arguments by Vera type and
//! its result:
//!
//! ```ignore
//! imports! {
//!     fn regex_match(cx, input: Str, pattern: Str) -> Ptr {
//!         let found = answer(Op::Match, &input, &pattern, "", cx.meter());
//!         cx.heap(|h| alloc_answer(h, found?))
//!     }
//! }
//! ```
//!
//! and the macro writes the rest: the family's `define` (the linker entry
//! of each name, its wasm parameters flattened from the argument types, a
//! `Str` as the `(ptr, len)` pair the call passes), the reading of each
//! argument (a [`Str`] is read from guest memory with its bounds and UTF-8
//! checked, an error trapping with the import's name, as every guest
//! error does), the encoding of the result ([`Ret`]), and the family's
//! `IMPORTS` table ([`Declared`]), each entry's signature in the WAT
//! syntax of `fixtures/vera-*-imports.txt`, which a test checks against
//! those lists. A body sees the import's context ([`Cx`]) and host values,
//! never offsets, casts or the store.

use vera_layout::{values, GuestResult};
use wasmtime::{Caller, Result};

use super::Meter;
use crate::guest::GuestHeap;
use crate::state::HostState;

/// An argument type of [`imports!`]: a `String` read as text (`Str`, two
/// i32s; bounds and UTF-8 checked) or as bytes (`Bytes`; bounds checked), a
/// heap pointer (`Ptr`: an ADT, a Map or Set wrapper), or a plain number
/// (`i32`, `i64`, `f64`).
pub struct Str;
/// A guest heap pointer (an ADT, a wrapper), as argument or result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ptr(pub u32);
/// A `String` result: allocated in the guest, returned as `(ptr, len)`.
pub struct Text(pub String);
/// A `(ptr, len)` pair already in guest memory (an `Array`, a `String`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pair(pub u32, pub u32);

/// One import as its family declares it: the name and the signature in
/// the WAT syntax of `fixtures/vera-*-imports.txt`
/// (`(param i32 i32) (result i32)`).
#[derive(Clone, Copy, Debug)]
pub struct Declared {
    pub name: &'static str,
    pub params: &'static [&'static str],
    pub results: &'static str,
}

impl Declared {
    /// `(param ...) (result ...)`, as the import lists write it.
    pub fn signature(&self) -> String {
        let params: Vec<&str> = self.params.iter().copied().filter(|p| !p.is_empty()).collect();
        let mut parts = Vec::new();
        if !params.is_empty() {
            parts.push(format!("(param {})", params.join(" ")));
        }
        if !self.results.is_empty() {
            parts.push(format!("(result {})", self.results));
        }
        parts.join(" ")
    }
}

/// The context of one import call: its caller and its name, which every
/// trap it raises carries.
pub struct Cx<'a, 'c> {
    caller: &'a mut Caller<'c, HostState>,
    import: &'static str,
}

impl<'a, 'c> Cx<'a, 'c> {
    #[inline]
    pub fn new(caller: &'a mut Caller<'c, HostState>, import: &'static str) -> Cx<'a, 'c> {
        Cx { caller, import }
    }

    /// The import's name.
    pub fn import(&self) -> &'static str {
        self.import
    }

    pub fn state(&mut self) -> &mut HostState {
        self.caller.data_mut()
    }

    /// The run's [`Meter`] (`--max-host-memory`, `--timeout`).
    pub fn meter(&self) -> Meter {
        super::meter(self.caller.data())
    }

    /// Runs `body` on the guest heap ([`super::with_heap`]): a guest
    /// error traps naming this import.
    #[inline]
    pub fn heap<R>(&mut self, body: impl FnOnce(&mut GuestHeap<'_, '_>) -> GuestResult<R>) -> Result<R> {
        super::with_heap(self.caller, self.import, body)
    }

    /// Reads the `String` at `(ptr, len)`, validated (bounds, UTF-8).
    #[inline]
    pub fn read_str(&mut self, ptr: i32, len: i32) -> Result<String> {
        self.heap(|h| {
            use vera_layout::Heap;
            values::read_string(h.memory(), ptr as u32, len as u32)
        })
    }

    /// The bytes of the `String` at `(ptr, len)`, as they are (bounds
    /// checked, not UTF-8).
    #[inline]
    pub fn read_bytes(&mut self, ptr: i32, len: i32) -> Result<Vec<u8>> {
        self.heap(|h| {
            use vera_layout::Heap;
            values::str_bytes(h.memory(), ptr as u32, len as u32).map(<[u8]>::to_vec)
        })
    }
}

/// A result as an import returns it to the guest.
pub trait Ret: Sized {
    /// What the wasm function returns.
    type Wasm: wasmtime::WasmRet;
    /// Its wasm result types, in the WAT syntax of the import lists.
    const RESULTS: &'static str;
    fn into_wasm(self, cx: &mut Cx<'_, '_>) -> Result<Self::Wasm>;
}

macro_rules! plain_ret {
    ($($t:ty => $wat:literal),*) => {$(
        impl Ret for $t {
            type Wasm = $t;
            const RESULTS: &'static str = $wat;
            #[inline]
            fn into_wasm(self, _: &mut Cx<'_, '_>) -> Result<$t> {
                Ok(self)
            }
        }
    )*};
}
plain_ret!(() => "", i32 => "i32", i64 => "i64", f64 => "f64");

impl Ret for bool {
    type Wasm = i32;
    const RESULTS: &'static str = "i32";
    #[inline]
    fn into_wasm(self, _: &mut Cx<'_, '_>) -> Result<i32> {
        Ok(self as i32)
    }
}

impl Ret for Ptr {
    type Wasm = i32;
    const RESULTS: &'static str = "i32";
    #[inline]
    fn into_wasm(self, _: &mut Cx<'_, '_>) -> Result<i32> {
        Ok(self.0 as i32)
    }
}

impl Ret for Pair {
    type Wasm = (i32, i32);
    const RESULTS: &'static str = "i32 i32";
    #[inline]
    fn into_wasm(self, _: &mut Cx<'_, '_>) -> Result<(i32, i32)> {
        Ok((self.0 as i32, self.1 as i32))
    }
}

impl Ret for Text {
    type Wasm = (i32, i32);
    const RESULTS: &'static str = "i32 i32";
    fn into_wasm(self, cx: &mut Cx<'_, '_>) -> Result<(i32, i32)> {
        let (p, l) = cx.heap(|h| values::alloc_str(h, self.0.as_bytes()))?;
        Ok((p as i32, l as i32))
    }
}

/// The wasm parameters of an argument type, in WAT.
macro_rules! glue_wat {
    (Str) => {
        "i32 i32"
    };
    (Bytes) => {
        "i32 i32"
    };
    (Ptr) => {
        "i32"
    };
    (i32) => {
        "i32"
    };
    (i64) => {
        "i64"
    };
    (f64) => {
        "f64"
    };
}

/// One import's linker entry: flattens the arguments into wasm parameters
/// (a tt-muncher: each step adds one argument's parameters and the
/// statement that reads it; the parameter names of different steps are
/// distinct by hygiene).
macro_rules! glue_fn {
    (@go $linker:ident, $name:ident, $cx:ident, [$($wp:tt)*], [$($conv:tt)*], (), $ret:ty, $body:block) => {
        $linker.func_wrap(
            "vera",
            stringify!($name),
            move |mut caller: wasmtime::Caller<'_, $crate::state::HostState>, $($wp)*|
                -> wasmtime::Result<<$ret as $crate::families::glue::Ret>::Wasm> {
                #[allow(unused_mut, unused_variables)]
                let mut $cx = $crate::families::glue::Cx::new(&mut caller, stringify!($name));
                $($conv)*
                #[allow(clippy::redundant_closure_call)]
                let out: $ret = (|| -> wasmtime::Result<$ret> { $body })()?;
                $crate::families::glue::Ret::into_wasm(out, &mut $cx)
            },
        )?
    };
    (@go $linker:ident, $name:ident, $cx:ident, [$($wp:tt)*], [$($conv:tt)*], ($arg:ident: Str, $($rest:tt)*), $ret:ty, $body:block) => {
        $crate::families::glue::glue_fn!(@go $linker, $name, $cx, [$($wp)* ptr: i32, len: i32,],
            [$($conv)* let $arg: String = $cx.read_str(ptr, len)?;], ($($rest)*), $ret, $body)
    };
    (@go $linker:ident, $name:ident, $cx:ident, [$($wp:tt)*], [$($conv:tt)*], ($arg:ident: Bytes, $($rest:tt)*), $ret:ty, $body:block) => {
        $crate::families::glue::glue_fn!(@go $linker, $name, $cx, [$($wp)* ptr: i32, len: i32,],
            [$($conv)* let $arg: Vec<u8> = $cx.read_bytes(ptr, len)?;], ($($rest)*), $ret, $body)
    };
    (@go $linker:ident, $name:ident, $cx:ident, [$($wp:tt)*], [$($conv:tt)*], ($arg:ident: Ptr, $($rest:tt)*), $ret:ty, $body:block) => {
        $crate::families::glue::glue_fn!(@go $linker, $name, $cx, [$($wp)* word: i32,],
            [$($conv)* let $arg = $crate::families::glue::Ptr(word as u32);], ($($rest)*), $ret, $body)
    };
    (@go $linker:ident, $name:ident, $cx:ident, [$($wp:tt)*], [$($conv:tt)*], ($arg:ident: $t:ident, $($rest:tt)*), $ret:ty, $body:block) => {
        $crate::families::glue::glue_fn!(@go $linker, $name, $cx, [$($wp)* $arg: $t,], [$($conv)*], ($($rest)*), $ret, $body)
    };
}

/// A family's imports, each declared once: generates the family's
/// `define` and its `IMPORTS` table (see the module documentation).
macro_rules! imports {
    ($( $(#[$attr:meta])* fn $name:ident($cx:ident $(, $arg:ident: $ty:ident)* $(,)?) -> $ret:ty $body:block )*) => {
        /// Every import of this family, as declared.
        pub const IMPORTS: &[$crate::families::glue::Declared] = &[$(
            $crate::families::glue::Declared {
                name: stringify!($name),
                params: &[$($crate::families::glue::glue_wat!($ty)),*],
                results: <$ret as $crate::families::glue::Ret>::RESULTS,
            },
        )*];

        /// Defines import `name` when this family declares it.
        pub fn define(
            linker: &mut wasmtime::Linker<$crate::state::HostState>,
            name: &str,
            _ty: &wasmtime::FuncType,
        ) -> wasmtime::Result<bool> {
            match name {
                $(
                    stringify!($name) => {
                        $crate::families::glue::glue_fn!(@go linker, $name, $cx, [], [], ($($arg: $ty,)*), $ret, $body);
                    }
                )*
                _ => return Ok(false),
            }
            Ok(true)
        }
    };
}

pub(crate) use {glue_fn, glue_wat, imports};
