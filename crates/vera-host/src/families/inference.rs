//! `Inference`: `inference_complete(prompt) -> Result<String, String>`, one
//! chat completion from an LLM provider over HTTPS.
//!
//! As Vera 0.2.3: the provider is `VERA_INFERENCE_PROVIDER`, else the first
//! of anthropic, openai, moonshot, mistral, xai, deepseek whose
//! `VERA_<NAME>_API_KEY` is non-empty; the model is `VERA_INFERENCE_MODEL`,
//! else the provider's default. With nothing configured the result is
//! `Err("No inference provider configured. Set VERA_ANTHROPIC_API_KEY, ...")`
//! (Vera's text). Anthropic gets the Messages API (`x-api-key`,
//! `max_tokens` 1024), the rest the OpenAI chat-completions shape with a
//! bearer token. Every failure is an `Err` naming the provider and model,
//! in Vera's words; provider text quoted back is redacted (the key, and
//! anything credential-shaped) and cut to 200 characters.
//!
//! vera-rt extension: `VERA_INFERENCE_URL` replaces the provider's
//! endpoint (a proxy, a local model server, a test double).

use wasmtime::Result;

use super::glue::{imports, Ptr};
use super::http::{self, Outcome};
use crate::state::HostState;
use vera_families::json::{self, JVal, Parsed};

struct Provider {
    name: &'static str,
    env_key: &'static str,
    url: &'static str,
    default_model: &'static str,
    anthropic: bool,
}

/// Vera 0.2.3's registry, in its auto-detect order.
const PROVIDERS: &[Provider] = &[
    Provider {
        name: "anthropic",
        env_key: "VERA_ANTHROPIC_API_KEY",
        url: "https://api.anthropic.com/v1/messages",
        default_model: "claude-opus-5",
        anthropic: true,
    },
    Provider {
        name: "openai",
        env_key: "VERA_OPENAI_API_KEY",
        url: "https://api.openai.com/v1/chat/completions",
        default_model: "gpt-5.6-sol",
        anthropic: false,
    },
    Provider {
        name: "moonshot",
        env_key: "VERA_MOONSHOT_API_KEY",
        url: "https://api.moonshot.ai/v1/chat/completions",
        default_model: "kimi-k3",
        anthropic: false,
    },
    Provider {
        name: "mistral",
        env_key: "VERA_MISTRAL_API_KEY",
        url: "https://api.mistral.ai/v1/chat/completions",
        default_model: "mistral-large-latest",
        anthropic: false,
    },
    Provider {
        name: "xai",
        env_key: "VERA_XAI_API_KEY",
        url: "https://api.x.ai/v1/chat/completions",
        default_model: "grok-4.6",
        anthropic: false,
    },
    Provider {
        name: "deepseek",
        env_key: "VERA_DEEPSEEK_API_KEY",
        url: "https://api.deepseek.com/v1/chat/completions",
        default_model: "deepseek-v4-pro",
        anthropic: false,
    },
];

/// Every variable this family reads.
pub const ENV_VARS: &[&str] = &[
    "VERA_INFERENCE_PROVIDER",
    "VERA_INFERENCE_MODEL",
    "VERA_INFERENCE_URL",
    "VERA_ANTHROPIC_API_KEY",
    "VERA_OPENAI_API_KEY",
    "VERA_MOONSHOT_API_KEY",
    "VERA_MISTRAL_API_KEY",
    "VERA_XAI_API_KEY",
    "VERA_DEEPSEEK_API_KEY",
];

const ERROR_BODY_CHARS: usize = 200;
const ERROR_BODY_CAP: usize = 64 * 1024;

imports! {
    fn inference_complete(cx, prompt: Str) -> Ptr {
        let state: &HostState = cx.state();
        // The provider's answer is bounded as Http.get's is.
        let outcome = http::within_run(state, || complete(&prompt, |k| state.env_var(k)))?;
        cx.heap(|h| http::alloc_outcome(h, &outcome)).map(Ptr)
    }
}

