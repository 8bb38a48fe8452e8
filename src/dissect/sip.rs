//! SIP signalling in clear (UDP, or TCP framed by Content-Length): who calls whom, with
//! which software, and the SDP that announces media — including SDES keys sent in clear.
//! SIP over TLS (port 5061) is not readable and not handled here.
//!
//! References:
//! - RFC 3261 (SIP) §7 message format, §7.3.3 compact forms, §18.3 framing, §20 headers,
//!   §24 examples: <https://www.rfc-editor.org/rfc/rfc3261>
//! - RFC 5626 §3.5.1 (CRLF keep-alives between messages on a stream)
//! - RFC 4568 (SDES keys in SDP), see [`crate::dissect::sdp`]

use crate::dissect::sdp::{self, SdpSummary};
use crate::model::{Direction, Progress};
use serde::Serialize;
use std::net::IpAddr;
use thiserror::Error;

/// Longest header block read (start line to the empty line). RFC 3261 sets no limit; real
/// INVITEs with several Via and Record-Route headers stay under 4 KiB.
pub const MAX_HEADER_BLOCK_LEN: usize = 16 * 1024;
/// Largest body parsed (an SDP offer with many ICE candidates is < 8 KiB). Larger bodies
/// are skipped on streams, not parsed.
pub const MAX_BODY_LEN: usize = 64 * 1024;
/// Header lines read per message.
pub const MAX_HEADERS: usize = 128;
/// Longest text kept from a packet (URIs, user agents, Call-IDs).
pub const MAX_TEXT_LEN: usize = 256;
/// Distinct methods kept.
pub const MAX_METHODS: usize = 16;
/// Distinct response codes kept.
pub const MAX_RESPONSE_CODES: usize = 16;
/// Distinct Call-IDs kept.
pub const MAX_CALL_IDS: usize = 8;
/// Distinct Via sent-by values kept.
pub const MAX_VIA: usize = 8;
/// SDP bodies kept.
pub const MAX_SDP: usize = 8;
/// Messages read per flow before the tracker reports Done.
pub const MAX_MESSAGES: u32 = 256;
/// Messages read per `on_stream` call.
pub const MAX_MESSAGES_PER_CALL: usize = 64;

/// Why a message could not be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SipError {
    #[error("sip: header block incomplete ({have} bytes, no empty line yet)")]
    Incomplete { have: usize },
    #[error("sip: body incomplete (need {need} bytes, have {have})")]
    BodyIncomplete { need: usize, have: usize },
    #[error("sip: header block longer than {MAX_HEADER_BLOCK_LEN} bytes")]
    HeaderTooLong,
    #[error("sip: bad start line at offset 0")]
    BadStartLine,
    #[error("sip: bad Content-Length at offset {offset}")]
    BadContentLength { offset: usize },
}

/// Request line or status line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartLine<'a> {
    Request { method: &'a [u8], uri: &'a [u8] },
    Response { code: u16 },
}

/// The headers leakscope reads (RFC 3261 §20), full and compact names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Header {
    Via,
    From,
    To,
    CallId,
    CSeq,
    Contact,
    UserAgent,
    Server,
    ContentType,
    ContentLength,
}

impl Header {
    /// RFC 3261 §7.3.3 and §20: names are case-insensitive; compact forms are one letter.
    pub fn from_name(name: &[u8]) -> Option<Header> {
        const NAMES: [(&[u8], Header); 17] = [
            (b"via", Header::Via),
            (b"v", Header::Via),
            (b"from", Header::From),
            (b"f", Header::From),
            (b"to", Header::To),
            (b"t", Header::To),
            (b"call-id", Header::CallId),
            (b"i", Header::CallId),
            (b"cseq", Header::CSeq),
            (b"contact", Header::Contact),
            (b"m", Header::Contact),
            (b"user-agent", Header::UserAgent),
            (b"server", Header::Server),
            (b"content-type", Header::ContentType),
            (b"c", Header::ContentType),
            (b"content-length", Header::ContentLength),
            (b"l", Header::ContentLength),
        ];
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, h)| h)
    }
}

/// One SIP message, borrowed from the packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipMessage<'a> {
    pub start: StartLine<'a>,
    /// Known headers in order; values trimmed, possibly spanning folded lines.
    pub headers: Vec<(Header, &'a [u8])>,
    pub body: &'a [u8],
    /// Content-Length was absent (allowed on UDP only).
    pub no_content_length: bool,
    /// The datagram held fewer body bytes than Content-Length said.
    pub body_truncated: bool,
}

impl<'a> SipMessage<'a> {
    pub fn header(&self, h: Header) -> Option<&'a [u8]> {
        self.headers.iter().find(|(n, _)| *n == h).map(|&(_, v)| v)
    }
}

/// Whether bytes start like SIP: `METHOD sip:` / `METHOD sips:` or `SIP/2.0 `.
pub fn probe(first_bytes: &[u8]) -> bool {
    probe_prefix(first_bytes) == Some(true)
}

/// `first_bytes` can no longer become a [`probe`] match, however the stream continues.
pub fn ruled_out(first_bytes: &[u8]) -> bool {
    probe_prefix(first_bytes) == Some(false)
}

