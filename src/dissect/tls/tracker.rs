//! Per-flow TLS state: walks the records of both directions of a TCP stream, reassembles
//! handshake messages, and fills a [`TlsInfo`] until the interesting part is over.
//!
//! References: RFC 8446 §5.1 (records may split and coalesce handshake messages),
//! §4 (handshake message header), §4.1.4 (HelloRetryRequest), §D.4 (middlebox
//! compatibility ChangeCipherSpec), RFC 5246 §7.4 (TLS 1.2 handshake flow),
//! RFC 8446 §4.2.10 (early data).

use super::cert::{CertCache, MAX_CERT_DER_LEN};
use super::client_hello::{HANDSHAKE_CLIENT_HELLO, ext, parse_client_hello_message};
use super::info::{ClientHelloReport, TlsAlert, TlsAnomalyKind, TlsInfo};
use super::record::{MAX_PLAINTEXT_LEN, RECORD_HEADER_LEN, RecordError, read_record_header};
use super::server_hello::{HANDSHAKE_SERVER_HELLO, parse_server_hello_message};
use crate::model::{Direction, Progress};
use tls_parser::{TlsMessage, TlsMessageHandshake, TlsRecordType, parse_tls_message_handshake};

/// At most this many certificates of a chain are parsed. Real chains have 2–4
/// (RFC 5246 §7.4.2 sets no limit).
pub const MAX_CERTIFICATES: usize = 10;
/// Longest handshake message we reassemble (the u24 length allows 16 MiB). The stream
/// given to us is capped at 64 KiB per direction anyway.
pub const MAX_HANDSHAKE_MSG_LEN: usize = 64 * 1024;
/// Handshake message header: type (1) and u24 length (RFC 8446 §4).
const HANDSHAKE_HEADER_LEN: usize = 4;
/// Handshake message types we act on (RFC 8446 §4, RFC 5246 §7.4).
const HANDSHAKE_CERTIFICATE: u8 = 11;
const HANDSHAKE_SERVER_HELLO_DONE: u8 = 14;
/// The transport letter of JA4 for TLS over TCP.
const JA4_TRANSPORT_TCP: char = 't';

/// One direction of the stream.
#[derive(Debug, Default)]
struct Side {
    /// Stream offset of the next record header.
    parsed: usize,
    /// Handshake bytes not yet consumed as whole messages.
    handshake: Vec<u8>,
    /// Stream offset of the record whose handshake bytes start `handshake`.
    handshake_offset: usize,
    /// Records from here on are encrypted (after this side's ChangeCipherSpec).
    encrypted: bool,
    /// Handshake parsing gave up on this side (message too large).
    handshake_abandoned: bool,
}

/// TLS state of one TCP flow. Feed it each direction's bytes with [`TlsTracker::on_stream`].
#[derive(Debug, Default)]
pub struct TlsTracker {
    sides: [Side; 2],
    /// A valid record header was seen: this flow is TLS.
    recognised: bool,
    not_mine: bool,
    server_hello_seen: bool,
    tls13: bool,
    /// The ClientHello offered 0-RTT, so client application data may precede the
    /// ServerHello (RFC 8446 §4.2.10).
    early_data_offered: bool,
    /// Nothing more of interest will come from the server: its ServerHello and what
    /// follows it were read, or a fatal alert or a broken record ended the handshake.
    server_done: bool,
    /// The client moved on to application data (or sent a fatal alert / broken record).
    client_done: bool,
}

impl TlsTracker {
    /// Cheap check that `first_bytes` start a TLS handshake record (see [`super::probe`]).
    pub fn probe(first_bytes: &[u8]) -> bool {
        super::record::probe(first_bytes)
    }

    /// Read what is new in `stream`: all contiguous bytes of direction `dir` from the first
    /// byte of the TCP stream (a growing slice; earlier bytes must not change). Keeps how
    /// far it read each direction; an incomplete record at the end waits for the next call.
    ///
    /// `NotMine` when the first record is not TLS (SSLv2-compatible hellos included);
    /// `Done` once the ServerHello was seen and TLS 1.3 was negotiated, or the server's
    /// Certificate, ServerHelloDone, ChangeCipherSpec or application data followed it; also
    /// when the client starts application data (unless it offered 0-RTT and the ServerHello
    /// is still to come) or a fatal alert ends the handshake. `Done` for the server side
    /// waits until the client direction has been read at least once, so the ClientHello is
    /// not missed when the server's bytes are handed over first. A broken record header
    /// after TLS was recognised is flagged in `info.anomalies` and ends that direction.
    pub fn on_stream(&mut self, dir: Direction, stream: &[u8], info: &mut TlsInfo) -> Progress {
        self.on_stream_cached(dir, stream, info, &mut CertCache::default())
    }

