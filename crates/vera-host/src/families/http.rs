//! `Http`: `http_get` and `http_post`, blocking, returning
//! `Result<String, String>`.
//!
//! As Vera 0.2.3's host (`urllib.request.urlopen`, 60 s timeout): only
//! `http`/`https` URLs are fetched (anything else is refused with Vera's
//! message); redirects are followed; a status outside 2xx after that is
//! `Err("HTTP Error 404: Not Found")`; a transport failure is urllib's
//! `<urlopen error ...>` text; the body is decoded as UTF-8 with U+FFFD
//! for invalid bytes, whatever the charset says. `http_post` always sends
//! `Content-Type: application/json`. No compression is asked for
//! (urllib asks for `identity`).
//!
//! [`fetch_get`] and [`fetch_post`] are pure (no guest memory), so the
//! `async_*` family runs them on worker threads.

use std::io;
use std::time::Duration;

use vera_layout::values::{self, ERR, OK};
use vera_layout::{GuestResult, Heap};
use wasmtime::Result;

use super::glue::{imports, Ptr};
use crate::state::HostState;
use crate::trap::HostTrap;
pub use vera_families::http::{is_http_url, join, parse_failure, precheck, reason_phrase, refused, status_error};

/// Seconds before a request is abandoned (Vera's `_HTTP_TIMEOUT`).
pub const TIMEOUT_SECS: u64 = 60;

/// What a fetch produced: `Ok(body)` or `Err(message)`, both for the guest.
pub type Outcome = std::result::Result<String, String>;

imports! {
    fn http_get(cx, url: Str) -> Ptr {
        check_parse(&url)?;
        let outcome = bounded(Fetch::of(cx.state()), || fetch_get(&url))?;
        cx.heap(|h| alloc_outcome(h, &outcome)).map(Ptr)
    }
    fn http_post(cx, url: Str, body: Str) -> Ptr {
        check_parse(&url)?;
        let outcome = bounded(Fetch::of(cx.state()), || fetch_post(&url, &body))?;
        cx.heap(|h| alloc_outcome(h, &outcome)).map(Ptr)
    }
}

/// Bounds of one request, from the run's limits: its deadline (at most
/// [`TIMEOUT_SECS`] after it starts, sooner when `--timeout` ends the run
/// first) and the body size (`--max-host-string` or `--max-host-memory`,
/// whichever is smaller). An `async` request carries the bounds of the
/// run that submitted it to its worker.
#[derive(Clone, Copy)]
pub struct Fetch {
    deadline: Option<std::time::Instant>,
    max_body: u64,
    /// The flag `max_body` comes from.
    body_flag: &'static str,
}

impl Fetch {
    const DEFAULT: Fetch = Fetch {
        deadline: None,
        max_body: u64::MAX,
        body_flag: "--max-host-string",
    };
    pub fn of(state: &HostState) -> Fetch {
        let (string, memory) = (state.host_limits.max_host_string, state.host_limits.host_memory());
        Fetch {
            deadline: state.deadline,
            max_body: string.min(memory) as u64,
            body_flag: if string <= memory {
                "--max-host-string"
            } else {
                "--max-host-memory"
            },
        }
    }
    fn timeout(&self) -> Duration {
        let full = Duration::from_secs(TIMEOUT_SECS);
        self.deadline.map_or(full, |d| {
            d.saturating_duration_since(std::time::Instant::now()).min(full)
        })
    }
    /// Whether the run's deadline has passed (a request it cut short).
    fn expired(&self) -> bool {
        self.deadline.is_some_and(|d| std::time::Instant::now() >= d)
    }
}

thread_local! {
    static FETCH: std::cell::Cell<Fetch> = const { std::cell::Cell::new(Fetch::DEFAULT) };
}

/// An `Err` that is a limit of vera-rt, not urllib's words: it traps.
const LIMIT_MARK: char = '\0';

/// Runs `fetch` under `bounds` on this thread, then restores the
/// defaults. A body over the limit, or a deadline that ended the request,
/// comes back as an `Err` marked for [`limit_trap`].
pub fn fetch_within(bounds: Fetch, fetch: impl FnOnce() -> Outcome) -> Outcome {
    FETCH.with(|f| f.set(bounds));
    let outcome = fetch();
    FETCH.with(|f| f.set(Fetch::DEFAULT));
    match outcome {
        Err(m) if !m.starts_with(LIMIT_MARK) && bounds.expired() => deadline_outcome(),
        other => other,
    }
}

/// The outcome of a request the run's deadline ended.
pub fn deadline_outcome() -> Outcome {
    Err(format!("{LIMIT_MARK}{}", super::TIME_LIMIT))
}

/// A marked outcome of [`fetch_within`] as the trap it is.
pub fn limit_trap(outcome: Outcome) -> Result<Outcome> {
    match outcome {
        Err(m) if m.starts_with(LIMIT_MARK) => Err(HostTrap::Limit(m[1..].to_owned()).into()),
        other => Ok(other),
    }
}

/// [`fetch_within`] for a request made on the guest's thread.
fn bounded(bounds: Fetch, fetch: impl FnOnce() -> Outcome) -> Result<Outcome> {
    limit_trap(fetch_within(bounds, fetch))
}

/// Runs `fetch` (any request made through [`agent`]) within the run's
/// bounds; a body over the limit or the deadline traps.
pub fn within_run(state: &HostState, fetch: impl FnOnce() -> Outcome) -> Result<Outcome> {
    bounded(Fetch::of(state), fetch)
}

