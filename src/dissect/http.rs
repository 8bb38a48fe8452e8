//! HTTP/1.x request line, Host and User-Agent (RFC 9112).
