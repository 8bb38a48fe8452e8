//! SDP session descriptions (as carried in SIP bodies): where media goes, over which
//! transport profile, and how it is keyed — SDES keys in clear (`a=crypto` with `inline:`)
//! versus DTLS-SRTP (`a=fingerprint`), plus ICE candidates.
//!
//! Key material is never copied: for `a=crypto` only the suite and the fact that an inline
//! key is present are kept; for `a=fingerprint` only the hash algorithm.
//!
//! References:
//! - RFC 8866 (SDP, obsoletes RFC 4566) §5: <https://www.rfc-editor.org/rfc/rfc8866>
//! - RFC 4568 (SDES, `a=crypto`) §9.1: <https://www.rfc-editor.org/rfc/rfc4568>
//! - RFC 8122 (`a=fingerprint`, `a=setup`): <https://www.rfc-editor.org/rfc/rfc8122>
//! - RFC 8839 (ICE SDP: `a=candidate`, `a=ice-ufrag`) §5.1: <https://www.rfc-editor.org/rfc/rfc8839>
//! - RFC 5764 §9 / RFC 5124 (UDP/TLS/RTP/SAVPF, RTP/SAVPF)

use serde::Serialize;
use std::net::IpAddr;

/// Lines read from one description (a WebRTC offer with many candidates has < 200).
pub const MAX_SDP_LINES: usize = 1024;
/// Media sections kept (`m=` lines).
pub const MAX_MEDIA: usize = 16;
/// Formats kept per `m=` line.
pub const MAX_FORMATS: usize = 32;
/// `a=rtpmap` lines kept per media section.
pub const MAX_RTPMAPS: usize = 32;
/// `a=crypto` suites kept per media section.
pub const MAX_CRYPTO: usize = 8;
/// ICE candidates kept per media section.
pub const MAX_CANDIDATES: usize = 32;
/// Longest token kept (media type, proto, suite, hash, encoding names, foundations).
pub const MAX_TOKEN_LEN: usize = 64;
/// Longest candidate address kept (an IP literal or an mDNS/FQDN name, RFC 8839 §5.1).
pub const MAX_ADDRESS_LEN: usize = 255;

/// What one SDP body announced.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SdpSummary {
    pub media: Vec<SdpMedia>,
    /// A bound cut the description short.
    #[serde(skip_serializing_if = "is_false")]
    pub truncated: bool,
}

impl SdpSummary {
    /// Any media section carries an SDES key in the clear.
    pub fn keys_in_clear(&self) -> bool {
        self.media.iter().any(|m| m.keys_in_clear)
    }
}

/// One `m=` section with session-level defaults (`c=`, `a=fingerprint`, `a=setup`,
/// `a=ice-ufrag`) applied.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SdpMedia {
    /// `audio`, `video`, `application`, …
    pub kind: String,
    /// The connection address (`c=`), None when absent or a host name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addr: Option<IpAddr>,
    /// Port 0 rejects or disables the stream.
    pub port: u16,
    /// `RTP/AVP`, `RTP/SAVP`, `RTP/SAVPF`, `UDP/TLS/RTP/SAVPF`, …
    pub proto: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub formats: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rtpmap: Vec<RtpMap>,
    /// `a=crypto` suites, e.g. `AES_CM_128_HMAC_SHA1_80`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub crypto_suites: Vec<String>,
    /// An `a=crypto` line carries an `inline:` key: anyone who reads this SDP can decrypt
    /// the SRTP.
    pub keys_in_clear: bool,
    /// Hash algorithm of `a=fingerprint` (DTLS-SRTP), e.g. `sha-256`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// `a=setup` (`actpass`, `active`, `passive`): who is the DTLS client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup: Option<String>,
    #[serde(skip_serializing_if = "is_false")]
    pub ice_ufrag: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<IceCandidate>,
}

/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<channels>]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RtpMap {
    pub payload_type: u8,
    pub encoding: String,
    pub clock_rate: u32,
}

/// ICE candidate type (RFC 8445 §5.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IceCandidateType {
    Host,
    Srflx,
    Prflx,
    Relay,
    Other,
}

