//! The ClientHello: what a client offers (versions, cipher suites, extensions, SNI, ALPN).
//! The message itself is read with tls-parser; the extension block is walked here one
//! extension at a time so that one malformed extension does not hide the ones after it
//! (the fingerprints need every extension type).
//!
//! References: RFC 8446 §4.1.2 (ClientHello), §4.2 (extensions), RFC 6066 §3 (SNI),
//! RFC 7301 §3.1 (ALPN), RFC 8701 (GREASE), RFC 9001 §8.2 (quic_transport_parameters),
//! draft-ietf-tls-esni (ECH 0xfe0d, ESNI 0xffce).

use super::ClientHelloInfo;
use tls_parser::{
    TlsExtension, TlsMessage, TlsMessageHandshake, parse_tls_extension_alpn_content,
    parse_tls_extension_ec_point_formats_content, parse_tls_extension_elliptic_curves_content,
    parse_tls_extension_sni_content, parse_tls_extension_supported_versions,
    parse_tls_message_handshake,
};

/// Handshake message type of a ClientHello (RFC 8446 §4).
pub const HANDSHAKE_CLIENT_HELLO: u8 = 1;

/// Extension types this module reads (IANA TLS ExtensionType registry).
pub mod ext {
    pub const SERVER_NAME: u16 = 0x0000;
    pub const SUPPORTED_GROUPS: u16 = 0x000a;
    pub const EC_POINT_FORMATS: u16 = 0x000b;
    pub const SIGNATURE_ALGORITHMS: u16 = 0x000d;
    pub const ALPN: u16 = 0x0010;
    pub const EARLY_DATA: u16 = 0x002a;
    pub const SUPPORTED_VERSIONS: u16 = 0x002b;
    pub const KEY_SHARE: u16 = 0x0033;
    pub const QUIC_TRANSPORT_PARAMETERS: u16 = 0x0039;
    pub const ENCRYPTED_CLIENT_HELLO: u16 = 0xfe0d;
    pub const ENCRYPTED_SERVER_NAME: u16 = 0xffce;
}

/// At most this many extensions are kept. Each extension takes ≥ 4 bytes of a block
/// that is < 2^16 bytes (RFC 8446 §4.1.2), real clients send fewer than 30.
pub const MAX_EXTENSIONS: usize = 128;
/// At most this many ALPN protocol names are kept (RFC 7301 §3.1 allows many; browsers
/// send 2–3).
pub const MAX_ALPN_PROTOCOLS: usize = 16;
/// Longest SNI host name kept: a DNS name is at most 255 octets (RFC 1035 §2.3.4).
pub const MAX_SNI_LEN: usize = 255;

/// GREASE values (RFC 8701 §2): 0x0a0a, 0x1a1a, .., 0xfafa for 16-bit code points.
pub fn is_grease(v: u16) -> bool {
    v >> 8 == v & 0xff && v & 0x0f == 0x0a
}

/// The values without GREASE (RFC 8701 defines none for the 8-bit ec_point_formats).
/// Sized once from the input (a filtered `collect` would grow step by step).
fn grease_free(values: impl IntoIterator<Item = u16>) -> Vec<u16> {
    let values = values.into_iter();
    let mut out = Vec::with_capacity(values.size_hint().0);
    out.extend(values.filter(|v| !is_grease(*v)));
    out
}

/// The values of a `uint16 list<..2^16-1>` (RFC 8446 §4.2.3 signature_algorithms): the
/// 2-byte length, then as many whole values as it covers; an odd last byte and bytes after
/// the list are ignored, as tls-parser does. `None` when the length runs past the data.
fn u16_list_content(data: &[u8]) -> Option<impl ExactSizeIterator<Item = u16> + '_> {
    let (len, rest) = data.split_first_chunk::<2>()?;
    let list = rest.get(..usize::from(u16::from_be_bytes(*len)))?;
    Some(
        list.as_chunks::<2>()
            .0
            .iter()
            .map(|v| u16::from_be_bytes(*v)),
    )
}

