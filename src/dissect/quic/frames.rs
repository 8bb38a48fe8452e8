//! The frames an Initial packet may carry (RFC 9000 §17.2.2: PADDING, PING, ACK, CRYPTO,
//! CONNECTION_CLOSE), and the CRYPTO/PADDING/PING subset of Google's QUIC v5x (Q050, T05x).
//! Parsing stops at the first frame type it does not know, because QUIC frames carry no
//! generic length.
//!
//! References:
//! - <https://www.rfc-editor.org/rfc/rfc9000#section-19> (frame formats)
//! - <https://www.rfc-editor.org/rfc/rfc9000#section-12.4> (frames allowed per packet type)

use super::varint::Reader;
use thiserror::Error;

/// At most this many ACK ranges are walked in one ACK frame; Initial ACKs have few.
pub const MAX_ACK_RANGES: u64 = 256;
/// At most this many frames are read from one packet payload.
pub const MAX_FRAMES_PER_PACKET: usize = 256;

/// IETF frame types (RFC 9000 §19).
pub mod frame_type {
    pub const PADDING: u64 = 0x00;
    pub const PING: u64 = 0x01;
    pub const ACK: u64 = 0x02;
    pub const ACK_ECN: u64 = 0x03;
    pub const CRYPTO: u64 = 0x06;
    pub const CONNECTION_CLOSE: u64 = 0x1c;
    pub const CONNECTION_CLOSE_APP: u64 = 0x1d;
    /// Google QUIC v5x numbering (Wireshark packet-quic.c).
    pub const GQUIC_PING: u64 = 0x07;
    pub const GQUIC_CRYPTO: u64 = 0x08;
}

/// Which frame numbering the payload uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Ietf,
    /// Google QUIC Q050/T050/T051 Initial payloads.
    GoogleV5x,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A run of PADDING bytes.
    Padding {
        len: usize,
    },
    Ping,
    Ack {
        largest: u64,
        ranges: u64,
        ecn: bool,
    },
    Crypto {
        offset: u64,
        data: &'a [u8],
    },
    ConnectionClose {
        error_code: u64,
        frame_type: Option<u64>,
        reason: &'a [u8],
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    #[error("quic frames: unknown frame type {frame_type:#x} at offset {offset}")]
    Unknown { frame_type: u64, offset: usize },
    #[error("quic frames: {frame} frame truncated at offset {offset}")]
    Truncated { frame: &'static str, offset: usize },
    #[error(
        "quic frames: ACK frame at offset {offset} has {ranges} ranges, more than {MAX_ACK_RANGES}"
    )]
    TooManyAckRanges { offset: usize, ranges: u64 },
}

/// An iterator over the frames of a decrypted payload. After the first error it ends.
pub struct Frames<'a> {
    r: Reader<'a>,
    dialect: Dialect,
    count: usize,
    failed: bool,
}

pub fn frames(payload: &[u8], dialect: Dialect) -> Frames<'_> {
    Frames {
        r: Reader::new(payload),
        dialect,
        count: 0,
        failed: false,
    }
}