/// The whole of `Inference.complete`, with `env` for the environment.
pub fn complete(prompt: &str, env: impl Fn(&str) -> Option<String>) -> Outcome {
    let var = |k: &str| env(k).unwrap_or_default();
    let mut provider = var("VERA_INFERENCE_PROVIDER").to_lowercase();
    if provider.is_empty() {
        if let Some(p) = PROVIDERS.iter().find(|p| !var(p.env_key).is_empty()) {
            provider = p.name.to_owned();
        }
    }
    if provider.is_empty() {
        let keys: Vec<&str> = PROVIDERS.iter().map(|p| p.env_key).collect();
        return Err(format!("No inference provider configured. Set {}.", keys.join(", ")));
    }
    let Some(cfg) = PROVIDERS.iter().find(|p| p.name == provider) else {
        let mut valid: Vec<&str> = PROVIDERS.iter().map(|p| p.name).collect();
        valid.sort();
        return Err(format!(
            "Unknown inference provider '{provider}'. Valid values: {}.",
            valid.join(", ")
        ));
    };
    let api_key = var(cfg.env_key);
    if api_key.is_empty() {
        return Err(format!(
            "Inference provider '{provider}' selected but {} is not set.",
            cfg.env_key
        ));
    }
    let model = match var("VERA_INFERENCE_MODEL") {
        m if m.is_empty() => cfg.default_model.to_owned(),
        m => m,
    };
    let url = match var("VERA_INFERENCE_URL") {
        u if u.is_empty() => cfg.url.to_owned(),
        u => u,
    };
    let call = Call {
        provider: &provider,
        model: &model,
        key: &api_key,
    };
    call.run(cfg, &url, prompt)
}

struct Call<'a> {
    provider: &'a str,
    model: &'a str,
    key: &'a str,
}

