//! QUIC Initial packets (RFC 9000 §17.2.2), decrypted with the version's initial secrets
//! (RFC 9001 §5, RFC 9369 for v2, draft-29) to read the TLS ClientHello from the CRYPTO frames.
//! Google QUIC Q039–Q046 carry a QUIC Crypto `CHLO` in clear; Q050 and T05x are protected
//! like IETF Initials with their own salts.
//!
//! References:
//! - RFC 9000 (transport): <https://www.rfc-editor.org/rfc/rfc9000>
//! - RFC 9001 (TLS for QUIC): <https://www.rfc-editor.org/rfc/rfc9001>
//! - RFC 9369 (QUIC v2): <https://www.rfc-editor.org/rfc/rfc9369>
//! - RFC 8999 (invariants): <https://www.rfc-editor.org/rfc/rfc8999>
//! - Wireshark `packet-quic.c` / `packet-gquic.c` (draft and Google salts, gQUIC layouts)
//!
//! Only the client's Initials are opened: the ClientHello is what we need, and the server's
//! Initial would only add the ServerHello.

pub mod crypto;
pub mod crypto_stream;
pub mod frames;
pub mod gquic;
pub mod header;
pub mod varint;
pub mod version;

#[cfg(test)]
mod test_vectors;

pub use version::QuicVersion;

use crate::dissect::tls::{self, ClientHelloInfo};
use crate::model::{Direction, Progress};
use crypto::{InitialKeys, open_packet};
use crypto_stream::{CryptoStream, Inserted, MAX_CRYPTO_STREAM};
use frames::{Dialect, Frame, FrameError};
use header::{FIXED_BIT, HEADER_FORM_LONG, LongHeader, parse_long_header};
use serde::Serialize;
use version::{Handshake, LongPacketType};

/// Client datagrams examined before giving up on a ClientHello (Chrome needs 2–3).
pub const MAX_CLIENT_DATAGRAMS: u32 = 8;
/// Coalesced packets walked in one datagram (RFC 9000 §12.2 has Initial, 0-RTT/Handshake
/// and 1-RTT at most, plus padding).
pub const MAX_COALESCED_PACKETS: usize = 8;
/// TLS handshake header: type (1) + uint24 length (RFC 8446 §4).
const HANDSHAKE_HEADER_LEN: usize = 4;
const TLS_CLIENT_HELLO: u8 = 1;

/// What one QUIC flow revealed.
#[derive(Default, Debug, Clone, Serialize)]
pub struct QuicInfo {
    /// The version of the client's first long-header packet.
    pub version: QuicVersion,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_hello: Option<ClientHelloInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja4: Option<String>,
    /// From the ClientHello, or from the gQUIC CHLO `SNI` tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// gQUIC CHLO `UAID` tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    pub server_seen: bool,
    /// Client Initial packets opened (decrypted, or read in clear for gQUIC ≤ Q046).
    #[serde(skip_serializing_if = "is_zero")]
    pub initial_packets: u32,
    /// A client Initial failed header protection or AEAD authentication.
    #[serde(skip_serializing_if = "is_false")]
    pub decrypt_failed: bool,
    /// A header, frame or handshake message was malformed or of an unexpected type.
    #[serde(skip_serializing_if = "is_false")]
    pub malformed: bool,
    /// CRYPTO data lay beyond the reassembly bound or was too fragmented.
    #[serde(skip_serializing_if = "is_false")]
    pub crypto_overflow: bool,
    /// The datagram bound was reached before the ClientHello was complete.
    #[serde(skip_serializing_if = "is_false")]
    pub crypto_incomplete: bool,
    /// The ClientHello was complete but the TLS parser could not read it.
    #[serde(skip_serializing_if = "is_false")]
    pub client_hello_unparsed: bool,
    /// The client sent CONNECTION_CLOSE in an Initial.
    #[serde(skip_serializing_if = "is_false")]
    pub client_closed: bool,
    /// The server answered with Version Negotiation.
    #[serde(skip_serializing_if = "is_false")]
    pub version_negotiation: bool,
    /// The server answered with Retry.
    #[serde(skip_serializing_if = "is_false")]
    pub retry: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// Initial keys cached for the DCID they were derived from.
struct CachedKeys {
    version: QuicVersion,
    dcid: Vec<u8>,
    keys: InitialKeys,
}

/// Per-flow QUIC state: the client's Initial keys and its reassembled CRYPTO stream.
#[derive(Default)]
pub struct QuicTracker {
    started: bool,
    done: bool,
    client_datagrams: u32,
    /// Some client Initial was opened, so waiting for more of them makes sense.
    opened_any: bool,
    largest_pn: Option<u64>,
    keys: Option<CachedKeys>,
    handshake: Option<Handshake>,
    stream: CryptoStream,
}

// Keys and buffers are not worth printing.
impl std::fmt::Debug for QuicTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuicTracker").finish_non_exhaustive()
    }
}

