//! Signatures: what leakscope knows about conferencing apps, telemetry hosts and network
//! owners, loaded from human-editable TOML files and compiled into fast matchers.
//!
//! - built-in files live under `signatures/` and are embedded at build time ([`builtin`]);
//! - users add app/telemetry TOML files and third-party tracker lists with
//!   [`SignatureSet::load_dir`] (lists are autodetected, see [`lists`]);
//! - every file is validated: unknown keys, bad values, bad CIDRs, bad domain patterns and
//!   conflicts are reported as `file:line:column: message` ([`SignatureError`]).
//!
//! Matching is allocation-free: [`SignatureSet::match_domain`] (suffix on label boundaries,
//! most specific wins), [`SignatureSet::match_ip`] (longest prefix), [`SignatureSet::match_stun`],
//! [`SignatureSet::is_app_port`], [`SignatureSet::match_cert_name`].
//!
//! The file format is documented in `docs/signatures.md`.

pub mod builtin;
pub mod cidr;
pub mod domain;
pub mod lists;
mod load;
pub mod raw;

pub use cidr::IpPrefix;
pub use load::{FileReport, LoadReport, SignatureError};

use crate::model::IpProto;
use cidr::PrefixTable;
use domain::{DomainIndex, Hit, MAX_NAME_LEN};
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::net::IpAddr;
use std::path::PathBuf;

/// What a server does, as told by its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Receives and forwards call media (SFU, MMR, media processor).
    Media,
    /// A TURN relay: forwards media without decrypting it (RFC 8656).
    MediaRelay,
    /// Call setup, presence, zone controllers.
    Signalling,
    /// STUN/ICE discovery.
    Stun,
    Telemetry,
    Web,
    Api,
    Cdn,
    Auth,
    Other,
}

impl Role {
    pub const NAMES: &'static [&'static str] = &[
        "media",
        "media-relay",
        "signalling",
        "stun",
        "telemetry",
        "web",
        "api",
        "cdn",
        "auth",
        "other",
    ];

    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "media" => Role::Media,
            "media-relay" => Role::MediaRelay,
            "signalling" => Role::Signalling,
            "stun" => Role::Stun,
            "telemetry" => Role::Telemetry,
            "web" => Role::Web,
            "api" => Role::Api,
            "cdn" => Role::Cdn,
            "auth" => Role::Auth,
            "other" => Role::Other,
            _ => return None,
        })
    }
}

/// How call media is protected by default (SIGNALS.md §1 classes A/B/C).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EncryptionMode {
    /// Encrypted hop by hop; a server or the vendor can decrypt (class B).
    Transport,
    /// End-to-end: only the endpoints hold the keys (class C).
    E2ee,
    /// Cleartext media (class A).
    None,
}

/// Who holds the media keys in the default mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyHolder {
    /// The vendor's cloud generates or can obtain the keys.
    Vendor,
    /// Only the call's endpoints.
    Endpoints,
    /// The (possibly self-hosted) server that terminates DTLS/SRTP.
    Server,
}

/// Whether an end-to-end mode exists and how it is switched on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum E2eeMode {
    None,
    Optional,
    Default,
    Always,
}

/// Telemetry category (TELEMETRY.md §2). `Other` is for entries from third-party lists
/// whose category does not map.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Analytics,
    Crash,
    Attribution,
    Ads,
    Apm,
    Platform,
    Other,
}

impl Category {
    pub const NAMES: &'static [&'static str] = &[
        "analytics",
        "crash",
        "attribution",
        "ads",
        "apm",
        "platform",
        "other",
    ];

    pub fn parse(s: &str) -> Option<Category> {
        Some(match s {
            "analytics" => Category::Analytics,
            "crash" => Category::Crash,
            "attribution" => Category::Attribution,
            "ads" => Category::Ads,
            "apm" => Category::Apm,
            "platform" => Category::Platform,
            "other" => Category::Other,
            _ => return None,
        })
    }
}

