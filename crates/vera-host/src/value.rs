//! What a called function returned ([`Value`]), read from its results
//! as `vera run` shows them ([`result_value`]).

use wasmtime::{Store, Val};

use crate::state::HostState;
use crate::trap::Failure;

/// What a called function returned.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// No result (Unit).
    Unit,
    /// Int or Nat.
    Int(i64),
    Float(f64),
    /// A single i32: Bool, Byte, or a heap pointer.
    Word(i32),
    /// A `(ptr, len)` pair, read as a String.
    Str(String),
}

impl Value {
    /// The line `vera run` prints for this value, if any.
    pub fn display(&self) -> Option<String> {
        match self {
            Value::Unit => None,
            Value::Int(v) => Some(v.to_string()),
            Value::Float(v) => Some(vera_families::format::python_float_repr(*v)),
            Value::Word(v) => Some(v.to_string()),
            Value::Str(s) => Some(s.clone()),
        }
    }
}

/// The value `name` returned. `returns_string`: whether the declaration
/// says the function returns a String (`None`: no source; a pair that
/// reads as text is taken for one); an Array's pair is its pointer, as
/// `vera run` shows. A result no Vera type compiles to (a v128, a
/// reference, several values) is refused by its type alone, as its
/// contents may be a host address.
pub(crate) fn result_value(
    store: &mut Store<HostState>,
    results: &[Val],
    returns_string: Option<bool>,
    name: &str,
) -> Result<Value, Failure> {
    Ok(match results {
        [Val::I32(p), Val::I32(_)] if returns_string == Some(false) => Value::Word(*p),
        [] => Value::Unit,
        [Val::I64(v)] => Value::Int(*v),
        [Val::F64(bits)] => Value::Float(f64::from_bits(*bits)),
        [Val::I32(v)] => Value::Word(*v),
        [Val::I32(p), Val::I32(l)] => {
            let text = store
                .data()
                .exports
                .memory
                .and_then(|m| vera_layout::values::read_string(m.data(&*store), *p as u32, *l as u32).ok());
            match text {
                Some(t) => Value::Str(t),
                None => Value::Word(*p),
            }
        }
        other => {
            let types: Vec<&str> = other
                .iter()
                .map(|v| match v {
                    Val::I32(_) => "i32",
                    Val::I64(_) => "i64",
                    Val::F32(_) => "f32",
                    Val::F64(_) => "f64",
                    Val::V128(_) => "v128",
                    Val::FuncRef(_) => "funcref",
                    Val::ExternRef(_) => "externref",
                    Val::AnyRef(_) => "anyref",
                    Val::ExnRef(_) => "exnref",
                    _ => "a reference",
                })
                .collect();
            return Err(Failure::Trap {
                kind: "host_error".into(),
                message: format!(
                    "`{name}` returned ({}), which is no Vera type: vera-rt shows an Int, Nat, Float64, Bool, Byte, \
                     String or Unit result",
                    types.join(", ")
                ),
                frames: vec![],
            });
        }
    })
}
