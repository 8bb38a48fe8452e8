//! Verdicts: how well a flow is protected and what is wrong with it.

use serde::Serialize;

/// Who can read a flow's content.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Encryption {
    /// Content in clear text on the wire.
    None,
    /// Encrypted, but a server or the vendor can read it.
    Transport,
    /// Only the endpoints hold the keys.
    E2ee,
    /// The wire does not show it.
    #[default]
    Unknown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

/// One finding with the evidence a non-expert can read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub severity: Severity,
    pub evidence: String,
}