/// Some(true) = SIP, Some(false) = not SIP, None = too short to tell.
fn probe_prefix(b: &[u8]) -> Option<bool> {
    const STATUS: &[u8] = b"SIP/2.0 ";
    let n = b.len().min(STATUS.len());
    if b.get(..n)? == STATUS.get(..n)? {
        return if n == STATUS.len() { Some(true) } else { None };
    }
    let method_len = b.iter().take_while(|c| c.is_ascii_uppercase()).count();
    if method_len > 16 {
        return Some(false);
    }
    let rest = b.get(method_len..).filter(|r| !r.is_empty())?;
    if method_len == 0 || rest.first() != Some(&b' ') {
        return Some(false);
    }
    let rest = rest.get(1..).unwrap_or_default();
    for scheme in [&b"sip:"[..], b"sips:"] {
        let k = rest.len().min(scheme.len());
        if rest
            .get(..k)
            .is_some_and(|r| r.eq_ignore_ascii_case(&scheme[..k]))
        {
            return if k == scheme.len() { Some(true) } else { None };
        }
    }
    Some(false)
}

/// Parse one message at the start of `buf`. `datagram` selects UDP rules (RFC 3261 §18.3:
/// Content-Length optional, the body ends with the datagram). Returns the message and the
/// bytes it occupies.
pub fn parse_message(buf: &[u8], datagram: bool) -> Result<(SipMessage<'_>, usize), SipError> {
    let (head_len, sep_len) = match find_header_end(buf) {
        Some(end) => end,
        // A datagram is the whole message even without the blank line.
        None if datagram => (buf.len(), 0),
        None if buf.len() > MAX_HEADER_BLOCK_LEN => return Err(SipError::HeaderTooLong),
        None => return Err(SipError::Incomplete { have: buf.len() }),
    };
    if head_len > MAX_HEADER_BLOCK_LEN {
        return Err(SipError::HeaderTooLong);
    }
    let head = buf.get(..head_len).unwrap_or_default();
    let mut lines = HeaderLines::new(head);
    let start = parse_start_line(lines.next().map(|(_, l)| l).unwrap_or_default())?;
    let mut headers = Vec::new();
    let mut content_length = None;
    for (offset, line) in lines.take(MAX_HEADERS) {
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            continue;
        };
        let name = trim(line.get(..colon).unwrap_or_default());
        let value = trim(line.get(colon + 1..).unwrap_or_default());
        let Some(h) = Header::from_name(name) else {
            continue;
        };
        if h == Header::ContentLength && content_length.is_none() {
            let n = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.parse::<usize>().ok());
            content_length = Some(n.ok_or(SipError::BadContentLength { offset })?);
        }
        headers.push((h, value));
    }
    let body_start = head_len + sep_len;
    let available = buf.len().saturating_sub(body_start);
    let (body_len, body_truncated) = match (content_length, datagram) {
        (Some(n), true) => (n.min(available), n > available),
        (None, true) => (available, false),
        (Some(n), false) if n > available => {
            return Err(SipError::BodyIncomplete {
                need: n,
                have: available,
            });
        }
        (Some(n), false) => (n, false),
        // RFC 3261 §18.3 makes Content-Length mandatory on streams; read it as 0.
        (None, false) => (0, false),
    };
    let body = buf
        .get(body_start..body_start + body_len)
        .unwrap_or_default();
    let msg = SipMessage {
        start,
        headers,
        body,
        no_content_length: content_length.is_none(),
        body_truncated,
    };
    Ok((msg, body_start + body_len))
}

/// End of the header block: (length up to the last header line, length of the blank-line
/// separator). Accepts bare LF line ends (RFC 3261 §7.5 asks for CRLF; some agents send LF).
fn find_header_end(buf: &[u8]) -> Option<(usize, usize)> {
    let limit = buf.len().min(MAX_HEADER_BLOCK_LEN + 4);
    let scan = buf.get(..limit)?;
    let mut i = 0;
    while let Some(pos) = scan.get(i..)?.iter().position(|&c| c == b'\n') {
        let nl = i + pos;
        let after = scan.get(nl + 1..).unwrap_or_default();
        if after.starts_with(b"\r\n") {
            return Some((nl + 1, 2));
        }
        if after.starts_with(b"\n") {
            return Some((nl + 1, 1));
        }
        i = nl + 1;
    }
    None
}

/// Header lines with their offsets, folded continuation lines (RFC 3261 §7.3.1) joined.
struct HeaderLines<'a> {
    head: &'a [u8],
    pos: usize,
}

impl<'a> HeaderLines<'a> {
    fn new(head: &'a [u8]) -> Self {
        HeaderLines { head, pos: 0 }
    }
}

