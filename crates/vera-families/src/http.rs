//! `Http`'s texts and URL rules, without a network: what Vera 0.2.3's
//! host (`urllib.request.urlopen`) refuses before connecting and how it
//! words a refusal, an HTTP error status and a redirect's target. The CLI
//! fetches with ureq (`vera-host`'s `families::http`); the browser runtime
//! fetches with XMLHttpRequest (or Node's fetch) and asks the same
//! questions here, through `vera-browser-core`.

/// Python's `urlparse` raises (uncaught by Vera's host, so the run
/// ends) for a netloc with unbalanced IPv6 brackets.
pub fn parse_failure(url: &str) -> Option<String> {
    let netloc = url.split_once("//").map(|(_, rest)| {
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        &rest[..end]
    })?;
    (netloc.contains('[') != netloc.contains(']')).then(|| "Invalid IPv6 URL".to_owned())
}

/// What urllib and http.client refuse before connecting, in their words.
pub fn precheck(url: &str) -> Option<String> {
    let url = url.split('#').next().unwrap_or(url);
    let rest = &url[url.find(':').map_or(0, |i| i + 1)..];
    let (host, selector) = match rest.strip_prefix("//") {
        Some(r) => {
            let end = r.find(['/', '?']).unwrap_or(r.len());
            (&r[..end], &r[end..])
        }
        None => ("", rest),
    };
    if host.is_empty() {
        return Some("<urlopen error no host given>".to_owned());
    }
    let colon = host.rfind(':');
    if colon > host.rfind(']') {
        let port = &host[colon.unwrap_or(0) + 1..];
        if !port.is_empty() && port.trim().parse::<i64>().is_err() {
            return Some(format!("nonnumeric port: '{port}'"));
        }
    }
    let bad = |c: char| c <= ' ' || c == '\x7f';
    for text in [selector, host] {
        if let Some(found) = text.chars().find(|&c| bad(c)) {
            return Some(format!(
                "URL can't contain control characters. {} (found at least {})",
                crate::pyrepr::python_repr_str(text),
                crate::pyrepr::python_repr_str(&found.to_string())
            ));
        }
    }
    if host.contains('@') {
        // http.client resolves the whole netloc, user info included.
        return Some("<urlopen error [Errno -2] Name or service not known>".to_owned());
    }
    None
}

/// urllib's `HTTPError` text for a status outside 2xx.
pub fn status_error(code: u16) -> String {
    format!("HTTP Error {code}: {}", reason_phrase(code))
}

/// urllib's `URLError` text for a failure before the response.
pub fn urlopen_error(reason: &str) -> String {
    format!("<urlopen error {reason}>")
}

/// `location` resolved against `base` (absolute, host-relative or
/// path-relative).
pub fn join(base: &str, location: &str) -> String {
    if is_http_url(location) {
        return location.to_owned();
    }
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find(['/', '?', '#'])
        .map_or(base.len(), |i| scheme_end + i);
    if location.starts_with('/') {
        return format!("{}{location}", &base[..host_end]);
    }
    let path = &base[host_end..];
    let path = &path[..path.find(['?', '#']).unwrap_or(path.len())];
    let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    let dir = if dir.is_empty() { "/" } else { dir };
    format!("{}{dir}{location}", &base[..host_end])
}

pub fn refused(op: &str) -> String {
    format!("Http.{op}: refusing non-HTTP(S) URL; only 'http' and 'https' schemes are permitted")
}

/// Whether `url`'s scheme (as Python's `urlparse` reads it) is http(s).
pub fn is_http_url(url: &str) -> bool {
    let Some((scheme, _)) = url.split_once(':') else {
        return false;
    };
    let valid = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    valid && matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https")
}

/// The reason phrase for `code`. urllib quotes the server's own phrase,
/// which ureq does not expose; this is the one Python's `http.server`
/// sends (`http.HTTPStatus`, Python 3.11), the RFC wording for nearly
/// every code.
pub fn reason_phrase(code: u16) -> &'static str {
    match code {
        100 => "Continue",
        101 => "Switching Protocols",
        102 => "Processing",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        207 => "Multi-Status",
        208 => "Already Reported",
        226 => "IM Used",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Requested Range Not Satisfiable",
        417 => "Expectation Failed",
        418 => "I'm a Teapot",
        421 => "Misdirected Request",
        422 => "Unprocessable Entity",
        423 => "Locked",
        424 => "Failed Dependency",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        506 => "Variant Also Negotiates",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        510 => "Not Extended",
        511 => "Network Authentication Required",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_targets() {
        assert_eq!(join("http://h:1/a/b?q", "/c"), "http://h:1/c");
        assert_eq!(join("http://h:1/a/b?q", "c"), "http://h:1/a/c");
        assert_eq!(join("http://h:1", "c"), "http://h:1/c");
        assert_eq!(join("http://h:1/a", "https://x/y"), "https://x/y");
    }

    #[test]
    fn refusals_read_like_urllib() {
        assert!(!is_http_url("ftp://x/"));
        assert_eq!(precheck("http:///x").as_deref(), Some("<urlopen error no host given>"));
        assert_eq!(precheck("http://h:abc/").as_deref(), Some("nonnumeric port: 'abc'"));
        assert_eq!(parse_failure("http://[::1/").as_deref(), Some("Invalid IPv6 URL"));
        assert_eq!(status_error(404), "HTTP Error 404: Not Found");
        assert_eq!(urlopen_error("timed out"), "<urlopen error timed out>");
    }
}