/// Cheap check of a client's first datagram: an IETF long header with the fixed bit and a
/// version this module knows, or a Google QUIC client header with a `Q0xx` version.
pub fn probe(payload: &[u8]) -> bool {
    let Some(&first) = payload.first() else {
        return false;
    };
    let version_at = |at: usize| {
        payload
            .get(at..at + 4)
            .map(|b| QuicVersion(u32::from_be_bytes([b[0], b[1], b[2], b[3]])))
    };
    if first & HEADER_FORM_LONG != 0 {
        let Some(v) = version_at(1) else { return false };
        // Reserved versions force negotiation (RFC 9000 §15); the client then retries.
        first & FIXED_BIT != 0 && v != QuicVersion::NEGOTIATION && (v.is_known() || v.is_reserved())
    } else {
        // gQUIC public flags: version (0x01) and 8-byte CID (0x08), no reset (0x02).
        first & 0x0b == 0x09 && version_at(9).is_some_and(QuicVersion::is_gquic_public_header)
    }
}

impl QuicTracker {
    /// Feed one UDP payload of the flow. Server datagrams are only noted.
    pub fn on_datagram(&mut self, dir: Direction, payload: &[u8], info: &mut QuicInfo) -> Progress {
        match dir {
            Direction::ToClient => self.on_server(payload, info),
            Direction::ToServer => self.on_client(payload, info),
        }
    }

    fn on_server(&mut self, payload: &[u8], info: &mut QuicInfo) -> Progress {
        if !self.started {
            // A capture that starts mid-flow: accept only what looks like QUIC.
            let long_quic = payload.first().is_some_and(|b| b & HEADER_FORM_LONG != 0)
                && parse_long_header(payload).is_ok_and(|h| h.version.is_known());
            if !long_quic {
                return Progress::NotMine;
            }
            self.started = true;
        }
        info.server_seen = true;
        let mut negotiating = false;
        if let Ok(h) = parse_long_header(payload) {
            if h.version == QuicVersion::NEGOTIATION {
                info.version_negotiation = true;
                negotiating = true;
            } else if h.packet_type == Some(LongPacketType::Retry) {
                info.retry = true;
            }
        }
        // Without any opened client Initial the server's reply leaves nothing to wait for,
        // unless it asked the client to retry with another version.
        if self.done || (!self.opened_any && !negotiating) {
            self.done = true;
            return Progress::Done;
        }
        Progress::NeedMore
    }

    fn on_client(&mut self, payload: &[u8], info: &mut QuicInfo) -> Progress {
        if self.done {
            return Progress::Done;
        }
        if !self.started {
            if !probe(payload) {
                return Progress::NotMine;
            }
            self.started = true;
        }
        self.client_datagrams += 1;
        if payload.first().is_some_and(|b| b & HEADER_FORM_LONG == 0) || is_q046(payload) {
            self.client_gquic(payload, info);
        } else {
            self.client_ietf(payload, info);
        }
        self.try_complete(info);
        if !self.done && self.client_datagrams >= MAX_CLIENT_DATAGRAMS {
            info.crypto_incomplete = true;
            self.done = true;
        }
        if self.done {
            Progress::Done
        } else {
            Progress::NeedMore
        }
    }

    fn client_gquic(&mut self, payload: &[u8], info: &mut QuicInfo) {
        // Later gQUIC client packets (no version flag) are encrypted: nothing to read.
        let Ok(pkt) = gquic::parse_client_packet(payload) else {
            return;
        };
        self.note_version(pkt.version, info);
        self.opened_any = true;
        info.initial_packets += 1;
        for f in gquic::stream_frames(pkt.frames, pkt.version) {
            if f.stream_id != gquic::CRYPTO_STREAM_ID {
                continue;
            }
            // After a REJ the client's full CHLO follows the first one on the stream, so a
            // capture may start with a complete CHLO at a non-zero offset.
            if f.offset != 0 && gquic::chlo_len(f.data).is_some_and(|n| n <= f.data.len()) {
                self.done = true;
                read_chlo(f.data, info);
                return;
            }
            self.insert(f.offset, f.data, info);
        }
    }

    fn client_ietf(&mut self, payload: &[u8], info: &mut QuicInfo) {
        let mut rest = payload;
        for _ in 0..MAX_COALESCED_PACKETS {
            // Short headers (1-RTT) and trailing padding end the walk.
            if rest.first().is_none_or(|b| b & HEADER_FORM_LONG == 0) {
                break;
            }
            let h = match parse_long_header(rest) {
                Ok(h) => h,
                Err(_) => {
                    info.malformed = true;
                    break;
                }
            };
            if self.handshake.is_none() {
                info.version = h.version;
            }
            let Some((packet, next)) = rest.split_at_checked(h.packet_len) else {
                break;
            };
            if h.packet_type == Some(LongPacketType::Initial) {
                self.note_version(h.version, info);
                self.client_initial(&h, packet, info);
            }
            if next.len() == rest.len() {
                break;
            }
            rest = next;
        }
    }