/// One extension of an extension block: its type, its data, and the whole
/// type+length+data slice (tls-parser's per-extension parsers want that).
pub(super) struct RawExtension<'a> {
    pub ext_type: u16,
    pub data: &'a [u8],
    pub whole: &'a [u8],
}

/// Walk an extension block (`Extension extensions<0..2^16-1>` without its length).
/// Stops at the first extension whose header or length does not fit, and says so through
/// `truncated`.
pub(super) struct ExtensionIter<'a> {
    rest: &'a [u8],
    pub truncated: bool,
}

impl<'a> ExtensionIter<'a> {
    pub fn new(block: &'a [u8]) -> Self {
        ExtensionIter {
            rest: block,
            truncated: false,
        }
    }
}

impl<'a> Iterator for ExtensionIter<'a> {
    type Item = RawExtension<'a>;

    fn next(&mut self) -> Option<RawExtension<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        let parsed = (|| {
            let ext_type = u16::from_be_bytes([*self.rest.first()?, *self.rest.get(1)?]);
            let len = usize::from(u16::from_be_bytes([*self.rest.get(2)?, *self.rest.get(3)?]));
            let end = 4usize.checked_add(len)?;
            let whole = self.rest.get(..end)?;
            let data = whole.get(4..)?;
            Some((
                RawExtension {
                    ext_type,
                    data,
                    whole,
                },
                end,
            ))
        })();
        match parsed {
            Some((ext, end)) => {
                self.rest = self.rest.get(end..).unwrap_or_default();
                Some(ext)
            }
            None => {
                self.truncated = true;
                self.rest = &[];
                None
            }
        }
    }
}

/// Parse one handshake message that starts with its 4-byte header (type 1 = ClientHello).
/// Used by TLS, and by QUIC on the CRYPTO stream. `None` if the message is not a complete
/// ClientHello. Bytes after the message are ignored.
pub fn parse_client_hello_message(msg: &[u8]) -> Option<ClientHelloInfo> {
    if msg.first() != Some(&HANDSHAKE_CLIENT_HELLO) {
        return None;
    }
    let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)))) =
        parse_tls_message_handshake(msg)
    else {
        return None;
    };
    let mut info = client_hello_from_parts(
        ch.version.0,
        ch.ciphers.iter().map(|c| c.0),
        ch.ext.unwrap_or_default(),
    );
    // tls-parser drops an extension block whose length runs past the message.
    if ch.ext.is_none() && !trailing_is_empty(msg, &ch) {
        info.malformed = true;
    }
    Some(info)
}

/// Whether anything follows the compression methods of a ClientHello whose extension
/// block tls-parser did not read (then the block was cut or its length is wrong).
fn trailing_is_empty(msg: &[u8], ch: &tls_parser::TlsClientHelloContents) -> bool {
    // header 4, version 2, random 32, session id 1+n, ciphers 2+2n, compression 1+n
    let body_len = match msg.get(1..4) {
        Some(&[a, b, c]) => usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c),
        _ => 0,
    };
    let used = 2
        + 32
        + 1
        + ch.session_id.map_or(0, <[u8]>::len)
        + 2
        + 2 * ch.ciphers.len()
        + 1
        + ch.comp.len();
    body_len <= used
}

/// Build a [`ClientHelloInfo`] from the pieces of a ClientHello: for DTLS, whose
/// ClientHello has an extra cookie field, the caller reads the fixed part and hands over
/// the cipher suites and the extension block (without its 2-byte length).
pub fn client_hello_from_parts(
    legacy_version: u16,
    cipher_suites: impl IntoIterator<Item = u16>,
    extensions: &[u8],
) -> ClientHelloInfo {
    let mut info = ClientHelloInfo {
        legacy_version,
        cipher_suites: grease_free(cipher_suites),
        ..ClientHelloInfo::default()
    };
    // Counting first sizes the list once; the walk is cheap next to the parsing.
    let count = ExtensionIter::new(extensions).count();
    info.extensions = Vec::with_capacity(count.min(MAX_EXTENSIONS));
    let mut iter = ExtensionIter::new(extensions);
    for raw in iter.by_ref() {
        if is_grease(raw.ext_type) {
            continue;
        }
        if info.extensions.len() >= MAX_EXTENSIONS {
            info.malformed = true;
            break;
        }
        info.extensions.push(raw.ext_type);
        if !read_extension(&raw, &mut info) {
            info.malformed = true;
        }
    }
    if iter.truncated {
        info.malformed = true;
    }
    info
}

