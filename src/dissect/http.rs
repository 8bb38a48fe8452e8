//! HTTP/1.x: the first request and response heads of a flow (request line, Host,
//! User-Agent, Content-Type; status and Server) and a count of the requests.
//!
//! References:
//! - RFC 9112 (HTTP/1.1 messages): §2.2 (bare LF, leading empty lines), §3 (request line),
//!   §4 (status line), §5 (field lines, obs-fold), §6.3 (message body length):
//!   <https://www.rfc-editor.org/rfc/rfc9112>
//! - RFC 9110 §7.2 (Host), §9 (methods), §15.2 (1xx interim responses):
//!   <https://www.rfc-editor.org/rfc/rfc9110>
//! - RFC 3986 §3.2.2 (IP literals in host): <https://www.rfc-editor.org/rfc/rfc3986>
//! - RFC 5789 (PATCH), RFC 4918 §9 (WebDAV methods)

use crate::model::{Direction, Progress};
use serde::{Serialize, Serializer};
use std::fmt::Write as _;
use std::net::IpAddr;

/// Longest head (start line and fields) read. RFC 9112 §3 asks for request lines of at
/// least 8000 octets; common servers cap the whole head near 8 KiB (nginx, Apache).
pub const MAX_HEAD_LEN: usize = 8 * 1024;

/// Methods that start a request (RFC 9110 §9.1, RFC 5789, RFC 4918 §9).
const METHODS: [&[u8]; 16] = [
    b"GET",
    b"HEAD",
    b"POST",
    b"PUT",
    b"DELETE",
    b"CONNECT",
    b"OPTIONS",
    b"TRACE",
    b"PATCH",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
];

/// What starts a response (RFC 9112 §4); HTTP/1.0 and 1.1 only.
const RESPONSE_PREFIX: &[u8] = b"HTTP/1.";

/// Anomalies met while reading heads. Recorded, not fatal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct HttpFlags(u8);

impl HttpFlags {
    pub const EMPTY: HttpFlags = HttpFlags(0);
    /// A head longer than [`MAX_HEAD_LEN`]; what fit was read.
    pub const HEAD_TOO_LONG: HttpFlags = HttpFlags(1);
    /// Lines end in LF alone (tolerated, RFC 9112 §2.2).
    pub const BARE_LF: HttpFlags = HttpFlags(1 << 1);
    /// A request line without exactly three single-space-separated parts, or a status line
    /// without a status.
    pub const MALFORMED_START_LINE: HttpFlags = HttpFlags(1 << 2);
    /// A field line without a colon, or with whitespace before it (RFC 9112 §5.1).
    pub const MALFORMED_FIELD: HttpFlags = HttpFlags(1 << 3);
    /// A field line continued on the next line (obs-fold, RFC 9112 §5.2); ignored.
    pub const OBS_FOLD: HttpFlags = HttpFlags(1 << 4);
    /// More than one Host field (RFC 9112 §3.2 says reject: a request-smuggling sign).
    pub const DUPLICATE_HOST: HttpFlags = HttpFlags(1 << 5);

    const NAMES: [(HttpFlags, &'static str); 6] = [
        (HttpFlags::HEAD_TOO_LONG, "head_too_long"),
        (HttpFlags::BARE_LF, "bare_lf"),
        (HttpFlags::MALFORMED_START_LINE, "malformed_start_line"),
        (HttpFlags::MALFORMED_FIELD, "malformed_field"),
        (HttpFlags::OBS_FOLD, "obs_fold"),
        (HttpFlags::DUPLICATE_HOST, "duplicate_host"),
    ];

    pub fn contains(self, other: HttpFlags) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    pub fn insert(&mut self, other: HttpFlags) {
        self.0 |= other.0;
    }

    /// The snake_case names of the set flags, as they appear in reports.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        HttpFlags::NAMES
            .into_iter()
            .filter(move |(f, _)| self.contains(*f))
            .map(|(_, n)| n)
    }
}

impl Serialize for HttpFlags {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.names())
    }
}