    /// [`TlsTracker::on_stream`] with certificates parsed through a cache shared by flows.
    pub fn on_stream_cached(
        &mut self,
        dir: Direction,
        stream: &[u8],
        info: &mut TlsInfo,
        certs: &mut CertCache,
    ) -> Progress {
        if self.not_mine {
            return Progress::NotMine;
        }
        if !self.side_done(dir) {
            self.read_records(dir, stream, info, certs);
        }
        self.progress()
    }

    fn side_done(&self, dir: Direction) -> bool {
        match dir {
            Direction::ToServer => self.client_done,
            Direction::ToClient => self.server_done,
        }
    }

    fn set_done(&mut self, dir: Direction) {
        match dir {
            Direction::ToServer => self.client_done = true,
            Direction::ToClient => self.server_done = true,
        }
    }

    fn progress(&self) -> Progress {
        let client_read = self.sides[Direction::ToServer.index()].parsed > 0;
        if self.not_mine {
            Progress::NotMine
        } else if self.client_done || (self.server_done && client_read) {
            Progress::Done
        } else {
            Progress::NeedMore
        }
    }

    fn read_records(
        &mut self,
        dir: Direction,
        stream: &[u8],
        info: &mut TlsInfo,
        certs: &mut CertCache,
    ) {
        loop {
            let offset = self.sides[dir.index()].parsed;
            let Some(rest) = stream.get(offset..) else {
                return;
            };
            let hdr = match read_record_header(rest, offset) {
                Ok(Some(hdr)) => hdr,
                Ok(None) => return,
                Err(err) => {
                    self.bad_header(dir, err, info);
                    return;
                }
            };
            if !self.recognised && hdr.content_type == TlsRecordType::Heartbeat {
                // A stream does not start with a heartbeat; the first record must be 20..=23.
                self.not_mine = true;
                return;
            }
            let Some(fragment) = rest.get(RECORD_HEADER_LEN..hdr.total_len()) else {
                return;
            };
            self.recognised = true;
            self.sides[dir.index()].parsed = offset + hdr.total_len();
            self.on_record(dir, hdr.content_type, fragment, offset, info, certs);
            if self.side_done(dir) {
                return;
            }
        }
    }

    fn bad_header(&mut self, dir: Direction, err: RecordError, info: &mut TlsInfo) {
        if !self.recognised {
            self.not_mine = true;
            return;
        }
        let offset = match err {
            RecordError::ContentType { offset, .. }
            | RecordError::Version { offset, .. }
            | RecordError::TooLarge { offset, .. } => offset,
        };
        info.flag(TlsAnomalyKind::BadRecordHeader, dir, offset);
        // Cannot resynchronise inside a byte stream: stop reading this direction.
        self.sides[dir.index()].parsed = usize::MAX;
        self.set_done(dir);
    }

