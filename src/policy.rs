//! Policy: the practice's own rules (allowed apps, end-to-end encryption, countries,
//! third-party telemetry, TLS version), read from a TOML file and checked on every record.
//! [`PolicySink`] wraps the real sink: it adds a `policy-violation` finding to each record
//! that breaks a rule, counts them, and adds a `policy` block to the summary.
//!
//! Rules fail closed: what cannot be verified (an UNKNOWN verdict, a server whose country is
//! not known) counts as a violation, saying so in the evidence.
//!
//! References:
//! - TOML 1.0: <https://toml.io/en/v1.0.0>
//! - TLS versions: RFC 8446 §4.2.1, RFC 8996 (TLS 1.0 and 1.1 deprecated)

use crate::classify::Role;
use crate::report::{FlowRecord, SessionRecord, Sink, Summary};
use crate::session::CallVerdict;
use crate::signature::SignatureSet;
use crate::verdict::{Encryption, Finding, Severity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io;
use std::net::IpAddr;
use std::ops::Range;
use std::path::Path;
use toml::Spanned;

/// The finding code of a broken rule.
pub const VIOLATION: &str = "policy-violation";
/// A policy file is a few lines; refuse anything that is clearly not one.
pub const MAX_POLICY_BYTES: u64 = 1024 * 1024;

/// A TLS version a policy can demand (RFC 8446 §4.2.1 numbering).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
pub enum TlsVersion {
    #[serde(rename = "1.0")]
    V1_0,
    #[serde(rename = "1.1")]
    V1_1,
    #[serde(rename = "1.2")]
    V1_2,
    #[serde(rename = "1.3")]
    V1_3,
}

impl TlsVersion {
    /// The version's wire number (0x0301 = TLS 1.0 … 0x0304 = TLS 1.3).
    pub fn wire(self) -> u16 {
        match self {
            TlsVersion::V1_0 => 0x0301,
            TlsVersion::V1_1 => 0x0302,
            TlsVersion::V1_2 => 0x0303,
            TlsVersion::V1_3 => 0x0304,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TlsVersion::V1_0 => "TLS 1.0",
            TlsVersion::V1_1 => "TLS 1.1",
            TlsVersion::V1_2 => "TLS 1.2",
            TlsVersion::V1_3 => "TLS 1.3",
        }
    }
}

/// The rules of a policy file. Every rule is optional; an absent rule is not checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rules {
    /// App ids allowed; a session or flow of any other known conferencing app violates.
    pub allowed_apps: Option<Vec<String>>,
    /// Every call session (and call media flow) must be end-to-end encrypted.
    pub require_e2ee: bool,
    /// ISO 3166 alpha-2 codes, upper case; servers elsewhere violate (private addresses never).
    pub allowed_countries: Option<Vec<String>>,
    pub forbid_third_party_telemetry: bool,
    pub min_tls_version: Option<TlsVersion>,
}

/// A loaded policy: its rules, the file they came from, and the known conferencing app ids
/// (so a tracker company in a flow's `app` is not mistaken for a forbidden app).
#[derive(Clone, Debug)]
pub struct Policy {
    pub file: String,
    pub rules: Rules,
    pub conferencing_apps: Vec<String>,
}

/// A policy file that cannot be used; `Display` is `file:line:column: message`.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: io::Error,
    },
    #[error("{file}: larger than {MAX_POLICY_BYTES} bytes; not a policy file")]
    TooLarge { file: String },
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
}

/// The file as written, with spans for the values we check ourselves.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    allowed_apps: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    require_e2ee: bool,
    allowed_countries: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    forbid_third_party_telemetry: bool,
    min_tls_version: Option<TlsVersion>,
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn invalid(file: &str, text: &str, span: Option<Range<usize>>, message: String) -> PolicyError {
    let (line, column) = span.map_or((1, 1), |s| line_column(text, s.start));
    PolicyError::Invalid {
        file: file.to_string(),
        line,
        column,
        message,
    }
}