/// Fill the fields one extension carries; `false` when its content is malformed.
fn read_extension(raw: &RawExtension, info: &mut ClientHelloInfo) -> bool {
    let parsed = match raw.ext_type {
        ext::SERVER_NAME => parse_tls_extension_sni_content(raw.data),
        ext::ALPN => parse_tls_extension_alpn_content(raw.data),
        ext::SUPPORTED_GROUPS => parse_tls_extension_elliptic_curves_content(raw.data),
        ext::EC_POINT_FORMATS => parse_tls_extension_ec_point_formats_content(raw.data),
        ext::SIGNATURE_ALGORITHMS => {
            // Read in place: tls-parser would build a growing list that is copied again.
            let Some(algs) = u16_list_content(raw.data) else {
                return false;
            };
            info.signature_algorithms = grease_free(algs);
            return true;
        }
        ext::SUPPORTED_VERSIONS => parse_tls_extension_supported_versions(raw.whole),
        ext::ENCRYPTED_CLIENT_HELLO => {
            info.ech = true;
            return true;
        }
        ext::ENCRYPTED_SERVER_NAME => {
            info.esni = true;
            return true;
        }
        _ => return true,
    };
    let Ok((_, parsed)) = parsed else {
        return false;
    };
    match parsed {
        TlsExtension::SNI(names) => {
            // RFC 6066 §3: at most one name of type host_name (0).
            if let Some((_, name)) = names.iter().find(|(t, _)| t.0 == 0) {
                let cut = name.get(..MAX_SNI_LEN).unwrap_or(name);
                info.sni = Some(String::from_utf8_lossy(cut).into_owned());
                return cut.len() == name.len();
            }
        }
        TlsExtension::ALPN(protocols) => {
            if let Some(first) = protocols.first() {
                info.first_alpn_raw = Some(first.to_vec());
            }
            info.alpn = protocols
                .iter()
                .take(MAX_ALPN_PROTOCOLS)
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect();
        }
        TlsExtension::EllipticCurves(groups) => {
            info.supported_groups = grease_free(groups.iter().map(|g| g.0));
        }
        TlsExtension::EcPointFormats(formats) => info.ec_point_formats = formats.to_vec(),
        TlsExtension::SupportedVersions(versions) => {
            info.supported_versions = grease_free(versions.iter().map(|v| v.0));
        }
        _ => {}
    }
    true
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Append a u16-length-prefixed vector.
    fn vec16(out: &mut Vec<u8>, body: &[u8]) {
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        out.extend_from_slice(body);
    }

    pub(crate) fn extension(ext_type: u16, data: &[u8]) -> Vec<u8> {
        let mut out = ext_type.to_be_bytes().to_vec();
        vec16(&mut out, data);
        out
    }

    pub(crate) fn u16_list(values: &[u16]) -> Vec<u8> {
        let mut body = Vec::new();
        for v in values {
            body.extend_from_slice(&v.to_be_bytes());
        }
        let mut out = Vec::new();
        vec16(&mut out, &body);
        out
    }

    pub(crate) fn sni_ext(name: &str) -> Vec<u8> {
        let mut entry = vec![0u8];
        vec16(&mut entry, name.as_bytes());
        let mut list = Vec::new();
        vec16(&mut list, &entry);
        extension(ext::SERVER_NAME, &list)
    }

    pub(crate) fn alpn_ext(protocols: &[&[u8]]) -> Vec<u8> {
        let mut body = Vec::new();
        for p in protocols {
            body.push(p.len() as u8);
            body.extend_from_slice(p);
        }
        let mut list = Vec::new();
        vec16(&mut list, &body);
        extension(ext::ALPN, &list)
    }

    pub(crate) fn versions_ext(versions: &[u16]) -> Vec<u8> {
        let mut body = vec![(versions.len() * 2) as u8];
        for v in versions {
            body.extend_from_slice(&v.to_be_bytes());
        }
        extension(ext::SUPPORTED_VERSIONS, &body)
    }

    /// A ClientHello handshake message (with its 4-byte header) from its parts.
    pub(crate) fn client_hello(
        legacy_version: u16,
        ciphers: &[u16],
        extensions: &[Vec<u8>],
    ) -> Vec<u8> {
        let mut body = legacy_version.to_be_bytes().to_vec();
        body.extend_from_slice(&[0x11; 32]); // random
        body.push(32);
        body.extend_from_slice(&[0x22; 32]); // legacy_session_id
        body.extend_from_slice(&u16_list(ciphers));
        body.extend_from_slice(&[1, 0]); // compression: null
        let block: Vec<u8> = extensions.concat();
        vec16(&mut body, &block);
        let mut msg = vec![HANDSHAKE_CLIENT_HELLO];
        msg.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        msg.extend_from_slice(&body);
        msg
    }

    /// A Chrome-like ClientHello with GREASE in every list.
    pub(crate) fn chrome_like() -> Vec<u8> {
        client_hello(
            0x0303,
            &[0x3a3a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f],
            &[
                extension(0x2a2a, &[]),
                sni_ext("meet.example.org"),
                extension(0x0017, &[]),
                extension(
                    ext::SUPPORTED_GROUPS,
                    &u16_list(&[0x4a4a, 0x11ec, 0x001d, 0x0017]),
                ),
                extension(ext::EC_POINT_FORMATS, &[1, 0]),
                alpn_ext(&[b"h2", b"http/1.1"]),
                extension(
                    ext::SIGNATURE_ALGORITHMS,
                    &u16_list(&[0x0403, 0x0804, 0x0401]),
                ),
                versions_ext(&[0x6a6a, 0x0304, 0x0303]),
                extension(ext::ENCRYPTED_CLIENT_HELLO, &[0, 1, 2]),
                extension(0x3a3a, &[0]),
            ],
        )
    }

    #[test]
    fn reads_every_field_and_drops_grease() {
        let ch = parse_client_hello_message(&chrome_like()).expect("client hello");
        assert_eq!(ch.legacy_version, 0x0303);
        assert_eq!(ch.cipher_suites, [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f]);
        assert_eq!(
            ch.extensions,
            [
                0x0000, 0x0017, 0x000a, 0x000b, 0x0010, 0x000d, 0x002b, 0xfe0d
            ]
        );
        assert_eq!(ch.sni.as_deref(), Some("meet.example.org"));
        assert_eq!(ch.alpn, ["h2", "http/1.1"]);
        assert_eq!(ch.first_alpn_raw.as_deref(), Some(&b"h2"[..]));
        assert_eq!(ch.supported_versions, [0x0304, 0x0303]);
        assert_eq!(ch.supported_groups, [0x11ec, 0x001d, 0x0017]);
        assert_eq!(ch.ec_point_formats, [0]);
        assert_eq!(ch.signature_algorithms, [0x0403, 0x0804, 0x0401]);
        assert!(ch.ech);
        assert!(!ch.esni);
        assert!(!ch.malformed);
    }

    #[test]
    fn grease_values_are_exactly_rfc8701() {
        let grease: Vec<u16> = (0..=0xffffu16).filter(|v| is_grease(*v)).collect();
        let expected: Vec<u16> = (0..16u16)
            .map(|i| (i << 12) | 0x0a00 | (i << 4) | 0x0a)
            .collect();
        assert_eq!(grease, expected);
        assert_eq!(grease.first(), Some(&0x0a0a));
        assert_eq!(grease.last(), Some(&0xfafa));
    }

    #[test]
    fn quic_transport_parameters_and_esni() {
        let msg = client_hello(
            0x0303,
            &[0x1301],
            &[
                versions_ext(&[0x0304]),
                extension(
                    ext::QUIC_TRANSPORT_PARAMETERS,
                    &[0x01, 0x04, 0x80, 0x00, 0x75, 0x30],
                ),
                extension(ext::ENCRYPTED_SERVER_NAME, &[0; 8]),
            ],
        );
        let ch = parse_client_hello_message(&msg).expect("client hello");
        assert_eq!(ch.extensions, [0x002b, 0x0039, 0xffce]);
        assert!(ch.esni && !ch.ech);
        assert_eq!(ch.sni, None);
        assert!(ch.alpn.is_empty());
    }

    #[test]
    fn a_malformed_extension_does_not_hide_the_next() {
        let msg = client_hello(
            0x0303,
            &[0x1301],
            &[
                extension(ext::SUPPORTED_GROUPS, &[0x00, 0x09]),
                sni_ext("a.example"),
            ],
        );
        let ch = parse_client_hello_message(&msg).expect("client hello");
        assert_eq!(ch.extensions, [0x000a, 0x0000]);
        assert_eq!(ch.sni.as_deref(), Some("a.example"));
        assert!(ch.malformed);
    }

    #[test]
    fn no_extensions_at_all() {
        let mut msg = client_hello(0x0301, &[0x002f, 0x0035], &[]);
        // Drop the empty extension block: SSL 3.0-style hello.
        msg.truncate(msg.len() - 2);
        let len = (msg.len() - 4) as u32;
        msg[1..4].copy_from_slice(&len.to_be_bytes()[1..]);
        let ch = parse_client_hello_message(&msg).expect("client hello");
        assert_eq!(ch.legacy_version, 0x0301);
        assert!(ch.extensions.is_empty());
        assert!(!ch.malformed);
    }

    #[test]
    fn rejects_other_messages_and_truncation() {
        let msg = chrome_like();
        assert!(parse_client_hello_message(&msg[..msg.len() - 1]).is_none());
        let mut server = msg.clone();
        server[0] = 2;
        assert!(parse_client_hello_message(&server).is_none());
        assert!(parse_client_hello_message(&[]).is_none());
        // Trailing bytes after the message are ignored.
        let mut longer = msg.clone();
        longer.extend_from_slice(&[0x0b, 0, 0, 0]);
        assert_eq!(
            parse_client_hello_message(&longer),
            parse_client_hello_message(&msg)
        );
    }

    proptest! {
        #[test]
        fn signature_algorithms_read_as_tls_parser_does(
            data in proptest::collection::vec(any::<u8>(), 0..40),
            len in proptest::option::of(0u16..40),
        ) {
            let mut data = data;
            if let (Some(len), Some(head)) = (len, data.get_mut(..2)) {
                head.copy_from_slice(&len.to_be_bytes());
            }
            let ours = u16_list_content(&data).map(|v| v.collect::<Vec<u16>>());
            let theirs = match tls_parser::parse_tls_extension_signature_algorithms_content(&data) {
                Ok((_, TlsExtension::SignatureAlgorithms(v))) => Some(v),
                _ => None,
            };
            prop_assert_eq!(ours, theirs);
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = parse_client_hello_message(&bytes);
            let mut msg = vec![1u8, 0, (bytes.len() >> 8) as u8, bytes.len() as u8];
            msg.extend_from_slice(&bytes);
            let _ = parse_client_hello_message(&msg);
            let info = client_hello_from_parts(0x0303, [0x0a0a, 1], &bytes);
            prop_assert!(info.extensions.iter().all(|e| !is_grease(*e)));
        }

        #[test]
        fn mutated_hello_never_panics(pos in 0usize..400, byte in any::<u8>(), cut in 0usize..400) {
            let mut msg = chrome_like();
            if let Some(b) = msg.get_mut(pos) { *b = byte; }
            msg.truncate(cut.max(4));
            let _ = parse_client_hello_message(&msg);
        }
    }
}