impl<'a> Iterator for HeaderLines<'a> {
    type Item = (usize, &'a [u8]);

    fn next(&mut self) -> Option<(usize, &'a [u8])> {
        let start = self.pos;
        let rest = self.head.get(start..).filter(|r| !r.is_empty())?;
        let mut end = 0;
        loop {
            let nl = rest.get(end..)?.iter().position(|&c| c == b'\n');
            let Some(nl) = nl else {
                end = rest.len();
                break;
            };
            end += nl + 1;
            if !matches!(rest.get(end), Some(b' ' | b'\t')) {
                break;
            }
        }
        self.pos = start + end;
        Some((start, trim(rest.get(..end).unwrap_or_default())))
    }
}

fn parse_start_line(line: &[u8]) -> Result<StartLine<'_>, SipError> {
    let mut parts = line.split(|&c| c == b' ').filter(|p| !p.is_empty());
    let first = parts.next().ok_or(SipError::BadStartLine)?;
    if first.eq_ignore_ascii_case(b"SIP/2.0") {
        let code = parts
            .next()
            .and_then(|c| std::str::from_utf8(c).ok()?.parse::<u16>().ok());
        return match code {
            Some(c @ 100..=699) => Ok(StartLine::Response { code: c }),
            _ => Err(SipError::BadStartLine),
        };
    }
    let uri = parts.next().ok_or(SipError::BadStartLine)?;
    let version = parts.next().ok_or(SipError::BadStartLine)?;
    if !first.iter().all(|c| c.is_ascii_alphabetic()) || !version.eq_ignore_ascii_case(b"SIP/2.0") {
        return Err(SipError::BadStartLine);
    }
    Ok(StartLine::Request { method: first, uri })
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    b.get(start..end).unwrap_or_default()
}

/// Owned, bounded text: lossy UTF-8, whitespace runs (folded lines) collapsed to one space.
fn text(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    let mut out = String::new();
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
        if out.len() >= MAX_TEXT_LEN {
            break;
        }
    }
    let mut end = out.len().min(MAX_TEXT_LEN);
    while !out.is_char_boundary(end) {
        end -= 1;
    }
    out.truncate(end);
    out
}

/// `user@host` from a From/To/Contact value: display name, tag and other parameters, URI
/// scheme, password and port removed.
pub fn user_at_host(value: &[u8]) -> Option<String> {
    let v = trim(value);
    let uri = match v.iter().position(|&c| c == b'<') {
        Some(lt) => {
            let inner = v.get(lt + 1..)?;
            inner.get(..inner.iter().position(|&c| c == b'>').unwrap_or(inner.len()))?
        }
        // addr-spec form: everything after ';' is a header parameter.
        None => v.split(|&c| c == b';').next()?,
    };
    let uri = uri.split(|&c| c == b';' || c == b'?').next()?;
    let colon = uri.iter().position(|&c| c == b':')?;
    let scheme = uri.get(..colon)?;
    let rest = if [&b"sip"[..], b"sips", b"tel"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
    {
        uri.get(colon + 1..)?
    } else {
        uri
    };
    let (user, host) = match rest.iter().rposition(|&c| c == b'@') {
        Some(at) => (rest.get(..at), rest.get(at + 1..)?),
        None => (None, rest),
    };
    let user = user.map(|u| u.split(|&c| c == b':').next().unwrap_or_default());
    let host = strip_port(host);
    let s = match user {
        Some(u) => format!("{}@{}", text(u), text(host)),
        None => text(host),
    };
    (!s.is_empty()).then(|| text(s.as_bytes()))
}

/// `host:port` → `host`, `[v6]:port` → `[v6]`.
fn strip_port(host: &[u8]) -> &[u8] {
    if host.first() == Some(&b'[') {
        let end = host
            .iter()
            .position(|&c| c == b']')
            .map_or(host.len(), |e| e + 1);
        return host.get(..end).unwrap_or(host);
    }
    host.split(|&c| c == b':').next().unwrap_or(host)
}

/// An SDP body and the message that carried it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SipSdp {
    /// Who sent it (an offer and its answer come from opposite directions).
    pub dir: Direction,
    /// CSeq method (`INVITE`, `ACK`, `UPDATE`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cseq_method: Option<String>,
    /// Status code when a response carried it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_code: Option<u16>,
    pub sdp: SdpSummary,
}

/// Something odd in a SIP flow. Recorded once each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SipAnomaly {
    BadStartLine,
    BadContentLength,
    HeaderTooLong,
    BodyTooLong,
    BodyTruncated,
    /// A stream message without Content-Length (RFC 3261 §18.3 requires it).
    MissingContentLength,
    /// The caller's stream got shorter than what was already read.
    StreamRewound,
}

/// What a SIP flow revealed. Embedded in flow output as `"sip": {...}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SipInfo {
    pub messages: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_uri: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub response_codes: Vec<u16>,
    /// First From, as `user@host`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub call_ids: Vec<String>,
    /// Via sent-by values (`host[:port]`); they often reveal private addresses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sdp: Vec<SipSdp>,
    /// An SDP in this clear-text SIP carried an SDES `inline:` key: the media can be
    /// decrypted by anyone on the path.
    pub keys_in_clear: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub anomalies: Vec<SipAnomaly>,
}

