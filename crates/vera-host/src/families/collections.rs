//! `Map<K, V>` and `Set<T>`: the 14 imports for every tag combination.
//!
//! Names carry the representation tags (`map_insert$ks_vi`: String keys,
//! Int values); [`Import::parse`] (`vera_layout::import`) decodes any of
//! them, so one definition serves every variant. The operations themselves are
//! `vera_layout::collection`, working on the bucket in guest memory; this
//! module only moves arguments and results across the boundary.

use std::mem::MaybeUninit;
use vera_layout::collection::{self, Kind};
use vera_layout::import::Wasm;
pub use vera_layout::import::{Import, Op};
use vera_layout::inline;
use vera_layout::values::{self, Payload, NONE, SOME};
use vera_layout::{Field, GuestResult, Heap, Tag};

use wasmtime::{bail, format_err, Result};
use wasmtime::{Caller, FuncType, Linker, ValRaw, ValType};

use super::{with_heap, with_threaded_heap};
use crate::guest::GuestHeap;
use crate::state::HostState;

/// The wasm signature Vera 0.2.3 gives `import`.
pub fn func_type(import: &Import, engine: &wasmtime::Engine) -> FuncType {
    let val = |t: &Wasm| match t {
        Wasm::I32 => ValType::I32,
        Wasm::I64 => ValType::I64,
        Wasm::F64 => ValType::F64,
    };
    let (params, results) = import.signature();
    FuncType::new(engine, params.iter().map(val), results.iter().map(val))
}

/// The raw argument/result cells of one call, read by the types that
/// [`Import::func_type`] declared (checked against the module before the
/// function is defined, so every cell read here holds what it is read as).
struct Cells<'a> {
    cells: &'a mut [MaybeUninit<ValRaw>],
    next: usize,
}

impl Cells<'_> {
    fn raw_at(&self, at: usize) -> Result<ValRaw> {
        let cell = self.cells.get(at).ok_or_else(|| format_err!("missing argument"))?;
        // SAFETY: wasmtime initialises every parameter cell before the call.
        Ok(unsafe { cell.assume_init() })
    }
    fn raw(&mut self) -> Result<ValRaw> {
        let raw = self.raw_at(self.next)?;
        self.next += 1;
        Ok(raw)
    }
    fn word(&mut self) -> Result<u32> {
        Ok(self.raw()?.get_u32())
    }
    /// Reads one tagged field.
    fn field(&mut self, tag: Tag) -> Result<Field> {
        Ok(match tag {
            Tag::Int => Field::int(self.raw()?.get_i64()),
            Tag::Float => Field(self.raw()?.get_f64()),
            Tag::Str => {
                let (ptr, len) = (self.word()?, self.word()?);
                Field::str(ptr, len)
            }
            Tag::Word => Field::word(self.word()?),
        })
    }
    fn set_result(&mut self, at: usize, value: ValRaw) -> Result<()> {
        let cell = self
            .cells
            .get_mut(at)
            .ok_or_else(|| format_err!("missing result cell"))?;
        cell.write(value);
        Ok(())
    }
}

/// Where a rewritten call site (see `vera_rewrite`) puts `heap_ptr`: an
/// extra last parameter, and an extra last result for its new value.
#[derive(Clone, Copy)]
struct Threading {
    param: usize,
    result: usize,
}

/// A function the module runs instead of calling lookup import
/// `site.name` (see `vera_layout::inline`); it calls the import for what it
/// does not answer itself.
pub fn inline_lookup(site: &vera_rewrite::Site) -> Option<wasm_encoder::Function> {
    let import = Import::parse(site.name)?;
    let lookup = match import.op {
        Op::Get(key, value) if import.kind == Kind::Map => inline::Lookup::Get { key, value },
        Op::Contains(key) => inline::Lookup::Contains { kind: import.kind, key },
        _ => return None,
    };
    let target = inline::Target {
        import: site.import,
        heap_ptr: site.pointer,
    };
    site.memory32.then(|| inline::lookup(lookup, target)).flatten()
}

/// Defines import `name` with the signature Vera 0.2.3 gives it.
pub fn define(linker: &mut Linker<HostState>, name: &str, ty: &FuncType) -> Result<bool> {
    define_as(linker, name, ty, false)
}

/// Defines import `name` with its rewritten signature: `heap_ptr` in and
/// out as an extra last parameter and result.
pub fn define_threaded(linker: &mut Linker<HostState>, name: &str, ty: &FuncType) -> Result<bool> {
    define_as(linker, name, ty, true)
}