/// The first request of a flow. Texts are escaped so they never reach a terminal raw.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HttpRequestInfo {
    pub method: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The Host field, lowercased, port and IPv6 brackets removed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The host is an IP literal, not a name.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub host_is_ip: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

/// The first final (non-1xx) response of a flow.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HttpResponseInfo {
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

/// What a flow's HTTP says, for `"http": {...}` in the flow report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HttpInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<HttpRequestInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<HttpResponseInfo>,
    /// Request heads seen. Counting follows Content-Length bodies and stops at a chunked
    /// or otherwise unknown body, so this is a lower bound.
    pub requests: u32,
    #[serde(skip_serializing_if = "HttpFlags::is_empty")]
    pub anomalies: HttpFlags,
}

/// Whether `first_bytes` start an HTTP/1.x message: a known method followed by a space,
/// or `HTTP/1.`. Fewer bytes than that answer `false`.
pub fn probe(first_bytes: &[u8]) -> bool {
    probe_prefix(first_bytes) == Some(true)
}

/// `first_bytes` can no longer become a [`probe`] match, however the stream continues.
pub fn ruled_out(first_bytes: &[u8]) -> bool {
    probe_prefix(first_bytes) == Some(false)
}

/// `Some(true)` for an HTTP start, `Some(false)` for anything else, `None` while
/// `bytes` is still a proper prefix of a possible start.
fn probe_prefix(bytes: &[u8]) -> Option<bool> {
    let mut maybe = false;
    let starts = METHODS
        .iter()
        .map(|m| (*m, true))
        .chain([(RESPONSE_PREFIX, false)]);
    for (token, needs_space) in starts {
        let full = token.len() + usize::from(needs_space);
        let matches = |b: &[u8]| {
            b.iter()
                .zip(token.iter().chain(needs_space.then_some(&b' ')))
                .all(|(x, y)| x == y)
        };
        if !matches(bytes) {
            continue;
        }
        if bytes.len() >= full {
            return Some(true);
        }
        maybe = true;
    }
    if maybe { None } else { Some(false) }
}

/// Where a head ends (just past its empty line) within the first [`MAX_HEAD_LEN`] bytes.
fn find_head_end(buf: &[u8]) -> Option<usize> {
    let window = buf.get(..MAX_HEAD_LEN).unwrap_or(buf);
    memchr::memchr_iter(b'\n', window).find_map(|i| match window.get(i + 1..) {
        Some([b'\n', ..]) => Some(i + 2),
        Some([b'\r', b'\n', ..]) => Some(i + 3),
        _ => None,
    })
}

/// A head's start line and the fields we keep, as raw slices.
#[derive(Default)]
struct Head<'a> {
    start: Vec<&'a [u8]>,
    host: Option<&'a [u8]>,
    user_agent: Option<&'a [u8]>,
    content_type: Option<&'a [u8]>,
    server: Option<&'a [u8]>,
    content_length: Option<&'a [u8]>,
    transfer_encoding: bool,
    flags: HttpFlags,
}

/// Split a head into lines (LF or CRLF) and read the fields we keep. Field names compare
/// case-insensitively (RFC 9110 §5.1). A `complete` head ends in an empty line; an
/// incomplete one (too long) drops its last, cut line.
fn read_head(head: &[u8], complete: bool) -> Head<'_> {
    let mut h = Head::default();
    let mut lines = head.split(|&b| b == b'\n').peekable();
    let mut first = true;
    while let Some(raw) = lines.next() {
        let is_last = lines.peek().is_none();
        if is_last && !complete {
            break;
        }
        let line = match raw.strip_suffix(b"\r") {
            Some(l) => l,
            None => {
                if !is_last {
                    h.flags.insert(HttpFlags::BARE_LF);
                }
                raw
            }
        };
        if first {
            first = false;
            h.start = split_start_line(line, &mut h.flags);
            continue;
        }
        if line.is_empty() {
            break;
        }
        if line.starts_with(b" ") || line.starts_with(b"\t") {
            h.flags.insert(HttpFlags::OBS_FOLD);
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            h.flags.insert(HttpFlags::MALFORMED_FIELD);
            continue;
        };
        let (name, value) = line.split_at(colon);
        let value = trim_ows(value.get(1..).unwrap_or_default());
        if name.is_empty() || name.ends_with(b" ") || name.ends_with(b"\t") {
            h.flags.insert(HttpFlags::MALFORMED_FIELD);
            continue;
        }
        let slot = match name.to_ascii_lowercase().as_slice() {
            b"host" => {
                if h.host.is_some() {
                    h.flags.insert(HttpFlags::DUPLICATE_HOST);
                    continue;
                }
                &mut h.host
            }
            b"user-agent" => &mut h.user_agent,
            b"content-type" => &mut h.content_type,
            b"server" => &mut h.server,
            b"content-length" => &mut h.content_length,
            b"transfer-encoding" => {
                h.transfer_encoding = true;
                continue;
            }
            _ => continue,
        };
        slot.get_or_insert(value);
    }
    h
}

