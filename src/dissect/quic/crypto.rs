//! Initial packet protection (RFC 9001 §5): the initial secret from the client's first
//! Destination Connection ID, the key/iv/hp derived with HKDF-Expand-Label, header protection
//! (AES-128-ECB over a 16-byte sample) and AEAD_AES_128_GCM payload protection.
//!
//! These keys are public by design: anyone who sees the DCID can open Initial packets.
//!
//! References:
//! - <https://www.rfc-editor.org/rfc/rfc9001#section-5> (keys, header protection, AEAD)
//! - <https://www.rfc-editor.org/rfc/rfc8446#section-7.1> (HKDF-Expand-Label)
//! - <https://www.rfc-editor.org/rfc/rfc9000#appendix-A.3> (packet number decoding)
//! - <https://www.rfc-editor.org/rfc/rfc9369#section-3.3> (v2 salt and labels)

use super::version::{KeyLabels, QuicVersion};
use aes::Aes128;
use aes::cipher::BlockCipherEncrypt;
use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes128Gcm, KeyInit};
use hkdf::Hkdf;
use sha2::Sha256;
use thiserror::Error;

/// AEAD_AES_128_GCM tag length (RFC 9001 §5.3).
pub const TAG_LEN: usize = 16;
/// Header protection samples 16 bytes (RFC 9001 §5.4.2).
pub const SAMPLE_LEN: usize = 16;
/// The sample starts 4 bytes after the packet number offset (RFC 9001 §5.4.2).
const SAMPLE_OFFSET_FROM_PN: usize = 4;
/// Long headers protect the low 4 bits of the first byte (RFC 9001 §5.4.1).
const LONG_HEADER_PROTECTED_BITS: u8 = 0x0f;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CryptoError {
    #[error(
        "quic crypto: packet of {len} bytes too short for the header-protection sample at {sample_offset}"
    )]
    NoSample { sample_offset: usize, len: usize },
    #[error(
        "quic crypto: packet of {len} bytes has no room for a payload and tag after the {header_len}-byte header"
    )]
    NoPayload { header_len: usize, len: usize },
    #[error("quic crypto: version {0} has no known initial salt")]
    UnknownVersion(QuicVersion),
    #[error("quic crypto: AEAD authentication failed for packet number {packet_number}")]
    Authentication { packet_number: u64 },
}

/// The packet-protection keys of one direction of the Initial space.
#[derive(Clone, PartialEq, Eq)]
pub struct InitialKeys {
    pub key: [u8; 16],
    pub iv: [u8; 12],
    pub hp: [u8; 16],
}

impl std::fmt::Debug for InitialKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InitialKeys { .. }")
    }
}

/// HKDF-Expand-Label(secret, label, "", out.len()) with the "tls13 " prefix.
fn expand_label(secret: &[u8], label: &[u8], out: &mut [u8]) -> Option<()> {
    const PREFIX: &[u8] = b"tls13 ";
    let out_len = u16::try_from(out.len()).ok()?;
    let label_len = u8::try_from(PREFIX.len() + label.len()).ok()?;
    let mut info = Vec::with_capacity(4 + usize::from(label_len));
    info.extend_from_slice(&out_len.to_be_bytes());
    info.push(label_len);
    info.extend_from_slice(PREFIX);
    info.extend_from_slice(label);
    info.push(0); // empty context
    let hk = Hkdf::<Sha256>::from_prk(secret).ok()?;
    hk.expand(&info, out).ok()
}

/// The client's and server's initial secrets: `(client_in, server_in)`.
pub fn initial_secrets(
    version: QuicVersion,
    dcid: &[u8],
) -> Result<([u8; 32], [u8; 32]), CryptoError> {
    let salt = version
        .initial_salt()
        .ok_or(CryptoError::UnknownVersion(version))?;
    let (prk, _) = Hkdf::<Sha256>::extract(Some(salt), dcid);
    let mut client = [0u8; 32];
    let mut server = [0u8; 32];
    expand_label(&prk, b"client in", &mut client).ok_or(CryptoError::UnknownVersion(version))?;
    expand_label(&prk, b"server in", &mut server).ok_or(CryptoError::UnknownVersion(version))?;
    Ok((client, server))
}

impl InitialKeys {
    pub fn from_secret(secret: &[u8; 32], labels: KeyLabels) -> Option<Self> {
        let mut keys = InitialKeys {
            key: [0; 16],
            iv: [0; 12],
            hp: [0; 16],
        };
        expand_label(secret, labels.key(), &mut keys.key)?;
        expand_label(secret, labels.iv(), &mut keys.iv)?;
        expand_label(secret, labels.hp(), &mut keys.hp)?;
        Some(keys)
    }

