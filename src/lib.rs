//! leakscope: tells whether confidential calls are really confidential.
//!
//! Data flows one way through the modules:
//!
//! ```text
//! capture → decode → flow → dissect → classify → verdict → report / ui
//! ```
//!
//! - [`capture`] reads pcap/pcapng files (and live interfaces) into frames with capture time;
//! - [`decode`] slices link, IP and transport headers into a borrowed packet view;
//! - [`flow`] keeps bidirectional flows, TCP reassembly and per-flow dissector state;
//! - [`dissect`] holds the pure protocol parsers;
//! - [`report`] writes text, JSON and NDJSON;
//! - [`live`] captures from interfaces (the only `pcap` user) and runs an analysis on its own
//!   thread, publishing snapshots;
//! - [`ui`] is the terminal UI: it reads those snapshots and never touches the analysis.

#![forbid(unsafe_code)]

pub mod analyze;
pub mod capture;
pub mod classify;
pub mod decode;
pub mod dissect;
pub mod engine;
pub mod enrich;
pub mod error;
pub mod flow;
pub mod live;
pub mod model;
pub mod parallel;
pub mod policy;
pub mod replay;
pub mod report;
pub mod session;
pub mod signature;
pub mod ui;
pub mod verdict;
