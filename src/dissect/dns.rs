//! DNS messages over UDP and TCP: header, questions, and the A, AAAA and CNAME answers
//! that map addresses back to the names clients asked for.
//!
//! References:
//! - RFC 1035 §4.1 (message format), §4.1.4 (compression), §4.2.2 (TCP length prefix),
//!   §2.3.4 (size limits): <https://www.rfc-editor.org/rfc/rfc1035>
//! - RFC 3596 (AAAA): <https://www.rfc-editor.org/rfc/rfc3596>
//! - RFC 6891 (EDNS(0) OPT record, extended RCODE): <https://www.rfc-editor.org/rfc/rfc6891>
//! - RFC 2181 §8 (TTLs are 31-bit): <https://www.rfc-editor.org/rfc/rfc2181>
//! - RFC 3597 §5 (`TYPEnnn` for unknown types): <https://www.rfc-editor.org/rfc/rfc3597>
//! - RFC 6895 §2.3 and the IANA DNS parameters registry (opcodes, rcodes, types):
//!   <https://www.iana.org/assignments/dns-parameters>

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use thiserror::Error;

mod name;
#[cfg(test)]
mod test_builder;
mod tracker;

pub use name::{DnsFlags, DnsName};
use name::{Reusable, read_name, read_name_reusing, read_name_walked};
pub use tracker::{DnsAnswerInfo, DnsFeed, DnsInfo, DnsTracker, TcpMessages, tcp_messages};

/// Fixed header size (RFC 1035 §4.1.1).
pub const HEADER_LEN: usize = 12;
/// Longest name on the wire, length bytes and the root label included (RFC 1035 §2.3.4).
pub const MAX_NAME_WIRE_LEN: usize = 255;
/// Most labels a name can hold within [`MAX_NAME_WIRE_LEN`]: one length byte and one
/// character each, plus the root (RFC 1035 §2.3.4).
pub const MAX_LABELS: usize = 127;
/// Most compression pointers followed while reading one name. A valid name cannot need
/// more jumps than it has labels (RFC 1035 §4.1.4); more is treated as a loop, as is any
/// pointer to an offset already visited.
pub const MAX_POINTER_JUMPS: usize = MAX_LABELS;
/// Questions kept per message; the rest are counted (real messages carry one, RFC 9619).
pub const MAX_QUESTIONS: usize = 16;
/// A, AAAA and CNAME answers kept per message; the rest are counted.
pub const MAX_ANSWERS: usize = 32;
/// Longest CNAME chain followed for the name cache (resolvers stop near here too, e.g.
/// BIND's and Unbound's restart limits of 11–16).
pub const MAX_CNAME_CHAIN: usize = 16;
/// Answers kept in a flow's [`DnsInfo`]; the rest are counted.
pub const MAX_INFO_ANSWERS: usize = 32;

/// Size of the fixed part of a resource record after its name: type, class, TTL,
/// RDLENGTH (RFC 1035 §4.1.3).
const RR_FIXED_LEN: usize = 10;

/// A resource record type (RFC 1035 §3.2.2 and the IANA registry). Unknown types survive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RrType(pub u16);

impl RrType {
    pub const A: RrType = RrType(1);
    pub const NS: RrType = RrType(2);
    pub const CNAME: RrType = RrType(5);
    pub const SOA: RrType = RrType(6);
    pub const PTR: RrType = RrType(12);
    pub const HINFO: RrType = RrType(13);
    pub const MX: RrType = RrType(15);
    pub const TXT: RrType = RrType(16);
    pub const AAAA: RrType = RrType(28);
    pub const SRV: RrType = RrType(33);
    pub const NAPTR: RrType = RrType(35);
    pub const OPT: RrType = RrType(41);
    pub const DS: RrType = RrType(43);
    pub const RRSIG: RrType = RrType(46);
    pub const NSEC: RrType = RrType(47);
    pub const DNSKEY: RrType = RrType(48);
    pub const NSEC3: RrType = RrType(50);
    pub const TLSA: RrType = RrType(52);
    pub const SVCB: RrType = RrType(64);
    pub const HTTPS: RrType = RrType(65);
    pub const AXFR: RrType = RrType(252);
    pub const ANY: RrType = RrType(255);
    pub const CAA: RrType = RrType(257);