impl Policy {
    /// Read and check a policy file.
    pub fn load(path: &Path, sigs: &SignatureSet) -> Result<Policy, PolicyError> {
        use std::io::Read;
        let file = path.display().to_string();
        let io_err = |source| PolicyError::Io {
            file: file.clone(),
            source,
        };
        let mut text = String::new();
        std::fs::File::open(path)
            .map_err(io_err)?
            .take(MAX_POLICY_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(io_err)?;
        if text.len() as u64 > MAX_POLICY_BYTES {
            return Err(PolicyError::TooLarge { file });
        }
        Policy::parse(&text, &file, sigs)
    }

    /// Parse policy text; `file` names it in errors. App ids are checked against `sigs`.
    pub fn parse(text: &str, file: &str, sigs: &SignatureSet) -> Result<Policy, PolicyError> {
        let raw: RawRules = toml::from_str(text)
            .map_err(|e| invalid(file, text, e.span(), e.message().trim().to_string()))?;
        let conferencing_apps: Vec<String> = sigs.apps().map(|a| a.id.clone()).collect();
        let allowed_apps = match raw.allowed_apps {
            None => None,
            Some(list) => {
                let mut ids = Vec::with_capacity(list.len());
                for app in list {
                    let span = app.span();
                    let id = app.into_inner();
                    if sigs.app(&id).is_none() {
                        let known = conferencing_apps.join(", ");
                        return Err(invalid(
                            file,
                            text,
                            Some(span),
                            format!("unknown app '{id}', expected one of {known}"),
                        ));
                    }
                    ids.push(id);
                }
                Some(ids)
            }
        };
        let allowed_countries = match raw.allowed_countries {
            None => None,
            Some(list) => {
                let mut codes = Vec::with_capacity(list.len());
                for c in list {
                    let span = c.span();
                    let code = c.into_inner();
                    if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
                        return Err(invalid(
                            file,
                            text,
                            Some(span),
                            format!(
                                "'{code}' is not a country code; use ISO 3166 alpha-2 codes such as \"DE\""
                            ),
                        ));
                    }
                    codes.push(code.to_ascii_uppercase());
                }
                Some(codes)
            }
        };
        Ok(Policy {
            file: file.to_string(),
            rules: Rules {
                allowed_apps,
                require_e2ee: raw.require_e2ee,
                allowed_countries,
                forbid_third_party_telemetry: raw.forbid_third_party_telemetry,
                min_tls_version: raw.min_tls_version,
            },
            conferencing_apps,
        })
    }

    /// The rules a flow breaks: (rule name, evidence).
    pub fn check_flow(&self, r: &FlowRecord<'_>) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let rules = &self.rules;
        let server = match r.server_name {
            Some(n) => format!("{n} ({})", r.dst.ip),
            None => r.dst.ip.to_string(),
        };
        if let (Some(allowed), Some(app)) = (&rules.allowed_apps, r.app)
            && self.conferencing_apps.iter().any(|a| a == app)
            && !allowed.iter().any(|a| a == app)
        {
            out.push((
                "allowed_apps",
                format!(
                    "allowed_apps: this flow with {server} belongs to {app}, which is not an allowed app (allowed: {})",
                    list_words(allowed)
                ),
            ));
        }
        if rules.require_e2ee && r.role == Role::Media && r.encryption != Encryption::E2ee {
            let what = match r.encryption {
                Encryption::None => "is not encrypted at all",
                Encryption::Transport => {
                    "is not end-to-end encrypted (a server or the vendor can read it)"
                }
                _ => "cannot be verified as end-to-end encrypted",
            };
            out.push((
                "require_e2ee",
                format!("require_e2ee: call media with {server} {what}"),
            ));
        }
        if let Some(allowed) = &rules.allowed_countries
            && is_public(r.dst.ip)
        {
            let country = r.server.and_then(|p| p.country.as_deref());
            if let Some(v) = country_violation(allowed, country, &server) {
                out.push(("allowed_countries", v));
            }
        }
        if rules.forbid_third_party_telemetry {
            for f in r
                .findings
                .iter()
                .filter(|f| f.code == "third-party-telemetry")
            {
                out.push((
                    "forbid_third_party_telemetry",
                    format!("forbid_third_party_telemetry: {}", f.evidence),
                ));
            }
        }
        if let Some(min) = rules.min_tls_version
            && let Some(sh) = r.facts.tls.as_deref().and_then(|t| t.server_hello.as_ref())
            && sh.version < min.wire()
            // SSL 3.0 (0x0300) is lower still; anything below it is not a TLS version.
            && sh.version >= 0x0300
        {
            let seen = if sh.version_name.is_empty() {
                format!("0x{:04x}", sh.version)
            } else {
                sh.version_name.clone()
            };
            out.push((
                "min_tls_version",
                format!(
                    "min_tls_version: {server} negotiated {seen}, below the required {}",
                    min.name()
                ),
            ));
        }
        out
    }

