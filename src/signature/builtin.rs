//! The signature files under `signatures/`, embedded by `build.rs` so the binary works from
//! any directory. Paths are relative to `signatures/`.

include!(concat!(env!("OUT_DIR"), "/builtin_signatures.rs"));