impl<'a> Frames<'a> {
    fn ack(&mut self, offset: usize, ecn: bool) -> Option<Result<Frame<'a>, FrameError>> {
        let trunc = FrameError::Truncated {
            frame: "ACK",
            offset,
        };
        let r = &mut self.r;
        let (Some(largest), Some(_delay), Some(ranges), Some(_first)) =
            (r.varint(), r.varint(), r.varint(), r.varint())
        else {
            return Some(Err(trunc));
        };
        if ranges > MAX_ACK_RANGES {
            return Some(Err(FrameError::TooManyAckRanges { offset, ranges }));
        }
        for _ in 0..ranges {
            if r.varint().zip(r.varint()).is_none() {
                return Some(Err(trunc));
            }
        }
        // ECT(0), ECT(1) and ECN-CE counts (RFC 9000 §19.3.2).
        if ecn && (0..3).any(|_| r.varint().is_none()) {
            return Some(Err(trunc));
        }
        Some(Ok(Frame::Ack {
            largest,
            ranges,
            ecn,
        }))
    }

    fn crypto(&mut self, offset: usize) -> Option<Result<Frame<'a>, FrameError>> {
        let trunc = FrameError::Truncated {
            frame: "CRYPTO",
            offset,
        };
        let Some(stream_offset) = self.r.varint() else {
            return Some(Err(trunc));
        };
        let Some(data) = self.r.varint_len().and_then(|len| self.r.bytes(len)) else {
            return Some(Err(trunc));
        };
        Some(Ok(Frame::Crypto {
            offset: stream_offset,
            data,
        }))
    }

    fn close(&mut self, offset: usize, app: bool) -> Option<Result<Frame<'a>, FrameError>> {
        let trunc = FrameError::Truncated {
            frame: "CONNECTION_CLOSE",
            offset,
        };
        let Some(error_code) = self.r.varint() else {
            return Some(Err(trunc));
        };
        let frame_type = if app {
            None
        } else {
            match self.r.varint() {
                Some(t) => Some(t),
                None => return Some(Err(trunc)),
            }
        };
        let Some(reason) = self.r.varint_len().and_then(|len| self.r.bytes(len)) else {
            return Some(Err(trunc));
        };
        Some(Ok(Frame::ConnectionClose {
            error_code,
            frame_type,
            reason,
        }))
    }

    fn next_frame(&mut self) -> Option<Result<Frame<'a>, FrameError>> {
        use frame_type::*;
        let offset = self.r.pos();
        let t = self.r.varint()?;
        match (self.dialect, t) {
            (_, PADDING) => {
                let mut len = 1;
                loop {
                    let mut peek = self.r.clone();
                    if peek.u8() != Some(0) {
                        break;
                    }
                    self.r = peek;
                    len += 1;
                }
                Some(Ok(Frame::Padding { len }))
            }
            (Dialect::Ietf, PING) | (Dialect::GoogleV5x, GQUIC_PING) => Some(Ok(Frame::Ping)),
            (Dialect::Ietf, ACK) => self.ack(offset, false),
            (Dialect::Ietf, ACK_ECN) => self.ack(offset, true),
            (Dialect::Ietf, CRYPTO) | (Dialect::GoogleV5x, GQUIC_CRYPTO) => self.crypto(offset),
            (Dialect::Ietf, CONNECTION_CLOSE) => self.close(offset, false),
            (Dialect::Ietf, CONNECTION_CLOSE_APP) => self.close(offset, true),
            _ => Some(Err(FrameError::Unknown {
                frame_type: t,
                offset,
            })),
        }
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<Frame<'a>, FrameError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.count >= MAX_FRAMES_PER_PACKET {
            return None;
        }
        self.count += 1;
        let item = self.next_frame()?;
        self.failed = item.is_err();
        Some(item)
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::super::crypto::test_util::hex;
    use super::super::test_vectors as tv;
    use super::super::varint::encode;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc9001_client_payload_is_crypto_then_padding() {
        let mut payload = hex(tv::CLIENT_CRYPTO_FRAME);
        payload.resize(tv::CLIENT_PAYLOAD_LEN, 0);
        let got: Vec<_> = frames(&payload, Dialect::Ietf).collect();
        assert_eq!(got.len(), 2);
        let Ok(Frame::Crypto { offset: 0, data }) = &got[0] else {
            panic!("{got:?}")
        };
        assert_eq!(data.len(), 241);
        assert_eq!(&data[..4], &[0x01, 0x00, 0x00, 0xed]);
        assert_eq!(
            got[1],
            Ok(Frame::Padding {
                len: tv::CLIENT_PAYLOAD_LEN - 245
            })
        );
    }

    #[test]
    fn rfc9001_server_payload_is_ack_then_crypto() {
        let payload = hex(tv::SERVER_PAYLOAD);
        let got: Vec<_> = frames(&payload, Dialect::Ietf).collect();
        assert_eq!(
            got[0],
            Ok(Frame::Ack {
                largest: 0,
                ranges: 0,
                ecn: false
            })
        );
        assert!(matches!(got[1], Ok(Frame::Crypto { offset: 0, data }) if data.len() == 90));
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn ack_with_ranges_and_ecn_is_skipped() {
        let mut p = vec![0x03];
        for v in [100, 5, 2, 3, 1, 4, 2, 1, 7, 8, 9] {
            encode(v, &mut p);
        }
        p.push(0x01); // PING after the ACK
        let got: Vec<_> = frames(&p, Dialect::Ietf).collect();
        assert_eq!(
            got,
            vec![
                Ok(Frame::Ack {
                    largest: 100,
                    ranges: 2,
                    ecn: true
                }),
                Ok(Frame::Ping)
            ]
        );
    }

    #[test]
    fn connection_close_and_unknown_frame_stop() {
        let mut p = vec![0x1c, 0x0a, 0x06, 0x03];
        p.extend_from_slice(b"bad");
        p.extend_from_slice(&[0x1e, 0x06, 0x00, 0x01, 0xaa]);
        let got: Vec<_> = frames(&p, Dialect::Ietf).collect();
        assert_eq!(
            got,
            vec![
                Ok(Frame::ConnectionClose {
                    error_code: 10,
                    frame_type: Some(6),
                    reason: b"bad"
                }),
                Err(FrameError::Unknown {
                    frame_type: 0x1e,
                    offset: 7
                }),
            ]
        );
    }

    #[test]
    fn truncated_crypto_is_an_error() {
        let p = [0x06, 0x00, 0x10, 1, 2, 3];
        let got: Vec<_> = frames(&p, Dialect::Ietf).collect();
        assert_eq!(
            got,
            vec![Err(FrameError::Truncated {
                frame: "CRYPTO",
                offset: 0
            })]
        );
    }

    #[test]
    fn google_v5x_crypto_type_is_8() {
        let p = [0x08, 0x00, 0x02, b'C', b'H', 0x00, 0x00];
        let got: Vec<_> = frames(&p, Dialect::GoogleV5x).collect();
        assert_eq!(
            got,
            vec![
                Ok(Frame::Crypto {
                    offset: 0,
                    data: b"CH"
                }),
                Ok(Frame::Padding { len: 2 })
            ]
        );
        let ietf: Vec<_> = frames(&p, Dialect::Ietf).collect();
        assert!(matches!(
            ietf[0],
            Err(FrameError::Unknown { frame_type: 8, .. })
        ));
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            for d in [Dialect::Ietf, Dialect::GoogleV5x] {
                for f in frames(&bytes, d) {
                    if let Ok(Frame::Crypto { data, .. }) = f {
                        prop_assert!(data.len() <= bytes.len());
                    }
                }
            }
        }
    }
}