impl SipInfo {
    /// Media addresses announced in SDP (m= port on the c= address, and ICE candidates with
    /// IP literals), with the m= proto, so later RTP flows can be linked to their SDP.
    /// Disabled streams (port 0) and unspecified addresses are left out.
    pub fn media_endpoints(&self) -> Vec<(IpAddr, u16, &str)> {
        let mut out: Vec<(IpAddr, u16, &str)> = Vec::new();
        for s in &self.sdp {
            for m in &s.sdp.media {
                let proto = m.proto.as_str();
                let mut push = |ip: IpAddr, port: u16| {
                    if port != 0
                        && !ip.is_unspecified()
                        && !out.iter().any(|e| (e.0, e.1) == (ip, port))
                    {
                        out.push((ip, port, proto));
                    }
                };
                if let Some(ip) = m.addr {
                    push(ip, m.port);
                }
                for c in &m.candidates {
                    if let Some(ip) = c.ip {
                        push(ip, c.port);
                    }
                }
            }
        }
        out
    }

    fn note(&mut self, a: SipAnomaly) {
        if !self.anomalies.contains(&a) {
            self.anomalies.push(a);
        }
    }

    fn absorb(&mut self, dir: Direction, msg: &SipMessage<'_>) {
        self.messages = self.messages.saturating_add(1);
        let mut response_code = None;
        match msg.start {
            StartLine::Request { method, uri } => {
                push_distinct(&mut self.methods, text(method), MAX_METHODS);
                if self.request_uri.is_none() {
                    self.request_uri = Some(text(uri));
                }
            }
            StartLine::Response { code } => {
                response_code = Some(code);
                if !self.response_codes.contains(&code)
                    && self.response_codes.len() < MAX_RESPONSE_CODES
                {
                    self.response_codes.push(code);
                }
            }
        }
        let mut cseq_method = None;
        for &(h, v) in &msg.headers {
            match h {
                Header::From if self.from.is_none() => self.from = user_at_host(v),
                Header::To if self.to.is_none() => self.to = user_at_host(v),
                Header::Contact if self.contact.is_none() => self.contact = user_at_host(v),
                Header::CallId => push_distinct(&mut self.call_ids, text(v), MAX_CALL_IDS),
                Header::UserAgent if self.user_agent.is_none() => self.user_agent = Some(text(v)),
                Header::Server if self.server.is_none() => self.server = Some(text(v)),
                Header::CSeq => {
                    cseq_method = v
                        .split(|c| c.is_ascii_whitespace())
                        .filter(|p| !p.is_empty())
                        .nth(1)
                        .map(text);
                }
                Header::Via => {
                    // "SIP/2.0/UDP host:port;params, SIP/2.0/TCP ..." (one header may hold several hops)
                    for hop in v.split(|&c| c == b',') {
                        let sent_by = trim(hop)
                            .split(|c| c.is_ascii_whitespace())
                            .filter(|p| !p.is_empty())
                            .nth(1)
                            .and_then(|s| s.split(|&c| c == b';').next());
                        if let Some(s) = sent_by.filter(|s| !s.is_empty()) {
                            push_distinct(&mut self.via, text(s), MAX_VIA);
                        }
                    }
                }
                _ => {}
            }
        }
        if msg.body_truncated {
            self.note(SipAnomaly::BodyTruncated);
        }
        if is_sdp(msg) {
            if msg.body.len() > MAX_BODY_LEN {
                self.note(SipAnomaly::BodyTooLong);
                return;
            }
            let sdp = sdp::parse_sdp(msg.body);
            self.keys_in_clear |= sdp.keys_in_clear();
            let entry = SipSdp {
                dir,
                cseq_method,
                response_code,
                sdp,
            };
            // Retransmissions repeat the same SDP.
            if self.sdp.len() < MAX_SDP && !self.sdp.contains(&entry) {
                self.sdp.push(entry);
            }
        }
    }
}

/// The body is SDP: Content-Type application/sdp, or no Content-Type and a body that
/// starts with `v=0`.
fn is_sdp(msg: &SipMessage<'_>) -> bool {
    if msg.body.is_empty() {
        return false;
    }
    match msg.header(Header::ContentType) {
        Some(ct) => {
            let media_type = trim(ct.split(|&c| c == b';').next().unwrap_or_default());
            media_type.eq_ignore_ascii_case(b"application/sdp")
        }
        None => msg.body.starts_with(b"v=0"),
    }
}

fn push_distinct(list: &mut Vec<String>, v: String, max: usize) {
    if !v.is_empty() && list.len() < max && !list.contains(&v) {
        list.push(v);
    }
}

/// Per-flow SIP state: how much of each TCP direction was already read.
#[derive(Debug, Default)]
pub struct SipTracker {
    state: TrackerState,
    consumed: [usize; 2],
    /// A direction whose bytes stopped making sense; it is no longer read.
    stuck: [bool; 2],
}

#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
enum TrackerState {
    #[default]
    Fresh,
    Active,
    Rejected,
    Done,
}

impl SipTracker {
    /// Feed one UDP datagram (one SIP message, RFC 3261 §18.3).
    pub fn on_datagram(&mut self, dir: Direction, payload: &[u8], info: &mut SipInfo) -> Progress {
        // Keep-alives (RFC 5626 §4.4.1: CRLF on UDP is a STUN-less variant) carry nothing.
        let payload = skip_crlf(payload);
        if !payload.is_empty() && payload.iter().all(|&c| c == 0 || c.is_ascii_whitespace()) {
            // Other keep-alives seen in the wild: spaces or NUL bytes.
            return if self.state == TrackerState::Fresh {
                Progress::NeedMore
            } else {
                self.progress(info)
            };
        }
        if let Some(p) = self.gate(payload) {
            return p;
        }
        if payload.is_empty() {
            return Progress::NeedMore;
        }
        match parse_message(payload, true) {
            Ok((msg, _)) => info.absorb(dir, &msg),
            Err(e) => info.note(anomaly_of(&e)),
        }
        self.progress(info)
    }