    fn note_version(&mut self, version: QuicVersion, info: &mut QuicInfo) {
        if self.handshake.is_none() {
            info.version = version;
            self.handshake = Some(version.handshake());
        }
    }

    /// Keys for this packet: the cached ones (derived from the client's first DCID, used
    /// for every Initial until a Retry), else freshly derived from its own DCID.
    fn open(&mut self, h: &LongHeader<'_>, packet: &[u8]) -> Option<crypto::Opened> {
        if let Some(c) = self.keys.as_ref().filter(|c| c.version == h.version) {
            if let Ok(o) = open_packet(&c.keys, packet, h.pn_offset, self.largest_pn) {
                return Some(o);
            }
            if c.dcid == h.dcid {
                return None;
            }
        }
        let keys = InitialKeys::client(h.version, h.dcid).ok()?;
        let opened = open_packet(&keys, packet, h.pn_offset, self.largest_pn).ok()?;
        self.keys = Some(CachedKeys {
            version: h.version,
            dcid: h.dcid.to_vec(),
            keys,
        });
        Some(opened)
    }

    fn client_initial(&mut self, h: &LongHeader<'_>, packet: &[u8], info: &mut QuicInfo) {
        let Some(opened) = self.open(h, packet) else {
            info.decrypt_failed = true;
            return;
        };
        self.opened_any = true;
        info.initial_packets += 1;
        self.largest_pn = Some(
            self.largest_pn
                .map_or(opened.packet_number, |l| l.max(opened.packet_number)),
        );
        let is_google = h.version.google().is_some();
        let dialect = if is_google {
            Dialect::GoogleV5x
        } else {
            Dialect::Ietf
        };
        for frame in frames::frames(&opened.payload, dialect) {
            match frame {
                Ok(Frame::Crypto { offset, data }) => self.insert(offset, data, info),
                Ok(Frame::ConnectionClose { .. }) => info.client_closed = true,
                Ok(_) => {}
                // gQUIC v5x ACK frames and the like are not parsed; they are not anomalies.
                Err(FrameError::Unknown { .. }) if is_google => break,
                Err(_) => {
                    info.malformed = true;
                    break;
                }
            }
        }
    }

    fn insert(&mut self, offset: u64, data: &[u8], info: &mut QuicInfo) {
        if self.stream.insert(offset, data) != Inserted::Stored {
            info.crypto_overflow = true;
        }
    }

    /// Parse the handshake message once its bytes are contiguous from offset 0.
    fn try_complete(&mut self, info: &mut QuicInfo) {
        let stream = self.stream.contiguous();
        match self.handshake {
            Some(Handshake::Tls) => {
                let Some(header) = stream.get(..HANDSHAKE_HEADER_LEN) else {
                    return;
                };
                if header[0] != TLS_CLIENT_HELLO {
                    info.malformed = true;
                    self.done = true;
                    return;
                }
                let len = usize::from(header[1]) << 16
                    | usize::from(header[2]) << 8
                    | usize::from(header[3]);
                let total = HANDSHAKE_HEADER_LEN + len;
                if total > MAX_CRYPTO_STREAM {
                    info.crypto_overflow = true;
                    self.done = true;
                    return;
                }
                let Some(msg) = stream.get(..total) else {
                    return;
                };
                self.done = true;
                match tls::parse_client_hello_message(msg) {
                    Some(ch) => {
                        info.sni = ch.sni.clone();
                        let ja4 = tls::ja4(&ch, 'q');
                        info.ja4 = (!ja4.is_empty()).then_some(ja4);
                        info.client_hello = Some(ch);
                    }
                    None => info.client_hello_unparsed = true,
                }
            }
            Some(Handshake::QuicCrypto) => {
                let Some(total) = gquic::chlo_len(stream) else {
                    if stream.len() >= 4 && stream.get(..4) != Some(b"CHLO") {
                        info.malformed = true;
                        self.done = true;
                    }
                    return;
                };
                if total > MAX_CRYPTO_STREAM {
                    info.crypto_overflow = true;
                    self.done = true;
                    return;
                }
                let Some(msg) = stream.get(..total) else {
                    return;
                };
                self.done = true;
                read_chlo(msg, info);
            }
            None => {}
        }
    }
}

fn read_chlo(msg: &[u8], info: &mut QuicInfo) {
    match gquic::parse_chlo(msg) {
        Ok(chlo) => {
            info.sni = chlo.sni;
            info.user_agent = chlo.user_agent;
        }
        Err(_) => info.malformed = true,
    }
}

/// Q046 uses a long header whose layout is not the IETF one.
fn is_q046(payload: &[u8]) -> bool {
    payload.get(1..5) == Some(&b"Q046"[..])
}

#[cfg(test)]
mod tests;