    /// Keys that protect the client's Initial packets for connection ID `dcid`.
    pub fn client(version: QuicVersion, dcid: &[u8]) -> Result<Self, CryptoError> {
        let (client, _) = initial_secrets(version, dcid)?;
        Self::from_secret(&client, version.key_labels()).ok_or(CryptoError::UnknownVersion(version))
    }

    /// Keys that protect the server's Initial packets for connection ID `dcid`.
    pub fn server(version: QuicVersion, dcid: &[u8]) -> Result<Self, CryptoError> {
        let (_, server) = initial_secrets(version, dcid)?;
        Self::from_secret(&server, version.key_labels()).ok_or(CryptoError::UnknownVersion(version))
    }

    /// The 5-byte header-protection mask for a sample (RFC 9001 §5.4.3).
    pub fn header_mask(&self, sample: &[u8; SAMPLE_LEN]) -> [u8; 5] {
        let cipher = Aes128::new(&self.hp.into());
        let mut block = (*sample).into();
        cipher.encrypt_block(&mut block);
        let mut mask = [0u8; 5];
        mask.copy_from_slice(&block[..5]);
        mask
    }

    fn nonce(&self, packet_number: u64) -> [u8; 12] {
        let mut nonce = self.iv;
        for (n, p) in nonce[4..].iter_mut().zip(packet_number.to_be_bytes()) {
            *n ^= p;
        }
        nonce
    }
}

/// The full packet number from its truncated form (RFC 9000 Appendix A.3).
pub fn decode_packet_number(largest_pn: Option<u64>, truncated: u64, pn_nbits: u32) -> u64 {
    let expected = largest_pn.map_or(0, |l| l.saturating_add(1));
    let win = 1u64 << pn_nbits;
    let hwin = win / 2;
    let mask = win - 1;
    let candidate = (expected & !mask) | truncated;
    if candidate.saturating_add(hwin) <= expected && candidate < (1u64 << 62).saturating_sub(win) {
        candidate + win
    } else if candidate > expected.saturating_add(hwin) && candidate >= win {
        candidate - win
    } else {
        candidate
    }
}

/// An opened packet: its packet number and plaintext frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub packet_number: u64,
    pub payload: Vec<u8>,
}

/// Remove header protection and decrypt one long-header packet. `packet` is exactly the
/// packet (`LongHeader::packet_len` bytes) and `pn_offset` where its packet number starts.
pub fn open_packet(
    keys: &InitialKeys,
    packet: &[u8],
    pn_offset: usize,
    largest_pn: Option<u64>,
) -> Result<Opened, CryptoError> {
    let sample_offset = pn_offset.saturating_add(SAMPLE_OFFSET_FROM_PN);
    let sample: &[u8; SAMPLE_LEN] = sample_offset
        .checked_add(SAMPLE_LEN)
        .and_then(|end| packet.get(sample_offset..end))
        .and_then(|s| s.try_into().ok())
        .ok_or(CryptoError::NoSample {
            sample_offset,
            len: packet.len(),
        })?;
    let mask = keys.header_mask(sample);
    let first = packet.first().copied().unwrap_or(0) ^ (mask[0] & LONG_HEADER_PROTECTED_BITS);
    let pn_len = usize::from(first & 0x03) + 1;
    let header_len = pn_offset + pn_len;
    let too_short = CryptoError::NoPayload {
        header_len,
        len: packet.len(),
    };
    if packet.len() < header_len + TAG_LEN {
        return Err(too_short);
    }
    let mut header = packet.get(..header_len).ok_or(too_short)?.to_vec();
    header[0] = first;
    let mut truncated = 0u64;
    for (i, m) in mask[1..=pn_len].iter().enumerate() {
        let b = header[pn_offset + i] ^ m;
        header[pn_offset + i] = b;
        truncated = (truncated << 8) | u64::from(b);
    }
    let packet_number = decode_packet_number(largest_pn, truncated, 8 * pn_len as u32);
    let body = &packet[header_len..];
    let (ciphertext, tag) = body.split_at(body.len() - TAG_LEN);
    let mut payload = ciphertext.to_vec();
    let tag =
        aes_gcm::Tag::try_from(tag).map_err(|_| CryptoError::Authentication { packet_number })?;
    Aes128Gcm::new(&keys.key.into())
        .decrypt_inout_detached(
            &keys.nonce(packet_number).into(),
            &header,
            payload.as_mut_slice().into(),
            &tag,
        )
        .map_err(|_| CryptoError::Authentication { packet_number })?;
    Ok(Opened {
        packet_number,
        payload,
    })
}