    /// The rules a session breaks: (rule name, evidence).
    pub fn check_session(&self, s: &SessionRecord) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let rules = &self.rules;
        let who = format!("the {} session from {}", s.app_name, s.client);
        if let Some(allowed) = &rules.allowed_apps
            && !allowed.contains(&s.app)
        {
            out.push((
                "allowed_apps",
                format!(
                    "allowed_apps: {who} uses {}, which is not an allowed app (allowed: {})",
                    s.app,
                    list_words(allowed)
                ),
            ));
        }
        if rules.require_e2ee {
            match s.verdict_code {
                CallVerdict::E2ee => {}
                CallVerdict::Unknown => out.push((
                    "require_e2ee",
                    format!(
                        "require_e2ee: {who} is UNKNOWN: end-to-end encryption cannot be verified"
                    ),
                )),
                _ => out.push((
                    "require_e2ee",
                    format!("require_e2ee: {who} is {}", s.verdict),
                )),
            }
        }
        if let Some(allowed) = &rules.allowed_countries {
            for c in s.counterparts.iter().filter(|c| is_public(c.ip)) {
                let server = match &c.name {
                    Some(n) => format!("{n} ({})", c.ip),
                    None => c.ip.to_string(),
                };
                if let Some(v) = country_violation(allowed, c.place.country.as_deref(), &server) {
                    out.push(("allowed_countries", format!("{v}, during {who}")));
                }
            }
        }
        if rules.forbid_third_party_telemetry {
            for t in s.telemetry.iter().filter(|t| !t.first_party) {
                let country = if t.country.is_empty() {
                    String::new()
                } else {
                    format!(", {}", t.country)
                };
                out.push((
                    "forbid_third_party_telemetry",
                    format!(
                        "forbid_third_party_telemetry: during {who} the client contacted {} ({}{country}), a third-party tracker",
                        t.name, t.company
                    ),
                ));
            }
        }
        out
    }
}

fn country_violation(allowed: &[String], country: Option<&str>, server: &str) -> Option<String> {
    match country {
        Some(c) if allowed.iter().any(|a| a.eq_ignore_ascii_case(c)) => None,
        Some(c) => Some(format!(
            "allowed_countries: {server} is in {c}, outside the allowed countries ({})",
            list_words(allowed)
        )),
        None => Some(format!(
            "allowed_countries: the country of {server} is not known, so the rule cannot be verified (allowed: {})",
            list_words(allowed)
        )),
    }
}

fn list_words(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

/// Addresses that are not on the public internet: they are in no country and never violate
/// `allowed_countries` (RFC 1918, RFC 6598, RFC 4193, loopback, link-local, multicast…).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            let shared = a == 100 && (64..128).contains(&b); // RFC 6598 carrier-grade NAT
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_unspecified()
                || shared)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || v6.is_unique_local()
                || v6.is_unicast_link_local())
        }
    }
}