    /// The mnemonic used by dig and the IANA registry, `TYPEnnn` when unknown (RFC 3597 §5).
    pub fn name(self) -> Cow<'static, str> {
        let known = match self {
            RrType::A => "A",
            RrType::NS => "NS",
            RrType::CNAME => "CNAME",
            RrType::SOA => "SOA",
            RrType::PTR => "PTR",
            RrType::HINFO => "HINFO",
            RrType::MX => "MX",
            RrType::TXT => "TXT",
            RrType::AAAA => "AAAA",
            RrType::SRV => "SRV",
            RrType::NAPTR => "NAPTR",
            RrType::OPT => "OPT",
            RrType::DS => "DS",
            RrType::RRSIG => "RRSIG",
            RrType::NSEC => "NSEC",
            RrType::DNSKEY => "DNSKEY",
            RrType::NSEC3 => "NSEC3",
            RrType::TLSA => "TLSA",
            RrType::SVCB => "SVCB",
            RrType::HTTPS => "HTTPS",
            RrType::AXFR => "AXFR",
            RrType::ANY => "ANY",
            RrType::CAA => "CAA",
            RrType(n) => return format!("TYPE{n}").into(),
        };
        known.into()
    }
}

/// A resource record class (RFC 1035 §3.2.4). Unknown classes survive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RrClass(pub u16);

impl RrClass {
    pub const IN: RrClass = RrClass(1);
    pub const CH: RrClass = RrClass(3);
    pub const HS: RrClass = RrClass(4);
    pub const ANY: RrClass = RrClass(255);
}

/// A header OPCODE (RFC 1035 §4.1.1, RFC 6895 §2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Opcode(pub u8);

impl Opcode {
    pub const QUERY: Opcode = Opcode(0);
    pub const IQUERY: Opcode = Opcode(1);
    pub const STATUS: Opcode = Opcode(2);
    pub const NOTIFY: Opcode = Opcode(4);
    pub const UPDATE: Opcode = Opcode(5);
    pub const DSO: Opcode = Opcode(6);

    /// Whether the IANA registry assigns this opcode.
    pub fn is_assigned(self) -> bool {
        matches!(self.0, 0..=2 | 4..=6)
    }
}

/// A response code, 4 bits from the header, widened to 12 bits by an OPT record
/// (RFC 6891 §6.1.3). Unknown codes survive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rcode(pub u16);

impl Rcode {
    pub const NOERROR: Rcode = Rcode(0);
    pub const FORMERR: Rcode = Rcode(1);
    pub const SERVFAIL: Rcode = Rcode(2);
    pub const NXDOMAIN: Rcode = Rcode(3);
    pub const NOTIMP: Rcode = Rcode(4);
    pub const REFUSED: Rcode = Rcode(5);
    pub const YXDOMAIN: Rcode = Rcode(6);
    pub const YXRRSET: Rcode = Rcode(7);
    pub const NXRRSET: Rcode = Rcode(8);
    pub const NOTAUTH: Rcode = Rcode(9);
    pub const NOTZONE: Rcode = Rcode(10);
    pub const BADVERS: Rcode = Rcode(16);
    pub const BADCOOKIE: Rcode = Rcode(23);

    /// The mnemonic used by dig, `RCODEnnn` when unknown.
    pub fn name(self) -> Cow<'static, str> {
        let known = match self {
            Rcode::NOERROR => "NOERROR",
            Rcode::FORMERR => "FORMERR",
            Rcode::SERVFAIL => "SERVFAIL",
            Rcode::NXDOMAIN => "NXDOMAIN",
            Rcode::NOTIMP => "NOTIMP",
            Rcode::REFUSED => "REFUSED",
            Rcode::YXDOMAIN => "YXDOMAIN",
            Rcode::YXRRSET => "YXRRSET",
            Rcode::NXRRSET => "NXRRSET",
            Rcode::NOTAUTH => "NOTAUTH",
            Rcode::NOTZONE => "NOTZONE",
            Rcode::BADVERS => "BADVERS",
            Rcode::BADCOOKIE => "BADCOOKIE",
            Rcode(n) => return format!("RCODE{n}").into(),
        };
        known.into()
    }
}

/// The fixed 12-byte header (RFC 1035 §4.1.1, RFC 4035 §3.2 for AD and CD).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub id: u16,
    /// QR: this is a response.
    pub is_response: bool,
    pub opcode: Opcode,
    pub authoritative: bool,
    /// TC: the response was cut to fit a UDP datagram; the client retries over TCP.
    pub truncated: bool,
    pub recursion_desired: bool,
    pub recursion_available: bool,
    pub authentic_data: bool,
    pub checking_disabled: bool,
    /// The low 4 bits of the response code; see [`DnsMessage::rcode`] for the full code.
    pub rcode: Rcode,
    pub qdcount: u16,
    pub ancount: u16,
    pub nscount: u16,
    pub arcount: u16,
}

