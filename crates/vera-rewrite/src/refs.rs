//! Functions referred to other than by a direct `call`: the start function,
//! element segments, `ref.func` (in code or a constant expression) and
//! tail calls. Such a function may be called from anywhere, so a rewrite
//! that changes what it does, or who may call it, must leave it alone.

use std::collections::HashSet;

use wasmparser::{Operator, Payload};

use crate::Error;

/// Records in `escaping` the functions `payload` refers to other than by a
/// direct `call` (for a code section entry, see [`escaping_op`] instead:
/// its scanner reads the operators anyway).
pub(crate) fn note_indirect(payload: &Payload<'_>, escaping: &mut HashSet<u32>) -> Result<(), Error> {
    match payload {
        Payload::StartSection { func, .. } => {
            escaping.insert(*func);
        }
        Payload::ElementSection(reader) => {
            for element in reader.clone() {
                match element?.items {
                    wasmparser::ElementItems::Functions(indices) => {
                        for index in indices {
                            escaping.insert(index?);
                        }
                    }
                    wasmparser::ElementItems::Expressions(_, exprs) => {
                        for expr in exprs {
                            note_ops(expr?.get_operators_reader(), escaping)?;
                        }
                    }
                }
            }
        }
        Payload::GlobalSection(reader) => {
            for global in reader.clone() {
                note_ops(global?.init_expr.get_operators_reader(), escaping)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The function `op` refers to other than by a direct `call`.
pub(crate) fn escaping_op(op: &Operator<'_>) -> Option<u32> {
    match *op {
        Operator::RefFunc { function_index } | Operator::ReturnCall { function_index } => Some(function_index),
        _ => None,
    }
}

fn note_ops(mut ops: wasmparser::OperatorsReader<'_>, escaping: &mut HashSet<u32>) -> Result<(), Error> {
    while !ops.eof() {
        escaping.extend(escaping_op(&ops.read()?));
    }
    Ok(())
}