/// Transport protocol for port hints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    pub fn from_proto(p: IpProto) -> Option<Transport> {
        match p {
            IpProto::UDP => Some(Transport::Udp),
            IpProto::TCP => Some(Transport::Tcp),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Encryption {
    pub mode: EncryptionMode,
    pub key_holder: KeyHolder,
    pub e2ee_mode: E2eeMode,
    pub summary: String,
    pub sources: Vec<String>,
}

/// A name pattern with the role it implies.
#[derive(Clone, Debug, Serialize)]
pub struct RolePattern {
    pub pattern: String,
    pub role: Role,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// A dated prefix list from one source.
#[derive(Clone, Debug, Serialize)]
pub struct CidrList {
    pub source: String,
    pub date: String,
    /// The prefixes belong to the vendor's whole network, not to this app alone.
    pub shared: bool,
    pub prefixes: Vec<IpPrefix>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct StunSignature {
    pub attributes: Vec<u16>,
    pub message_types: Vec<u16>,
    pub realms: Vec<String>,
    pub software: Vec<String>,
}

/// Inclusive port range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct PortHints {
    pub udp: Vec<PortRange>,
    pub tcp: Vec<PortRange>,
}

/// Everything known about one app.
#[derive(Clone, Debug, Serialize)]
pub struct AppSignature {
    pub id: String,
    pub name: String,
    pub vendor: String,
    pub vendor_country: String,
    pub sources: Vec<String>,
    pub encryption: Encryption,
    pub domains: Vec<String>,
    pub cert_names: Vec<String>,
    pub cidrs: Vec<CidrList>,
    pub asns: Vec<u32>,
    pub stun: StunSignature,
    pub ports: PortHints,
    pub roles: Vec<RolePattern>,
    pub telemetry_domains: Vec<String>,
    /// The file it came from.
    pub origin: PathBuf,
}

/// A telemetry host suffix and who receives the data.
#[derive(Clone, Debug, Serialize)]
pub struct TelemetryEntry {
    pub host: String,
    pub company: String,
    /// ISO 3166-1 alpha-2, or empty when a list does not say.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub country: String,
    pub category: Category,
    /// App ids for which this is the vendor's own telemetry.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub first_party_for: Vec<String>,
    pub source: String,
}

impl TelemetryEntry {
    pub fn is_first_party_for(&self, app: &str) -> bool {
        self.first_party_for.iter().any(|a| a == app)
    }
}

/// Who runs a network: ASNs, prefixes, names and certificate patterns (e.g. Meta).
#[derive(Clone, Debug, Serialize)]
pub struct NetworkOwner {
    pub id: String,
    pub company: String,
    pub country: String,
    pub asns: Vec<u32>,
    pub domains: Vec<String>,
    pub cert_subject_orgs: Vec<String>,
    pub cert_issuers: Vec<String>,
    pub cert_names: Vec<String>,
    pub cidrs: Vec<CidrList>,
    pub notes: Vec<String>,
    pub sources: Vec<String>,
}

/// Result of [`SignatureSet::match_domain`]. Each part is the most specific pattern of its
/// kind that matched; any may be absent, but not all.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct DomainMatch<'a> {
    /// The most specific pattern that matched, of any kind.
    pub pattern: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<&'a str>,
    /// Role hint: from the app's `[[roles]]`, `telemetry` for its telemetry domains or for a
    /// telemetry entry at least as specific as the app match.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telemetry: Option<&'a TelemetryEntry>,
    /// The app's own telemetry (`telemetry_domains`) or a telemetry entry listed as
    /// first-party for the matched app.
    pub first_party: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<&'a str>,
}

/// Result of [`SignatureSet::match_ip`].
#[derive(Clone, Copy, Debug, Serialize)]
pub struct IpMatch<'a> {
    pub prefix: IpPrefix,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app: Option<&'a str>,
    /// Network owner id (e.g. `meta`), when a network file lists the prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<&'a str>,
    /// The list's source URL and snapshot date.
    pub source: &'a str,
    pub date: &'a str,
    /// The prefix is the vendor's shared network, so the app is a guess.
    pub shared: bool,
}

/// STUN facts seen in a flow, for [`SignatureSet::match_stun`].
#[derive(Clone, Copy, Debug, Default)]
pub struct StunEvidence<'a> {
    pub attributes: &'a [u16],
    pub message_types: &'a [u16],
    pub realm: Option<&'a str>,
    pub software: Option<&'a str>,
}