/// Split a start line. A request line is `method SP target SP version` (RFC 9112 §3); runs
/// of whitespace are tolerated as §3 allows, but flagged. A status line is
/// `version SP status SP [reason]` (§4), the reason keeping its spaces; a missing reason
/// with its space is common and tolerated.
fn split_start_line<'a>(line: &'a [u8], flags: &mut HttpFlags) -> Vec<&'a [u8]> {
    if line.starts_with(RESPONSE_PREFIX) {
        let parts: Vec<&[u8]> = line.splitn(3, |&b| b == b' ').collect();
        if parts.len() < 2 {
            flags.insert(HttpFlags::MALFORMED_START_LINE);
        }
        return parts;
    }
    let words: Vec<&[u8]> = line
        .split(|&b| b == b' ' || b == b'\t')
        .filter(|w| !w.is_empty())
        .collect();
    let single_spaces = line
        .split(|&b| b == b' ')
        .all(|w| !w.is_empty() && !w.contains(&b'\t'));
    if words.len() != 3 || !single_spaces {
        flags.insert(HttpFlags::MALFORMED_START_LINE);
    }
    words
}

fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// Packet text made safe for reports and terminals: valid UTF-8 is kept except control
/// and bidi-override characters, which become `\xNN` / `\u{NNNN}` like invalid bytes do;
/// a backslash is doubled so escapes stay unambiguous.
fn safe_text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    // Valid UTF-8 (nearly every field) is checked in one pass, not chunk by chunk.
    if let Ok(text) = std::str::from_utf8(bytes) {
        push_safe(&mut out, text);
        return out;
    }
    for chunk in bytes.utf8_chunks() {
        push_safe(&mut out, chunk.valid());
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// Valid text with control and bidi characters escaped and backslashes doubled.
fn push_safe(out: &mut String, text: &str) {
    let mut rest = text;
    while !rest.is_empty() {
        // Printable ASCII goes out as one copy; only what follows it is looked at per char.
        let plain = rest
            .bytes()
            .position(|b| !(0x20..0x7f).contains(&b) || b == b'\\')
            .unwrap_or(rest.len());
        let (copy, tail) = rest.split_at_checked(plain).unwrap_or((rest, ""));
        out.push_str(copy);
        let mut chars = tail.chars();
        if let Some(c) = chars.next() {
            push_char_escaped(out, c);
        }
        rest = chars.as_str();
    }
}

fn push_char_escaped(out: &mut String, c: char) {
    // Writing to a String never fails.
    match c {
        '\\' => out.push_str("\\\\"),
        c if c.is_ascii_control() => {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        }
        c if c.is_control() || is_bidi_or_invisible(c) => {
            let _ = write!(out, "\\u{{{:04x}}}", u32::from(c));
        }
        c => out.push(c),
    }
}

/// Characters that reorder or hide text on a terminal ("Trojan Source", CVE-2021-42574).
fn is_bidi_or_invisible(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// The Host field's host: port and IPv6 brackets removed, lowercased; and whether it is
/// an IP literal (RFC 3986 §3.2.2).
fn normalize_host(value: &[u8]) -> (String, bool) {
    let host = match value {
        [b'[', rest @ ..] => rest.split(|&b| b == b']').next().unwrap_or_default(),
        _ => match value.iter().rposition(|&b| b == b':') {
            Some(i)
                if value
                    .get(i + 1..)
                    .is_some_and(|p| p.iter().all(u8::is_ascii_digit)) =>
            {
                value.get(..i).unwrap_or_default()
            }
            _ => value,
        },
    };
    let text = safe_text(&host.to_ascii_lowercase());
    let is_ip = text.parse::<IpAddr>().is_ok();
    (text, is_ip)
}

fn text(v: Option<&[u8]>) -> Option<String> {
    v.map(safe_text)
}

/// Per-direction position in the stream.
#[derive(Clone, Copy, Debug, Default)]
struct DirState {
    /// Offset of the next head to read.
    offset: usize,
    /// Nothing more to read in this direction (not HTTP, unknown body length, too long).
    stopped: bool,
}

/// Per-flow HTTP/1.x state over the reassembled TCP streams.
#[derive(Clone, Debug, Default)]
pub struct HttpTracker {
    accepted: bool,
    rejected: bool,
    dirs: [DirState; 2],
}

impl HttpTracker {
    pub fn new() -> HttpTracker {
        HttpTracker::default()
    }

    /// Feed a TCP direction: `stream` holds all contiguous bytes of `dir` so far. Heads
    /// already read are remembered; an incomplete head waits for more bytes.
    ///
    /// Answers [`Progress::Done`] once the first request and the first final response are
    /// read (or both directions have nothing more to give). Later calls still count
    /// requests, as long as the bodies between them have known lengths.
    pub fn on_stream(&mut self, dir: Direction, stream: &[u8], info: &mut HttpInfo) -> Progress {
        if self.rejected {
            return Progress::NotMine;
        }
        if !self.accepted {
            match probe_prefix(skip_empty_lines(stream)) {
                Some(true) => self.accepted = true,
                Some(false) => {
                    self.rejected = true;
                    return Progress::NotMine;
                }
                None => return Progress::NeedMore,
            }
        }
        let st = &mut self.dirs[dir.index()];
        // Each turn consumes at least one head, so the loop is bounded by the stream.
        while !st.stopped {
            let Some(rest) = stream.get(st.offset..) else {
                break; // the previous body has not fully arrived
            };
            let skipped = rest.len() - skip_empty_lines(rest).len();
            let rest = skip_empty_lines(rest);
            match probe_prefix(rest) {
                Some(true) => {}
                Some(false) => {
                    st.stopped = true;
                    break;
                }
                None => break,
            }
            let (head, complete) = match find_head_end(rest) {
                Some(end) => (rest.get(..end).unwrap_or_default(), true),
                None if rest.len() >= MAX_HEAD_LEN => {
                    (rest.get(..MAX_HEAD_LEN).unwrap_or_default(), false)
                }
                None => break,
            };
            let h = read_head(head, complete);
            info.anomalies.insert(h.flags);
            let body = if rest.starts_with(RESPONSE_PREFIX) {
                record_response(&h, info)
            } else {
                record_request(&h, info)
            };
            match body.filter(|_| complete) {
                Some(len) => st.offset += skipped + head.len() + len,
                None => {
                    if !complete {
                        info.anomalies.insert(HttpFlags::HEAD_TOO_LONG);
                    }
                    st.stopped = true;
                }
            }
        }
        let both_stopped = self.dirs.iter().all(|d| d.stopped);
        if (info.request.is_some() && info.response.is_some()) || both_stopped {
            Progress::Done
        } else {
            Progress::NeedMore
        }
    }
}

/// Leading empty lines before a start line are ignored (RFC 9112 §2.2); old clients send
/// an extra CRLF after a POST body.
fn skip_empty_lines(mut b: &[u8]) -> &[u8] {
    while let [b'\r' | b'\n', rest @ ..] = b {
        b = rest;
    }
    b
}

/// Record a request head; returns the length of its body when known (RFC 9112 §6.3:
/// Content-Length, or none at all without Transfer-Encoding).
fn record_request(h: &Head<'_>, info: &mut HttpInfo) -> Option<usize> {
    info.requests = info.requests.saturating_add(1);
    if info.request.is_none() {
        let (host, host_is_ip) = match h.host.map(normalize_host) {
            Some((host, is_ip)) => (Some(host), is_ip),
            None => (None, false),
        };
        info.request = Some(HttpRequestInfo {
            method: text(h.start.first().copied()).unwrap_or_default(),
            target: text(h.start.get(1).copied()),
            version: text(h.start.get(2).copied()),
            host,
            host_is_ip,
            user_agent: text(h.user_agent),
            content_type: text(h.content_type),
        });
    }
    if h.transfer_encoding {
        return None;
    }
    match h.content_length {
        None => Some(0),
        Some(v) => parse_content_length(v),
    }
}

/// Record a response head. Only the first final response is kept; after an interim (1xx)
/// response the next head is read too. Other response bodies are not followed.
fn record_response(h: &Head<'_>, info: &mut HttpInfo) -> Option<usize> {
    if info.response.is_some() {
        return None;
    }
    let status = h
        .start
        .get(1)
        .filter(|s| s.len() == 3 && s.iter().all(u8::is_ascii_digit))
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.parse::<u16>().ok());
    // 101 Switching Protocols ends HTTP on this connection (RFC 9110 §15.2.2).
    if let Some(100 | 102..=199) = status {
        return Some(0);
    }
    info.response = Some(HttpResponseInfo {
        version: text(h.start.first().copied()).unwrap_or_default(),
        status,
        server: text(h.server),
        content_type: text(h.content_type),
    });
    None
}

fn parse_content_length(v: &[u8]) -> Option<usize> {
    if v.is_empty() || v.len() > 15 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(v).ok()?.parse().ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const REQUEST: &[u8] = b"GET /api/v1/join?meeting=123 HTTP/1.1\r\n\
        Host: Zoom.US:8443\r\n\
        User-Agent: Mozilla/5.0 (Zoom)\r\n\
        Accept: */*\r\n\
        \r\n";
    const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\n\
        Server: nginx\r\n\
        Content-Type: application/json; charset=utf-8\r\n\
        Content-Length: 2\r\n\
        \r\n\
        {}";

    /// Feed both directions whole; returns the info and the last progress.
    fn run(to_server: &[u8], to_client: &[u8]) -> (HttpInfo, Progress) {
        let mut t = HttpTracker::new();
        let mut info = HttpInfo::default();
        t.on_stream(Direction::ToServer, to_server, &mut info);
        let p = t.on_stream(Direction::ToClient, to_client, &mut info);
        (info, p)
    }

    #[test]
    fn reads_first_request_and_response() {
        let (info, p) = run(REQUEST, RESPONSE);
        assert_eq!(p, Progress::Done);
        let req = info.request.as_ref().unwrap();
        assert_eq!(req.method, "GET");
        assert_eq!(req.target.as_deref(), Some("/api/v1/join?meeting=123"));
        assert_eq!(req.version.as_deref(), Some("HTTP/1.1"));
        assert_eq!(req.host.as_deref(), Some("zoom.us"));
        assert!(!req.host_is_ip);
        assert_eq!(req.user_agent.as_deref(), Some("Mozilla/5.0 (Zoom)"));
        assert_eq!(req.content_type, None);
        let resp = info.response.as_ref().unwrap();
        assert_eq!(resp.status, Some(200));
        assert_eq!(resp.server.as_deref(), Some("nginx"));
        assert_eq!(
            resp.content_type.as_deref(),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(info.requests, 1);
        assert!(info.anomalies.is_empty());

        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "request": {
                    "method": "GET",
                    "target": "/api/v1/join?meeting=123",
                    "version": "HTTP/1.1",
                    "host": "zoom.us",
                    "user_agent": "Mozilla/5.0 (Zoom)",
                },
                "response": {
                    "version": "HTTP/1.1",
                    "status": 200,
                    "server": "nginx",
                    "content_type": "application/json; charset=utf-8",
                },
                "requests": 1,
            })
        );
    }

    #[test]
    fn every_split_point_gives_the_same_result() {
        let (whole, _) = run(REQUEST, RESPONSE);
        for cut in 0..=REQUEST.len().max(RESPONSE.len()) {
            let mut t = HttpTracker::new();
            let mut info = HttpInfo::default();
            let mut last = Progress::NeedMore;
            for (dir, s) in [
                (Direction::ToServer, REQUEST),
                (Direction::ToClient, RESPONSE),
            ] {
                for part in [&s[..cut.min(s.len())], s] {
                    last = t.on_stream(dir, part, &mut info);
                    assert_ne!(last, Progress::NotMine, "cut {cut}");
                }
            }
            assert_eq!(info, whole, "cut {cut}");
            assert_eq!(last, Progress::Done);
        }
        // Byte by byte, growing one byte per call.
        let mut t = HttpTracker::new();
        let mut info = HttpInfo::default();
        for n in 0..=REQUEST.len() {
            t.on_stream(Direction::ToServer, &REQUEST[..n], &mut info);
        }
        assert_eq!(info.request, whole.request);
        assert_eq!(info.requests, 1);
    }

    #[test]
    fn bare_lf_gives_the_same_fields() {
        let lf: Vec<u8> = REQUEST.iter().copied().filter(|&b| b != b'\r').collect();
        let (crlf, _) = run(REQUEST, b"");
        let (bare, _) = run(&lf, b"");
        assert_eq!(bare.request, crlf.request);
        assert!(bare.anomalies.contains(HttpFlags::BARE_LF));
        assert!(!crlf.anomalies.contains(HttpFlags::BARE_LF));
    }

    #[test]
    fn field_names_are_case_insensitive() {
        let req = b"POST /upload HTTP/1.1\r\nhOsT: Example.COM\r\nUSER-AGENT: x\r\n\
            content-TYPE: text/plain\r\ncontent-length: 0\r\n\r\n";
        let (info, _) = run(req, b"");
        let r = info.request.unwrap();
        assert_eq!(r.host.as_deref(), Some("example.com"));
        assert_eq!(r.user_agent.as_deref(), Some("x"));
        assert_eq!(r.content_type.as_deref(), Some("text/plain"));
    }

    #[test]
    fn ip_literal_hosts_are_kept_and_flagged() {
        for (field, host) in [
            ("192.0.2.7:8080", "192.0.2.7"),
            ("[2001:DB8::1]:80", "2001:db8::1"),
            ("[2001:db8::2]", "2001:db8::2"),
            ("10.0.0.1", "10.0.0.1"),
        ] {
            let req = format!("GET / HTTP/1.1\r\nHost: {field}\r\n\r\n");
            let r = run(req.as_bytes(), b"").0.request.unwrap();
            assert_eq!(r.host.as_deref(), Some(host), "{field}");
            assert!(r.host_is_ip, "{field}");
        }
        let r = run(b"GET / HTTP/1.1\r\nHost: a.example:\r\n\r\n", b"")
            .0
            .request
            .unwrap();
        assert_eq!(r.host.as_deref(), Some("a.example"));
        assert!(!r.host_is_ip);
    }

    #[test]
    fn head_too_long_reads_what_fits_and_stops() {
        let mut req = b"GET /big HTTP/1.1\r\nHost: big.example\r\n".to_vec();
        while req.len() < MAX_HEAD_LEN + 100 {
            req.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        let mut t = HttpTracker::new();
        let mut info = HttpInfo::default();
        assert_eq!(
            t.on_stream(Direction::ToServer, &req[..MAX_HEAD_LEN - 1], &mut info),
            Progress::NeedMore
        );
        assert!(info.request.is_none(), "an incomplete head waits");
        t.on_stream(Direction::ToServer, &req, &mut info);
        assert!(info.anomalies.contains(HttpFlags::HEAD_TOO_LONG));
        let r = info.request.as_ref().unwrap();
        assert_eq!(r.host.as_deref(), Some("big.example"));
        // The direction is finished: more bytes change nothing.
        req.extend_from_slice(b"\r\n\r\nGET / HTTP/1.1\r\n\r\n");
        t.on_stream(Direction::ToServer, &req, &mut info);
        assert_eq!(info.requests, 1);
    }

    #[test]
    fn counts_pipelined_requests_across_known_bodies() {
        let mut s = REQUEST.to_vec();
        s.extend_from_slice(
            b"POST /x HTTP/1.1\r\nHost: zoom.us\r\nContent-Length: 5\r\n\r\nhello\r\n",
        );
        s.extend_from_slice(b"GET /y HTTP/1.1\r\nHost: zoom.us\r\n\r\n");
        let (info, _) = run(&s, b"");
        assert_eq!(info.requests, 3);
        assert_eq!(
            info.request.unwrap().target.as_deref(),
            Some("/api/v1/join?meeting=123")
        );

        let mut s =
            b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                .to_vec();
        s.extend_from_slice(REQUEST);
        assert_eq!(run(&s, b"").0.requests, 1, "a chunked body stops the count");
    }

    #[test]
    fn interim_response_is_skipped() {
        let mut s = b"HTTP/1.1 100 Continue\r\n\r\n".to_vec();
        s.extend_from_slice(RESPONSE);
        let (info, _) = run(REQUEST, &s);
        assert_eq!(info.response.unwrap().status, Some(200));
    }

    #[test]
    fn flow_starting_with_a_response_is_read_by_content() {
        let mut t = HttpTracker::new();
        let mut info = HttpInfo::default();
        let p = t.on_stream(Direction::ToServer, RESPONSE, &mut info);
        assert_eq!(p, Progress::NeedMore);
        assert_eq!(info.response.as_ref().unwrap().status, Some(200));
        assert!(info.request.is_none());
    }

    #[test]
    fn texts_are_escaped() {
        let req =
            b"GET /\x1b[31m HTTP/1.1\r\nUser-Agent: a\\b\x07\xff\xe2\x80\xaeevil \xc3\xa9\r\n\r\n";
        let r = run(req, b"").0.request.unwrap();
        assert_eq!(r.target.as_deref(), Some("/\\x1b[31m"));
        assert_eq!(
            r.user_agent.as_deref(),
            Some("a\\\\b\\x07\\xff\\u{202e}evil \u{e9}")
        );
    }

    #[test]
    fn malformed_lines_are_flagged() {
        let req = b"GET /only-two-parts\r\nHost: a\r\nHost: b\r\nno colon here\r\nBad : x\r\n folded\r\n\r\n";
        let (info, _) = run(req, b"");
        for f in [
            HttpFlags::MALFORMED_START_LINE,
            HttpFlags::DUPLICATE_HOST,
            HttpFlags::MALFORMED_FIELD,
            HttpFlags::OBS_FOLD,
        ] {
            assert!(info.anomalies.contains(f), "{f:?}");
        }
        let r = info.request.unwrap();
        assert_eq!(r.host.as_deref(), Some("a"));
        assert_eq!(r.version, None);
        let json = serde_json::to_value(info.anomalies).unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                "malformed_start_line",
                "malformed_field",
                "obs_fold",
                "duplicate_host"
            ])
        );
    }

    #[test]
    fn start_line_whitespace_is_tolerated_but_flagged() {
        let (info, _) = run(
            b"GET      /long_uri HTTP/1.1\r\nHost: a\r\n\r\n",
            b"HTTP/1.1 204\r\n\r\n",
        );
        let r = info.request.unwrap();
        assert_eq!(r.target.as_deref(), Some("/long_uri"));
        assert_eq!(r.version.as_deref(), Some("HTTP/1.1"));
        assert_eq!(info.response.unwrap().status, Some(204));
        assert_eq!(info.anomalies, HttpFlags::MALFORMED_START_LINE);
    }

    #[test]
    fn probe_and_rejection() {
        assert!(probe(b"GET / HTTP/1.1\r\n"));
        assert!(probe(b"OPTIONS * HTTP/1.1"));
        assert!(probe(b"HTTP/1.0 404 Not Found"));
        assert!(!probe(b"GET"), "needs the space");
        assert!(!probe(b"GETX / HTTP/1.1"));
        assert!(!probe(b"HTTP/2.0 200"));
        assert!(!probe(b"\x16\x03\x01\x02\x00"));
        assert!(!probe(b""));

        let mut t = HttpTracker::new();
        let mut info = HttpInfo::default();
        assert_eq!(
            t.on_stream(Direction::ToServer, b"GE", &mut info),
            Progress::NeedMore
        );
        assert_eq!(
            t.on_stream(Direction::ToServer, b"GEX", &mut info),
            Progress::NotMine
        );
        assert_eq!(
            t.on_stream(Direction::ToServer, REQUEST, &mut info),
            Progress::NotMine
        );
        assert_eq!(info, HttpInfo::default());
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(
            a in proptest::collection::vec(any::<u8>(), 0..400),
            b in proptest::collection::vec(any::<u8>(), 0..400),
            cut in any::<prop::sample::Index>(),
        ) {
            let _ = probe(&a);
            let mut t = HttpTracker::new();
            let mut info = HttpInfo::default();
            let _ = t.on_stream(Direction::ToServer, &a[..cut.index(a.len() + 1)], &mut info);
            let _ = t.on_stream(Direction::ToServer, &a, &mut info);
            let _ = t.on_stream(Direction::ToClient, &b, &mut info);
        }

        #[test]
        fn random_heads_never_panic_and_stay_printable(
            fields in proptest::collection::vec(
                (prop::sample::select(vec!["Host", "user-agent", "Content-Type", "Server", "Content-Length", "X"]),
                 proptest::collection::vec(any::<u8>(), 0..40)),
                0..8),
            response in any::<bool>(),
        ) {
            let mut s = if response { b"HTTP/1.1 200 OK\r\n".to_vec() } else { b"GET / HTTP/1.1\r\n".to_vec() };
            for (name, value) in &fields {
                s.extend_from_slice(name.as_bytes());
                s.extend_from_slice(b": ");
                s.extend_from_slice(value);
                s.extend_from_slice(b"\r\n");
            }
            s.extend_from_slice(b"\r\n");
            let mut t = HttpTracker::new();
            let mut info = HttpInfo::default();
            let _ = t.on_stream(Direction::ToServer, &s, &mut info);
            let texts = info.request.iter().flat_map(|r| {
                [Some(&r.method), r.target.as_ref(), r.host.as_ref(), r.user_agent.as_ref(), r.content_type.as_ref()]
            }).chain(info.response.iter().flat_map(|r| [Some(&r.version), r.server.as_ref(), r.content_type.as_ref()]));
            for t in texts.flatten() {
                prop_assert!(!t.chars().any(|c| c.is_control() || is_bidi_or_invisible(c)), "{t:?}");
            }
            prop_assert!(info.request.is_some() || info.response.is_some());
        }

        #[test]
        fn safe_text_matches_char_by_char(
            bytes in proptest::collection::vec(
                prop_oneof![any::<u8>(), Just(b'\\'), 0x20u8..0x7f],
                0..80,
            ),
            special in prop::sample::select(vec!["", "\u{202e}", "\u{85}", "é", "\u{feff}"]),
        ) {
            let mut bytes = bytes;
            bytes.extend_from_slice(special.as_bytes());
            bytes.extend_from_slice(b"a\x1b");
            prop_assert_eq!(safe_text(&bytes), safe_text_by_char(&bytes));
        }
    }

    /// The first, char-by-char form of `safe_text`: the reference its fast path must match.
    fn safe_text_by_char(bytes: &[u8]) -> String {
        let mut out = String::new();
        for chunk in bytes.utf8_chunks() {
            for c in chunk.valid().chars() {
                push_char_escaped(&mut out, c);
            }
            for b in chunk.invalid() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        }
        out
    }
}