impl Call<'_> {
    fn who(&self) -> String {
        format!("Inference provider '{}' ({})", self.provider, self.model)
    }

    /// Provider text made fit for a message: redacted, then bounded.
    fn safe(&self, text: &str) -> String {
        truncate(&redact(text, self.key))
    }

    fn run(&self, cfg: &Provider, url: &str, prompt: &str) -> Outcome {
        let mut body = String::from("{\"model\": ");
        json::quote(self.model, &mut body);
        if cfg.anthropic {
            body.push_str(", \"max_tokens\": 1024");
        }
        body.push_str(", \"messages\": [{\"role\": \"user\", \"content\": ");
        json::quote(prompt, &mut body);
        body.push_str("}]}");
        let mut request = http::agent().post(url).header("Content-Type", "application/json");
        request = if cfg.anthropic {
            request
                .header("x-api-key", self.key)
                .header("anthropic-version", "2023-06-01")
        } else {
            request.header("Authorization", &format!("Bearer {}", self.key))
        };
        let mut response = request
            .send(body.as_bytes())
            .map_err(|e| format!("{} failed: {}", self.who(), transport(&e)))?;
        let status = response.status().as_u16();
        let mut reader = response.body_mut().with_config().limit(u64::MAX).reader();
        let max_body = http::body_limit();
        let mut raw = Vec::new();
        if !(200..300).contains(&status) {
            let mut capped = std::io::Read::take(&mut reader, ERROR_BODY_CAP as u64 + 1);
            let detail = match std::io::Read::read_to_end(&mut capped, &mut raw) {
                Err(_) => "(unreadable response body)".to_owned(),
                Ok(_) if raw.len() > ERROR_BODY_CAP => {
                    let head = String::from_utf8_lossy(&raw[..ERROR_BODY_CAP]).trim().to_owned();
                    let redacted: String = redact(&head, self.key).chars().take(ERROR_BODY_CHARS).collect();
                    format!("{redacted}... (truncated)")
                }
                Ok(_) => self.error_detail(&raw),
            };
            return Err(format!("{} rejected the request: HTTP {status}: {detail}", self.who()));
        }
        std::io::Read::read_to_end(
            &mut std::io::Read::take(&mut reader, max_body.saturating_add(1)),
            &mut raw,
        )
        .map_err(|e| format!("{} failed: {}", self.who(), read_failure(&e)))?;
        if raw.len() as u64 > max_body {
            return http::body_over_limit();
        }
        let text = std::str::from_utf8(&raw).map_err(|e| {
            format!(
                "{} returned a response body that is not valid UTF-8 (invalid byte at position {}).",
                self.who(),
                e.valid_up_to()
            )
        })?;
        let data = match json::parse(text) {
            Parsed::Ok(v) => v,
            _ => {
                return Err(format!(
                    "{} returned a response body that is not JSON: {}",
                    self.who(),
                    or_blank(self.safe(text))
                ))
            }
        };
        if cfg.anthropic {
            self.anthropic(&data)
        } else {
            self.openai(&data)
        }
    }

    /// The provider's own message out of an error body.
    fn error_detail(&self, raw: &[u8]) -> String {
        let text = String::from_utf8_lossy(raw);
        if text.trim().is_empty() {
            return "(empty response body)".to_owned();
        }
        let Parsed::Ok(parsed) = json::parse(&text) else {
            return self.safe(&text);
        };
        if let JVal::Obj(_) = parsed {
            match get(&parsed, "error") {
                Some(err @ JVal::Obj(_)) => {
                    if let Some(JVal::Str(m)) = get(err, "message") {
                        return self.safe(&m.text());
                    }
                }
                Some(JVal::Str(s)) if !s.text().is_empty() => return self.safe(&s.text()),
                _ => {}
            }
            if let Some(JVal::Str(m)) = get(&parsed, "message") {
                return self.safe(&m.text());
            }
        }
        self.safe(&text)
    }

    fn reason_clause(&self, container: &JVal, field: &str) -> String {
        if !matches!(container, JVal::Obj(_)) {
            return String::new();
        }
        match get(container, field) {
            None | Some(JVal::Null) => String::new(),
            Some(JVal::Str(s)) if s.text().is_empty() => String::new(),
            Some(v) => format!("; {field}={}", or_blank(self.safe(&py_str(v)))),
        }
    }

    fn describe_keys(&self, value: &JVal) -> String {
        match value {
            JVal::Obj(pairs) if pairs.is_empty() => "(no keys)".to_owned(),
            JVal::Obj(pairs) => {
                let keys: Vec<String> = pairs.iter().map(|(k, _)| k.text()).collect();
                let shown = self.safe(&keys.join(", "));
                if shown.is_empty() {
                    "(keys are blank)".to_owned()
                } else {
                    shown
                }
            }
            other => format!("(not an object: {})", type_name(other)),
        }
    }

    fn describe_types(&self, items: &[JVal]) -> String {
        let mut seen: Vec<String> = Vec::new();
        for item in items {
            let kind = match item {
                JVal::Obj(_) => get(item, "type").map_or("(untyped)".to_owned(), py_str),
                other => format!("(not an object: {})", type_name(other)),
            };
            if !seen.contains(&kind) {
                seen.push(kind);
            }
        }
        if seen.is_empty() {
            return "(none)".to_owned();
        }
        let shown = self.safe(&seen.join(", "));
        if shown.is_empty() {
            "(types are blank)".to_owned()
        } else {
            shown
        }
    }

    fn missing_or_wrong(&self, container: &JVal, field: &str, expected: &str, place: &str) -> String {
        if !matches!(container, JVal::Obj(_)) {
            return format!("the {place} is {}, not an object", type_name(container));
        }
        match get(container, field) {
            None => format!(
                "no '{field}' {expected} in the {place}; {place} keys: {}",
                self.describe_keys(container)
            ),
            Some(v) => {
                let article = if "aeiou".contains(expected.chars().next().unwrap_or('x').to_ascii_lowercase()) {
                    "an"
                } else {
                    "a"
                };
                format!("'{field}' is {}, not {article} {expected}", type_name(v))
            }
        }
    }

    fn fragments(&self, items: &[JVal], kind: &str, types: &[&str]) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        for item in items {
            let typed = matches!(get(item, "type"), Some(JVal::Str(t)) if types.contains(&t.text().as_str()));
            if !matches!(item, JVal::Obj(_)) || !typed {
                continue;
            }
            match get(item, "text") {
                None => {
                    return Err(format!(
                        "{} returned a {kind} with no 'text' field (keys: {}).",
                        self.who(),
                        self.describe_keys(item)
                    ))
                }
                Some(JVal::Str(s)) => out.push(s.text()),
                Some(other) => {
                    return Err(format!(
                        "{} returned a {kind} whose text is {}, not a string.",
                        self.who(),
                        type_name(other)
                    ))
                }
            }
        }
        Ok(out)
    }

    fn empty_completion(&self, text: &str, container: &JVal, field: &str) -> Result<(), String> {
        if !text.trim().is_empty() {
            return Ok(());
        }
        match get(container, field) {
            Some(JVal::Str(r)) if ["refusal", "max_tokens", "length"].contains(&r.text().to_lowercase().as_str()) => {
                Err(format!(
                    "{} returned an empty completion{}.",
                    self.who(),
                    self.reason_clause(container, field)
                ))
            }
            _ => Ok(()),
        }
    }

    fn anthropic(&self, data: &JVal) -> Outcome {
        let Some(JVal::Arr(content)) = get(data, "content") else {
            return Err(format!(
                "{} returned no text block ({}{}).",
                self.who(),
                self.missing_or_wrong(data, "content", "list", "response"),
                self.reason_clause(data, "stop_reason")
            ));
        };
        let texts = self.fragments(content, "text block", &["text"])?;
        if texts.is_empty() {
            return Err(format!(
                "{} returned no text block (content block types: {}{}).",
                self.who(),
                self.describe_types(content),
                self.reason_clause(data, "stop_reason")
            ));
        }
        let joined = texts.concat();
        self.empty_completion(&joined, data, "stop_reason")?;
        Ok(joined)
    }

    fn openai(&self, data: &JVal) -> Outcome {
        let choices = match get(data, "choices") {
            Some(JVal::Arr(c)) if !c.is_empty() => c,
            other => {
                let detail = if matches!(other, Some(JVal::Arr(_))) {
                    "the 'choices' list is empty".to_owned()
                } else {
                    self.missing_or_wrong(data, "choices", "list", "response")
                };
                return Err(format!("{} returned no completion text ({detail}).", self.who()));
            }
        };
        let first = &choices[0];
        let finish = self.reason_clause(first, "finish_reason");
        if !matches!(first, JVal::Obj(_)) {
            return Err(format!(
                "{} returned no completion text (the first choice is {}, not an object).",
                self.who(),
                type_name(first)
            ));
        }
        let message = match get(first, "message") {
            Some(m @ JVal::Obj(_)) => m,
            _ => {
                return Err(format!(
                    "{} returned no completion text ({}{finish}).",
                    self.who(),
                    self.missing_or_wrong(first, "message", "object", "choice")
                ))
            }
        };
        let refusal = match get(message, "refusal") {
            Some(JVal::Str(r)) if !r.text().trim().is_empty() => Some(r.text()),
            _ => None,
        };
        let refusal_or = |detail: String| match &refusal {
            Some(r) => format!("{} refused the request: {}{finish}", self.who(), self.safe(r)),
            None => format!("{} returned no completion text ({detail}{finish}).", self.who()),
        };
        let completion_or_refusal = |text: String| -> Outcome {
            if !text.trim().is_empty() {
                return Ok(text);
            }
            if refusal.is_some() {
                return Err(refusal_or("the completion was empty".to_owned()));
            }
            self.empty_completion(&text, first, "finish_reason")?;
            Ok(text)
        };
        match get(message, "content") {
            Some(JVal::Str(s)) => completion_or_refusal(s.text()),
            Some(JVal::Arr(parts)) => {
                let mut joined = String::new();
                let mut first_result: Option<String> = None;
                for discriminator in ["text", "output_text"] {
                    let found = self.fragments(parts, "text part", &[discriminator])?;
                    if !found.is_empty() && first_result.is_none() {
                        first_result = Some(found.concat());
                    }
                    joined = found.concat();
                    if !joined.trim().is_empty() {
                        break;
                    }
                }
                if !joined.trim().is_empty() {
                    return Ok(joined);
                }
                if let Some(r) = first_result {
                    return completion_or_refusal(r);
                }
                Err(refusal_or(format!(
                    "no text parts in the message content; part types: {}",
                    self.describe_types(parts)
                )))
            }
            _ => Err(refusal_or(self.missing_or_wrong(
                message,
                "content",
                "string or list of parts",
                "message",
            ))),
        }
    }
}