#[derive(Clone, Copy, Debug)]
enum DomainTarget {
    App {
        app: u32,
        role: Option<Role>,
        pattern: u32,
    },
    Telemetry {
        entry: u32,
        pattern: u32,
    },
    Owner {
        owner: u32,
        pattern: u32,
    },
}

#[derive(Clone, Copy, Debug, Default)]
struct IpTarget {
    app: Option<(u32, u32, u32)>,
    owner: Option<(u32, u32)>,
}

/// All signatures, compiled for matching.
#[derive(Clone, Debug, Default)]
pub struct SignatureSet {
    apps: Vec<AppSignature>,
    app_ids: FxHashMap<String, u32>,
    telemetry: Vec<TelemetryEntry>,
    owners: Vec<NetworkOwner>,
    patterns: Vec<String>,
    domains: DomainIndex<DomainTarget>,
    ips: PrefixTable<IpTarget>,
    cert_names: FxHashMap<String, u32>,
}

impl SignatureSet {
    /// An empty set (no built-ins).
    pub fn empty() -> SignatureSet {
        SignatureSet::default()
    }

    /// The signatures embedded at build time from `signatures/`.
    pub fn builtin() -> Result<SignatureSet, SignatureError> {
        let mut set = SignatureSet::default();
        set.load_builtin_files(builtin::FILES)?;
        Ok(set)
    }

    pub fn app(&self, id: &str) -> Option<&AppSignature> {
        let i = *self.app_ids.get(id)?;
        self.apps.get(i as usize)
    }

    pub fn apps(&self) -> impl Iterator<Item = &AppSignature> {
        self.apps.iter()
    }

    pub fn telemetry_entries(&self) -> impl Iterator<Item = &TelemetryEntry> {
        self.telemetry.iter()
    }

    pub fn network_owners(&self) -> impl Iterator<Item = &NetworkOwner> {
        self.owners.iter()
    }

    pub fn network_owner(&self, id: &str) -> Option<&NetworkOwner> {
        self.owners.iter().find(|o| o.id == id)
    }