impl Header {
    fn parse(msg: &[u8]) -> Result<Header, DnsError> {
        let Some(h) = msg.first_chunk::<HEADER_LEN>() else {
            return Err(DnsError::ShortHeader {
                needed: HEADER_LEN,
                actual: msg.len(),
            });
        };
        let word = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
        let (b2, b3) = (h[2], h[3]);
        Ok(Header {
            id: word(0),
            is_response: b2 & 0x80 != 0,
            opcode: Opcode((b2 >> 3) & 0x0f),
            authoritative: b2 & 0x04 != 0,
            truncated: b2 & 0x02 != 0,
            recursion_desired: b2 & 0x01 != 0,
            recursion_available: b3 & 0x80 != 0,
            authentic_data: b3 & 0x20 != 0,
            checking_disabled: b3 & 0x10 != 0,
            rcode: Rcode(u16::from(b3 & 0x0f)),
            qdcount: word(4),
            ancount: word(6),
            nscount: word(8),
            arcount: word(10),
        })
    }

    /// Cheap sanity checks used to tell DNS from other bytes on a DNS port.
    fn is_plausible(&self, msg_len: usize) -> bool {
        let records = usize::from(self.ancount) + usize::from(self.nscount);
        // Every question takes at least 5 bytes, every record at least 11.
        let min_len = HEADER_LEN + 5 * usize::from(self.qdcount) + 11 * records;
        self.opcode.is_assigned()
            && usize::from(self.qdcount) <= MAX_QUESTIONS
            && (self.qdcount > 0 || self.is_response || self.arcount > 0)
            && min_len <= msg_len.max(HEADER_LEN)
    }
}

/// One entry of the question section (RFC 1035 §4.1.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    pub name: DnsName,
    pub qtype: RrType,
    pub qclass: RrClass,
}

/// The kept part of an answer's RDATA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(DnsName),
}

impl RData {
    /// The value as text for reports: an address or a name.
    pub fn to_text(&self) -> String {
        match self {
            RData::A(ip) => {
                let mut buf = [0u8; 15];
                crate::model::ipv4_text(ip.octets(), &mut buf).to_owned()
            }
            RData::Aaaa(ip) => ip.to_string(),
            RData::Cname(name) => name.as_str().to_owned(),
        }
    }
}

/// An A, AAAA or CNAME record from the answer section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub name: DnsName,
    pub rtype: RrType,
    pub class: RrClass,
    /// Seconds; values with the top bit set read as 0 (RFC 2181 §8).
    pub ttl: u32,
    pub data: RData,
}

/// What an OPT pseudo-record says (RFC 6891 §6.1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edns {
    pub udp_payload_size: u16,
    /// The upper 8 bits of the 12-bit response code.
    pub extended_rcode: u8,
    pub version: u8,
    /// DO: the client wants DNSSEC records.
    pub dnssec_ok: bool,
}

/// A parsed DNS message. Sections past the answers are only walked to find the OPT record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsMessage {
    pub header: Header,
    /// At most [`MAX_QUESTIONS`].
    pub questions: Vec<Question>,
    /// Questions read but not kept because of [`MAX_QUESTIONS`].
    pub questions_over_limit: u16,
    /// A, AAAA and CNAME answers, at most [`MAX_ANSWERS`].
    pub answers: Vec<Answer>,
    /// A, AAAA and CNAME answers read but not kept because of [`MAX_ANSWERS`].
    pub answers_over_limit: u16,
    /// Answers of other types, skipped by RDLENGTH.
    pub other_answers: u16,
    pub edns: Option<Edns>,
    /// Anomalies from every name and record read.
    pub flags: DnsFlags,
}

impl DnsMessage {
    pub fn is_response(&self) -> bool {
        self.header.is_response
    }

    /// The full response code: the header's 4 bits, widened by EDNS when present.
    pub fn rcode(&self) -> Rcode {
        match self.edns {
            Some(e) => Rcode(u16::from(e.extended_rcode) << 4 | self.header.rcode.0),
            None => self.header.rcode,
        }
    }
}

/// Why a message could not be read at all. Anything past the header is recorded as
/// [`DnsFlags`] instead.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum DnsError {
    #[error("DNS header at offset 0: need {needed} bytes, have {actual}")]
    ShortHeader { needed: usize, actual: usize },
}