    fn on_record(
        &mut self,
        dir: Direction,
        ty: TlsRecordType,
        fragment: &[u8],
        offset: usize,
        info: &mut TlsInfo,
        certs: &mut CertCache,
    ) {
        let encrypted = self.sides[dir.index()].encrypted;
        if !encrypted && ty != TlsRecordType::ApplicationData && fragment.len() > MAX_PLAINTEXT_LEN
        {
            info.flag(TlsAnomalyKind::RecordTooLarge, dir, offset);
        }
        match ty {
            TlsRecordType::ChangeCipherSpec => {
                // What follows is encrypted. (In TLS 1.3 a client may send this
                // middlebox-compatibility CCS before a second, plaintext ClientHello after an
                // HRR, RFC 8446 §D.4; we keep the first ClientHello, so nothing is lost.)
                self.sides[dir.index()].encrypted = true;
                if dir == Direction::ToClient && self.server_hello_seen {
                    self.server_done = true;
                }
            }
            TlsRecordType::Alert if !encrypted => match fragment {
                &[level, description] => {
                    let alert = TlsAlert::new(dir, level, description);
                    info.alert.get_or_insert(alert);
                    if alert.is_fatal() {
                        self.set_done(dir);
                    }
                }
                _ => info.flag(TlsAnomalyKind::MalformedAlert, dir, offset),
            },
            TlsRecordType::Handshake if !encrypted => {
                self.on_handshake_fragment(dir, fragment, offset, info, certs)
            }
            TlsRecordType::ApplicationData => match dir {
                Direction::ToServer if self.server_hello_seen || !self.early_data_offered => {
                    self.client_done = true;
                }
                Direction::ToClient if self.server_hello_seen => self.server_done = true,
                _ => {}
            },
            TlsRecordType::Heartbeat => info.flag(TlsAnomalyKind::Heartbeat, dir, offset),
            _ => {}
        }
    }

    /// Append a handshake record's bytes and handle every message that is now complete.
    fn on_handshake_fragment(
        &mut self,
        dir: Direction,
        fragment: &[u8],
        offset: usize,
        info: &mut TlsInfo,
        certs: &mut CertCache,
    ) {
        let side = &mut self.sides[dir.index()];
        if side.handshake_abandoned {
            return;
        }
        if side.handshake.is_empty() {
            side.handshake_offset = offset;
        }
        side.handshake.extend_from_slice(fragment);
        let buf = std::mem::take(&mut side.handshake);
        let mut consumed = 0;
        while let Some(rest) = buf.get(consumed..) {
            let Some(&[ty, a, b, c]) = rest.get(..HANDSHAKE_HEADER_LEN) else {
                break;
            };
            let len = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
            if len > MAX_HANDSHAKE_MSG_LEN {
                info.flag(
                    TlsAnomalyKind::HandshakeMessageTooLarge,
                    dir,
                    self.sides[dir.index()].handshake_offset,
                );
                self.sides[dir.index()].handshake_abandoned = true;
                return;
            }
            let Some(msg) = rest.get(..HANDSHAKE_HEADER_LEN + len) else {
                break;
            };
            let msg_offset = self.sides[dir.index()].handshake_offset;
            self.on_handshake_message(dir, ty, msg, msg_offset, info, certs);
            consumed += msg.len();
            if self.sides[dir.index()].encrypted || self.side_done(dir) {
                return;
            }
        }
        let side = &mut self.sides[dir.index()];
        side.handshake = buf.get(consumed..).unwrap_or_default().to_vec();
        if consumed > 0 {
            side.handshake_offset = offset;
        }
    }

    fn on_handshake_message(
        &mut self,
        dir: Direction,
        ty: u8,
        msg: &[u8],
        offset: usize,
        info: &mut TlsInfo,
        certs: &mut CertCache,
    ) {
        match (dir, ty) {
            (Direction::ToServer, HANDSHAKE_CLIENT_HELLO) => {
                // Keep the first ClientHello: after an HRR the second one is a retry.
                if info.client_hello.is_some() {
                    return;
                }
                match parse_client_hello_message(msg) {
                    Some(hello) => {
                        self.early_data_offered = hello.extensions.contains(&ext::EARLY_DATA);
                        info.client_hello = Some(ClientHelloReport::new(hello, JA4_TRANSPORT_TCP));
                    }
                    None => info.flag(TlsAnomalyKind::ClientHelloUnparsable, dir, offset),
                }
            }
            (Direction::ToClient, HANDSHAKE_SERVER_HELLO) => {
                let Some(hello) = parse_server_hello_message(msg) else {
                    info.flag(TlsAnomalyKind::ServerHelloUnparsable, dir, offset);
                    return;
                };
                if hello.hello_retry_request {
                    info.hello_retry_request = true;
                    info.server_hello = Some(hello);
                    return;
                }
                self.server_hello_seen = true;
                // TLS 1.3 and its drafts (0x7fNN): everything after the ServerHello is
                // encrypted, including the certificates.
                self.tls13 = hello.version == 0x0304 || hello.version >> 8 == 0x7f;
                info.negotiated = !info.alert.is_some_and(|a| a.is_fatal());
                info.server_hello = Some(hello);
                if self.tls13 {
                    self.sides[dir.index()].encrypted = true;
                    self.server_done = true;
                }
            }
            (Direction::ToClient, HANDSHAKE_CERTIFICATE) if self.server_hello_seen => {
                self.read_certificates(dir, msg, offset, info, certs);
                self.server_done = true;
            }
            (Direction::ToClient, HANDSHAKE_SERVER_HELLO_DONE) if self.server_hello_seen => {
                self.server_done = true;
            }
            _ => {}
        }
    }

