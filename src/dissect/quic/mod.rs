//! QUIC Initial packets (RFC 9000 §17.2.2), decrypted with the version's initial secrets
//! (RFC 9001 §5, RFC 9369 for v2, draft-29) to read the TLS ClientHello from the CRYPTO frames.