/// A resource record with its RDATA still raw.
struct RawRecord<'a> {
    name: DnsName,
    rtype: RrType,
    class: RrClass,
    ttl_raw: u32,
    rdata: &'a [u8],
    rdata_offset: usize,
}

/// Read one resource record at `pos`; `None` (with TRUNCATED set) when it does not fit.
fn read_record<'a>(
    msg: &'a [u8],
    pos: usize,
    flags: &mut DnsFlags,
    known: Option<(Reusable, &DnsName)>,
) -> Option<(RawRecord<'a>, usize)> {
    let (name, end) = read_name_reusing(msg, pos, known);
    flags.insert(name.flags());
    let Some((end, fixed)) =
        end.and_then(|e| Some((e, msg.get(e..)?.first_chunk::<RR_FIXED_LEN>()?)))
    else {
        flags.insert(DnsFlags::TRUNCATED);
        return None;
    };
    let rdlength = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
    let rdata_offset = end + RR_FIXED_LEN;
    let Some(rdata) = msg.get(rdata_offset..rdata_offset + rdlength) else {
        flags.insert(DnsFlags::TRUNCATED);
        return None;
    };
    let record = RawRecord {
        name,
        rtype: RrType(u16::from_be_bytes([fixed[0], fixed[1]])),
        class: RrClass(u16::from_be_bytes([fixed[2], fixed[3]])),
        ttl_raw: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
        rdata,
        rdata_offset,
    };
    Some((record, rdata_offset + rdlength))
}

/// Decode the RDATA we keep; `None` for other types or malformed RDATA (flagged).
fn decode_rdata(msg: &[u8], rec: &RawRecord<'_>, flags: &mut DnsFlags) -> Option<RData> {
    match rec.rtype {
        RrType::A => match <[u8; 4]>::try_from(rec.rdata) {
            Ok(b) => Some(RData::A(Ipv4Addr::from(b))),
            Err(_) => {
                flags.insert(DnsFlags::BAD_RDATA);
                None
            }
        },
        RrType::AAAA => match <[u8; 16]>::try_from(rec.rdata) {
            Ok(b) => Some(RData::Aaaa(Ipv6Addr::from(b))),
            Err(_) => {
                flags.insert(DnsFlags::BAD_RDATA);
                None
            }
        },
        RrType::CNAME => {
            let (target, end) = read_name(msg, rec.rdata_offset);
            flags.insert(target.flags());
            if end != Some(rec.rdata_offset + rec.rdata.len()) {
                flags.insert(DnsFlags::BAD_RDATA);
            }
            Some(RData::Cname(target))
        }
        _ => None,
    }
}

/// Parse one DNS message (the UDP payload, or one TCP message without its length prefix).
///
/// Only a missing header is an error. Anything else that is malformed ends the walk where
/// it happens, sets [`DnsMessage::flags`], and returns what was read before.
pub fn parse(msg: &[u8]) -> Result<DnsMessage, DnsError> {
    let header = Header::parse(msg)?;
    let mut m = DnsMessage {
        header,
        // Sized once from the header: most messages fill these exactly.
        questions: Vec::with_capacity(usize::from(header.qdcount).min(MAX_QUESTIONS)),
        questions_over_limit: 0,
        answers: Vec::with_capacity(usize::from(header.ancount).min(MAX_ANSWERS)),
        answers_over_limit: 0,
        other_answers: 0,
        edns: None,
        flags: DnsFlags::EMPTY,
    };
    let mut pos = HEADER_LEN;

    // Record owner names are mostly a pointer to the first question's name: copied, not
    // walked again.
    let mut first_question: Option<Reusable> = None;
    for i in 0..header.qdcount {
        let (name, end, reusable) = read_name_walked(msg, pos);
        if i == 0 {
            first_question = reusable;
        }
        m.flags.insert(name.flags());
        let Some((end, fixed)) = end.and_then(|e| Some((e, msg.get(e..)?.first_chunk::<4>()?)))
        else {
            m.flags.insert(DnsFlags::TRUNCATED);
            return Ok(m);
        };
        pos = end + 4;
        if m.questions.len() < MAX_QUESTIONS {
            m.questions.push(Question {
                name,
                qtype: RrType(u16::from_be_bytes([fixed[0], fixed[1]])),
                qclass: RrClass(u16::from_be_bytes([fixed[2], fixed[3]])),
            });
        } else {
            m.questions_over_limit = m.questions_over_limit.saturating_add(1);
        }
    }

    for _ in 0..header.ancount {
        let known = first_question.zip(m.questions.first().map(|q| &q.name));
        let Some((rec, next)) = read_record(msg, pos, &mut m.flags, known) else {
            return Ok(m);
        };
        pos = next;
        let Some(data) = decode_rdata(msg, &rec, &mut m.flags) else {
            m.other_answers = m.other_answers.saturating_add(1);
            continue;
        };
        if m.answers.len() < MAX_ANSWERS {
            m.answers.push(Answer {
                name: rec.name,
                rtype: rec.rtype,
                class: rec.class,
                ttl: if rec.ttl_raw > i32::MAX as u32 {
                    0
                } else {
                    rec.ttl_raw
                },
                data,
            });
        } else {
            m.answers_over_limit = m.answers_over_limit.saturating_add(1);
        }
    }

    // Authority and additional records are walked only to reach the OPT record. Each
    // record consumes at least 11 bytes, so the walk is bounded by the message length.
    let rest = u32::from(header.nscount) + u32::from(header.arcount);
    for i in 0..rest {
        let known = first_question.zip(m.questions.first().map(|q| &q.name));
        let Some((rec, next)) = read_record(msg, pos, &mut m.flags, known) else {
            return Ok(m);
        };
        pos = next;
        let in_additional = i >= u32::from(header.nscount);
        if in_additional && rec.rtype == RrType::OPT && m.edns.is_none() && rec.name.is_root() {
            let ttl = rec.ttl_raw.to_be_bytes();
            m.edns = Some(Edns {
                udp_payload_size: rec.class.0,
                extended_rcode: ttl[0],
                version: ttl[1],
                dnssec_ok: ttl[2] & 0x80 != 0,
            });
        }
    }
    Ok(m)
}

