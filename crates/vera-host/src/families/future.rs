//! `Async`: `async_http_get`, `async_http_post` and `async_await`.
//!
//! As Vera 0.2.3: only `async(Http.get(..))` / `async(Http.post(..))` with
//! call-free arguments reach the host (every other `async(e)` is evaluated
//! eagerly inside the module and `await` is the identity there). The
//! request is submitted at the `async` point to a pool of at most 8 worker
//! threads, first come first served, and the import returns a handle
//! (1, 2, 3... per run) that the guest wraps as a kind-4 wrapper.
//! `async_await(handle)` blocks until that request is done and builds its
//! `Result<String, String>`; awaiting again rebuilds the same result.
//! When the collector frees an unawaited wrapper, `host_decref_handle`
//! drops the entry and cancels the request if no worker has started it.
//! Workers only fetch ([`super::http::fetch_get`]); guest memory is touched
//! on the guest thread alone.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::glue::{imports, Ptr};
use super::http::{self, Outcome};
use crate::state::HostState;
use crate::trap::HostTrap;

/// Wrapper kind of a future (`_WRAP_KIND_FUTURE`).
pub const KIND_FUTURE: i32 = 4;

/// Most requests in flight at once (Vera's `ThreadPoolExecutor(max_workers=8)`).
const MAX_WORKERS: usize = 8;

type Job = Box<dyn FnOnce() + Send>;

/// The run's futures and worker pool.
#[derive(Default)]
struct Futures {
    next: u32,
    live: HashMap<u32, Pending>,
    pool: Option<Pool>,
}

struct Pending {
    result: Option<Outcome>,
    /// The fetch raised instead (Python's `urlparse`): awaiting it traps.
    raised: Option<String>,
    receiver: Receiver<Outcome>,
    cancelled: Arc<AtomicBool>,
}

struct Pool {
    jobs: Sender<Job>,
    queue: Arc<Mutex<Receiver<Job>>>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

impl Pool {
    fn new() -> Pool {
        let (jobs, queue) = mpsc::channel();
        Pool {
            jobs,
            queue: Arc::new(Mutex::new(queue)),
            workers: Vec::new(),
        }
    }

    /// Queues `job`, starting a worker while fewer than the maximum run.
    fn submit(&mut self, job: Job) {
        if self.jobs.send(job).is_err() {
            return;
        }
        if self.workers.len() < MAX_WORKERS {
            let queue = self.queue.clone();
            self.workers.push(std::thread::spawn(move || loop {
                let next = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
                match next {
                    Ok(job) => job(),
                    Err(_) => return,
                }
            }));
        }
    }
}

impl Futures {
    fn submit(&mut self, raised: Option<String>, fetch: impl FnOnce() -> Outcome + Send + 'static) -> u32 {
        let (send, receiver) = mpsc::channel();
        let cancelled = Arc::new(AtomicBool::new(false));
        let flag = cancelled.clone();
        if raised.is_none() {
            self.pool.get_or_insert_with(Pool::new).submit(Box::new(move || {
                if !flag.load(Ordering::SeqCst) {
                    let _ = send.send(fetch());
                }
            }));
        }
        self.next += 1;
        let handle = self.next;
        self.live.insert(
            handle,
            Pending {
                result: None,
                raised,
                receiver,
                cancelled,
            },
        );
        handle
    }

    fn shutdown(&mut self) {
        for pending in self.live.values() {
            pending.cancelled.store(true, Ordering::SeqCst);
        }
        if let Some(pool) = self.pool.take() {
            drop(pool.jobs);
            for worker in pool.workers {
                let _ = worker.join();
            }
        }
    }