    fn read_certificates(
        &mut self,
        dir: Direction,
        msg: &[u8],
        offset: usize,
        info: &mut TlsInfo,
        certs: &mut CertCache,
    ) {
        let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::Certificate(chain)))) =
            parse_tls_message_handshake(msg)
        else {
            info.flag(TlsAnomalyKind::CertificateMessageUnparsable, dir, offset);
            return;
        };
        if chain.cert_chain.len() > MAX_CERTIFICATES {
            info.flag(TlsAnomalyKind::TooManyCertificates, dir, offset);
        }
        for raw in chain.cert_chain.iter().take(MAX_CERTIFICATES) {
            if raw.data.len() > MAX_CERT_DER_LEN {
                info.flag(TlsAnomalyKind::CertificateTooLarge, dir, offset);
                continue;
            }
            match certs.parse(raw.data) {
                Some(cert) => info.certificates.push(cert),
                None => info.flag(TlsAnomalyKind::CertificateUnparsable, dir, offset),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::dissect::tls::client_hello::tests::{
        alpn_ext, chrome_like, client_hello, extension, sni_ext, versions_ext,
    };
    use crate::dissect::tls::server_hello::HELLO_RETRY_REQUEST_RANDOM;
    use crate::dissect::tls::server_hello::tests::{server_hello, tls13_server_hello};
    use proptest::prelude::*;

    const LEAF: &[u8] = include_bytes!("testdata/leaf.der");
    const CA: &[u8] = include_bytes!("testdata/ca.der");
    // One openssl s_client ↔ s_server handshake each, see scripts/record-tls-fixtures.sh.
    const TLS12_PCAP: &[u8] = include_bytes!("testdata/tls12.pcap");
    const TLS13_PCAP: &[u8] = include_bytes!("testdata/tls13.pcap");
    const SERVER_PORT: u16 = 4433;

    const TO_SERVER: Direction = Direction::ToServer;
    const TO_CLIENT: Direction = Direction::ToClient;

    fn record(ty: u8, body: &[u8]) -> Vec<u8> {
        let mut r = vec![ty, 0x03, 0x03];
        r.extend_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(body);
        r
    }

    fn handshake_msg(ty: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![ty];
        m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        m.extend_from_slice(body);
        m
    }

    fn certificate_msg(chain: &[&[u8]]) -> Vec<u8> {
        let mut list = Vec::new();
        for c in chain {
            list.extend_from_slice(&(c.len() as u32).to_be_bytes()[1..]);
            list.extend_from_slice(c);
        }
        let mut body = (list.len() as u32).to_be_bytes()[1..].to_vec();
        body.extend_from_slice(&list);
        handshake_msg(HANDSHAKE_CERTIFICATE, &body)
    }

    fn client_stream() -> Vec<u8> {
        record(22, &chrome_like())
    }

    /// ServerHello (TLS 1.2), Certificate (leaf, CA) and ServerHelloDone in one record.
    fn tls12_server_stream() -> Vec<u8> {
        let sh = server_hello(0x0303, [5; 32], 0xc02f, &[alpn_ext(&[b"h2"])]);
        let flight = [
            sh,
            certificate_msg(&[LEAF, CA]),
            handshake_msg(HANDSHAKE_SERVER_HELLO_DONE, &[]),
        ]
        .concat();
        record(22, &flight)
    }

    fn run(client: &[u8], server: &[u8]) -> (TlsInfo, Progress) {
        let mut t = TlsTracker::default();
        let mut info = TlsInfo::default();
        t.on_stream(TO_SERVER, client, &mut info);
        let p = t.on_stream(TO_CLIENT, server, &mut info);
        (info, p)
    }

    #[test]
    fn tls12_full_handshake() {
        let (info, p) = run(&client_stream(), &tls12_server_stream());
        assert_eq!(p, Progress::Done);
        let ch = info.client_hello.as_ref().expect("client hello");
        assert_eq!(ch.hello.sni.as_deref(), Some("meet.example.org"));
        assert!(ch.ja4().starts_with("t13d0508h2_"), "{}", ch.ja4());
        let sh = info.server_hello.as_ref().expect("server hello");
        assert_eq!((sh.version, sh.cipher_suite), (0x0303, 0xc02f));
        assert_eq!(sh.alpn.as_deref(), Some("h2"));
        assert_eq!(info.certificates.len(), 2);
        assert_eq!(
            info.certificates[0].subject_cn.as_deref(),
            Some("praxis.example")
        );
        assert!(info.certificates[1].self_signed);
        assert!(info.negotiated);
        assert!(info.anomalies.is_empty(), "{:?}", info.anomalies);
    }

    #[test]
    fn split_at_every_byte_boundary() {
        let client = client_stream();
        let server = tls12_server_stream();
        let (expected, _) = run(&client, &server);
        for cut in 0..=client.len() {
            let mut t = TlsTracker::default();
            let mut info = TlsInfo::default();
            assert_eq!(
                t.on_stream(TO_SERVER, &client[..cut], &mut info),
                Progress::NeedMore
            );
            t.on_stream(TO_SERVER, &client, &mut info);
            assert_eq!(t.on_stream(TO_CLIENT, &server, &mut info), Progress::Done);
            assert_eq!(info, expected, "client cut at {cut}");
        }
        for cut in 0..server.len() {
            let mut t = TlsTracker::default();
            let mut info = TlsInfo::default();
            t.on_stream(TO_SERVER, &client, &mut info);
            let p = t.on_stream(TO_CLIENT, &server[..cut], &mut info);
            assert_eq!(p, Progress::NeedMore, "server cut at {cut}");
            assert_eq!(t.on_stream(TO_CLIENT, &server, &mut info), Progress::Done);
            assert_eq!(info, expected, "server cut at {cut}");
        }
        // Byte by byte, both directions interleaved.
        let mut t = TlsTracker::default();
        let mut info = TlsInfo::default();
        for n in 0..=client.len().max(server.len()) {
            t.on_stream(TO_SERVER, &client[..n.min(client.len())], &mut info);
            t.on_stream(TO_CLIENT, &server[..n.min(server.len())], &mut info);
        }
        assert_eq!(info, expected);
    }

    #[test]
    fn handshake_message_over_many_records() {
        let hello = chrome_like();
        let stream: Vec<u8> = hello.chunks(7).flat_map(|c| record(22, c)).collect();
        let (info, _) = run(&stream, &[]);
        let (expected, _) = run(&client_stream(), &[]);
        assert_eq!(info.client_hello, expected.client_hello);
        assert!(info.client_hello.is_some());
        // The server flight cut into 100-byte records, certificates still read.
        let flight = tls12_server_stream();
        let server: Vec<u8> = flight[5..]
            .chunks(100)
            .flat_map(|c| record(22, c))
            .collect();
        let (info, p) = run(&client_stream(), &server);
        assert_eq!(p, Progress::Done);
        assert_eq!(info.certificates.len(), 2);
    }

    #[test]
    fn tls13_is_done_after_server_hello() {
        let server = [
            record(22, &tls13_server_hello()),
            record(20, &[1]),
            record(23, &[0xaa; 40]),
        ]
        .concat();
        let (info, p) = run(&client_stream(), &server);
        assert_eq!(p, Progress::Done);
        let sh = info.server_hello.as_ref().expect("server hello");
        assert_eq!(sh.version_name, "TLS 1.3");
        assert!(info.certificates.is_empty());
        assert!(info.negotiated);
    }

    #[test]
    fn done_waits_for_the_client_direction() {
        let mut t = TlsTracker::default();
        let mut info = TlsInfo::default();
        assert_eq!(
            t.on_stream(TO_CLIENT, &tls12_server_stream(), &mut info),
            Progress::NeedMore
        );
        assert_eq!(
            t.on_stream(TO_SERVER, &client_stream(), &mut info),
            Progress::Done
        );
        assert!(info.client_hello.is_some() && info.certificates.len() == 2);
        // Called again after Done: stays Done and changes nothing.
        let before = info.clone();
        assert_eq!(
            t.on_stream(TO_CLIENT, &tls12_server_stream(), &mut info),
            Progress::Done
        );
        assert_eq!(info, before);
    }

    #[test]
    fn abbreviated_handshake_done_on_change_cipher_spec() {
        let sh = server_hello(0x0303, [5; 32], 0xc02f, &[]);
        let server = [record(22, &sh), record(20, &[1])].concat();
        let (info, p) = run(&client_stream(), &server);
        assert_eq!(p, Progress::Done);
        assert!(info.certificates.is_empty());
        // Only the ServerHello: keep reading.
        let (_, p) = run(&client_stream(), &record(22, &sh));
        assert_eq!(p, Progress::NeedMore);
    }

    #[test]
    fn hello_retry_request_then_server_hello() {
        let hrr = server_hello(
            0x0303,
            HELLO_RETRY_REQUEST_RANDOM,
            0x1301,
            &[extension(0x002b, &[3, 4]), extension(0x0033, &[0, 0x17])],
        );
        let second = client_hello(
            0x0303,
            &[0x1301],
            &[sni_ext("second.example"), versions_ext(&[0x0304])],
        );
        let mut t = TlsTracker::default();
        let mut info = TlsInfo::default();
        let mut client = client_stream();
        t.on_stream(TO_SERVER, &client, &mut info);
        let mut server = record(22, &hrr);
        assert_eq!(
            t.on_stream(TO_CLIENT, &server, &mut info),
            Progress::NeedMore
        );
        assert!(info.hello_retry_request && !info.negotiated);
        // Middlebox-compatibility CCS, then the second ClientHello.
        client.extend(record(20, &[1]));
        client.extend(record(22, &second));
        t.on_stream(TO_SERVER, &client, &mut info);
        server.extend(record(22, &tls13_server_hello()));
        assert_eq!(t.on_stream(TO_CLIENT, &server, &mut info), Progress::Done);
        assert!(info.negotiated);
        assert!(
            !info
                .server_hello
                .as_ref()
                .is_some_and(|s| s.hello_retry_request)
        );
        // The first ClientHello is the one fingerprinted.
        assert_eq!(
            info.client_hello
                .as_ref()
                .and_then(|c| c.hello.sni.as_deref()),
            Some("meet.example.org")
        );
    }

    #[test]
    fn fatal_alert_ends_the_handshake() {
        let (info, p) = run(&client_stream(), &record(21, &[2, 40]));
        assert_eq!(p, Progress::Done);
        let alert = info.alert.expect("alert");
        assert_eq!(
            (alert.from, alert.level, alert.description),
            (TO_CLIENT, 2, 40)
        );
        assert!(!info.negotiated && info.server_hello.is_none());
        let (info, p) = run(&client_stream(), &record(21, &[2, 40, 0]));
        assert_eq!(p, Progress::NeedMore);
        assert!(info.has(TlsAnomalyKind::MalformedAlert));
    }

    #[test]
    fn client_application_data_ends_unless_early_data() {
        let client = [client_stream(), record(23, &[0; 30])].concat();
        assert_eq!(run(&client, &[]).1, Progress::Done);
        let hello = client_hello(
            0x0303,
            &[0x1301],
            &[versions_ext(&[0x0304]), extension(ext::EARLY_DATA, &[])],
        );
        let zero_rtt = [record(22, &hello), record(20, &[1]), record(23, &[0; 30])].concat();
        assert_eq!(run(&zero_rtt, &[]).1, Progress::NeedMore);
        let (info, p) = run(&zero_rtt, &record(22, &tls13_server_hello()));
        assert_eq!(p, Progress::Done);
        assert!(info.negotiated);
    }

    #[test]
    fn not_mine() {
        for stream in [
            &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
            // SSLv2-compatible ClientHello (RFC 5246 §E.2).
            &[
                0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10,
            ][..],
            &[0x16, 0x03, 0x01, 0xff, 0xff][..],
            &[0x18, 0x03, 0x03, 0x00, 0x03, 1, 0, 0][..],
        ] {
            let mut t = TlsTracker::default();
            let mut info = TlsInfo::default();
            assert_eq!(t.on_stream(TO_SERVER, stream, &mut info), Progress::NotMine);
            assert_eq!(
                t.on_stream(TO_CLIENT, &tls12_server_stream(), &mut info),
                Progress::NotMine
            );
            assert_eq!(info, TlsInfo::default());
        }
    }

    #[test]
    fn anomalies_after_tls_was_recognised() {
        // Garbage after a good record: flagged, and the tracker stops.
        let server = [
            record(22, &server_hello(0x0303, [5; 32], 0xc02f, &[])),
            b"garbage".to_vec(),
        ]
        .concat();
        let (info, p) = run(&client_stream(), &server);
        assert_eq!(p, Progress::Done);
        assert_eq!(info.anomalies[0].kind, TlsAnomalyKind::BadRecordHeader);
        assert_eq!(info.anomalies[0].offset, server.len() - 7);
        // A plaintext record over 2^14 bytes.
        let hello = client_hello(
            0x0303,
            &[0x1301],
            &[extension(0x0015, &vec![0; MAX_PLAINTEXT_LEN])],
        );
        let (info, _) = run(&record(22, &hello), &[]);
        assert!(info.has(TlsAnomalyKind::RecordTooLarge));
        assert!(info.client_hello.is_some());
        // A handshake message claiming 16 MiB.
        let (info, p) = run(&record(22, &[1, 0xff, 0xff, 0xff, 3, 3]), &[]);
        assert!(info.has(TlsAnomalyKind::HandshakeMessageTooLarge));
        assert_eq!(p, Progress::NeedMore);
        // Heartbeat and an unparsable ServerHello.
        let server = [
            record(24, &[1, 0, 3, 0, 0, 0]),
            record(22, &handshake_msg(2, &[9; 40])),
        ]
        .concat();
        let (info, _) = run(&client_stream(), &server);
        assert!(info.has(TlsAnomalyKind::Heartbeat));
        assert!(info.has(TlsAnomalyKind::ServerHelloUnparsable));
    }

    #[test]
    fn certificate_chain_is_bounded() {
        let chain: Vec<&[u8]> = std::iter::repeat_n(LEAF, MAX_CERTIFICATES + 2)
            .chain([&b"junk"[..]])
            .collect();
        let sh = server_hello(0x0303, [5; 32], 0xc02f, &[]);
        let server = record(22, &[sh, certificate_msg(&chain)].concat());
        let (info, p) = run(&client_stream(), &server);
        assert_eq!(p, Progress::Done);
        assert_eq!(info.certificates.len(), MAX_CERTIFICATES);
        assert!(info.has(TlsAnomalyKind::TooManyCertificates));
        let bad = record(
            22,
            &[
                server_hello(0x0303, [5; 32], 0xc02f, &[]),
                certificate_msg(&[b"junk"]),
            ]
            .concat(),
        );
        assert!(
            run(&client_stream(), &bad)
                .0
                .has(TlsAnomalyKind::CertificateUnparsable)
        );
    }

    #[test]
    fn json_is_compact() {
        let (info, _) = run(&client_stream(), &tls12_server_stream());
        let json = serde_json::to_value(&info).expect("json");
        assert_eq!(
            json["server_hello"]["cipher_name"],
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        );
        assert_eq!(json["server_hello"]["version_name"], "TLS 1.2");
        assert_eq!(json["client_hello"]["sni"], "meet.example.org");
        assert!(json["client_hello"]["ja4"].is_string());
        assert_eq!(json["certificates"][0]["subject_cn"], "praxis.example");
        assert!(json.get("alert").is_none() && json.get("anomalies").is_none());
    }

    /// The TCP payload of each direction of a one-connection pcap recorded on `lo`.
    fn pcap_streams(pcap: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let (mut to_server, mut to_client) = (Vec::new(), Vec::new());
        let mut at = 24; // pcap global header
        while let Some(hdr) = pcap.get(at..at + 16) {
            let incl = u32::from_le_bytes([hdr[8], hdr[9], hdr[10], hdr[11]]) as usize;
            let frame = &pcap[at + 16..at + 16 + incl];
            at += 16 + incl;
            let packet = etherparse::SlicedPacket::from_ethernet(frame).expect("ethernet");
            if let Some(etherparse::TransportSlice::Tcp(tcp)) = packet.transport {
                if tcp.destination_port() == SERVER_PORT {
                    to_server.extend_from_slice(tcp.payload());
                } else {
                    to_client.extend_from_slice(tcp.payload());
                }
            }
        }
        (to_server, to_client)
    }

    #[test]
    fn openssl_tls12_fixture() {
        let (client, server) = pcap_streams(TLS12_PCAP);
        let (info, p) = run(&client, &server);
        assert_eq!(p, Progress::Done);
        let ch = info.client_hello.as_ref().expect("client hello");
        assert_eq!(ch.hello.sni.as_deref(), Some("praxis.example"));
        assert_eq!(ch.hello.alpn, ["h2", "http/1.1"]);
        // tshark -e tls.handshake.ja3 on the same file.
        assert_eq!(ch.ja3(), "22558766122974704364c9c75c5cce0a");
        assert!(ch.ja4().starts_with("t12d2808h2_"), "{}", ch.ja4());
        let sh = info.server_hello.as_ref().expect("server hello");
        assert_eq!(sh.version_name, "TLS 1.2");
        assert_eq!(sh.alpn.as_deref(), Some("h2"));
        assert_eq!(info.certificates.len(), 2);
        assert_eq!(info.certificates[0].sans[0], "praxis.example");
        assert_eq!(
            info.certificates[1].subject,
            "CN=Leakscope Test Root,O=Leakscope Test CA,C=DE"
        );
        assert!(info.negotiated && info.anomalies.is_empty(), "{info:?}");
    }

    #[test]
    fn openssl_tls13_fixture() {
        let (client, server) = pcap_streams(TLS13_PCAP);
        let (info, p) = run(&client, &server);
        assert_eq!(p, Progress::Done);
        let ch = info.client_hello.as_ref().expect("client hello");
        assert_eq!(ch.ja3(), "9dffdb8b608a430b774a2ff7d36c1a0c");
        assert_eq!(ch.hello.supported_versions, [0x0304]);
        assert!(ch.ja4().starts_with("t13d0411h2_"), "{}", ch.ja4());
        let sh = info.server_hello.as_ref().expect("server hello");
        assert_eq!(sh.version_name, "TLS 1.3");
        assert_eq!(sh.key_share_group, Some(0x001d));
        assert!(info.certificates.is_empty());
        // Split the real streams at every byte: same result.
        for cut in 0..client.len().min(server.len()) {
            let mut t = TlsTracker::default();
            let mut split = TlsInfo::default();
            t.on_stream(TO_SERVER, &client[..cut], &mut split);
            t.on_stream(TO_CLIENT, &server[..cut], &mut split);
            t.on_stream(TO_SERVER, &client, &mut split);
            t.on_stream(TO_CLIENT, &server, &mut split);
            assert_eq!(split, info, "cut at {cut}");
        }
    }

    proptest! {
        #[test]
        fn random_streams_never_panic(
            client in proptest::collection::vec(any::<u8>(), 0..400),
            server in proptest::collection::vec(any::<u8>(), 0..400),
            cuts in proptest::collection::vec(0usize..400, 0..6),
        ) {
            let mut t = TlsTracker::default();
            let mut info = TlsInfo::default();
            for cut in cuts {
                t.on_stream(TO_SERVER, &client[..cut.min(client.len())], &mut info);
                t.on_stream(TO_CLIENT, &server[..cut.min(server.len())], &mut info);
            }
            t.on_stream(TO_SERVER, &client, &mut info);
            let _ = t.on_stream(TO_CLIENT, &server, &mut info);
            // A shrinking slice (a caller bug) must not panic either.
            let _ = t.on_stream(TO_SERVER, &[], &mut info);
        }

        #[test]
        fn tls_framed_random_messages_never_panic(
            msgs in proptest::collection::vec((0u8..=24, proptest::collection::vec(any::<u8>(), 0..200)), 0..6),
        ) {
            let stream: Vec<u8> = msgs.iter().flat_map(|(t, body)| record(22, &handshake_msg(*t, body))).collect();
            let (client, server) = (stream.clone(), stream);
            let _ = run(&client, &server);
            let _ = run(&[client_stream(), client].concat(), &[record(22, &tls13_server_hello()), server].concat());
        }
    }
}