fn define_as(linker: &mut Linker<HostState>, name: &str, ty: &FuncType, threaded: bool) -> Result<bool> {
    let Some(import) = Import::parse(name) else {
        return Ok(false);
    };
    let plain = func_type(&import, linker.engine());
    let threading = threaded.then(|| Threading {
        param: plain.params().len(),
        result: plain.results().len(),
    });
    let expected = if threaded {
        let widen = |types: &mut dyn Iterator<Item = ValType>| types.chain([ValType::I32]).collect::<Vec<_>>();
        FuncType::new(linker.engine(), widen(&mut plain.params()), widen(&mut plain.results()))
    } else {
        plain.clone()
    };
    if !FuncType::eq(&expected, ty) {
        bail!("import vera.{name} is declared as {ty} but Vera 0.2.3 gives it {plain}");
    }
    let import_name = name.to_owned();
    let body = move |mut c: Caller<'_, HostState>, cells: &mut [MaybeUninit<ValRaw>]| -> Result<()> {
        call(&mut c, import, &import_name, &mut Cells { cells, next: 0 }, threading)
    };
    // SAFETY: `body` reads and writes exactly the cells of `expected`, the
    // type this function is defined with (see `Cells`).
    unsafe { linker.func_new_unchecked("vera", name, expected, body)? };
    Ok(true)
}

/// Runs `body` on the guest heap; for a threaded call, takes `heap_ptr`
/// from its parameter and returns the new value in its result.
fn on_heap<R>(
    c: &mut Caller<'_, HostState>,
    name: &str,
    cells: &mut Cells,
    threading: Option<Threading>,
    body: impl FnOnce(&mut GuestHeap<'_, '_>) -> GuestResult<R>,
) -> Result<R> {
    let Some(threading) = threading else {
        return with_heap(c, name, body);
    };
    let heap_ptr = cells.raw_at(threading.param)?.get_u32();
    let (result, heap_ptr) = with_threaded_heap(c, name, heap_ptr, body)?;
    cells.set_result(threading.result, ValRaw::i32(heap_ptr as i32))?;
    Ok(result)
}

/// One call of `import`: arguments from `cells`, results back into them.
fn call(
    c: &mut Caller<'_, HostState>,
    import: Import,
    name: &str,
    cells: &mut Cells,
    threading: Option<Threading>,
) -> Result<()> {
    let stats = &mut c.data_mut().stats;
    match import.kind {
        Kind::Map => stats.map_ops += 1,
        Kind::Set => stats.set_ops += 1,
    }
    let kind = import.kind;
    let w = if import.op == Op::New { 0 } else { cells.word()? };
    let word = |x: u32| ValRaw::i32(x as i32);
    match import.op {
        Op::New => {
            let w = on_heap(c, name, cells, threading, |h| collection::new(h, kind))?;
            cells.set_result(0, word(w))
        }
        Op::Size => {
            let n = on_heap(c, name, cells, threading, |h| collection::size(h.memory_mut(), kind, w))?;
            cells.set_result(0, ValRaw::i64(n as i64))
        }
        Op::Insert(ktag, vtag) => {
            let key = cells.field(ktag)?;
            let (vtag, val) = match kind {
                Kind::Set => (Tag::Int, Field(0)),
                Kind::Map => (vtag, cells.field(vtag)?),
            };
            let nw = on_heap(c, name, cells, threading, |h| {
                collection::insert(h, kind, w, ktag, key, vtag, val)
            })?;
            cells.set_result(0, word(nw))
        }
        Op::Get(ktag, vtag) => {
            let key = cells.field(ktag)?;
            let opt = on_heap(c, name, cells, threading, |h| {
                match collection::get(h.memory_mut(), kind, w, ktag, key)? {
                    Some(val) => values::alloc_adt(h, SOME, Payload::from_field(vtag, val)),
                    None => values::alloc_adt(h, NONE, Payload::Empty),
                }
            })?;
            cells.set_result(0, word(opt))
        }
        Op::Contains(ktag) => {
            let key = cells.field(ktag)?;
            let found = on_heap(c, name, cells, threading, |h| {
                collection::get(h.memory_mut(), kind, w, ktag, key)
            })?;
            cells.set_result(0, word(found.is_some() as u32))
        }
        Op::Remove(ktag) => {
            let key = cells.field(ktag)?;
            let nw = on_heap(c, name, cells, threading, |h| collection::remove(h, kind, w, ktag, key))?;
            cells.set_result(0, word(nw))
        }
        Op::Keys(tag) | Op::Values(tag) => {
            let keys = matches!(import.op, Op::Keys(_));
            let (p, l) = on_heap(c, name, cells, threading, |h| {
                let entries = collection::entries(h.memory_mut(), kind, w)?;
                let column: Vec<Field> = entries.iter().map(|&(k, v)| if keys { k } else { v }).collect();
                h.with_roots(&[w], |h| values::alloc_field_array(h, tag, &column))
            })?;
            cells.set_result(0, word(p))?;
            cells.set_result(1, word(l))
        }
    }
}
