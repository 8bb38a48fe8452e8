//! The on-disk TOML schema, as serde structs. Unknown keys are rejected; values that need
//! checking later keep their byte span (`Spanned`) so errors can name file:line:column.
//!
//! The format is described for humans in `docs/signatures.md`.

use serde::Deserialize;
use toml::Spanned;

/// `signatures/apps/<id>.toml`: one conferencing or messaging app.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApp {
    pub id: Spanned<String>,
    pub name: String,
    pub vendor: String,
    pub vendor_country: Spanned<String>,
    #[serde(default)]
    pub sources: Vec<String>,
    pub encryption: RawEncryption,
    #[serde(rename = "match", default)]
    pub matching: RawMatch,
    #[serde(default)]
    pub roles: Vec<RawRole>,
    #[serde(default)]
    pub telemetry_domains: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEncryption {
    pub mode: Spanned<String>,
    pub key_holder: Spanned<String>,
    pub e2ee_mode: Spanned<String>,
    pub summary: String,
    pub sources: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMatch {
    #[serde(default)]
    pub domains: Vec<Spanned<String>>,
    #[serde(default)]
    pub cert_names: Vec<Spanned<String>>,
    #[serde(default)]
    pub cidrs: Vec<RawCidrList>,
    #[serde(default)]
    pub asns: Vec<u32>,
    #[serde(default)]
    pub stun_attributes: Vec<u16>,
    #[serde(default)]
    pub stun_message_types: Vec<u16>,
    #[serde(default)]
    pub stun_realms: Vec<Spanned<String>>,
    #[serde(default)]
    pub stun_software: Vec<String>,
    #[serde(default)]
    pub ports: RawPorts,
}

/// One published prefix list, with where and when it was taken.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCidrList {
    pub source: String,
    pub date: Spanned<String>,
    /// The prefixes belong to the vendor's whole network, not to this app alone.
    #[serde(default)]
    pub shared: bool,
    pub prefixes: Vec<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPorts {
    #[serde(default)]
    pub udp: Vec<Spanned<String>>,
    #[serde(default)]
    pub tcp: Vec<Spanned<String>>,
}

/// `[[roles]]`: a name pattern that tells what a server does.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRole {
    pub pattern: Spanned<String>,
    pub role: Spanned<String>,
    #[serde(default)]
    pub note: String,
}

/// A telemetry file: `[[entry]]` tables, one per host suffix.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTelemetryFile {
    #[serde(default)]
    pub entry: Vec<RawTelemetryEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTelemetryEntry {
    pub host: Spanned<String>,
    pub company: String,
    pub country: Spanned<String>,
    pub category: Spanned<String>,
    #[serde(default)]
    pub first_party_for: Vec<Spanned<String>>,
    pub source: String,
}

/// A network-owner file (`[network]`): who runs a set of ASNs, prefixes, names and certs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetworkFile {
    pub network: RawNetwork,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    pub id: Spanned<String>,
    pub company: String,
    pub country: Spanned<String>,
    #[serde(default)]
    pub asns: Vec<u32>,
    #[serde(default)]
    pub domains: Vec<Spanned<String>>,
    #[serde(default)]
    pub cert_subject_orgs: Vec<String>,
    #[serde(default)]
    pub cert_issuers: Vec<String>,
    #[serde(default)]
    pub cert_names: Vec<Spanned<String>>,
    #[serde(default)]
    pub cidrs: Vec<RawCidrList>,
    #[serde(default)]
    pub notes: Vec<String>,
    pub sources: Vec<String>,
}
