//! Per-flow DNS state over UDP datagrams and TCP streams (RFC 1035 §4.2), and the
//! summary a flow report shows.

use super::{DnsFlags, DnsMessage, HEADER_LEN, Header, MAX_INFO_ANSWERS, looks_like_dns, parse};
use crate::model::{Direction, Progress};
use serde::Serialize;

/// The complete messages of a DNS-over-TCP byte stream, each without its 2-byte length
/// prefix (RFC 1035 §4.2.2). Stops at the first incomplete message.
pub fn tcp_messages(stream: &[u8]) -> TcpMessages<'_> {
    TcpMessages {
        rest: stream,
        consumed: 0,
    }
}

/// Iterator returned by [`tcp_messages`].
#[derive(Clone, Debug)]
pub struct TcpMessages<'a> {
    rest: &'a [u8],
    consumed: usize,
}

impl TcpMessages<'_> {
    /// Bytes of the stream taken by the messages yielded so far, prefixes included.
    pub fn consumed(&self) -> usize {
        self.consumed
    }
}

impl<'a> Iterator for TcpMessages<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let &[hi, lo] = self.rest.first_chunk::<2>()?;
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        let msg = self.rest.get(2..2 + len)?;
        self.rest = self.rest.get(2 + len..).unwrap_or_default();
        self.consumed += 2 + len;
        Some(msg)
    }
}

/// One answer as a flow report shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DnsAnswerInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub rtype: String,
    pub value: String,
    pub ttl: u32,
}

/// What a flow's DNS traffic says, for `"dns": {...}` in the flow report.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DnsInfo {
    /// The first question's name, as seen (escaped, original case).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_name: Option<String>,
    /// The first question's type mnemonic, e.g. `A`, `AAAA`, `HTTPS`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_type: Option<String>,
    /// The first response's rcode mnemonic, e.g. `NOERROR`, `NXDOMAIN`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rcode: Option<String>,
    /// A, AAAA and CNAME answers of all responses, at most [`MAX_INFO_ANSWERS`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<DnsAnswerInfo>,
    #[serde(skip_serializing_if = "is_zero")]
    pub answers_dropped: u32,
    pub queries: u32,
    pub responses: u32,
    /// Messages that could not be read (short header) or did not look like DNS.
    #[serde(skip_serializing_if = "is_zero")]
    pub malformed: u32,
    /// Union of the anomalies of every message.
    #[serde(skip_serializing_if = "DnsFlags::is_empty")]
    pub anomalies: DnsFlags,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl DnsInfo {
    fn record(&mut self, m: &DnsMessage) {
        self.anomalies.insert(m.flags);
        if m.is_response() {
            self.responses = self.responses.saturating_add(1);
            if self.rcode.is_none() {
                self.rcode = Some(m.rcode().name().into_owned());
            }
            for a in &m.answers {
                if self.answers.len() < MAX_INFO_ANSWERS {
                    self.answers.push(DnsAnswerInfo {
                        name: a.name.as_str().to_owned(),
                        rtype: a.rtype.name().into_owned(),
                        value: a.data.to_text(),
                        ttl: a.ttl,
                    });
                } else {
                    self.answers_dropped = self.answers_dropped.saturating_add(1);
                }
            }
            let unseen = u32::from(m.answers_over_limit);
            self.answers_dropped = self.answers_dropped.saturating_add(unseen);
        } else {
            self.queries = self.queries.saturating_add(1);
        }
        // A flow seen from the response on still names its question.
        if self.query_name.is_none()
            && let Some(q) = m.questions.first()
        {
            self.query_name = Some(q.name.as_str().to_owned());
            self.query_type = Some(q.qtype.name().into_owned());
        }
    }
}

/// What one call to a [`DnsTracker`] produced.
#[derive(Debug)]
pub struct DnsFeed {
    pub progress: Progress,
    /// Responses parsed by this call, for the name cache (see
    /// [`answers_for_cache`](crate::dissect::dns::answers_for_cache)).
    pub responses: Vec<DnsMessage>,
}

impl DnsFeed {
    fn progress(progress: Progress) -> DnsFeed {
        DnsFeed {
            progress,
            responses: Vec::new(),
        }
    }
}

