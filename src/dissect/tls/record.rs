//! The TLS record layer: the 5-byte header every TLS message travels in.
//!
//! References: RFC 5246 §6.2 (record layer, TLSCiphertext ≤ 2^14 + 2048),
//! RFC 8446 §5.1–5.2 (record layer of TLS 1.3), RFC 6101 (SSL 3.0).

use thiserror::Error;
use tls_parser::{TlsRecordType, parse_tls_record_header};

/// Size of a record header: type (1), version (2), length (2). RFC 5246 §6.2.1.
pub const RECORD_HEADER_LEN: usize = 5;

/// Largest plaintext fragment, 2^14 bytes (RFC 5246 §6.2.1, RFC 8446 §5.1).
pub const MAX_PLAINTEXT_LEN: usize = 1 << 14;

/// Largest record any TLS version allows on the wire: TLSCiphertext of RFC 5246 §6.2.3
/// (2^14 + 2048). Anything longer is not TLS.
pub const MAX_RECORD_LEN: usize = (1 << 14) + 2048;

/// Record content types (RFC 8446 §5.1, RFC 6520 for heartbeat). Re-exported from
/// tls-parser, a newtype so unknown values survive.
pub type ContentType = TlsRecordType;

/// One record header, read from the front of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    pub content_type: ContentType,
    /// The record-layer version (0x0301 in most ClientHellos, 0x0303 later).
    pub version: u16,
    /// Length of the fragment that follows the header.
    pub len: usize,
}

impl RecordHeader {
    /// Bytes of header plus fragment.
    pub fn total_len(&self) -> usize {
        RECORD_HEADER_LEN + self.len
    }
}

/// Why bytes at a record boundary are not a TLS record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error)]
pub enum RecordError {
    #[error("tls record at offset {offset}: content type {content_type} is not 20..=24")]
    ContentType { offset: usize, content_type: u8 },
    #[error("tls record at offset {offset}: version {version:#06x} is not 3.x")]
    Version { offset: usize, version: u16 },
    #[error("tls record at offset {offset}: length {len} exceeds {max}")]
    TooLarge {
        offset: usize,
        len: usize,
        max: usize,
    },
}

/// Whether a content type is one of the record types a TLS peer may send:
/// change_cipher_spec (20) .. heartbeat (24).
fn known_content_type(t: TlsRecordType) -> bool {
    (TlsRecordType::ChangeCipherSpec.0..=TlsRecordType::Heartbeat.0).contains(&t.0)
}

/// Read the record header at the front of `bytes` (found at stream offset `offset`, only
/// used in errors). `Ok(None)` when fewer than 5 bytes are there yet.
pub fn read_record_header(
    bytes: &[u8],
    offset: usize,
) -> Result<Option<RecordHeader>, RecordError> {
    let Ok((_, hdr)) = parse_tls_record_header(bytes) else {
        return Ok(None);
    };
    if !known_content_type(hdr.record_type) {
        return Err(RecordError::ContentType {
            offset,
            content_type: hdr.record_type.0,
        });
    }
    // SSL 3.0 through TLS 1.3 all put major version 3 in the record header.
    if hdr.version.0 >> 8 != 3 {
        return Err(RecordError::Version {
            offset,
            version: hdr.version.0,
        });
    }
    let len = usize::from(hdr.len);
    if len > MAX_RECORD_LEN {
        return Err(RecordError::TooLarge {
            offset,
            len,
            max: MAX_RECORD_LEN,
        });
    }
    Ok(Some(RecordHeader {
        content_type: hdr.record_type,
        version: hdr.version.0,
        len,
    }))
}

/// Cheap check that `first_bytes` (the first bytes of a stream) start a TLS handshake
/// record carrying a ClientHello or ServerHello. Needs at least the record header.
pub fn probe(first_bytes: &[u8]) -> bool {
    let hdr = match read_record_header(first_bytes, 0) {
        Ok(Some(hdr)) => hdr,
        _ => return false,
    };
    if hdr.content_type != TlsRecordType::Handshake || hdr.len == 0 {
        return false;
    }
    // TLS 1.3 still writes 0x0301..0x0303 here; SSL 3.0 is 0x0300.
    if hdr.version > 0x0304 {
        return false;
    }
    match first_bytes.get(RECORD_HEADER_LEN) {
        // 1 = client_hello, 2 = server_hello (RFC 8446 §4).
        Some(&msg_type) => msg_type == 1 || msg_type == 2,
        None => true,
    }
}

/// `first_bytes` can no longer become a [`probe`] match, however the stream continues: the
/// record header and the handshake type are all there, and they are not a hello.
pub fn ruled_out(first_bytes: &[u8]) -> bool {
    first_bytes.len() > RECORD_HEADER_LEN && !probe(first_bytes)
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_a_handshake_header() {
        let hdr = read_record_header(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01], 0);
        assert_eq!(
            hdr,
            Ok(Some(RecordHeader {
                content_type: TlsRecordType::Handshake,
                version: 0x0301,
                len: 512
            }))
        );
    }

    #[test]
    fn short_input_waits() {
        assert_eq!(read_record_header(&[0x16, 0x03, 0x01, 0x02], 0), Ok(None));
        assert_eq!(read_record_header(&[], 0), Ok(None));
    }

    #[test]
    fn rejects_non_tls() {
        // "GET /" is HTTP.
        assert_eq!(
            read_record_header(b"GET / HTTP/1.1", 7),
            Err(RecordError::ContentType {
                offset: 7,
                content_type: b'G'
            })
        );
        assert!(matches!(
            read_record_header(&[0x16, 0x02, 0x00, 0x00, 0x10], 0),
            Err(RecordError::Version { .. })
        ));
        // 2^14 + 2049 is one byte too long.
        assert!(matches!(
            read_record_header(&[0x17, 0x03, 0x03, 0x48, 0x01], 0),
            Err(RecordError::TooLarge { len: 18433, .. })
        ));
        assert!(read_record_header(&[0x17, 0x03, 0x03, 0x48, 0x00], 0).is_ok());
    }

    #[test]
    fn probe_wants_a_hello() {
        assert!(probe(&[0x16, 0x03, 0x01, 0x00, 0x40, 0x01, 0x00]));
        assert!(probe(&[0x16, 0x03, 0x03, 0x00, 0x40, 0x02]));
        assert!(probe(&[0x16, 0x03, 0x01, 0x00, 0x40]));
        assert!(!probe(&[0x16, 0x03, 0x01, 0x00, 0x40, 0x0b]));
        assert!(!probe(&[0x17, 0x03, 0x03, 0x00, 0x40, 0x01]));
        assert!(!probe(&[0x16, 0x03, 0x01, 0x00, 0x00]));
        assert!(!probe(&[0x16, 0x03, 0x01]));
        // SSLv2-compatible ClientHello: 2-byte header with the high bit set.
        assert!(!probe(&[0x80, 0x2e, 0x01, 0x03, 0x01]));
        assert!(!probe(b"SSH-2.0-OpenSSH"));
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..16), off in any::<usize>()) {
            let _ = probe(&bytes);
            if let Ok(Some(hdr)) = read_record_header(&bytes, off) {
                prop_assert!(hdr.len <= MAX_RECORD_LEN);
            }
        }
    }
}