/// The body limit of the request under way ([`fetch_within`]).
pub fn body_limit() -> u64 {
    FETCH.with(|f| f.get().max_body)
}

/// The outcome of a body over [`body_limit`]: [`limit_trap`] makes it a trap.
pub fn body_over_limit() -> Outcome {
    let Fetch {
        max_body, body_flag, ..
    } = FETCH.with(|f| f.get());
    Err(format!(
        "{LIMIT_MARK}limit exceeded: HTTP response body is over {body_flag} ({max_body} bytes)"
    ))
}

/// Builds the guest `Result<String, String>` of a fetch.
pub fn alloc_outcome(heap: &mut impl Heap, outcome: &Outcome) -> GuestResult<u32> {
    match outcome {
        Ok(body) => values::alloc_adt_with_str(heap, OK, body.as_bytes()),
        Err(message) => values::alloc_adt_with_str(heap, ERR, message.as_bytes()),
    }
}

/// [`parse_failure`] as a trap.
pub fn check_parse(url: &str) -> Result<()> {
    match parse_failure(url) {
        Some(message) => Err(HostTrap::Refused(message).into()),
        None => Ok(()),
    }
}

/// `Http.get`.
pub fn fetch_get(url: &str) -> Outcome {
    if !is_http_url(url) {
        return Err(refused("get"));
    }
    if let Some(e) = precheck(url) {
        return Err(e);
    }
    finish(agent().get(url).call())
}

/// `Http.post`: `body` as `application/json`. As urllib: a 301/302/303
/// answer is followed as a GET without the body, a 307/308 is an error.
pub fn fetch_post(url: &str, body: &str) -> Outcome {
    if !is_http_url(url) {
        return Err(refused("post"));
    }
    if let Some(e) = precheck(url) {
        return Err(e);
    }
    let agent: ureq::Agent = config().max_redirects(0).build().into();
    let sent = agent
        .post(url)
        .header("Content-Type", "application/json")
        .send(body.as_bytes())
        .map_err(|e| urlopen_error(&e))?;
    let status = sent.status().as_u16();
    let location = sent.headers().get("location").and_then(|v| v.to_str().ok());
    match (status, location) {
        (301..=303, Some(location)) => fetch_get(&join(url, location)),
        _ => finish(Ok(sent)),
    }
}

/// A client configured like urllib's `urlopen`: status codes are looked at
/// here, bodies are unlimited.
pub fn agent() -> ureq::Agent {
    config().build().into()
}

fn config() -> ureq::config::ConfigBuilder<ureq::typestate::AgentScope> {
    ureq::Agent::config_builder()
        .timeout_global(Some(FETCH.with(|f| f.get().timeout())))
        .http_status_as_error(false)
}

fn finish(sent: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Outcome {
    let mut response = sent.map_err(|e| urlopen_error(&e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(status_error(status.as_u16()));
    }
    let Fetch {
        max_body, body_flag, ..
    } = FETCH.with(|f| f.get());
    let bytes = response
        .body_mut()
        .with_config()
        .limit(max_body)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => {
                format!("{LIMIT_MARK}limit exceeded: HTTP response body is over {body_flag} ({max_body} bytes)")
            }
            e => read_error(&e),
        })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// A failure before the response, in urllib's words (`str(URLError)`).
pub fn urlopen_error(e: &ureq::Error) -> String {
    let reason = match e {
        ureq::Error::Io(io) => os_error(io),
        ureq::Error::HostNotFound => "[Errno -2] Name or service not known".to_owned(),
        ureq::Error::Timeout(_) => "timed out".to_owned(),
        other => other.to_string(),
    };
    vera_families::http::urlopen_error(&reason)
}

/// A failure while reading the body (Python raises the socket error itself).
fn read_error(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Io(io) => os_error(io),
        ureq::Error::Timeout(_) => "timed out".to_owned(),
        other => other.to_string(),
    }
}

/// Python's `str(OSError)`: `[Errno N] strerror`.
fn os_error(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => {
            let text = e.to_string();
            let strerror = text.split(" (os error").next().unwrap_or(&text);
            format!("[Errno {code}] {strerror}")
        }
        None if e.kind() == io::ErrorKind::TimedOut => "timed out".to_owned(),
        None => match e.to_string().strip_prefix("failed to lookup address information: ") {
            // getaddrinfo's EAI_* codes, as Python's socket.gaierror numbers them.
            Some(text) => {
                let code = match text {
                    "Temporary failure in name resolution" => -3,
                    "Non-recoverable failure in name resolution" => -4,
                    "No address associated with hostname" => -5,
                    _ => -2,
                };
                format!("[Errno {code}] {text}")
            }
            None => e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_schemes() {
        assert!(is_http_url("http://x/"));
        assert!(is_http_url("HTTPS://x/"));
        assert!(!is_http_url("file:///etc/passwd"));
        assert!(!is_http_url("ftp://x/"));
        assert!(!is_http_url("no scheme"));
        assert!(!is_http_url(""));
        assert_eq!(
            fetch_get("file:///etc/passwd").unwrap_err(),
            "Http.get: refusing non-HTTP(S) URL; only 'http' and 'https' schemes are permitted"
        );
    }

    #[test]
    fn os_errors_read_like_python() {
        let e = io::Error::from_raw_os_error(111);
        assert_eq!(os_error(&e), "[Errno 111] Connection refused");
    }
}