/// Per-flow DNS state. The first message decides whether the flow is DNS; after that every
/// message is counted and every response handed back for the name cache, so the tracker
/// answers [`Progress::NeedMore`] for as long as the flow lives.
#[derive(Clone, Debug, Default)]
pub struct DnsTracker {
    accepted: bool,
    rejected: bool,
    /// Stream bytes already split into messages, per direction (TCP only).
    consumed: [usize; 2],
}

impl DnsTracker {
    pub fn new() -> DnsTracker {
        DnsTracker::default()
    }

    /// Feed one UDP payload.
    pub fn on_datagram(&mut self, _dir: Direction, payload: &[u8], info: &mut DnsInfo) -> DnsFeed {
        if self.rejected {
            return DnsFeed::progress(Progress::NotMine);
        }
        let mut feed = DnsFeed::progress(Progress::NeedMore);
        self.on_message(payload, info, &mut feed);
        feed
    }

    /// Feed a TCP direction: `stream` holds all contiguous bytes of `dir` so far. Messages
    /// already read are skipped; an incomplete last message waits for more bytes.
    pub fn on_stream(&mut self, dir: Direction, stream: &[u8], info: &mut DnsInfo) -> DnsFeed {
        if self.rejected {
            return DnsFeed::progress(Progress::NotMine);
        }
        let done = &mut self.consumed[dir.index()];
        let Some(rest) = stream.get(*done..) else {
            return DnsFeed::progress(Progress::NeedMore);
        };
        if !self.accepted && !tcp_start_plausible(rest) {
            self.rejected = true;
            return DnsFeed::progress(Progress::NotMine);
        }
        let mut feed = DnsFeed::progress(Progress::NeedMore);
        let mut messages = tcp_messages(rest);
        for msg in &mut messages {
            self.on_message(msg, info, &mut feed);
            if self.rejected {
                break;
            }
        }
        self.consumed[dir.index()] += messages.consumed();
        feed
    }

    fn on_message(&mut self, msg: &[u8], info: &mut DnsInfo, feed: &mut DnsFeed) {
        let parsed = parse(msg)
            .ok()
            .filter(|m| self.accepted || looks_like_dns(m, msg.len()));
        match parsed {
            None if !self.accepted => {
                self.rejected = true;
                feed.progress = Progress::NotMine;
            }
            None => info.malformed = info.malformed.saturating_add(1),
            Some(m) => {
                self.accepted = true;
                info.record(&m);
                if m.is_response() {
                    // One response per call is the rule: room for exactly one, not four.
                    if feed.responses.capacity() == 0 {
                        feed.responses.reserve_exact(1);
                    }
                    feed.responses.push(m);
                }
            }
        }
    }
}