fn get<'v>(value: &'v JVal, key: &str) -> Option<&'v JVal> {
    match value {
        JVal::Obj(pairs) => pairs.iter().rev().find(|(k, _)| k.text() == key).map(|(_, v)| v),
        _ => None,
    }
}

/// Python's `type(v).__name__` for a decoded JSON value.
fn type_name(v: &JVal) -> &'static str {
    match v {
        JVal::Null => "NoneType",
        JVal::Bool(_) => "bool",
        JVal::Num(n) if n.fract() == 0.0 && n.abs() < 1e16 => "int",
        JVal::Num(_) => "float",
        JVal::Str(_) => "str",
        JVal::Arr(_) => "list",
        JVal::Obj(_) => "dict",
    }
}

/// Python's `str(v)` for the scalar values these messages quote.
fn py_str(v: &JVal) -> String {
    match v {
        JVal::Null => "None".to_owned(),
        JVal::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        JVal::Num(n) if n.fract() == 0.0 && n.abs() < 1e16 => format!("{}", *n as i64),
        JVal::Num(n) => vera_families::format::python_float_repr(*n),
        JVal::Str(s) => s.text(),
        JVal::Arr(_) => "[...]".to_owned(),
        JVal::Obj(_) => "{...}".to_owned(),
    }
}