/// `a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct IceCandidate {
    pub foundation: String,
    pub component: u16,
    /// `UDP` or `TCP` as written.
    pub transport: String,
    pub priority: u32,
    /// As written: an IP literal or a host name (browsers hide host IPs behind mDNS names).
    pub address: String,
    /// `address` when it is an IP literal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    pub port: u16,
    #[serde(rename = "type")]
    pub typ: IceCandidateType,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Session-level values that media sections inherit.
#[derive(Default)]
struct SessionDefaults {
    addr: Option<IpAddr>,
    fingerprint: Option<String>,
    setup: Option<String>,
    ice_ufrag: bool,
}

/// Parse an SDP body. Never fails: unknown or malformed lines are skipped.
pub fn parse_sdp(body: &[u8]) -> SdpSummary {
    let mut out = SdpSummary::default();
    let mut session = SessionDefaults::default();
    // Media sections with an explicit c= line, parallel to `out.media`.
    let mut has_own_addr: Vec<bool> = Vec::new();
    let mut skipping = false; // inside an m= section beyond MAX_MEDIA
    for (n, raw) in body.split(|&b| b == b'\n').enumerate() {
        if n >= MAX_SDP_LINES {
            out.truncated = true;
            break;
        }
        let line = String::from_utf8_lossy(raw.strip_suffix(b"\r").unwrap_or(raw));
        let Some((kind, value)) = line.split_once('=') else {
            continue;
        };
        if kind == "m" {
            if out.media.len() >= MAX_MEDIA {
                out.truncated = true;
                skipping = true;
                continue;
            }
            skipping = false;
            out.media.push(parse_media_line(value));
            has_own_addr.push(false);
            continue;
        }
        if skipping {
            continue;
        }
        match (out.media.last_mut(), kind) {
            (None, "c") => session.addr = parse_connection(value),
            (Some(m), "c") => {
                m.addr = parse_connection(value);
                if let Some(own) = has_own_addr.last_mut() {
                    *own = true;
                }
            }
            (media, "a") => {
                if let Some(trunc) = apply_attribute(value, media, &mut session) {
                    out.truncated |= trunc;
                }
            }
            _ => {}
        }
    }
    for (m, own) in out.media.iter_mut().zip(has_own_addr) {
        if !own {
            m.addr = session.addr;
        }
        if m.fingerprint.is_none() {
            m.fingerprint.clone_from(&session.fingerprint);
        }
        if m.setup.is_none() {
            m.setup.clone_from(&session.setup);
        }
        m.ice_ufrag |= session.ice_ufrag;
    }
    out
}

