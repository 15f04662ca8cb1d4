//! A module that keeps its own maps (Vera 0.2.4 and later): the exports
//! through which the host builds and reads the `Map<String, V>` values it
//! makes and reads (JSON objects, HTML attributes), and those two
//! operations on the guest heap. A module without them gets vera-rt's
//! buckets (`vera_layout::collection`).

use vera_layout::collection::{self, Kind};
use vera_layout::{mem, Field, GuestError, GuestResult, Heap, Tag};
use wasmtime::{AsContextMut, Instance, TypedFunc};

use super::heap::GuestHeap;

/// The exports through which a host builds and reads the `Map<String, V>`
/// values it makes (JSON objects, HTML attributes) when the module's maps
/// are its own hash tries (Vera 0.2.4 and later): `map_from_arrays$ks_v<t>`
/// builds one from a keys array of `(ptr, len)` cells and a values array,
/// `map_keys$ks` and `map_values$v<t>` read one back in insertion order
/// (`<t>`: `b` for a heap pointer such as `Json`, 4-byte cells; `s` for a
/// `String`, 8-byte cells).
#[derive(Clone)]
pub struct ModuleMaps {
    pub(super) from_arrays_word: Option<TypedFunc<(i32, i32, i32, i32), i32>>,
    pub(super) from_arrays_str: Option<TypedFunc<(i32, i32, i32, i32), i32>>,
    pub(super) keys: Option<TypedFunc<i32, (i32, i32)>>,
    pub(super) values_word: Option<TypedFunc<i32, (i32, i32)>>,
    pub(super) values_str: Option<TypedFunc<i32, (i32, i32)>>,
}

impl ModuleMaps {
    pub(super) fn capture(mut store: impl AsContextMut, instance: &Instance) -> Option<ModuleMaps> {
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

pub(super) fn build_string_map(h: &mut GuestHeap<'_, '_>, vtag: Tag, entries: &[(Field, Field)]) -> GuestResult<u32> {
    let Some(maps) = h.caller.data().exports.module_maps.clone() else {
        return collection::from_entries(h, Kind::Map, Tag::Str, entries);
    };
    let (build, value_cell) = match vtag {
        Tag::Str => (needed(&maps.from_arrays_str, "map_from_arrays$ks_vs")?, 8),
        _ => (needed(&maps.from_arrays_word, "map_from_arrays$ks_vb")?, 4),
    };
    let n = u32::try_from(entries.len()).map_err(|_| GuestError::too_large(entries.len() as u64))?;
    let (keys, values) = if n == 0 {
        (0, 0)
    } else {
        let keys = h.alloc(n.checked_mul(8).ok_or_else(|| GuestError::too_large(n as u64 * 8))?)?;
        let values = h.with_roots(&[keys], |h| h.alloc(n * value_cell))?;
        let memory = h.memory_mut();
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
    h.room_for_the_module();
    let map = h.with_roots(&[keys, values], |h| {
        h.collecting(|h| h.call_guest(|c| build.call(c, args)))
    })?;
    Ok(map as u32)
}
pub(super) fn string_map_entries(h: &mut GuestHeap<'_, '_>, vtag: Tag, w: u32) -> GuestResult<Vec<(Field, Field)>> {
    let Some(maps) = h.caller.data().exports.module_maps.clone() else {
        return collection::entries(h.memory_mut(), Kind::Map, w);
    };
    let keys_of = needed(&maps.keys, "map_keys$ks")?;
    let (values_of, value_cell) = match vtag {
        Tag::Str => (needed(&maps.values_str, "map_values$vs")?, 8),
        _ => (needed(&maps.values_word, "map_values$vb")?, 4),
    };
    h.with_roots(&[w], |h| {
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
