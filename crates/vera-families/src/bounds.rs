//! What bounds the families' host work: bytes held against
//! `--max-host-memory` and time against `--timeout` ([`Meter`]), the
//! budget of one guest tree read into the host ([`TreeBudget`], passed to
//! the Markdown and HTML readers), and the deadline the Markdown and HTML
//! parsers poll ([`parse_step_out_of_time`]). The embedder sets the run's
//! bounds on every import's entry ([`set_host_memory`],
//! [`set_parse_deadline`]).

use std::time::Instant;

use crate::Stop;

/// What `--timeout` reports when it ends host work: the words of the
/// epoch interrupt that ends guest code.
pub const TIME_LIMIT: &str = "time limit exceeded (--timeout)";

thread_local! {
    /// The run's `--max-host-memory`, set on every import's entry: the tree
    /// readers see guest memory only, not the embedder's state.
    static HOST_MEMORY: std::cell::Cell<usize> = const { std::cell::Cell::new(usize::MAX) };
    /// `--timeout`'s deadline for the Markdown and HTML parsers, set on
    /// every import's entry (they read only text), and their steps since
    /// the clock was last read.
    static PARSE_DEADLINE: std::cell::Cell<(Option<Instant>, u32)> =
        const { std::cell::Cell::new((None, 0)) };
}

/// Sets the run's `--max-host-memory` for the tree readers.
pub fn set_host_memory(limit: usize) {
    HOST_MEMORY.set(limit);
}

/// The run's `--max-host-memory`, as last set.
pub fn host_memory() -> usize {
    HOST_MEMORY.get()
}

/// The text for host work that would hold `len` bytes (`what`) past
/// `--max-host-memory`.
pub fn host_memory_message(what: &str, len: usize) -> String {
    limit_message(what, len, HOST_MEMORY.get())
}

fn limit_message(what: &str, len: usize, max: usize) -> String {
    format!("limit exceeded: {what} of {len} bytes is over --max-host-memory ({max} bytes)")
}

/// Host work of one import, metered: the bytes it holds, against
/// `--max-host-memory`, and the time it takes, against `--timeout`, read
/// every [`Meter::EVERY`] steps so the clock costs nothing per step. A
/// parser or matcher charges what it allocates and ticks once per step
/// of its loop, and stops when either runs out.
#[derive(Clone, Debug)]
pub struct Meter {
    bytes_left: usize,
    limit: usize,
    deadline: Option<Instant>,
    ticks: u32,
}

/// Which bound a [`Meter`] ran out of.
#[derive(Clone, Debug, PartialEq)]
pub enum Exceeded {
    /// This many bytes would be held.
    Memory(usize),
    Time,
}

impl Exceeded {
    /// The stop for `what` (e.g. "json_parse's tree") running out.
    pub fn stop(&self, what: &str) -> Stop {
        match self {
            Exceeded::Memory(n) => Stop::Limit(host_memory_message(what, *n)),
            Exceeded::Time => Stop::Limit(TIME_LIMIT.to_owned()),
        }
    }
}

impl Meter {
    pub const EVERY: u32 = 4096;

    /// At most `limit` bytes, until `deadline`; also sets the tree
    /// readers' limit ([`set_host_memory`]).
    pub fn new(limit: usize, deadline: Option<Instant>) -> Meter {
        HOST_MEMORY.set(limit);
        Meter {
            bytes_left: limit,
            limit,
            deadline,
            ticks: 0,
        }
    }

    /// No bounds (host work not done for a guest, tests).
    pub fn unbounded() -> Meter {
        Meter {
            bytes_left: usize::MAX,
            limit: usize::MAX,
            deadline: None,
            ticks: 0,
        }
    }

    /// Counts `bytes` more held.
    pub fn charge(&mut self, bytes: usize) -> Result<(), Exceeded> {
        match self.bytes_left.checked_sub(bytes) {
            Some(left) => {
                self.bytes_left = left;
                self.tick()
            }
            None => Err(Exceeded::Memory(self.limit - self.bytes_left + bytes)),
        }
    }

    /// Reads the clock now: for loops whose every step can be long (one
    /// regex search scans up to the whole subject).
    pub fn check_time(&self) -> Result<(), Exceeded> {
        match self.deadline {
            Some(d) if Instant::now() >= d => Err(Exceeded::Time),
            _ => Ok(()),
        }
    }

    /// One step of work; the deadline is read every [`Meter::EVERY`].
    pub fn tick(&mut self) -> Result<(), Exceeded> {
        self.ticks += 1;
        if self.ticks >= Meter::EVERY {
            self.ticks = 0;
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(Exceeded::Time);
            }
        }
        Ok(())
    }
}

/// Sets the deadline [`parse_step_out_of_time`] reads.
pub fn set_parse_deadline(deadline: Option<Instant>) {
    PARSE_DEADLINE.set((deadline, 0));
}

/// One step of a host parser: whether `--timeout`'s deadline has passed
/// (the clock is read every [`Meter::EVERY`] steps). A parser that sees
/// `true` gives up; the import then reports the deadline instead of its
/// result.
pub fn parse_step_out_of_time() -> bool {
    let (deadline, steps) = PARSE_DEADLINE.get();
    let Some(deadline) = deadline else {
        return false;
    };
    if steps + 1 < Meter::EVERY {
        PARSE_DEADLINE.set((Some(deadline), steps + 1));
        return false;
    }
    PARSE_DEADLINE.set((Some(deadline), 0));
    Instant::now() >= deadline
}

/// What one read of a guest tree (Markdown, HTML) into the host may still
/// visit and copy; each read starts a new one, and the reader passes it
/// down to every node.
#[derive(Clone, Debug)]
pub struct TreeBudget {
    nodes_left: usize,
    bytes_left: usize,
    limit: usize,
}

impl TreeBudget {
    /// A read of a tree in a guest memory of `memory_len` bytes, holding at
    /// most `host_memory` bytes of text (`--max-host-memory`).
    pub fn new(memory_len: usize, host_memory: usize) -> TreeBudget {
        TreeBudget {
            nodes_left: memory_len / 4 + 1,
            bytes_left: host_memory,
            limit: host_memory,
        }
    }

    /// Counts one node. A tree whose nodes are each stored once has at
    /// most one node per 4 bytes of memory, so `false` (more visits than
    /// that) means the guest shares nodes: a DAG whose expansion would be
    /// exponential in host memory and time.
    pub fn visit(&mut self) -> bool {
        let n = self.nodes_left;
        self.nodes_left = n.saturating_sub(1);
        n > 0
    }

    /// Reads a String of the tree into the host, counting its bytes twice,
    /// for the tree's copy and the rendered text that holds it again: nodes
    /// sharing one large Text would otherwise make the host copy it once
    /// per reference (500 cells of one 900 KB text reached 1.3 GB with 2 MB
    /// of guest memory). Past `--max-host-memory` the read fails with a
    /// [`Stop::Limit`] inside the guest error.
    pub fn read_string(&mut self, m: &[u8], ptr: u32, len: u32, what: &str) -> vera_layout::GuestResult<String> {
        let held = 2 * len as usize;
        if held > self.bytes_left {
            let total = self.limit - self.bytes_left + held;
            return Err(vera_layout::GuestError::host(Stop::Limit(limit_message(
                what, total, self.limit,
            ))));
        }
        self.bytes_left -= held;
        vera_layout::values::read_string(m, ptr, len)
    }
}