fn or_blank(s: String) -> String {
    if s.is_empty() {
        "(blank)".to_owned()
    } else {
        s
    }
}

/// `text` without the configured key and credential-shaped tokens.
fn redact(text: &str, key: &str) -> String {
    let text = if !key.is_empty() && text.contains(key) {
        text.replace(key, "[redacted]")
    } else {
        text.to_owned()
    };
    redact_tokens(&text)
}

/// `re.sub(r"(?:sk|key|token|xai)[-_][A-Za-z0-9_-]{8,}", "[redacted]",
/// text)`, scanned by hand: at most one prefix can start at a byte (they
/// begin with different letters), and the run after `-`/`_` is greedy.
fn redact_tokens(text: &str) -> String {
    let bytes = text.as_bytes();
    let token_byte = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-');
    let mut out = String::with_capacity(text.len());
    let (mut copied, mut i) = (0, 0);
    while i < bytes.len() {
        let rest = &bytes[i..];
        let prefix = [&b"sk"[..], b"key", b"token", b"xai"]
            .into_iter()
            .find(|p| rest.starts_with(p))
            .map_or(0, <[u8]>::len);
        if prefix > 0 && matches!(rest.get(prefix), Some(b'-' | b'_')) {
            let run = rest[prefix + 1..].iter().take_while(|b| token_byte(b)).count();
            if run >= 8 {
                out.push_str(&text[copied..i]);
                out.push_str("[redacted]");
                i += prefix + 1 + run;
                copied = i;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    out
}

/// At most 200 characters from the first non-space one, marked when cut.
fn truncate(text: &str) -> String {
    if text.chars().count() <= ERROR_BODY_CHARS {
        return text.trim().to_owned();
    }
    let start = text.trim_start();
    let head: String = start.chars().take(ERROR_BODY_CHARS * 4).collect();
    let head = head.trim();
    if head.chars().count() <= ERROR_BODY_CHARS {
        return head.to_owned();
    }
    let cut: String = head.chars().take(ERROR_BODY_CHARS).collect();
    format!("{cut}... (truncated)")
}

/// A failure to reach the provider, as Python's `TypeName: message`.
fn transport(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "TimeoutError: timed out".to_owned(),
        _ => {
            let text = http::urlopen_error(e);
            format!("URLError: {text}")
        }
    }
}

fn read_failure(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::TimedOut => "TimeoutError: timed out".to_owned(),
        _ => format!("OSError: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn nothing_configured_names_every_key() {
        assert_eq!(
            complete("hi", none).unwrap_err(),
            "No inference provider configured. Set VERA_ANTHROPIC_API_KEY, VERA_OPENAI_API_KEY, \
             VERA_MOONSHOT_API_KEY, VERA_MISTRAL_API_KEY, VERA_XAI_API_KEY, VERA_DEEPSEEK_API_KEY."
        );
    }

    #[test]
    fn selection_errors() {
        let env = |k: &str| (k == "VERA_INFERENCE_PROVIDER").then(|| "OpenAI".to_owned());
        assert_eq!(
            complete("hi", env).unwrap_err(),
            "Inference provider 'openai' selected but VERA_OPENAI_API_KEY is not set."
        );
        let env = |k: &str| (k == "VERA_INFERENCE_PROVIDER").then(|| "nope".to_owned());
        assert_eq!(
            complete("hi", env).unwrap_err(),
            "Unknown inference provider 'nope'. Valid values: anthropic, deepseek, mistral, moonshot, openai, xai."
        );
    }

    #[test]
    fn redaction_and_truncation() {
        assert_eq!(redact("bad key sk-ant-abcdefghij here", ""), "bad key [redacted] here");
        assert_eq!(redact("the key SECRET1", "SECRET1"), "the key [redacted]");
        // What the regex `(?:sk|key|token|xai)[-_][A-Za-z0-9_-]{8,}` replaces.
        for (text, redacted) in [
            ("skey-abcdefgh!", "s[redacted]!"),
            ("token_1234567", "token_1234567"),
            ("é xai-ab_cd-ef€sk_", "é [redacted]€sk_"),
            ("key_sk-aaaaaaaaaa key-", "[redacted] key-"),
            ("sk--------", "sk--------"),
            ("sk---------", "[redacted]"),
        ] {
            assert_eq!(redact(text, ""), redacted, "{text}");
        }
        let long = "x".repeat(300);
        assert_eq!(truncate(&long), format!("{}... (truncated)", "x".repeat(200)));
        assert_eq!(truncate("  short  "), "short");
    }
}