/// Early check on the first TCP bytes, so a non-DNS stream is rejected before its bogus
/// length prefix is satisfied.
fn tcp_start_plausible(stream: &[u8]) -> bool {
    let Some(&[hi, lo]) = stream.first_chunk::<2>() else {
        return true;
    };
    let len = usize::from(u16::from_be_bytes([hi, lo]));
    if len < HEADER_LEN {
        return false;
    }
    match stream.get(2..2 + HEADER_LEN).map(Header::parse) {
        Some(Ok(h)) => h.is_plausible(len),
        _ => true,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::RrType;
    use super::super::test_builder::*;
    use super::*;

    fn tcp_framed(msg: &[u8]) -> Vec<u8> {
        let mut out = (msg.len() as u16).to_be_bytes().to_vec();
        out.extend_from_slice(msg);
        out
    }

    #[test]
    fn tcp_messages_yields_complete_messages_only() {
        let a = query(1, "a.example", RrType::A);
        let b = query(2, "b.example", RrType::AAAA);
        let mut stream = tcp_framed(&a);
        stream.extend(tcp_framed(&b));
        let full = stream.len();
        stream.extend([0, 40, 1, 2, 3]); // an incomplete third message
        let mut it = tcp_messages(&stream);
        assert_eq!(it.next(), Some(&a[..]));
        assert_eq!(it.next(), Some(&b[..]));
        assert_eq!(it.next(), None);
        assert_eq!(it.consumed(), full);
    }

    #[test]
    fn tcp_tracker_handles_every_split_point() {
        let q = query(1, "www.zoom.us", RrType::A);
        let mut r = cname_response();
        r[0..2].copy_from_slice(&1u16.to_be_bytes());
        let mut to_server = tcp_framed(&q);
        to_server.extend(tcp_framed(&query(2, "zoom.us", RrType::AAAA)));
        let to_client = tcp_framed(&r);
        for split in 0..=to_client.len().max(to_server.len()) {
            let mut t = DnsTracker::new();
            let mut info = DnsInfo::default();
            let mut responses = 0;
            for (dir, stream) in [
                (Direction::ToServer, &to_server),
                (Direction::ToClient, &to_client),
            ] {
                let cut = split.min(stream.len());
                for part in [&stream[..cut], &stream[..]] {
                    let feed = t.on_stream(dir, part, &mut info);
                    assert_eq!(feed.progress, Progress::NeedMore, "split {split}");
                    responses += feed.responses.len();
                }
            }
            assert_eq!(
                (info.queries, info.responses, responses),
                (2, 1, 1),
                "split {split}"
            );
            assert_eq!(info.query_name.as_deref(), Some("www.zoom.us"));
            assert_eq!(info.answers.len(), 3);
        }
    }

    #[test]
    fn tracker_rejects_non_dns() {
        let http = b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
        let mut t = DnsTracker::new();
        let mut info = DnsInfo::default();
        let feed = t.on_stream(Direction::ToServer, &http[..4], &mut info);
        assert_eq!(feed.progress, Progress::NeedMore, "too early to judge");
        let feed = t.on_stream(Direction::ToServer, &http[..14], &mut info);
        assert_eq!(feed.progress, Progress::NotMine);
        let feed = t.on_stream(Direction::ToServer, &http[..], &mut info);
        assert_eq!(feed.progress, Progress::NotMine);

        let mut t = DnsTracker::new();
        let feed = t.on_datagram(Direction::ToServer, http, &mut info);
        assert_eq!(feed.progress, Progress::NotMine);
        let feed = t.on_datagram(Direction::ToServer, &query(1, "a", RrType::A), &mut info);
        assert_eq!(feed.progress, Progress::NotMine);
        assert_eq!(info, DnsInfo::default());
    }

    #[test]
    fn datagram_tracker_fills_info() {
        let mut t = DnsTracker::new();
        let mut info = DnsInfo::default();
        let q = query(0xbeef, "www.zoom.us", RrType::A);
        let feed = t.on_datagram(Direction::ToServer, &q, &mut info);
        assert_eq!(feed.progress, Progress::NeedMore);
        assert!(feed.responses.is_empty());
        let feed = t.on_datagram(Direction::ToClient, &cname_response(), &mut info);
        assert_eq!(feed.responses.len(), 1);
        // Garbage after acceptance is counted, not fatal.
        let feed = t.on_datagram(Direction::ToClient, &[1, 2, 3], &mut info);
        assert_eq!(feed.progress, Progress::NeedMore);

        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "query_name": "www.zoom.us",
                "query_type": "A",
                "rcode": "NOERROR",
                "answers": [
                    {"name": "www.zoom.us", "type": "CNAME", "value": "zoom.cloudfront.net", "ttl": 300},
                    {"name": "zoom.cloudfront.net", "type": "A", "value": "1.2.3.4", "ttl": 60},
                    {"name": "zoom.cloudfront.net", "type": "A", "value": "1.2.3.5", "ttl": 20},
                ],
                "queries": 1,
                "responses": 1,
                "malformed": 1,
            })
        );
    }

    #[test]
    fn info_reports_anomalies_by_name() {
        let mut info = DnsInfo::default();
        let mut m = header(1, 0x0100, [1, 0, 0, 0]);
        m.extend(question(&[3, b'a', b'b', b'c', 0xc0, 12], RrType::A));
        info.record(&parse(&m).unwrap());
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["anomalies"], serde_json::json!(["pointer_loop"]));
    }
}