/// Protect a packet: the inverse of [`open_packet`], used by tests to build Initials.
/// `header` ends with the unprotected packet number of `pn_len` bytes.
#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
pub fn seal_packet(
    keys: &InitialKeys,
    header: &[u8],
    packet_number: u64,
    payload: &[u8],
) -> Vec<u8> {
    let pn_len = usize::from(header[0] & 0x03) + 1;
    let pn_offset = header.len() - pn_len;
    let mut body = payload.to_vec();
    let tag = Aes128Gcm::new(&keys.key.into())
        .encrypt_inout_detached(
            &keys.nonce(packet_number).into(),
            header,
            body.as_mut_slice().into(),
        )
        .expect("encrypt");
    let mut packet = header.to_vec();
    packet.extend_from_slice(&body);
    packet.extend_from_slice(&tag);
    let sample: [u8; SAMPLE_LEN] = packet[pn_offset + 4..pn_offset + 4 + SAMPLE_LEN]
        .try_into()
        .expect("sample");
    let mask = keys.header_mask(&sample);
    packet[0] ^= mask[0] & LONG_HEADER_PROTECTED_BITS;
    for i in 0..pn_len {
        packet[pn_offset + i] ^= mask[1 + i];
    }
    packet
}

#[cfg(test)]
pub(crate) mod test_util {
    /// Decode a hex string (whitespace ignored) into bytes.
    pub fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s
            .bytes()
            .filter(|b| !b.is_ascii_whitespace())
            .map(|b| match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => panic!("not hex: {b}"),
            })
            .collect();
        digits.chunks(2).map(|p| (p[0] << 4) | p[1]).collect()
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::super::header::parse_long_header;
    use super::super::test_vectors as tv;
    use super::test_util::hex;
    use super::*;
    use proptest::prelude::*;

    fn dcid() -> Vec<u8> {
        hex(tv::DCID)
    }

    #[test]
    fn rfc9001_a1_keys() {
        let (client, server) = initial_secrets(QuicVersion::V1, &dcid()).expect("v1");
        assert_eq!(client.to_vec(), hex(tv::V1_CLIENT_SECRET));
        assert_eq!(server.to_vec(), hex(tv::V1_SERVER_SECRET));
        let c = InitialKeys::client(QuicVersion::V1, &dcid()).expect("v1");
        assert_eq!(c.key.to_vec(), hex(tv::V1_CLIENT_KEY));
        assert_eq!(c.iv.to_vec(), hex(tv::V1_CLIENT_IV));
        assert_eq!(c.hp.to_vec(), hex(tv::V1_CLIENT_HP));
        let s = InitialKeys::server(QuicVersion::V1, &dcid()).expect("v1");
        assert_eq!(s.key.to_vec(), hex(tv::V1_SERVER_KEY));
        assert_eq!(s.iv.to_vec(), hex(tv::V1_SERVER_IV));
        assert_eq!(s.hp.to_vec(), hex(tv::V1_SERVER_HP));
    }

    #[test]
    fn rfc9369_a1_keys() {
        let (client, server) = initial_secrets(QuicVersion::V2, &dcid()).expect("v2");
        assert_eq!(client.to_vec(), hex(tv::V2_CLIENT_SECRET));
        assert_eq!(server.to_vec(), hex(tv::V2_SERVER_SECRET));
        let c = InitialKeys::client(QuicVersion::V2, &dcid()).expect("v2");
        assert_eq!(c.key.to_vec(), hex(tv::V2_CLIENT_KEY));
        assert_eq!(c.iv.to_vec(), hex(tv::V2_CLIENT_IV));
        assert_eq!(c.hp.to_vec(), hex(tv::V2_CLIENT_HP));
        let s = InitialKeys::server(QuicVersion::V2, &dcid()).expect("v2");
        assert_eq!(s.key.to_vec(), hex(tv::V2_SERVER_KEY));
        assert_eq!(s.hp.to_vec(), hex(tv::V2_SERVER_HP));
    }

    fn expected_client_payload() -> Vec<u8> {
        let mut p = hex(tv::CLIENT_CRYPTO_FRAME);
        p.resize(tv::CLIENT_PAYLOAD_LEN, 0);
        p
    }

    fn open_vector(version: QuicVersion, packet_hex: &str) -> Opened {
        let packet = hex(packet_hex);
        assert_eq!(packet.len(), 1200);
        let h = parse_long_header(&packet).expect("header");
        assert_eq!(h.version, version);
        assert_eq!(h.packet_len, 1200);
        let keys = InitialKeys::client(version, h.dcid).expect("keys");
        open_packet(&keys, &packet, h.pn_offset, None).expect("opens")
    }

    #[test]
    fn rfc9001_a2_client_initial_opens() {
        let opened = open_vector(QuicVersion::V1, tv::V1_CLIENT_PACKET);
        assert_eq!(opened.packet_number, 2);
        assert_eq!(opened.payload, expected_client_payload());
    }

    #[test]
    fn rfc9369_a2_client_initial_opens() {
        let opened = open_vector(QuicVersion::V2, tv::V2_CLIENT_PACKET);
        assert_eq!(opened.packet_number, 2);
        assert_eq!(opened.payload, expected_client_payload());
    }

    #[test]
    fn rfc9001_a2_seal_reproduces_the_packet() {
        let keys = InitialKeys::client(QuicVersion::V1, &dcid()).expect("keys");
        let sealed = seal_packet(
            &keys,
            &hex(tv::V1_CLIENT_HEADER),
            2,
            &expected_client_payload(),
        );
        assert_eq!(sealed, hex(tv::V1_CLIENT_PACKET));
        let keys = InitialKeys::client(QuicVersion::V2, &dcid()).expect("keys");
        let sealed = seal_packet(
            &keys,
            &hex(tv::V2_CLIENT_HEADER),
            2,
            &expected_client_payload(),
        );
        assert_eq!(sealed, hex(tv::V2_CLIENT_PACKET));
    }

    #[test]
    fn rfc9001_a3_server_initial_opens_with_server_keys() {
        let packet = hex(tv::V1_SERVER_PACKET);
        let h = parse_long_header(&packet).expect("header");
        // The server's Initial is protected with keys from the client's original DCID.
        let keys = InitialKeys::server(QuicVersion::V1, &dcid()).expect("keys");
        let opened = open_packet(&keys, &packet, h.pn_offset, None).expect("opens");
        assert_eq!(opened.packet_number, 1);
        assert_eq!(opened.payload, hex(tv::SERVER_PAYLOAD));
    }

    #[test]
    fn tampered_packet_fails_authentication() {
        let mut packet = hex(tv::V1_CLIENT_PACKET);
        packet[600] ^= 1;
        let keys = InitialKeys::client(QuicVersion::V1, &dcid()).expect("keys");
        assert!(matches!(
            open_packet(&keys, &packet, 18, None),
            Err(CryptoError::Authentication { packet_number: 2 })
        ));
    }

    #[test]
    fn packet_number_decoding_rfc9000_a3() {
        // The RFC example: largest 0xa82f30ea, truncated 0x9b32 (16 bits) → 0xa82f9b32.
        assert_eq!(
            decode_packet_number(Some(0xa82f_30ea), 0x9b32, 16),
            0xa82f_9b32
        );
        assert_eq!(decode_packet_number(None, 2, 32), 2);
        assert_eq!(decode_packet_number(Some(255), 1, 8), 257);
    }

    proptest! {
        #[test]
        fn open_random_bytes_never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..96),
            pn_offset in 0usize..100,
        ) {
            let keys = InitialKeys { key: [1; 16], iv: [2; 12], hp: [3; 16] };
            let _ = open_packet(&keys, &bytes, pn_offset, Some(7));
        }

        #[test]
        fn seal_then_open_round_trips(
            payload in proptest::collection::vec(any::<u8>(), 20..200),
            pn in 0u64..(1 << 32),
        ) {
            let keys = InitialKeys::client(QuicVersion::V1, b"cid-1234").expect("keys");
            let mut header = vec![0xc3, 0, 0, 0, 1, 8];
            header.extend_from_slice(b"cid-1234");
            header.extend_from_slice(&[0, 0, 0x44, 0]);
            header.extend_from_slice(&(pn as u32).to_be_bytes());
            let sealed = seal_packet(&keys, &header, pn, &payload);
            let opened = open_packet(&keys, &sealed, header.len() - 4, pn.checked_sub(1));
            prop_assert_eq!(opened.map(|o| o.payload), Ok(payload));
        }
    }
}
