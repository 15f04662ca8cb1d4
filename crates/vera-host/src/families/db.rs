//! `DB`: `db_query` and `db_execute` over SQLite (rusqlite, bundled).
//!
//! As Vera 0.2.3's host: one connection per run, opened on first use from
//! `VERA_DB_URL` (unset, `:memory:`, `sqlite::memory:`... are in-memory;
//! `sqlite:///path` or a bare path is a file); a connection that cannot be
//! opened makes every call return `Err("cannot open database: ...")`.
//! Parameters (`Array<Option<String>>`) are bound as TEXT or NULL, never
//! spliced into the SQL. Cells come back as Python's `str()` of the value
//! (`88.0`, `1e+20`, `-0.0`), a BLOB decoded as lossy UTF-8, NULL as
//! `None`. `db_execute` returns Python's `cursor.rowcount`: the changed
//! rows for INSERT/UPDATE/DELETE/REPLACE, else -1. Errors carry SQLite's
//! message, or Python `sqlite3`'s own wording where it checks first
//! (binding count, one statement at a time).

use rusqlite::types::ValueRef;
use rusqlite::Connection;
use vera_layout::values::{self, Payload, ERR, NONE, OK, SOME};
use vera_layout::{mem, GuestError, GuestResult, Heap};
use wasmtime::Result;

use super::glue::{imports, Cx, Ptr};
use vera_families::format::python_float_repr;

/// The run's connection, opened on first use.
#[derive(Default)]
struct Db {
    conn: Option<Result<Connection, String>>,
}

imports! {
    fn db_query(cx, sql: Str, params: i32, count: i32) -> Ptr {
        run(&mut cx, true, &sql, params, count)
    }
    fn db_execute(cx, sql: Str, params: i32, count: i32) -> Ptr {
        run(&mut cx, false, &sql, params, count)
    }
}

/// `db_query` (`query`) or `db_execute` of `sql` with the `count`
/// parameters at `params` (an `Array<Option<String>>`).
fn run(cx: &mut Cx<'_, '_>, query: bool, sql: &str, params: i32, count: i32) -> Result<Ptr> {
    let params = cx.heap(|h| read_params(h.memory(), params as u32, count))?;
    let url = cx.state().env_var("VERA_DB_URL");
    let db = cx.state().extensions.get_or_default::<Db>();
    let conn = db.conn.get_or_insert_with(|| open(url.as_deref()));
    let outcome = match conn {
        Err(e) => Err(e.clone()),
        Ok(conn) if query => run_query(conn, sql, &params).map(Outcome::Rows),
        Ok(conn) => run_execute(conn, sql, &params).map(Outcome::Count),
    };
    cx.heap(|h| match outcome {
        Err(e) => values::alloc_adt_with_str(h, ERR, e.as_bytes()),
        Ok(Outcome::Count(n)) => values::alloc_adt(h, OK, Payload::Wide(n as u64)),
        Ok(Outcome::Rows(rows)) => {
            let (p, n) = write_rows(h, &rows)?;
            values::alloc_adt(h, OK, Payload::Str(p, n))
        }
    })
    .map(Ptr)
}

enum Outcome {
    Rows(Vec<Vec<Option<String>>>),
    Count(i64),
}

fn open(url: Option<&str>) -> Result<Connection, String> {
    let url = url.unwrap_or("").trim();
    let result = match url {
        "" | "sqlite::memory:" | ":memory:" | "sqlite://:memory:" | "sqlite:///:memory:" => {
            Connection::open_in_memory()
        }
        _ => {
            let path = url
                .strip_prefix("sqlite:///")
                .or_else(|| url.strip_prefix("sqlite://"))
                .unwrap_or(url);
            Connection::open(path)
        }
    };
    result.map_err(|e| format!("cannot open database: {}", message(&e)))
}

/// SQLite's own message, as Python's `str(sqlite3.Error)`.
fn message(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(_, Some(msg)) => msg.clone(),
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        rusqlite::Error::SqliteFailure(err, None) => err.to_string(),
        rusqlite::Error::MultipleStatement => "You can only execute one statement at a time.".to_owned(),
        other => other.to_string(),
    }
}

/// The SQL after leading whitespace and comments (Python's `lstrip_sql`).
fn lstrip_sql(sql: &str) -> &str {
    let mut s = sql;
    loop {
        let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0c']);
        if let Some(rest) = t.strip_prefix("--") {
            s = rest.find('\n').map_or("", |i| &rest[i + 1..]);
        } else if let Some(rest) = t.strip_prefix("/*") {
            s = rest.find("*/").map_or("", |i| &rest[i + 2..]);
        } else {
            return t;
        }
    }
}

fn is_dml(sql: &str) -> bool {
    let head = lstrip_sql(sql).as_bytes();
    let starts = |kw: &str| head.len() >= kw.len() && head[..kw.len()].eq_ignore_ascii_case(kw.as_bytes());
    starts("insert") || starts("update") || starts("delete") || starts("replace")
}