    /// Blocks until the future behind `handle` is done; `Err` when its
    /// fetch raised (the await then traps with that message).
    fn wait(&mut self, handle: u32, deadline: Option<Instant>) -> std::result::Result<Outcome, String> {
        let Some(pending) = self.live.get_mut(&handle) else {
            return Ok(Err(
                "await: future was already reclaimed (#841 invariant violation — please report)".to_owned(),
            ));
        };
        if let Some(message) = &pending.raised {
            return Err(message.clone());
        }
        if pending.result.is_none() {
            let cancelled = || Err("await: future was cancelled".to_owned());
            let got = match deadline {
                // The worker's request ends at the deadline too; this
                // bounds the wait for one still queued behind others.
                Some(d) => match pending
                    .receiver
                    .recv_timeout(d.saturating_duration_since(Instant::now()))
                {
                    Ok(outcome) => outcome,
                    Err(mpsc::RecvTimeoutError::Timeout) => return Ok(http::deadline_outcome()),
                    Err(mpsc::RecvTimeoutError::Disconnected) => cancelled(),
                },
                None => pending.receiver.recv().unwrap_or_else(|_| cancelled()),
            };
            pending.result = Some(got);
        }
        Ok(pending
            .result
            .clone()
            .unwrap_or_else(|| Err("await: future was cancelled".to_owned())))
    }
}

/// The end of a run, as Vera's `executor.shutdown(wait=True,
/// cancel_futures=True)`: requests no worker has started are cancelled,
/// requests in flight are waited out.
pub fn shutdown(state: &mut HostState) {
    state.extensions.get_or_default::<Futures>().shutdown();
}

/// `host_decref_handle(4, handle)`: the wrapper died unawaited.
pub fn release(state: &mut HostState, handle: u32) {
    let futures = state.extensions.get_or_default::<Futures>();
    if let Some(pending) = futures.live.remove(&handle) {
        pending.cancelled.store(true, Ordering::SeqCst);
    }
}

imports! {
    fn async_http_get(cx, url: Str) -> i32 {
        let bounds = http::Fetch::of(cx.state());
        let futures = cx.state().extensions.get_or_default::<Futures>();
        let raised = http::parse_failure(&url);
        let fetch = move || http::fetch_within(bounds, || http::fetch_get(&url));
        Ok(futures.submit(raised, fetch) as i32)
    }
    fn async_http_post(cx, url: Str, body: Str) -> i32 {
        let bounds = http::Fetch::of(cx.state());
        let futures = cx.state().extensions.get_or_default::<Futures>();
        let raised = http::parse_failure(&url);
        let fetch = move || http::fetch_within(bounds, || http::fetch_post(&url, &body));
        Ok(futures.submit(raised, fetch) as i32)
    }
    fn async_await(cx, handle: i32) -> Ptr {
        let deadline = cx.state().deadline;
        let outcome = cx
            .state()
            .extensions
            .get_or_default::<Futures>()
            .wait(handle as u32, deadline)
            .map_err(HostTrap::Refused)?;
        let outcome = http::limit_trap(outcome)?;
        cx.heap(|h| http::alloc_outcome(h, &outcome)).map(Ptr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_count_from_one_and_results_memoize() {
        let mut f = Futures::default();
        let a = f.submit(None, || Ok("a".to_owned()));
        let b = f.submit(None, || Err("b".to_owned()));
        let c = f.submit(Some("Invalid IPv6 URL".to_owned()), || Ok("never".to_owned()));
        assert_eq!((a, b, c), (1, 2, 3));
        assert_eq!(f.wait(b, None), Ok(Err("b".to_owned())));
        assert_eq!(f.wait(a, None), Ok(Ok("a".to_owned())));
        assert_eq!(f.wait(a, None), Ok(Ok("a".to_owned())));
        assert_eq!(f.wait(c, None), Err("Invalid IPv6 URL".to_owned()));
        assert!(f
            .wait(7, None)
            .unwrap()
            .unwrap_err()
            .starts_with("await: future was already reclaimed"));
    }
    #[test]
    fn shutdown_waits_for_running_requests_and_cancels_queued_ones() {
        use std::sync::atomic::AtomicUsize;
        let mut f = Futures::default();
        let ran = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        for _ in 0..MAX_WORKERS + 4 {
            let (ran, started) = (ran.clone(), started.clone());
            f.submit(None, move || {
                started.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_millis(200));
                ran.fetch_add(1, Ordering::SeqCst);
                Ok(String::new())
            });
        }
        while started.load(Ordering::SeqCst) < MAX_WORKERS {
            std::thread::yield_now();
        }
        f.shutdown();
        // The first MAX_WORKERS had started and were waited out; the
        // four still queued were cancelled.
        assert_eq!(ran.load(Ordering::SeqCst), MAX_WORKERS);
    }
}
