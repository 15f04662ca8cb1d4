//! The one error type of guest-memory access.
//!
//! Every way guest memory can be wrong (a pointer out of bounds, a wrapper
//! with the wrong tag, a bucket whose header disagrees with its block) is a
//! variant here, so the host can turn it into a Vera-style trap instead of a
//! panic.

use std::fmt;

/// Result of any operation that touches guest memory.
pub type GuestResult<T> = Result<T, GuestError>;

/// Why an operation on guest memory could not complete: a
/// [`GuestErrorKind`], boxed so that a `GuestResult` of a word or two is
/// returned in registers (every guest-memory access returns one).
#[derive(thiserror::Error)]
#[error(transparent)]
pub struct GuestError(Box<GuestErrorKind>);

impl fmt::Debug for GuestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl From<GuestErrorKind> for GuestError {
    #[cold]
    fn from(kind: GuestErrorKind) -> Self {
        GuestError(Box::new(kind))
    }
}

/// The ways guest memory can be wrong.
#[derive(Debug, thiserror::Error)]
pub enum GuestErrorKind {
    /// A read or write of `len` bytes at `ptr` falls outside memory.
    #[error("out of bounds memory access: {len} byte(s) at offset {ptr} exceed memory size {size}")]
    OutOfBounds { ptr: u64, len: u64, size: u64 },
    /// A length the guest supplied is negative or absurd.
    #[error("invalid length {len} for {what}")]
    BadLength { what: &'static str, len: i64 },
    /// A value that should be a Map/Set wrapper is not one.
    #[error("{what} at {ptr:#x} is not a {expected} (tag {found:#010x})")]
    BadTag {
        what: &'static str,
        expected: &'static str,
        ptr: u32,
        found: u32,
    },
    /// A Map/Set bucket or version record is internally inconsistent.
    #[error("corrupt {what} at {ptr:#x}: {detail}")]
    Corrupt {
        what: &'static str,
        ptr: u32,
        detail: String,
    },
    /// Pushing a root would pass `gc_stack_limit`.
    #[error("shadow stack overflow: gc_sp {sp:#x} + 4 exceeds gc_stack_limit {limit:#x}")]
    ShadowStackOverflow { sp: u32, limit: u32 },
    /// The guest's allocator returned something unusable.
    #[error("alloc({size}) returned {ptr:#x}, which is not a usable block")]
    BadAlloc { size: u32, ptr: u32 },
    /// A size the host would allocate does not fit the 32-bit heap.
    #[error("allocation of {0} bytes exceeds the guest heap")]
    TooLarge(u64),
    /// An error from the embedding (a trap inside `alloc`, a missing export).
    #[error("{0}")]
    Host(HostError),
}

/// An opaque error raised by the embedding, carried through layout code.
pub struct HostError(pub Box<dyn std::error::Error + Send + Sync + 'static>);

impl fmt::Debug for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl GuestError {
    pub fn kind(&self) -> &GuestErrorKind {
        &self.0
    }

    /// Wraps an embedding error.
    #[cold]
    pub fn host(err: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        GuestErrorKind::Host(HostError(err.into())).into()
    }

    #[cold]
    pub fn corrupt(what: &'static str, ptr: u32, detail: impl Into<String>) -> Self {
        GuestErrorKind::Corrupt {
            what,
            ptr,
            detail: detail.into(),
        }
        .into()
    }

    #[cold]
    pub fn out_of_bounds(ptr: u64, len: u64, size: u64) -> Self {
        GuestErrorKind::OutOfBounds { ptr, len, size }.into()
    }

    #[cold]
    pub fn bad_length(what: &'static str, len: i64) -> Self {
        GuestErrorKind::BadLength { what, len }.into()
    }

    #[cold]
    pub fn too_large(bytes: u64) -> Self {
        GuestErrorKind::TooLarge(bytes).into()
    }
}
