//! DNS messages built byte by byte for the tests (RFC 1035 §4.1 layouts).

use super::{RR_FIXED_LEN, RrClass, RrType};

pub const RD: u16 = 0x0100;
pub const RESPONSE_OK: u16 = 0x8180;

pub fn header(id: u16, flags: u16, counts: [u16; 4]) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&flags.to_be_bytes());
    for c in counts {
        h.extend_from_slice(&c.to_be_bytes());
    }
    h
}

/// An uncompressed name from dotted text (no escapes needed in tests using this).
pub fn name(dotted: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in dotted.split('.').filter(|l| !l.is_empty()) {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

pub fn pointer(offset: u16) -> Vec<u8> {
    (0xc000 | offset).to_be_bytes().to_vec()
}

pub fn question(name: &[u8], qtype: RrType) -> Vec<u8> {
    let mut q = name.to_vec();
    q.extend_from_slice(&qtype.0.to_be_bytes());
    q.extend_from_slice(&RrClass::IN.0.to_be_bytes());
    q
}

pub fn rr(name: &[u8], rtype: RrType, ttl: u32, rdata: &[u8]) -> Vec<u8> {
    let mut r = name.to_vec();
    r.extend_from_slice(&rtype.0.to_be_bytes());
    r.extend_from_slice(&RrClass::IN.0.to_be_bytes());
    r.extend_from_slice(&ttl.to_be_bytes());
    r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    r.extend_from_slice(rdata);
    r
}

pub fn query(id: u16, qname: &str, qtype: RrType) -> Vec<u8> {
    let mut m = header(id, RD, [1, 0, 0, 0]);
    m.extend(question(&name(qname), qtype));
    m
}

/// `www.zoom.us CNAME zoom.cloudfront.net`, `zoom.cloudfront.net A 1.2.3.4` and
/// `A 1.2.3.5`, all owner names compressed.
pub fn cname_response() -> Vec<u8> {
    let mut m = header(0xbeef, RESPONSE_OK, [1, 3, 0, 0]);
    m.extend(question(&name("www.zoom.us"), RrType::A)); // name at offset 12
    let mut target = vec![4];
    target.extend_from_slice(b"zoom");
    target.extend(name("cloudfront.net"));
    let target_at = (m.len() + 2 + RR_FIXED_LEN) as u16;
    m.extend(rr(&pointer(12), RrType::CNAME, 300, &target));
    m.extend(rr(&pointer(target_at), RrType::A, 60, &[1, 2, 3, 4]));
    m.extend(rr(&pointer(target_at), RrType::A, 20, &[1, 2, 3, 5]));
    m
}