    /// Matches a DNS name, SNI or certificate name. The most specific (longest) pattern wins:
    /// a literal suffix with n labels beats a glob with n labels, which beats any pattern
    /// with fewer labels. App, telemetry and owner matches are found in one pass.
    pub fn match_domain(&self, name: &str) -> Option<DomainMatch<'_>> {
        let mut buf = [0u8; MAX_NAME_LEN + 1];
        let name = domain::normalize(name, &mut buf)?;
        let mut app: Option<Hit<DomainTarget>> = None;
        let mut tel: Option<Hit<DomainTarget>> = None;
        let mut owner: Option<Hit<DomainTarget>> = None;
        self.domains.for_each_match(name, |hit| {
            let slot = match hit.target {
                DomainTarget::App { .. } => &mut app,
                DomainTarget::Telemetry { .. } => &mut tel,
                DomainTarget::Owner { .. } => &mut owner,
            };
            if slot.is_none_or(|b| hit.score > b.score) {
                *slot = Some(hit);
            }
        });
        let best = [app, tel, owner]
            .into_iter()
            .flatten()
            .max_by_key(|h| h.score)?;
        let pattern = self.pattern_of(best.target);
        let (app_id, mut role) = match app.map(|h| h.target) {
            Some(DomainTarget::App { app, role, .. }) => {
                (self.apps.get(app as usize).map(|a| a.id.as_str()), role)
            }
            _ => (None, None),
        };
        let telemetry = match tel.map(|h| h.target) {
            Some(DomainTarget::Telemetry { entry, .. }) => self.telemetry.get(entry as usize),
            _ => None,
        };
        let tel_wins = match (tel, app) {
            (Some(t), Some(a)) => t.score >= a.score,
            (Some(_), None) => true,
            _ => false,
        };
        if tel_wins {
            role = Some(Role::Telemetry);
        }
        let first_party = (role == Some(Role::Telemetry) && !tel_wins)
            || match (telemetry, app_id) {
                (Some(t), Some(a)) => tel_wins && t.is_first_party_for(a),
                _ => false,
            };
        let owner = match owner.map(|h| h.target) {
            Some(DomainTarget::Owner { owner, .. }) => {
                self.owners.get(owner as usize).map(|o| o.id.as_str())
            }
            _ => None,
        };
        Some(DomainMatch {
            pattern,
            app: app_id,
            role,
            telemetry,
            first_party,
            owner,
        })
    }

    fn pattern_of(&self, t: DomainTarget) -> &str {
        let p = match t {
            DomainTarget::App { pattern, .. }
            | DomainTarget::Telemetry { pattern, .. }
            | DomainTarget::Owner { pattern, .. } => pattern,
        };
        self.patterns.get(p as usize).map_or("", String::as_str)
    }

    /// Finds the app (and network owner) of an address by longest prefix.
    pub fn match_ip(&self, ip: IpAddr) -> Option<IpMatch<'_>> {
        let (prefix, t) = self.ips.longest_match(ip)?;
        let app = t.app.and_then(|(a, l, _)| {
            let app = self.apps.get(a as usize)?;
            Some((app, app.cidrs.get(l as usize)?))
        });
        let owner = t.owner.and_then(|(o, l)| {
            let owner = self.owners.get(o as usize)?;
            Some((owner, owner.cidrs.get(l as usize)?))
        });
        let list = app.map(|(_, l)| l).or(owner.map(|(_, l)| l))?;
        Some(IpMatch {
            prefix,
            app: app.map(|(a, _)| a.id.as_str()),
            owner: owner.map(|(o, _)| o.id.as_str()),
            source: &list.source,
            date: &list.date,
            shared: app.is_none_or(|(_, l)| l.shared),
        })
    }

    /// The app whose STUN fingerprint fits best: a realm match counts 4, a SOFTWARE
    /// substring 3, each vendor message type 2, each vendor attribute 1. Ties go to the app
    /// loaded first.
    pub fn match_stun(&self, s: &StunEvidence<'_>) -> Option<&str> {
        let mut best: Option<(u32, &str)> = None;
        for app in &self.apps {
            let st = &app.stun;
            let mut score = 0u32;
            if let Some(realm) = s.realm
                && st.realms.iter().any(|r| realm_matches(r, realm))
            {
                score += 4;
            }
            if let Some(sw) = s.software
                && st.software.iter().any(|p| contains_ignore_case(sw, p))
            {
                score += 3;
            }
            score += 2 * s
                .message_types
                .iter()
                .filter(|t| st.message_types.contains(t))
                .count() as u32;
            score += s
                .attributes
                .iter()
                .filter(|a| st.attributes.contains(a))
                .count() as u32;
            if score > 0 && best.is_none_or(|(b, _)| score > b) {
                best = Some((score, &app.id));
            }
        }
        best.map(|(_, id)| id)
    }

    /// True if `port` is one of the app's documented ports for `transport` (a hint only).
    pub fn is_app_port(&self, app: &str, transport: Transport, port: u16) -> bool {
        let Some(app) = self.app(app) else {
            return false;
        };
        let ranges = match transport {
            Transport::Udp => &app.ports.udp,
            Transport::Tcp => &app.ports.tcp,
        };
        ranges.iter().any(|r| (r.first..=r.last).contains(&port))
    }

    /// The app whose `cert_names` lists this certificate name (CN or SAN) literally,
    /// compared case-insensitively (e.g. `hangouts`, `*.cloud.zoom.us`).
    pub fn match_cert_name(&self, name: &str) -> Option<&str> {
        let mut buf = [0u8; MAX_NAME_LEN + 1];
        let key = domain::normalize(name, &mut buf)?;
        let i = *self.cert_names.get(key)?;
        self.apps.get(i as usize).map(|a| a.id.as_str())
    }
}

/// A realm matches its signature exactly or as a subdomain (`turn.l.google.com` realm
/// signature also matches a realm `x.turn.l.google.com`).
fn realm_matches(signature: &str, realm: &str) -> bool {
    let realm = realm.strip_suffix('.').unwrap_or(realm);
    if realm.eq_ignore_ascii_case(signature) {
        return true;
    }
    realm.len() > signature.len()
        && realm
            .get(realm.len() - signature.len()..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(signature))
        && realm.as_bytes().get(realm.len() - signature.len() - 1) == Some(&b'.')
}

fn contains_ignore_case(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

#[cfg(test)]
mod tests;