/// Prepares `sql`, binds `params` as TEXT/NULL and hands the statement to
/// `run`; `None` when the SQL holds no statement at all.
fn with_statement<T>(
    conn: &Connection,
    sql: &str,
    params: &[Option<String>],
    run: impl FnOnce(&mut rusqlite::Statement<'_>) -> rusqlite::Result<T>,
) -> Result<Option<T>, String> {
    if lstrip_sql(sql).is_empty() {
        return Ok(None);
    }
    let mut stmt = conn.prepare(sql).map_err(|e| message(&e))?;
    let wanted = stmt.parameter_count();
    if wanted != params.len() {
        return Err(format!(
            "Incorrect number of bindings supplied. The current statement uses {wanted}, and there are {} supplied.",
            params.len()
        ));
    }
    for (i, p) in params.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, p.as_deref()).map_err(|e| message(&e))?;
    }
    run(&mut stmt).map(Some).map_err(|e| message(&e))
}

fn cell(v: ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(python_float_repr(f)),
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(String::from_utf8_lossy(t).into_owned()),
    }
}

fn run_query(conn: &Connection, sql: &str, params: &[Option<String>]) -> Result<Vec<Vec<Option<String>>>, String> {
    let rows = with_statement(conn, sql, params, |stmt| {
        let cols = stmt.column_count();
        let mut rows = stmt.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(
                (0..cols)
                    .map(|i| row.get_ref(i).map(cell))
                    .collect::<rusqlite::Result<_>>()?,
            );
        }
        Ok(out)
    })?;
    Ok(rows.unwrap_or_default())
}

fn run_execute(conn: &Connection, sql: &str, params: &[Option<String>]) -> Result<i64, String> {
    let ran = with_statement(conn, sql, params, |stmt| {
        // Step to completion, discarding any rows (Python's execute does
        // the same for a SELECT it never fetches: it steps once).
        let mut rows = stmt.raw_query();
        rows.next()?;
        Ok(())
    })?;
    Ok(match ran {
        Some(()) if is_dml(sql) => conn.changes() as i64,
        _ => -1,
    })
}

/// Reads an `Array<Option<String>>`: 4-byte pointers to `None` (tag 0) or
/// `Some(String)` (tag 1, ptr +4, len +8).
fn read_params(m: &[u8], ptr: u32, count: i32) -> GuestResult<Vec<Option<String>>> {
    if count < 0 {
        return Err(GuestError::bad_length("DB parameter array", count as i64));
    }
    if count == 0 {
        return Ok(Vec::new());
    }
    mem::bytes(m, ptr, count as usize * 4)?;
    (0..count as u32)
        .map(|i| {
            let opt = mem::read_u32(m, ptr + 4 * i)?;
            if values::adt_tag(m, opt)? == SOME {
                let (p, l) = (mem::read_u32(m, opt + 4)?, mem::read_u32(m, opt + 8)?);
                values::read_string(m, p, l).map(Some)
            } else {
                Ok(None)
            }
        })
        .collect()
}

/// `Array<Array<Option<String>>>`: rows of 8-byte (ptr, len) pairs, each
/// a row of 4-byte `Option<String>` pointers.
fn write_rows(heap: &mut impl Heap, rows: &[Vec<Option<String>>]) -> GuestResult<(u32, u32)> {
    values::alloc_array_with(heap, rows.len(), 8, |h, i| {
        let row = &rows[i];
        let (p, n) = values::alloc_array_with(h, row.len(), 4, |h, j| {
            let ptr = match &row[j] {
                Some(s) => values::alloc_adt_with_str(h, SOME, s.as_bytes())?,
                None => values::alloc_adt(h, NONE, Payload::Empty)?,
            };
            Ok(ptr as u64)
        })?;
        Ok(p as u64 | (n as u64) << 32)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_print_like_python_str() {
        assert_eq!(cell(ValueRef::Real(88.0)).unwrap(), "88.0");
        assert_eq!(cell(ValueRef::Real(1e20)).unwrap(), "1e+20");
        assert_eq!(cell(ValueRef::Real(-0.0)).unwrap(), "-0.0");
        assert_eq!(cell(ValueRef::Blob(b"A\xffB")).unwrap(), "A\u{fffd}B");
        assert_eq!(cell(ValueRef::Null), None);
    }

    #[test]
    fn rowcount_and_python_errors() {
        let conn = open(None).unwrap();
        assert_eq!(run_execute(&conn, "CREATE TABLE t (x)", &[]), Ok(-1));
        assert_eq!(
            run_execute(&conn, " -- c\n insert into t values (?)", &[Some("1".into())]),
            Ok(1)
        );
        assert_eq!(run_execute(&conn, "", &[]), Ok(-1));
        assert_eq!(
            run_execute(&conn, "INSERT INTO t VALUES (?)", &[]).unwrap_err(),
            "Incorrect number of bindings supplied. The current statement uses 1, and there are 0 supplied."
        );
        assert_eq!(
            run_query(&conn, "SELECT x, NULL FROM t", &[]).unwrap(),
            vec![vec![Some("1".to_owned()), None]]
        );
    }
}
