//! `inference_complete` against a local stand-in provider (through the
//! vera-rt extension `VERA_INFERENCE_URL`). The expected strings are what
//! veralang 0.2.3's `_call_inference_provider` returned for the same
//! canned responses, its endpoint pointed at the same kind of server.
#![cfg(feature = "net")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use vera_host::families::inference::complete;

/// Serves canned answers by path on 127.0.0.1; remembers each request.
fn serve(requests: Arc<Mutex<Vec<String>>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
            requests
                .lock()
                .unwrap()
                .push(format!("{head}\r\n{}", String::from_utf8_lossy(&body)));
            let (status, reply) = match path.as_str() {
                "/ok" => (
                    "200 OK",
                    r#"{"choices":[{"message":{"content":"Positive"},"finish_reason":"stop"}]}"#,
                ),
                "/think" => (
                    "200 OK",
                    r#"{"content":[{"type":"thinking","thinking":"hmm"}],"stop_reason":"max_tokens"}"#,
                ),
                "/401" => (
                    "401 Unauthorized",
                    r#"{"error":{"message":"Incorrect API key provided: sk-abcdefghijkl"}}"#,
                ),
                "/html" => ("200 OK", "<html>oops</html>"),
                "/nochoices" => ("200 OK", r#"{"id": "x", "object": "chat"}"#),
                "/parts" => (
                    "200 OK",
                    r#"{"choices":[{"message":{"content":[{"type":"output_text","text":"A"},{"type":"output_text","text":"B"}]}}]}"#,
                ),
                "/refusal" => (
                    "200 OK",
                    r#"{"choices":[{"message":{"content":"","refusal":"I can't"},"finish_reason":"stop"}]}"#,
                ),
                "/big" => ("200 OK", big_answer()),
                "/silent" => {
                    // Never answers (the connection is kept open a while).
                    std::thread::sleep(std::time::Duration::from_secs(5));
                    continue;
                }
                _ => ("404 Not Found", ""),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
                reply.len()
            );
        }
    });
    port
}

/// A completion of 5000 bytes.
fn big_answer() -> &'static str {
    static BIG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    BIG.get_or_init(|| {
        format!(
            r#"{{"choices":[{{"message":{{"content":"{}"}},"finish_reason":"stop"}}]}}"#,
            "x".repeat(5000)
        )
    })
}

fn run(provider: &str, port: u16, path: &str) -> Result<String, String> {
    let url = format!("http://127.0.0.1:{port}{path}");
    let provider = provider.to_owned();
    complete("hi", move |k| match k {
        "VERA_INFERENCE_PROVIDER" => Some(provider.clone()),
        "VERA_OPENAI_API_KEY" | "VERA_ANTHROPIC_API_KEY" => Some("KEY123".to_owned()),
        "VERA_INFERENCE_URL" => Some(url.clone()),
        _ => None,
    })
}

#[test]
fn responses_read_as_vera_reads_them() {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let port = serve(requests.clone());
    let o = "Inference provider 'openai' (gpt-5.6-sol)";
    let a = "Inference provider 'anthropic' (claude-opus-5)";
    let cases: &[(&str, &str, Result<&str, String>)] = &[
        ("openai", "/ok", Ok("Positive")),
        ("openai", "/think", Err(format!("{o} returned no completion text (no 'choices' list in the response; response keys: content, stop_reason)."))),
        ("openai", "/401", Err(format!("{o} rejected the request: HTTP 401: Incorrect API key provided: [redacted]"))),
        ("openai", "/html", Err(format!("{o} returned a response body that is not JSON: <html>oops</html>"))),
        ("openai", "/nochoices", Err(format!("{o} returned no completion text (no 'choices' list in the response; response keys: id, object)."))),
        ("openai", "/parts", Ok("AB")),
        ("openai", "/refusal", Err(format!("{o} refused the request: I can't; finish_reason=stop"))),
        ("anthropic", "/ok", Err(format!("{a} returned no text block (no 'content' list in the response; response keys: choices)."))),
        ("anthropic", "/think", Err(format!("{a} returned no text block (content block types: thinking; stop_reason=max_tokens)."))),
        ("anthropic", "/401", Err(format!("{a} rejected the request: HTTP 401: Incorrect API key provided: [redacted]"))),
        ("anthropic", "/nochoices", Err(format!("{a} returned no text block (no 'content' list in the response; response keys: id, object)."))),
    ];
    for (provider, path, want) in cases {
        let want = want.clone().map(str::to_owned);
        assert_eq!(run(provider, port, path), want, "{provider} {path}");
    }
    let seen = requests.lock().unwrap();
    let first = seen[0].to_ascii_lowercase();
    assert!(first.contains("authorization: bearer key123"), "{first}");
    assert!(first.contains(r#""model": "gpt-5.6-sol""#), "{first}");
    assert!(
        first.contains(r#""messages": [{"role": "user", "content": "hi"}]"#),
        "{first}"
    );
    let anthropic = seen[7].to_ascii_lowercase();
    assert!(anthropic.contains("x-api-key: key123"), "{anthropic}");
    assert!(anthropic.contains("anthropic-version: 2023-06-01"), "{anthropic}");
    assert!(anthropic.contains(r#""max_tokens": 1024"#), "{anthropic}");
}

#[test]
fn an_unreachable_endpoint_is_an_err_naming_the_provider() {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    assert_eq!(
        run("openai", port, "/"),
        Err(
            "Inference provider 'openai' (gpt-5.6-sol) failed: URLError: <urlopen error [Errno 111] Connection refused>"
                .to_owned()
        )
    );
}

/// Within a run, the provider's answer is bounded as `Http.get`'s is: its
/// body by `--max-host-memory` / `--max-host-string`, the request by
/// `--timeout`; both trap.
#[test]
fn a_run_bounds_the_providers_answer() {
    use vera_host::families::http::within_run;
    let port = serve(Arc::new(Mutex::new(Vec::new())));
    let mut state = vera_host::HostState::new(
        Box::new(std::io::sink()),
        Box::new(std::io::sink()),
        Box::new(std::io::empty()),
    );
    state.host_limits.max_host_memory = Some(1000);
    let err = within_run(&state, || run("openai", port, "/big")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "limit exceeded: HTTP response body is over --max-host-memory (1000 bytes)"
    );
    state.host_limits.max_host_memory = Some(1 << 20);
    assert_eq!(
        within_run(&state, || run("openai", port, "/big")).unwrap(),
        Ok("x".repeat(5000))
    );
    state.deadline = Some(std::time::Instant::now() + std::time::Duration::from_millis(300));
    let start = std::time::Instant::now();
    let err = within_run(&state, || run("openai", port, "/silent")).unwrap_err();
    assert_eq!(err.to_string(), "time limit exceeded (--timeout)");
    assert!(start.elapsed() < std::time::Duration::from_secs(3));
}
