//! DNS messages over UDP and TCP (RFC 1035, RFC 3596).