    /// Feed a TCP direction: `stream` is every contiguous byte of `dir` so far.
    pub fn on_stream(&mut self, dir: Direction, stream: &[u8], info: &mut SipInfo) -> Progress {
        let d = dir.index();
        for _ in 0..MAX_MESSAGES_PER_CALL {
            if self.stuck[d] || self.state == TrackerState::Done {
                break;
            }
            let Some(rest) = stream.get(self.consumed[d]..) else {
                info.note(SipAnomaly::StreamRewound);
                self.stuck[d] = true;
                break;
            };
            let trimmed = skip_crlf(rest);
            self.consumed[d] += rest.len() - trimmed.len();
            if let Some(p) = self.gate(trimmed) {
                return p;
            }
            if trimmed.is_empty() {
                break;
            }
            match parse_message(trimmed, false) {
                Ok((msg, used)) => {
                    if msg.no_content_length {
                        info.note(SipAnomaly::MissingContentLength);
                    }
                    info.absorb(dir, &msg);
                    self.consumed[d] += used;
                    if self.progress(info) == Progress::Done {
                        return Progress::Done;
                    }
                }
                Err(SipError::Incomplete { .. }) => break,
                Err(SipError::BodyIncomplete { need, .. }) if need > MAX_BODY_LEN => {
                    // Too big to parse; wait until it is all there, then step over it.
                    info.note(SipAnomaly::BodyTooLong);
                    break;
                }
                Err(SipError::BodyIncomplete { .. }) => break,
                Err(e) => {
                    info.note(anomaly_of(&e));
                    self.stuck[d] = true;
                }
            }
        }
        if self.stuck == [true, true] {
            self.state = TrackerState::Done;
        }
        self.progress(info)
    }

    /// Decide on the first bytes. Some(progress) ends the call.
    fn gate(&mut self, first: &[u8]) -> Option<Progress> {
        match self.state {
            TrackerState::Rejected => Some(Progress::NotMine),
            TrackerState::Done => Some(Progress::Done),
            TrackerState::Active => None,
            TrackerState::Fresh => match probe_prefix(first) {
                Some(true) => {
                    self.state = TrackerState::Active;
                    None
                }
                Some(false) => {
                    self.state = TrackerState::Rejected;
                    Some(Progress::NotMine)
                }
                None => Some(Progress::NeedMore),
            },
        }
    }

    fn progress(&mut self, info: &SipInfo) -> Progress {
        if self.state == TrackerState::Done || info.messages >= MAX_MESSAGES {
            self.state = TrackerState::Done;
            Progress::Done
        } else {
            Progress::NeedMore
        }
    }
}

fn skip_crlf(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|&&c| c == b'\r' || c == b'\n').count();
    b.get(n..).unwrap_or_default()
}