/// `"policy": {...}` in the summary.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PolicySummary {
    pub file: String,
    /// Policy-violation findings added to flows and sessions.
    pub violations: u64,
    /// The same, per rule.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub by_rule: BTreeMap<&'static str, u64>,
}

/// A sink that checks every record against a policy before handing it on.
pub struct PolicySink<S: Sink> {
    inner: S,
    policy: Policy,
    counts: PolicySummary,
}

impl<S: Sink> PolicySink<S> {
    pub fn new(inner: S, policy: Policy) -> Self {
        let counts = PolicySummary {
            file: policy.file.clone(),
            ..PolicySummary::default()
        };
        PolicySink {
            inner,
            policy,
            counts,
        }
    }

    /// Violations so far (all of them once the summary was written).
    pub fn violations(&self) -> u64 {
        self.counts.violations
    }

    pub fn policy_summary(&self) -> &PolicySummary {
        &self.counts
    }

    pub fn into_inner(self) -> S {
        self.inner
    }

    fn count(&mut self, rule: &'static str) {
        self.counts.violations += 1;
        *self.counts.by_rule.entry(rule).or_default() += 1;
    }
}

impl<S: Sink> Sink for PolicySink<S> {
    fn flow(&mut self, rec: &FlowRecord<'_>) -> io::Result<()> {
        let broken = self.policy.check_flow(rec);
        if broken.is_empty() {
            return self.inner.flow(rec);
        }
        let mut rec = rec.clone();
        for (rule, evidence) in broken {
            self.count(rule);
            rec.findings.push(Finding {
                code: VIOLATION,
                severity: Severity::High,
                evidence,
            });
        }
        self.inner.flow(&rec)
    }

    fn session(&mut self, rec: &SessionRecord) -> io::Result<()> {
        let broken = self.policy.check_session(rec);
        if broken.is_empty() {
            return self.inner.session(rec);
        }
        let mut rec = rec.clone();
        for (rule, evidence) in broken {
            self.count(rule);
            rec.policy_violations.push(evidence);
        }
        if !rec.findings.contains(&VIOLATION) {
            rec.findings.push(VIOLATION);
        }
        self.inner.session(&rec)
    }