/// `m=<media> <port>[/<number of ports>] <proto> <fmt> ...`
fn parse_media_line(value: &str) -> SdpMedia {
    let mut it = value.split_ascii_whitespace();
    let kind = token(it.next().unwrap_or_default());
    let port = it
        .next()
        .and_then(|p| p.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_default();
    let proto = token(it.next().unwrap_or_default());
    let formats = it.take(MAX_FORMATS).map(token).collect();
    SdpMedia {
        kind,
        port,
        proto,
        formats,
        ..SdpMedia::default()
    }
}

/// `c=IN IP4 224.2.17.12/127`: the address, without TTL or count.
fn parse_connection(value: &str) -> Option<IpAddr> {
    let mut it = value.split_ascii_whitespace();
    let (_net, _addrtype, addr) = (it.next()?, it.next()?, it.next()?);
    addr.split('/').next()?.parse().ok()
}

/// Apply one `a=` line. Returns Some(true) when a bound cut something.
fn apply_attribute(
    value: &str,
    media: Option<&mut SdpMedia>,
    session: &mut SessionDefaults,
) -> Option<bool> {
    let (name, arg) = value.split_once(':').unwrap_or((value, ""));
    let Some(m) = media else {
        match name {
            "fingerprint" => session.fingerprint = hash_name(arg),
            "setup" => session.setup = Some(token(arg.trim())),
            "ice-ufrag" => session.ice_ufrag = true,
            _ => {}
        }
        return None;
    };
    match name {
        "rtpmap" => {
            if m.rtpmap.len() >= MAX_RTPMAPS {
                return Some(true);
            }
            if let Some(r) = parse_rtpmap(arg) {
                m.rtpmap.push(r);
            }
        }
        "crypto" => {
            // <tag> <crypto-suite> <key-params> [<session-params>]
            let mut it = arg.split_ascii_whitespace();
            let (_tag, suite, key_params) = (it.next()?, it.next()?, it.next().unwrap_or_default());
            if key_params.split(';').any(|kp| {
                kp.get(..7)
                    .is_some_and(|p| p.eq_ignore_ascii_case("inline:"))
            }) {
                m.keys_in_clear = true;
            }
            if m.crypto_suites.len() >= MAX_CRYPTO {
                return Some(true);
            }
            m.crypto_suites.push(token(suite));
        }
        "fingerprint" => m.fingerprint = hash_name(arg),
        "setup" => m.setup = Some(token(arg.trim())),
        "ice-ufrag" => m.ice_ufrag = true,
        "candidate" => {
            if m.candidates.len() >= MAX_CANDIDATES {
                return Some(true);
            }
            if let Some(c) = parse_candidate(arg) {
                m.candidates.push(c);
            }
        }
        _ => {}
    }
    None
}

/// `a=fingerprint:<hash-func> <fingerprint>`: only the hash function, lowercased.
fn hash_name(arg: &str) -> Option<String> {
    arg.split_ascii_whitespace()
        .next()
        .map(|h| token(&h.to_ascii_lowercase()))
}

fn parse_rtpmap(arg: &str) -> Option<RtpMap> {
    let (pt, rest) = arg.trim().split_once(' ')?;
    let mut enc = rest.trim().split('/');
    let encoding = token(enc.next()?);
    let clock_rate = enc.next()?.parse().ok()?;
    Some(RtpMap {
        payload_type: pt.parse().ok()?,
        encoding,
        clock_rate,
    })
}

/// RFC 8839 §5.1 candidate-attribute.
pub fn parse_candidate(arg: &str) -> Option<IceCandidate> {
    let mut it = arg.split_ascii_whitespace();
    let foundation = token(it.next()?);
    let component = it.next()?.parse().ok()?;
    let transport = token(it.next()?);
    let priority = it.next()?.parse().ok()?;
    let address_raw = it.next()?;
    let port = it.next()?.parse().ok()?;
    if !it.next()?.eq_ignore_ascii_case("typ") {
        return None;
    }
    let typ = match it.next()? {
        t if t.eq_ignore_ascii_case("host") => IceCandidateType::Host,
        t if t.eq_ignore_ascii_case("srflx") => IceCandidateType::Srflx,
        t if t.eq_ignore_ascii_case("prflx") => IceCandidateType::Prflx,
        t if t.eq_ignore_ascii_case("relay") => IceCandidateType::Relay,
        _ => IceCandidateType::Other,
    };
    let ip = address_raw.parse().ok();
    let address = truncate(address_raw, MAX_ADDRESS_LEN);
    Some(IceCandidate {
        foundation,
        component,
        transport,
        priority,
        address,
        ip,
        port,
        typ,
    })
}

fn token(s: &str) -> String {
    truncate(s, MAX_TOKEN_LEN)
}

/// At most `max` bytes, cut at a character boundary.
fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default().to_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 8866 §5 example.
    const RFC8866_EXAMPLE: &str = "v=0\r\n\
        o=jdoe 3724394400 3724394405 IN IP4 198.51.100.1\r\n\
        s=Call to John Smith\r\n\
        i=SDP Offer #1\r\n\
        u=http://www.jdoe.example.com/home.html\r\n\
        e=Jane Doe <jane@jdoe.example.com>\r\n\
        p=+1 617 555-6011\r\n\
        c=IN IP4 198.51.100.1\r\n\
        t=0 0\r\n\
        m=audio 49170 RTP/AVP 0\r\n\
        m=audio 49180 RTP/AVP 0\r\n\
        m=video 51372 RTP/AVP 99\r\n\
        c=IN IP6 2001:db8::2\r\n\
        a=rtpmap:99 h263-1998/90000\r\n";

    /// RFC 4568 §9.1 offer (SDES key in clear), with a second key-param added.
    const RFC4568_OFFER: &str = "v=0\r\n\
        o=sam 2890844526 2890842807 IN IP4 10.47.16.5\r\n\
        s=SRTP Discussion\r\n\
        i=A discussion of Secure RTP\r\n\
        u=http://www.example.com/seminars/srtp.pdf\r\n\
        e=marge@example.com (Marge Simpson)\r\n\
        c=IN IP4 168.2.17.12\r\n\
        t=2873397496 2873404696\r\n\
        m=audio 49170 RTP/SAVP 0\r\n\
        a=crypto:1 AES_CM_128_HMAC_SHA1_80 \
        inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4;\
        inline:QUJjZGVmMTIzNDU2Nzg5QUJDREUwMTIzNDU2Nzg5|2^20|2:4 FEC_ORDER=FEC_SRTP\r\n\
        a=crypto:2 AES_CM_128_HMAC_SHA1_32 \
        inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj|2^20|1:32\r\n";

    /// A browser-style WebRTC offer: fingerprint at session level, candidates per section.
    const WEBRTC_OFFER: &str = "v=0\n\
        o=- 4611731400430051336 2 IN IP4 127.0.0.1\n\
        s=-\n\
        t=0 0\n\
        a=group:BUNDLE 0 1\n\
        a=fingerprint:SHA-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB\n\
        m=audio 54400 UDP/TLS/RTP/SAVPF 111 0\n\
        c=IN IP4 203.0.113.7\n\
        a=ice-ufrag:F7gI\n\
        a=ice-pwd:x9cml/YzichV2+XlhiMu8g\n\
        a=setup:actpass\n\
        a=rtpmap:111 opus/48000/2\n\
        a=candidate:1467250027 1 udp 2122260223 192.168.0.196 46243 typ host generation 0\n\
        a=candidate:1853887674 1 udp 1845501695 203.0.113.7 54400 typ srflx raddr 192.168.0.196 rport 46243\n\
        a=candidate:2157334355 1 udp 2113937151 4b1e6f2c-8d5a.local 56789 typ host\n\
        a=candidate:3 1 udp 33562623 198.51.100.9 3478 typ relay raddr 203.0.113.7 rport 54400\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96\n\
        c=IN IP4 0.0.0.0\n\
        a=setup:active\n\
        a=rtpmap:96 VP8/90000\n";

    #[test]
    fn rfc8866_example_media_and_connection_inheritance() {
        let s = parse_sdp(RFC8866_EXAMPLE.as_bytes());
        assert_eq!(s.media.len(), 3);
        let a = &s.media[0];
        assert_eq!(
            (a.kind.as_str(), a.port, a.proto.as_str()),
            ("audio", 49170, "RTP/AVP")
        );
        assert_eq!(a.formats, ["0"]);
        assert_eq!(a.addr, Some("198.51.100.1".parse().unwrap()));
        let v = &s.media[2];
        assert_eq!(
            v.addr,
            Some("2001:db8::2".parse().unwrap()),
            "media-level c= wins"
        );
        assert_eq!(
            v.rtpmap,
            [RtpMap {
                payload_type: 99,
                encoding: "h263-1998".into(),
                clock_rate: 90000
            }]
        );
        assert!(!s.keys_in_clear());
        assert!(!s.truncated);
    }

    #[test]
    fn rfc4568_crypto_records_suites_and_never_the_key() {
        let s = parse_sdp(RFC4568_OFFER.as_bytes());
        let m = &s.media[0];
        assert_eq!(m.proto, "RTP/SAVP");
        assert_eq!(
            m.crypto_suites,
            ["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"]
        );
        assert!(m.keys_in_clear && s.keys_in_clear());
        let json = serde_json::to_string(&s).unwrap();
        for secret in ["WVNfX19", "QUJjZGVm", "NzB4d1BI", "inline"] {
            assert!(!json.contains(secret), "{secret} leaked into {json}");
        }
    }

    #[test]
    fn crypto_without_inline_key_is_not_keys_in_clear() {
        let sdp = "v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/SAVP 0\r\n\
                   a=crypto:1 AES_CM_128_HMAC_SHA1_80 FOO:bar\r\n";
        let s = parse_sdp(sdp.as_bytes());
        assert_eq!(s.media[0].crypto_suites, ["AES_CM_128_HMAC_SHA1_80"]);
        assert!(!s.keys_in_clear());
    }

    #[test]
    fn webrtc_offer_fingerprint_setup_and_candidates() {
        let s = parse_sdp(WEBRTC_OFFER.as_bytes());
        assert_eq!(s.media.len(), 2);
        let a = &s.media[0];
        assert_eq!(a.proto, "UDP/TLS/RTP/SAVPF");
        assert_eq!(
            a.fingerprint.as_deref(),
            Some("sha-256"),
            "inherited and lowercased"
        );
        assert_eq!(a.setup.as_deref(), Some("actpass"));
        assert!(a.ice_ufrag);
        assert!(!a.keys_in_clear);
        assert_eq!(a.candidates.len(), 4);
        let types: Vec<_> = a.candidates.iter().map(|c| c.typ).collect();
        use IceCandidateType::*;
        assert_eq!(types, [Host, Srflx, Host, Relay]);
        let c = &a.candidates[1];
        assert_eq!(c.foundation, "1853887674");
        assert_eq!(
            (c.component, c.transport.as_str(), c.port),
            (1, "udp", 54400)
        );
        assert_eq!(c.ip, Some("203.0.113.7".parse().unwrap()));
        assert_eq!(a.candidates[2].address, "4b1e6f2c-8d5a.local");
        assert_eq!(a.candidates[2].ip, None);
        let v = &s.media[1];
        assert_eq!(v.setup.as_deref(), Some("active"), "media-level setup wins");
        assert_eq!(v.port, 9);
        assert_eq!(v.fingerprint.as_deref(), Some("sha-256"));
        let json = serde_json::to_string(&s).unwrap();
        assert!(
            !json.contains("4A:AD"),
            "fingerprint value must not be kept"
        );
        assert!(!json.contains("x9cml"), "ice-pwd must not be kept");
    }

    #[test]
    fn bounds_cut_and_flag() {
        let mut sdp = String::from("v=0\r\nc=IN IP4 192.0.2.1\r\n");
        for i in 0..MAX_MEDIA + 3 {
            sdp.push_str(&format!("m=audio {} RTP/AVP 0\r\n", 1000 + i));
        }
        sdp.push_str("m=video 2000 RTP/AVP 96\r\n");
        for i in 0..MAX_CANDIDATES + 5 {
            sdp.push_str(&format!(
                "a=candidate:{i} 1 udp 1 192.0.2.2 {i} typ host\r\n"
            ));
        }
        let s = parse_sdp(sdp.as_bytes());
        assert_eq!(s.media.len(), MAX_MEDIA);
        assert!(s.truncated);
        assert!(
            s.media.iter().all(|m| m.candidates.is_empty()),
            "skipped section's lines ignored"
        );
    }

    #[test]
    fn malformed_candidates_are_skipped() {
        assert!(parse_candidate("1 1 udp 5 192.0.2.1 99999 typ host").is_none());
        assert!(parse_candidate("1 1 udp 5 192.0.2.1 80 type host").is_none());
        assert!(parse_candidate("1 1 udp").is_none());
        let c = parse_candidate("x 2 TCP 5 192.0.2.1 9 typ weird tcptype active").unwrap();
        assert_eq!(c.typ, IceCandidateType::Other);
    }

    proptest! {
        #[test]
        fn parse_sdp_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let s = parse_sdp(&bytes);
            prop_assert!(s.media.len() <= MAX_MEDIA);
        }

        #[test]
        fn parse_sdp_never_panics_on_sdp_like_text(
            lines in proptest::collection::vec(
                "(m=|c=|a=candidate:|a=crypto:|a=rtpmap:|a=fingerprint:|a=setup:)[ -~é]{0,60}", 0..40)
        ) {
            let text = lines.join("\r\n");
            let s = parse_sdp(text.as_bytes());
            for m in &s.media {
                prop_assert!(m.candidates.len() <= MAX_CANDIDATES);
                prop_assert!(m.proto.len() <= MAX_TOKEN_LEN);
            }
        }

        #[test]
        fn parse_candidate_never_panics(s in "\\PC{0,120}") {
            let _ = parse_candidate(&s);
        }
    }
}