/// Whether `payload` looks like a DNS message: a plausible header and a clean first
/// question. Ports are only hints; this is the check the tracker applies to a flow's
/// first message.
pub fn probe(payload: &[u8]) -> bool {
    parse(payload).is_ok_and(|m| looks_like_dns(&m, payload.len()))
}

fn looks_like_dns(m: &DnsMessage, len: usize) -> bool {
    m.header.is_plausible(len)
        && !m.flags.contains(DnsFlags::TRUNCATED)
        && m.questions
            .first()
            .is_none_or(|q| q.name.flags().is_empty())
}

/// Address → name pairs a response teaches, for the name cache: every A/AAAA address
/// reached from a question name, directly or through a CNAME chain, maps to the question
/// name as asked (what the client wanted, e.g. `www.zoom.us`, not the CDN's name), with
/// the smallest TTL along the chain.
///
/// Queries, names with anomalies and non-IN classes teach nothing.
pub fn answers_for_cache(msg: &DnsMessage) -> impl Iterator<Item = (IpAddr, &str, u32)> {
    let mut out = Vec::new();
    if msg.is_response() {
        for q in &msg.questions {
            if q.qclass == RrClass::IN && q.name.flags().is_empty() {
                follow_chain(msg, q, &mut out);
            }
        }
    }
    out.into_iter()
}