fn anomaly_of(e: &SipError) -> SipAnomaly {
    match e {
        SipError::HeaderTooLong | SipError::Incomplete { .. } => SipAnomaly::HeaderTooLong,
        SipError::BodyIncomplete { .. } => SipAnomaly::BodyTruncated,
        SipError::BadStartLine => SipAnomaly::BadStartLine,
        SipError::BadContentLength { .. } => SipAnomaly::BadContentLength,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// SDP for the INVITE: RFC 3261 §24.2 leaves "Alice's SDP not shown"; this one follows
    /// RFC 4568 §9.1 (SDES key in clear).
    const ALICE_SDP: &str = "v=0\r\n\
        o=alice 2890844526 2890844526 IN IP4 pc33.atlanta.com\r\n\
        s=-\r\n\
        c=IN IP4 192.0.2.101\r\n\
        t=0 0\r\n\
        m=audio 49172 RTP/SAVP 0\r\n\
        a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4\r\n\
        a=rtpmap:0 PCMU/8000\r\n";

    const BOB_SDP: &str = "v=0\r\n\
        o=bob 2808844564 2808844564 IN IP4 192.0.2.4\r\n\
        s=-\r\n\
        c=IN IP4 192.0.2.4\r\n\
        t=0 0\r\n\
        m=audio 3456 RTP/AVP 0\r\n\
        a=rtpmap:0 PCMU/8000\r\n";

    /// RFC 3261 §24.2 F1, with a body.
    fn invite() -> String {
        format!(
            "INVITE sip:bob@biloxi.com SIP/2.0\r\n\
             Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8\r\n\
             Max-Forwards: 70\r\n\
             To: Bob <sip:bob@biloxi.com>\r\n\
             From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n\
             Call-ID: a84b4c76e66710\r\n\
             CSeq: 314159 INVITE\r\n\
             Contact: <sip:alice@pc33.atlanta.com>\r\n\
             Content-Type: application/sdp\r\n\
             Content-Length: {}\r\n\r\n{ALICE_SDP}",
            ALICE_SDP.len()
        )
    }

    /// RFC 3261 §24.2 F9 (200 OK from Bob), with a body.
    fn ok_invite() -> String {
        format!(
            "SIP/2.0 200 OK\r\n\
             Via: SIP/2.0/UDP server10.biloxi.com;branch=z9hG4bK4b43c2ff8.1;received=192.0.2.3\r\n\
             Via: SIP/2.0/UDP bigbox3.site3.atlanta.com;branch=z9hG4bK77ef4c2312983.1;received=192.0.2.2\r\n\
             Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8;received=192.0.2.1\r\n\
             To: Bob <sip:bob@biloxi.com>;tag=a6c85cf\r\n\
             From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n\
             Call-ID: a84b4c76e66710\r\n\
             CSeq: 314159 INVITE\r\n\
             Contact: <sip:bob@192.0.2.4>\r\n\
             Server: ExamplePBX/1.0\r\n\
             Content-Type: application/sdp\r\n\
             Content-Length: {}\r\n\r\n{BOB_SDP}",
            BOB_SDP.len()
        )
    }

    /// RFC 3261 §24.2 F11.
    const ACK: &str = "ACK sip:bob@192.0.2.4 SIP/2.0\r\n\
        Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds9\r\n\
        Max-Forwards: 70\r\n\
        To: Bob <sip:bob@biloxi.com>;tag=a6c85cf\r\n\
        From: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n\
        Call-ID: a84b4c76e66710\r\n\
        CSeq: 314159 ACK\r\n\
        Content-Length: 0\r\n\r\n";

    /// RFC 3261 §24.2 F13.
    const BYE: &str = "BYE sip:alice@pc33.atlanta.com SIP/2.0\r\n\
        Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKnashds10\r\n\
        Max-Forwards: 70\r\n\
        From: Bob <sip:bob@biloxi.com>;tag=a6c85cf\r\n\
        To: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n\
        Call-ID: a84b4c76e66710\r\n\
        CSeq: 231 BYE\r\n\
        Content-Length: 0\r\n\r\n";

    /// RFC 3261 §24.2 F14.
    const OK_BYE: &str = "SIP/2.0 200 OK\r\n\
        Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKnashds10\r\n\
        From: Bob <sip:bob@biloxi.com>;tag=a6c85cf\r\n\
        To: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n\
        Call-ID: a84b4c76e66710\r\n\
        CSeq: 231 BYE\r\n\
        Content-Length: 0\r\n\r\n";

    /// RFC 3261 §7.3.3 compact forms (example adapted from RFC 4475 §3.1.1.2).
    const COMPACT: &str = "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\r\n\
        v:  SIP/2.0/UDP 192.0.2.2;branch=390skdjuw\r\n\
        f: \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8\r\n\
        t:<sip:vivekg@chair-dnrc.example.com>\r\n\
        i:8342.23.6\r\n\
        CSeq: 8 INVITE\r\n\
        m:\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam\r\n\
        User-Agent: Example\r\n  Softphone/2.1\r\n\
        c: application/sdp\r\n\
        l: 49\r\n\r\n\
        v=0\r\nc=IN IP4 192.0.2.9\r\nm=audio 4000 RTP/AVP 0\r\n";

    fn udp_flow(msgs: &[(Direction, &str)]) -> SipInfo {
        let mut t = SipTracker::default();
        let mut info = SipInfo::default();
        for (dir, m) in msgs {
            assert_eq!(
                t.on_datagram(*dir, m.as_bytes(), &mut info),
                Progress::NeedMore
            );
        }
        info
    }

    #[test]
    fn rfc3261_call_over_udp() {
        use Direction::*;
        let (inv, ok) = (invite(), ok_invite());
        let info = udp_flow(&[
            (ToServer, &inv),
            (ToClient, &ok),
            (ToServer, ACK),
            (ToClient, BYE),
            (ToServer, OK_BYE),
        ]);
        assert_eq!(info.messages, 5);
        assert_eq!(info.methods, ["INVITE", "ACK", "BYE"]);
        assert_eq!(info.request_uri.as_deref(), Some("sip:bob@biloxi.com"));
        assert_eq!(info.response_codes, [200]);
        assert_eq!(info.from.as_deref(), Some("alice@atlanta.com"));
        assert_eq!(info.to.as_deref(), Some("bob@biloxi.com"));
        assert_eq!(info.contact.as_deref(), Some("alice@pc33.atlanta.com"));
        assert_eq!(info.call_ids, ["a84b4c76e66710"]);
        assert_eq!(info.server.as_deref(), Some("ExamplePBX/1.0"));
        assert_eq!(
            info.via,
            [
                "pc33.atlanta.com",
                "server10.biloxi.com",
                "bigbox3.site3.atlanta.com",
                "192.0.2.4"
            ]
        );
        assert_eq!(info.sdp.len(), 2);
        assert_eq!(info.sdp[0].dir, ToServer);
        assert_eq!(info.sdp[0].cseq_method.as_deref(), Some("INVITE"));
        assert_eq!(info.sdp[1].response_code, Some(200));
        assert!(info.keys_in_clear);
        let eps = info.media_endpoints();
        assert_eq!(
            eps,
            [
                ("192.0.2.101".parse().unwrap(), 49172, "RTP/SAVP"),
                ("192.0.2.4".parse().unwrap(), 3456, "RTP/AVP")
            ]
        );
        assert!(info.anomalies.is_empty(), "{:?}", info.anomalies);
        let json = serde_json::to_string(&info).unwrap();
        assert!(!json.contains("WVNfX19"), "SDES key leaked: {json}");
    }

    #[test]
    fn keep_alives_and_retransmissions_add_nothing() {
        use Direction::*;
        let inv = invite();
        let once = udp_flow(&[(ToServer, &inv)]);
        let mut t = SipTracker::default();
        let mut info = SipInfo::default();
        for d in ["     ", "\r\n\r\n", &inv, "\0\0\0\0", &inv] {
            assert_eq!(
                t.on_datagram(ToServer, d.as_bytes(), &mut info),
                Progress::NeedMore
            );
        }
        assert_eq!(info.messages, 2);
        assert_eq!(info.sdp, once.sdp, "a retransmitted offer is kept once");
        assert!(info.anomalies.is_empty(), "{:?}", info.anomalies);
    }

    #[test]
    fn compact_headers_and_folding() {
        let info = udp_flow(&[(Direction::ToServer, COMPACT)]);
        assert_eq!(info.from.as_deref(), Some("jdrosen@example.com"));
        assert_eq!(info.to.as_deref(), Some("vivekg@chair-dnrc.example.com"));
        assert_eq!(info.contact.as_deref(), Some("jdrosen@example.com"));
        assert_eq!(info.call_ids, ["8342.23.6"]);
        assert_eq!(info.via, ["192.0.2.2"]);
        assert_eq!(info.user_agent.as_deref(), Some("Example Softphone/2.1"));
        assert_eq!(
            info.sdp.len(),
            1,
            "c: application/sdp is the compact Content-Type"
        );
        assert_eq!(info.sdp[0].sdp.media[0].port, 4000);
        assert!(!info.keys_in_clear);
        assert!(info.anomalies.is_empty(), "{:?}", info.anomalies);
    }

    #[test]
    fn tcp_stream_split_at_every_boundary() {
        let inv = invite();
        let stream = format!("{inv}\r\n\r\n{}", ok_invite()); // with a CRLF keep-alive between
        let bytes = stream.as_bytes();
        let whole = {
            let mut t = SipTracker::default();
            let mut info = SipInfo::default();
            t.on_stream(Direction::ToServer, bytes, &mut info);
            info
        };
        assert_eq!(whole.messages, 2);
        assert_eq!(whole.sdp.len(), 2);
        assert!(whole.anomalies.is_empty(), "{:?}", whole.anomalies);
        for cut in 1..bytes.len() {
            let mut t = SipTracker::default();
            let mut info = SipInfo::default();
            let p = t.on_stream(Direction::ToServer, &bytes[..cut], &mut info);
            assert_eq!(p, Progress::NeedMore, "cut {cut}");
            t.on_stream(Direction::ToServer, bytes, &mut info);
            assert_eq!(info, whole, "cut at {cut}");
        }
        // Growing one byte at a time.
        let mut t = SipTracker::default();
        let mut info = SipInfo::default();
        for end in 1..=bytes.len() {
            t.on_stream(Direction::ToServer, &bytes[..end], &mut info);
        }
        assert_eq!(info, whole);
    }

    #[test]
    fn stream_without_content_length_reads_body_as_empty() {
        let msg = "OPTIONS sip:carol@chicago.com SIP/2.0\r\nCall-ID: x1\r\n\r\n";
        let mut t = SipTracker::default();
        let mut info = SipInfo::default();
        t.on_stream(Direction::ToServer, msg.as_bytes(), &mut info);
        assert_eq!(info.methods, ["OPTIONS"]);
        assert_eq!(info.anomalies, [SipAnomaly::MissingContentLength]);
    }

    #[test]
    fn udp_body_shorter_than_content_length_is_flagged() {
        let m = "SIP/2.0 180 Ringing\r\nContent-Type: application/sdp\r\nContent-Length: 999\r\n\r\nv=0\r\n";
        let info = udp_flow(&[(Direction::ToClient, m)]);
        assert_eq!(info.response_codes, [180]);
        assert_eq!(info.anomalies, [SipAnomaly::BodyTruncated]);
        assert_eq!(info.sdp.len(), 1);
    }

    #[test]
    fn oversized_header_block_stops_the_direction() {
        let mut s = String::from("REGISTER sip:registrar.biloxi.com SIP/2.0\r\n");
        while s.len() <= MAX_HEADER_BLOCK_LEN {
            s.push_str("X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        let mut t = SipTracker::default();
        let mut info = SipInfo::default();
        t.on_stream(Direction::ToServer, s.as_bytes(), &mut info);
        assert_eq!(info.anomalies, [SipAnomaly::HeaderTooLong]);
        assert_eq!(info.messages, 0);
    }

    #[test]
    fn non_sip_first_bytes_are_not_mine() {
        let mut t = SipTracker::default();
        let mut info = SipInfo::default();
        let p = t.on_stream(Direction::ToServer, b"GET / HTTP/1.1\r\n\r\n", &mut info);
        assert_eq!(p, Progress::NotMine);
        assert_eq!(
            t.on_datagram(Direction::ToServer, ACK.as_bytes(), &mut info),
            Progress::NotMine
        );
        // Too short to decide yet.
        let mut t = SipTracker::default();
        assert_eq!(
            t.on_stream(Direction::ToServer, b"INVI", &mut info),
            Progress::NeedMore
        );
        assert_eq!(
            t.on_stream(Direction::ToServer, b"INVITE si", &mut info),
            Progress::NeedMore
        );
    }

    #[test]
    fn probe_cases() {
        assert!(probe(b"INVITE sip:bob@biloxi.com SIP/2.0\r\n"));
        assert!(probe(b"REGISTER sips:ss2.biloxi.example.com SIP/2.0"));
        assert!(probe(b"SIP/2.0 180 Ringing\r\n"));
        assert!(probe(b"OPTIONS SIP:x"), "scheme is case-insensitive");
        assert!(!probe(b"GET /sip: HTTP/1.1"));
        assert!(!probe(b"NOTIFY tel:+1"));
        assert!(!probe(b"SIP/2.0"));
        assert!(!probe(b""));
        assert!(!probe(b"HTTP/1.1 200 OK"));
    }

    #[test]
    fn user_at_host_forms() {
        assert_eq!(
            user_at_host(b"Bob <sip:bob@biloxi.com>;tag=a6c85cf").as_deref(),
            Some("bob@biloxi.com")
        );
        assert_eq!(
            user_at_host(b"sip:carol@chicago.com;tag=1").as_deref(),
            Some("carol@chicago.com")
        );
        assert_eq!(
            user_at_host(b"<sips:a:secret@[2001:db8::1]:5061;transport=tls>").as_deref(),
            Some("a@[2001:db8::1]")
        );
        assert_eq!(
            user_at_host(b"<sip:192.0.2.4:5070>").as_deref(),
            Some("192.0.2.4")
        );
        assert_eq!(
            user_at_host(b"<tel:+1-212-555-0101>").as_deref(),
            Some("+1-212-555-0101")
        );
        assert_eq!(user_at_host(b"*"), None);
    }

    #[test]
    fn text_is_bounded() {
        let long_ua = format!(
            "SIP/2.0 200 OK\r\nUser-Agent: {}\r\nContent-Length: 0\r\n\r\n",
            "é".repeat(400)
        );
        let info = udp_flow(&[(Direction::ToClient, &long_ua)]);
        let ua = info.user_agent.unwrap();
        assert!(ua.len() <= MAX_TEXT_LEN && ua.starts_with('é'));
    }

    #[test]
    fn done_after_max_messages() {
        let mut t = SipTracker::default();
        let mut info = SipInfo::default();
        let mut last = Progress::NeedMore;
        for _ in 0..MAX_MESSAGES {
            last = t.on_datagram(Direction::ToServer, ACK.as_bytes(), &mut info);
        }
        assert_eq!(last, Progress::Done);
        assert_eq!(info.messages, MAX_MESSAGES);
    }

    proptest! {
        #[test]
        fn parse_message_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1024), dgram: bool) {
            if let Ok((_, used)) = parse_message(&bytes, dgram) {
                prop_assert!(used <= bytes.len());
            }
            let _ = probe(&bytes);
            let _ = user_at_host(&bytes);
        }

        #[test]
        fn trackers_never_panic(
            chunks in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..300)), 0..8),
            sip_prefix: bool,
        ) {
            let mut udp = SipTracker::default();
            let mut tcp = SipTracker::default();
            let mut info = SipInfo::default();
            let mut streams = [Vec::new(), Vec::new()];
            for (i, (to_server, mut bytes)) in chunks.into_iter().enumerate() {
                if sip_prefix && i == 0 {
                    let mut b = b"INVITE sip:x SIP/2.0\r\nl: 3\r\n".to_vec();
                    b.append(&mut bytes);
                    bytes = b;
                }
                let dir = if to_server { Direction::ToServer } else { Direction::ToClient };
                udp.on_datagram(dir, &bytes, &mut info);
                streams[dir.index()].extend_from_slice(&bytes);
                tcp.on_stream(dir, &streams[dir.index()], &mut info);
            }
            prop_assert!(info.call_ids.len() <= MAX_CALL_IDS);
            let _ = info.media_endpoints();
        }

        #[test]
        fn stream_framing_matches_one_shot(split in 0usize..2000) {
            let stream = format!("{}{}{ACK}", invite(), ok_invite());
            let bytes = stream.as_bytes();
            let cut = split.min(bytes.len());
            let mut a = (SipTracker::default(), SipInfo::default());
            a.0.on_stream(Direction::ToServer, bytes, &mut a.1);
            let mut b = (SipTracker::default(), SipInfo::default());
            b.0.on_stream(Direction::ToServer, &bytes[..cut], &mut b.1);
            b.0.on_stream(Direction::ToServer, bytes, &mut b.1);
            prop_assert_eq!(a.1.messages, 3);
            prop_assert_eq!(a.1, b.1);
        }
    }
}