    fn summary(&mut self, summary: &Summary) -> io::Result<()> {
        let mut summary = summary.clone();
        summary.policy = Some(self.counts.clone());
        self.inner.summary(&summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::tls::{ServerHelloInfo, TlsInfo};
    use crate::flow::{EndReason, Facts};
    use crate::model::{Endpoint, IpProto, Timestamp};
    use crate::report::record::{FlowCounts, PerDirection};
    use crate::session::{Basis, Counterpart, TelemetryContact};
    use crate::verdict::Place;

    fn sigs() -> SignatureSet {
        SignatureSet::builtin().unwrap_or_default()
    }

    fn policy(text: &str) -> Policy {
        match Policy::parse(text, "p.toml", &sigs()) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    fn error(text: &str) -> String {
        match Policy::parse(text, "policy.toml", &sigs()) {
            Ok(p) => panic!("accepted {p:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn flow<'a>(facts: &'a Facts, dst: &str) -> FlowRecord<'a> {
        FlowRecord {
            record: "flow",
            id: 7,
            transport: IpProto::TCP,
            src: Endpoint::new([192, 168, 1, 10].into(), 50000),
            dst: Endpoint::new(dst.parse().unwrap_or(IpAddr::from([0, 0, 0, 0])), 443),
            app: None,
            app_basis: None,
            server_name: Some("example.net"),
            server_name_source: None,
            role: Role::Other,
            route: None,
            route_basis: None,
            encryption: Encryption::Transport,
            findings: Vec::new(),
            protocol: Some("tls"),
            first_seen: Timestamp(0),
            last_seen: Timestamp(0),
            duration_s: 0.0,
            packets: PerDirection::from([1, 1]),
            bytes: PerDirection::from([100, 100]),
            end_reason: EndReason::Closed,
            source: "t.pcap",
            server: None,
            facts,
        }
    }

    fn tls_facts(version: u16) -> Facts {
        Facts {
            tls: Some(Box::new(TlsInfo {
                server_hello: Some(ServerHelloInfo {
                    version,
                    version_name: crate::dissect::tls::version_name(version).to_string(),
                    ..ServerHelloInfo::default()
                }),
                ..TlsInfo::default()
            })),
            ..Facts::default()
        }
    }

    fn session(verdict: CallVerdict) -> SessionRecord {
        SessionRecord {
            record: "session",
            id: 1,
            app: "zoom".into(),
            app_name: "Zoom".into(),
            client: [192, 168, 1, 10].into(),
            first_seen: Timestamp(0),
            last_seen: Timestamp(0),
            verdict: verdict.label(),
            verdict_code: verdict,
            basis: Basis::Wire,
            evidence: Vec::new(),
            media_flows: 1,
            routes: Vec::new(),
            flows: vec![7],
            counterparts: Vec::new(),
            telemetry: Vec::new(),
            findings: Vec::new(),
            policy_violations: Vec::new(),
        }
    }

    fn summary() -> Summary {
        Summary {
            record: "summary",
            inputs: Vec::new(),
            first_seen: None,
            last_seen: None,
            packets: Default::default(),
            flows: FlowCounts::default(),
            analysis: Default::default(),
            defrag: Default::default(),
            errors: 0,
            policy: None,
            live: None,
        }
    }

    /// Keeps what reaches the real sink.
    #[derive(Default)]
    struct Keep {
        flows: Vec<Vec<Finding>>,
        sessions: Vec<SessionRecord>,
        summary: Option<Summary>,
    }

    impl Sink for Keep {
        fn flow(&mut self, rec: &FlowRecord<'_>) -> io::Result<()> {
            self.flows.push(rec.findings.clone());
            Ok(())
        }
        fn session(&mut self, rec: &SessionRecord) -> io::Result<()> {
            self.sessions.push(rec.clone());
            Ok(())
        }
        fn summary(&mut self, s: &Summary) -> io::Result<()> {
            self.summary = Some(s.clone());
            Ok(())
        }
    }

    #[test]
    fn all_keys_are_optional() {
        let p = policy("require_e2ee = true\n");
        assert!(p.rules.require_e2ee);
        assert_eq!(p.rules.allowed_apps, None);
        assert_eq!(policy("").rules, Rules::default());
        let full = policy(
            "allowed_apps = [\"jitsi\", \"signal\"]\nrequire_e2ee = false\nallowed_countries = [\"de\", \"AT\"]\nforbid_third_party_telemetry = true\nmin_tls_version = \"1.2\"\n",
        );
        assert_eq!(
            full.rules.allowed_countries,
            Some(vec!["DE".into(), "AT".into()])
        );
        assert_eq!(full.rules.min_tls_version, Some(TlsVersion::V1_2));
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let e = error("# rules\nrequire_e2e = true\n");
        assert!(e.starts_with("policy.toml:2:1: unknown field"), "{e}");
        assert!(
            e.contains("require_e2e") && e.contains("require_e2ee"),
            "{e}"
        );
        let e = error("require_e2ee = true\nmin_tls_version = \"1.4\"\n");
        assert!(e.starts_with("policy.toml:2:19:"), "{e}");
        let e = error("allowed_apps = [\"zoom\", \"jitis\"]\n");
        assert!(
            e.starts_with("policy.toml:1:25: unknown app 'jitis'"),
            "{e}"
        );
        let e = error("allowed_countries = [\"Germany\"]");
        assert!(e.starts_with("policy.toml:1:22:"), "{e}");
        let e = error("require_e2ee = yes\n");
        assert!(e.starts_with("policy.toml:1:"), "{e}");
        let e = error("require_e2ee = \"true\"\n");
        assert!(e.starts_with("policy.toml:1:16:"), "{e}");
    }

    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column("ab\ncdé f", 0), (1, 1));
        assert_eq!(line_column("ab\ncdé f", 3), (2, 1));
        assert_eq!(line_column("ab\ncdé f", 7), (2, 4));
        assert_eq!(line_column("ab", 99), (1, 3));
    }

    #[test]
    fn allowed_apps_flags_other_conferencing_apps_only() {
        let p = policy("allowed_apps = [\"jitsi\"]");
        let facts = Facts::default();
        let mut r = flow(&facts, "203.0.113.5");
        r.app = Some("zoom");
        let v = p.check_flow(&r);
        assert_eq!(v.len(), 1);
        assert!(v[0].1.contains("zoom") && v[0].1.contains("jitsi"), "{v:?}");
        r.app = Some("jitsi");
        assert!(p.check_flow(&r).is_empty());
        // A tracker company in `app` is not a conferencing app.
        r.app = Some("meta");
        assert!(p.check_flow(&r).is_empty());
        assert_eq!(p.check_session(&session(CallVerdict::E2ee)).len(), 1);
    }

    #[test]
    fn require_e2ee_on_sessions_and_media() {
        let p = policy("require_e2ee = true");
        assert!(p.check_session(&session(CallVerdict::E2ee)).is_empty());
        let v = p.check_session(&session(CallVerdict::NotE2ee));
        assert!(v[0].1.contains("NOT E2EE"), "{v:?}");
        let v = p.check_session(&session(CallVerdict::Unknown));
        assert!(v[0].1.contains("cannot be verified"), "{v:?}");
        assert_eq!(p.check_session(&session(CallVerdict::Plaintext)).len(), 1);
        let facts = Facts::default();
        let mut r = flow(&facts, "127.0.0.1");
        assert!(p.check_flow(&r).is_empty(), "not media");
        r.role = Role::Media;
        r.encryption = Encryption::None;
        assert!(p.check_flow(&r)[0].1.contains("not encrypted"));
        r.encryption = Encryption::E2ee;
        assert!(p.check_flow(&r).is_empty());
        assert!(
            policy("require_e2ee = false")
                .check_session(&session(CallVerdict::Plaintext))
                .is_empty()
        );
    }

    #[test]
    fn allowed_countries_uses_place_and_skips_private_addresses() {
        let p = policy("allowed_countries = [\"DE\", \"AT\"]");
        let facts = Facts::default();
        let us = Place {
            country: Some(crate::enrich::geo::CountryCode::from_static("US")),
            ..Place::default()
        };
        let de = Place {
            country: Some(crate::enrich::geo::CountryCode::from_static("DE")),
            ..Place::default()
        };
        let mut r = flow(&facts, "203.0.113.5");
        r.server = Some(&us);
        let v = p.check_flow(&r);
        assert!(v[0].1.contains("is in US"), "{v:?}");
        r.server = Some(&de);
        assert!(p.check_flow(&r).is_empty());
        r.server = None;
        assert!(p.check_flow(&r)[0].1.contains("cannot be verified"));
        for private in [
            "10.1.2.3",
            "192.168.0.1",
            "127.0.0.1",
            "100.64.0.1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            let r = flow(&facts, private);
            assert!(p.check_flow(&r).is_empty(), "{private}");
        }
        let mut s = session(CallVerdict::E2ee);
        s.counterparts.push(Counterpart {
            ip: [198, 51, 100, 1].into(),
            name: Some("zoom.us".into()),
            role: Role::Media,
            route: None,
            place: us.clone(),
        });
        s.counterparts.push(Counterpart {
            ip: [10, 0, 0, 1].into(),
            name: None,
            role: Role::Media,
            route: None,
            place: Place::default(),
        });
        let v = p.check_session(&s);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].1.contains("zoom.us (198.51.100.1) is in US"), "{v:?}");
    }

    #[test]
    fn third_party_telemetry_on_flows_and_sessions() {
        let p = policy("forbid_third_party_telemetry = true");
        let facts = Facts::default();
        let mut r = flow(&facts, "127.0.0.1");
        r.findings.push(Finding {
            code: "first-party-telemetry",
            severity: Severity::Low,
            evidence: "own".into(),
        });
        assert!(p.check_flow(&r).is_empty());
        r.findings.push(Finding {
            code: "third-party-telemetry",
            severity: Severity::High,
            evidence: "app-measurement.com (Google LLC, US)".into(),
        });
        assert!(p.check_flow(&r)[0].1.contains("app-measurement.com"));
        let mut s = session(CallVerdict::E2ee);
        s.telemetry.push(TelemetryContact {
            name: "graph.facebook.com".into(),
            company: "Meta Platforms, Inc.".into(),
            country: "US".into(),
            offset_s: 0.7,
            first_party: false,
        });
        assert!(p.check_session(&s)[0].1.contains("graph.facebook.com"));
        s.telemetry[0].first_party = true;
        assert!(p.check_session(&s).is_empty());
    }

    #[test]
    fn min_tls_version_compares_negotiated_version() {
        let p = policy("min_tls_version = \"1.2\"");
        for (v, bad) in [
            (0x0300, true),
            (0x0301, true),
            (0x0302, true),
            (0x0303, false),
            (0x0304, false),
        ] {
            let facts = tls_facts(v);
            let r = flow(&facts, "127.0.0.1");
            assert_eq!(!p.check_flow(&r).is_empty(), bad, "{v:04x}");
        }
        let facts = tls_facts(0x0301);
        let v = p.check_flow(&flow(&facts, "127.0.0.1"));
        assert!(
            v[0].1.contains("TLS 1.0") && v[0].1.contains("TLS 1.2"),
            "{v:?}"
        );
        let none = Facts::default();
        assert!(p.check_flow(&flow(&none, "127.0.0.1")).is_empty());
    }

    #[test]
    fn sink_adds_findings_counts_and_summarises() {
        let p = policy("require_e2ee = true\nmin_tls_version = \"1.3\"");
        let mut sink = PolicySink::new(Keep::default(), p);
        let facts = tls_facts(0x0303);
        sink.flow(&flow(&facts, "127.0.0.1")).unwrap_or_default();
        let ok = tls_facts(0x0304);
        sink.flow(&flow(&ok, "127.0.0.1")).unwrap_or_default();
        sink.session(&session(CallVerdict::Unknown))
            .unwrap_or_default();
        sink.summary(&summary()).unwrap_or_default();
        assert_eq!(sink.violations(), 2);
        let keep = sink.into_inner();
        assert_eq!(keep.flows[0].len(), 1);
        assert_eq!(keep.flows[0][0].code, VIOLATION);
        assert_eq!(keep.flows[0][0].severity, Severity::High);
        assert!(keep.flows[1].is_empty());
        assert_eq!(keep.sessions[0].policy_violations.len(), 1);
        assert!(keep.sessions[0].findings.contains(&VIOLATION));
        let s = keep.summary.unwrap_or_else(summary);
        let json = serde_json::to_value(&s).unwrap_or_default();
        assert_eq!(json["policy"]["file"], "p.toml");
        assert_eq!(json["policy"]["violations"], 2);
        assert_eq!(json["policy"]["by_rule"]["require_e2ee"], 1);
        // Without a policy, the key is absent; sessions without violations omit theirs.
        let plain = serde_json::to_value(summary()).unwrap_or_default();
        assert!(plain.get("policy").is_none());
        let sj = serde_json::to_value(session(CallVerdict::E2ee)).unwrap_or_default();
        assert!(sj.get("policy_violations").is_none());
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC*") {
            let _ = Policy::parse(&s, "p.toml", &SignatureSet::default());
        }
    }
}