fn follow_chain<'m>(msg: &'m DnsMessage, q: &'m Question, out: &mut Vec<(IpAddr, &'m str, u32)>) {
    let mut current = &q.name;
    let mut ttl = u32::MAX;
    for _ in 0..=MAX_CNAME_CHAIN {
        let mut next = None;
        for a in msg.answers.iter().filter(|a| a.class == RrClass::IN) {
            if !a.name.eq_ignore_case(current) || !a.name.flags().is_empty() {
                continue;
            }
            match &a.data {
                RData::A(ip) => out.push(((*ip).into(), q.name.as_str(), ttl.min(a.ttl))),
                RData::Aaaa(ip) => out.push(((*ip).into(), q.name.as_str(), ttl.min(a.ttl))),
                RData::Cname(target) if next.is_none() && target.flags().is_empty() => {
                    next = Some((target, a.ttl));
                }
                RData::Cname(_) => {}
            }
        }
        let Some((target, cname_ttl)) = next else {
            return;
        };
        current = target;
        ttl = ttl.min(cname_ttl);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::Direction;
    use proptest::prelude::*;

    use super::test_builder::*;
    #[test]
    fn parses_a_query() {
        let msg = query(0x1234, "www.Zoom.us", RrType::A);
        let m = parse(&msg).unwrap();
        assert_eq!(m.header.id, 0x1234);
        assert!(!m.is_response() && m.header.recursion_desired);
        assert_eq!(m.header.opcode, Opcode::QUERY);
        assert_eq!(m.questions.len(), 1);
        let q = &m.questions[0];
        assert_eq!(q.name.as_str(), "www.Zoom.us");
        assert_eq!(q.name.to_lowercase(), "www.zoom.us");
        assert_eq!(q.name.label_count(), 3);
        assert_eq!((q.qtype, q.qclass), (RrType::A, RrClass::IN));
        assert!(m.flags.is_empty());
        assert!(probe(&msg));
    }

    #[test]
    fn short_header_is_an_error_that_says_where() {
        let err = parse(&[0; 5]).unwrap_err();
        assert_eq!(
            err,
            DnsError::ShortHeader {
                needed: 12,
                actual: 5
            }
        );
        assert!(err.to_string().contains("need 12 bytes, have 5"));
    }

    #[test]
    fn follows_compression_and_cname_chain() {
        let m = parse(&cname_response()).unwrap();
        assert!(m.flags.is_empty(), "{:?}", m.flags);
        assert_eq!(m.answers.len(), 3);
        assert_eq!(m.answers[0].name.as_str(), "www.zoom.us");
        assert_eq!(m.answers[0].data.to_text(), "zoom.cloudfront.net");
        assert_eq!(m.answers[1].name.as_str(), "zoom.cloudfront.net");
        assert_eq!(m.answers[1].data, RData::A(Ipv4Addr::new(1, 2, 3, 4)));

        let cached: Vec<_> = answers_for_cache(&m).collect();
        assert_eq!(
            cached,
            vec![
                (IpAddr::from([1, 2, 3, 4]), "www.zoom.us", 60),
                (IpAddr::from([1, 2, 3, 5]), "www.zoom.us", 20),
            ]
        );
    }

    #[test]
    fn cache_chain_takes_smallest_ttl_and_ignores_case() {
        let mut m = header(1, RESPONSE_OK, [1, 2, 0, 0]);
        m.extend(question(&name("WWW.example.com"), RrType::A));
        m.extend(rr(
            &name("www.example.COM"),
            RrType::CNAME,
            30,
            &name("edge.cdn.net"),
        ));
        m.extend(rr(&name("EDGE.cdn.net"), RrType::A, 3600, &[9, 9, 9, 9]));
        let m = parse(&m).unwrap();
        let cached: Vec<_> = answers_for_cache(&m).collect();
        assert_eq!(
            cached,
            vec![(IpAddr::from([9, 9, 9, 9]), "WWW.example.com", 30)]
        );
    }

    #[test]
    fn cache_ignores_unrelated_answers_queries_and_cname_loops() {
        let mut m = header(1, RESPONSE_OK, [1, 3, 0, 0]);
        m.extend(question(&name("a.test"), RrType::A));
        m.extend(rr(&name("a.test"), RrType::CNAME, 30, &name("b.test")));
        m.extend(rr(&name("b.test"), RrType::CNAME, 30, &name("a.test")));
        m.extend(rr(&name("other.test"), RrType::A, 30, &[1, 1, 1, 1]));
        let parsed = parse(&m).unwrap();
        assert_eq!(answers_for_cache(&parsed).count(), 0);

        let q = parse(&query(1, "a.test", RrType::A)).unwrap();
        assert_eq!(answers_for_cache(&q).count(), 0);
    }

    #[test]
    fn parses_aaaa() {
        let addr: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let mut m = header(7, RESPONSE_OK, [1, 1, 0, 0]);
        m.extend(question(&name("v6.example"), RrType::AAAA));
        m.extend(rr(&pointer(12), RrType::AAAA, 120, &addr.octets()));
        let m = parse(&m).unwrap();
        assert_eq!(m.answers[0].rtype, RrType::AAAA);
        assert_eq!(m.answers[0].data, RData::Aaaa(addr));
        assert_eq!(m.answers[0].data.to_text(), "2001:db8::1");
        let cached: Vec<_> = answers_for_cache(&m).collect();
        assert_eq!(cached, vec![(IpAddr::V6(addr), "v6.example", 120)]);
    }

    #[test]
    fn skips_other_types_by_rdlength() {
        let mut m = header(7, RESPONSE_OK, [1, 2, 0, 0]);
        m.extend(question(&name("example"), RrType::HTTPS));
        m.extend(rr(
            &pointer(12),
            RrType::HTTPS,
            120,
            &[0, 1, 0, 0, 1, 0, 3, 2, b'h', b'2'],
        ));
        m.extend(rr(&pointer(12), RrType::A, 120, &[5, 6, 7, 8]));
        let m = parse(&m).unwrap();
        assert_eq!(m.other_answers, 1);
        assert_eq!(m.answers.len(), 1);
        assert_eq!(m.answers[0].data, RData::A(Ipv4Addr::new(5, 6, 7, 8)));
        assert!(m.flags.is_empty());
    }

    #[test]
    fn bad_rdata_length_is_flagged_and_skipped() {
        let mut m = header(7, RESPONSE_OK, [1, 2, 0, 0]);
        m.extend(question(&name("example"), RrType::A));
        m.extend(rr(&pointer(12), RrType::A, 120, &[5, 6, 7, 8, 9]));
        m.extend(rr(&pointer(12), RrType::A, 120, &[5, 6, 7, 8]));
        let m = parse(&m).unwrap();
        assert!(m.flags.contains(DnsFlags::BAD_RDATA));
        assert_eq!(m.answers.len(), 1);
    }

    #[test]
    fn top_bit_ttl_reads_as_zero() {
        let mut m = header(7, RESPONSE_OK, [1, 1, 0, 0]);
        m.extend(question(&name("example"), RrType::A));
        m.extend(rr(&pointer(12), RrType::A, 0x8000_0001, &[1, 2, 3, 4]));
        assert_eq!(parse(&m).unwrap().answers[0].ttl, 0);
    }

    #[test]
    fn compression_loop_is_flagged_and_parsing_continues() {
        // The question name is a pointer to itself.
        let mut m = header(1, 0x0100, [1, 0, 0, 0]);
        m.extend(pointer(12));
        m.extend(RrType::AAAA.0.to_be_bytes());
        m.extend(RrClass::IN.0.to_be_bytes());
        let p = parse(&m).unwrap();
        assert!(p.flags.contains(DnsFlags::POINTER_LOOP));
        assert_eq!(p.questions[0].qtype, RrType::AAAA);
        assert!(!probe(&m));

        // Two labels pointing at each other through a longer cycle.
        let mut m = header(1, 0x0100, [1, 0, 0, 0]);
        m.extend([1, b'a']);
        m.extend(pointer(16)); // -> the next label
        m.extend([1, b'b']);
        m.extend(pointer(12)); // -> back to "a"
        let (n, end) = read_name(&m, 12);
        assert_eq!(n.flags(), DnsFlags::POINTER_LOOP);
        assert_eq!(n.as_str(), "a.b.a");
        assert_eq!(end, Some(16));

        // A chain of distinct pointers longer than the cap is cut too.
        let mut m = header(1, 0x0100, [1, 0, 0, 0]);
        m.push(0);
        for i in 0..200u16 {
            m.extend(pointer(12 + 2 * i - if i == 0 { 0 } else { 1 }));
        }
        let (n, _) = read_name(&m, m.len() - 2);
        assert_eq!(n.flags(), DnsFlags::POINTER_LOOP);
    }

    #[test]
    fn pointer_past_the_end_is_flagged() {
        let mut m = header(1, 0x0100, [1, 0, 0, 0]);
        m.extend([3, b'w', b'w', b'w']);
        m.extend(pointer(0x3fff));
        m.extend([0, 1, 0, 1]);
        let p = parse(&m).unwrap();
        assert!(p.flags.contains(DnsFlags::BAD_POINTER));
        assert_eq!(p.questions[0].name.as_str(), "www");
        assert_eq!(p.questions[0].qtype, RrType::A);
    }

    #[test]
    fn name_of_255_labels_is_cut_and_flagged() {
        let mut m = header(1, 0x0100, [1, 0, 0, 0]);
        let mut long = Vec::new();
        for _ in 0..255 {
            long.extend([1, b'x']);
        }
        long.push(0);
        m.extend(question(&long, RrType::AAAA));
        let p = parse(&m).unwrap();
        let q = &p.questions[0];
        assert!(q.name.flags().contains(DnsFlags::TOO_LONG));
        assert_eq!(q.name.label_count(), MAX_LABELS);
        assert_eq!(q.name.as_str().len(), 2 * MAX_LABELS - 1);
        // The end of the name was still found, so the question's type is right.
        assert_eq!(q.qtype, RrType::AAAA);
        assert!(!p.flags.contains(DnsFlags::TRUNCATED));
    }

    #[test]
    fn longest_valid_name_is_accepted() {
        // 127 one-byte labels: 254 bytes plus the root = 255.
        let mut long = Vec::new();
        for _ in 0..MAX_LABELS {
            long.extend([1, b'y']);
        }
        long.push(0);
        let mut m = header(1, 0x0100, [1, 0, 0, 0]);
        m.extend(question(&long, RrType::A));
        let p = parse(&m).unwrap();
        assert!(p.flags.is_empty());
        assert_eq!(p.questions[0].name.label_count(), MAX_LABELS);
    }

    #[test]
    fn truncated_message_keeps_what_was_read() {
        let full = cname_response();
        let cut = &full[..full.len() - 6];
        let m = parse(cut).unwrap();
        assert!(m.flags.contains(DnsFlags::TRUNCATED));
        assert_eq!(m.questions.len(), 1);
        assert_eq!(m.answers.len(), 2);

        let m = parse(&full[..20]).unwrap();
        assert!(m.flags.contains(DnsFlags::TRUNCATED));
        assert!(m.questions.is_empty());
        assert!(!probe(&full[..20]));
    }

    #[test]
    fn nxdomain_and_extended_rcode() {
        let mut m = header(9, 0x8183, [1, 0, 0, 0]);
        m.extend(question(&name("nope.invalid"), RrType::A));
        let p = parse(&m).unwrap();
        assert_eq!(p.rcode(), Rcode::NXDOMAIN);
        assert_eq!(p.rcode().name(), "NXDOMAIN");

        // OPT in the additional section: extended rcode 1, header rcode 0 -> BADVERS (16).
        let mut m = header(9, 0x8180, [1, 0, 0, 1]);
        m.extend(question(&name("x"), RrType::A));
        m.push(0); // root owner name
        m.extend(RrType::OPT.0.to_be_bytes());
        m.extend(1232u16.to_be_bytes());
        m.extend([1, 0, 0x80, 0]);
        m.extend(0u16.to_be_bytes());
        let p = parse(&m).unwrap();
        let edns = p.edns.unwrap();
        assert_eq!(edns.udp_payload_size, 1232);
        assert!(edns.dnssec_ok);
        assert_eq!(p.rcode(), Rcode::BADVERS);
        assert_eq!(Rcode(4000).name(), "RCODE4000");
    }

    #[test]
    fn root_name_and_type_names() {
        let mut m = header(1, 0x0100, [1, 0, 0, 0]);
        m.extend(question(&[0], RrType::NS));
        assert_eq!(parse(&m).unwrap().questions[0].name.as_str(), ".");
        assert_eq!(RrType::HTTPS.name(), "HTTPS");
        assert_eq!(RrType(65_280).name(), "TYPE65280");
    }

    #[test]
    fn keeps_bounded_answers_and_counts_the_rest() {
        let n = MAX_ANSWERS as u16 + 8;
        let mut m = header(1, RESPONSE_OK, [1, n, 0, 0]);
        m.extend(question(&name("many.example"), RrType::A));
        for i in 0..n {
            m.extend(rr(&pointer(12), RrType::A, 5, &[10, 0, 0, i as u8]));
        }
        let p = parse(&m).unwrap();
        assert_eq!(p.answers.len(), MAX_ANSWERS);
        assert_eq!(p.answers_over_limit, 8);
        assert!(p.flags.is_empty());
    }

    proptest! {
        #[test]
        fn a_record_text_is_display(b in any::<[u8; 4]>()) {
            let ip = Ipv4Addr::from(b);
            prop_assert_eq!(RData::A(ip).to_text(), ip.to_string());
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(m) = parse(&bytes) {
                let _ = answers_for_cache(&m).count();
            }
            let _ = probe(&bytes);
            let _ = tcp_messages(&bytes).count();
            let mut info = DnsInfo::default();
            let mut t = DnsTracker::new();
            let _ = t.on_datagram(Direction::ToClient, &bytes, &mut info);
            let mut t = DnsTracker::new();
            for cut in [bytes.len() / 2, bytes.len()] {
                let _ = t.on_stream(Direction::ToServer, &bytes[..cut], &mut info);
            }
        }

        #[test]
        fn mutated_responses_never_panic(
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut msg = cname_response();
            let i = at.index(msg.len());
            msg[i] = byte;
            let msg = &msg[..cut.index(msg.len() + 1)];
            if let Ok(m) = parse(msg) {
                prop_assert!(m.answers.len() <= MAX_ANSWERS);
                let _ = answers_for_cache(&m).count();
            }
            let mut t = DnsTracker::new();
            let _ = t.on_datagram(Direction::ToClient, msg, &mut DnsInfo::default());
        }


    }
}
