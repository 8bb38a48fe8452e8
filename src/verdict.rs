//! Verdicts: who can read a flow, and what is wrong with it, as findings with evidence a
//! non-expert can read. Decision order (SIGNALS.md §1): plaintext media or exposed keys
//! first; then where the encryption ends (the peer; a TURN relay, which cannot decrypt; or a
//! vendor media server, which can); then the app's key model from its signature file.

use crate::classify::{Classification, Relay, Role, Route};
use crate::dissect::dtls::{DtlsAnomaly, DtlsCertKind};
use crate::dissect::rtp::Protection;
use crate::enrich::geo::CountryCode;
use crate::flow::Flow;
use crate::model::Direction;
use crate::signature::{E2eeMode, EncryptionMode, KeyHolder, SignatureSet};
use serde::Serialize;
use std::sync::Arc;

/// Who can read a flow's content.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

crate::model::word_enum!(Encryption {
    None => "none",
    Transport => "transport",
    E2ee => "e2ee",
    Unknown => "unknown",
});

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

crate::model::word_enum!(Severity {
    Info => "info",
    Low => "low",
    Medium => "medium",
    High => "high",
    Critical => "critical",
});

/// One finding with the evidence a non-expert can read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub severity: Severity,
    pub evidence: String,
}

impl Finding {
    fn new(code: &'static str, severity: Severity, evidence: String) -> Self {
        Finding {
            code,
            severity,
            evidence,
        }
    }
}

/// Where a server is, from GeoIP/ASN, already judged against the transfer rules.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Place {
    /// ISO 3166 country code.
    pub country: Option<CountryCode>,
    #[serde(skip)]
    pub country_name: Option<&'static str>,
    pub asn: Option<u32>,
    pub org: Option<Arc<str>>,
    /// Outside the EU/EEA without an adequacy decision: the finding's severity and a note.
    #[serde(skip)]
    pub third_country: Option<(Severity, Option<&'static str>)>,
}

/// The session a flow belongs to, for evidence sentences.
#[derive(Clone, Copy, Debug)]
pub struct SessionRef<'a> {
    pub app_name: &'a str,
    pub app: &'a str,
    /// Seconds since the session's first flow.
    pub offset_s: f64,
}

/// Everything the verdict of one flow needs.
pub struct Input<'a> {
    pub flow: &'a Flow,
    pub class: &'a Classification<'a>,
    pub sigs: &'a SignatureSet,
    pub server_name: Option<&'a str>,
    pub place: Option<&'a Place>,
    pub session: Option<SessionRef<'a>>,
    /// SDES keys for this media endpoint were sent in clear SDP.
    pub keys_in_clear_sdp: bool,
}

/// The flow's encryption and findings.
pub fn judge(i: &Input<'_>) -> (Encryption, Vec<Finding>) {
    let mut findings = Vec::new();
    let f = i.flow;
    let facts = f.facts();
    let server = ServerWords::new(i);
    let app_sig = i.class.app.and_then(|a| i.sigs.app(a));
    let app_name = app_sig.map_or("the app", |a| a.name.as_str());

    let encryption = if i.class.role == Role::Dns {
        Encryption::None
    } else if i.class.role == Role::Media {
        media_verdict(i, &server, &mut findings)
    } else if let Some(sip) = facts.sip.as_deref() {
        findings.push(Finding::new(
            "plaintext-signalling",
            Severity::High,
            format!(
                "call signalling (SIP) with {server} is not encrypted: who calls whom, when, and the media addresses can be read on the network"
            ),
        ));
        if sip.keys_in_clear {
            findings.push(Finding::new(
                "keys-exposed",
                Severity::Critical,
                format!(
                    "the SIP messages with {server} carry the SRTP media keys in clear SDP (a=crypto, RFC 4568): anyone who sees this traffic can decrypt the call"
                ),
            ));
        }
        Encryption::None
    } else if facts.tls.is_some() || facts.quic.is_some() || facts.dtls.is_some() {
        weak_tls(i, &server, &mut findings);
        Encryption::Transport
    } else if facts.http.is_some() {
        if i.class.role == Role::Signalling {
            findings.push(Finding::new(
                "plaintext-signalling",
                Severity::High,
                format!("{app_name} talks to {server} over unencrypted HTTP"),
            ));
        }
        Encryption::None
    } else {
        Encryption::Unknown
    };

    telemetry(i, &server, &mut findings);
    transfer(i, &server, &mut findings);
    (encryption, findings)
}

/// How findings name the server: `name (ip, org, country)`. Built only when a finding is
/// written: most flows have none.
struct ServerWords<'a> {
    input: &'a Input<'a>,
    text: std::cell::OnceCell<String>,
}

impl<'a> ServerWords<'a> {
    fn new(input: &'a Input<'a>) -> Self {
        ServerWords {
            input,
            text: std::cell::OnceCell::new(),
        }
    }

    fn get(&self) -> &str {
        self.text.get_or_init(|| describe_server(self.input))
    }
}

impl std::fmt::Display for ServerWords<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.get())
    }
}

fn describe_server(i: &Input<'_>) -> String {
    let ip = i.flow.server().ip;
    let mut s = match i.server_name {
        Some(n) => format!("{n} ({ip}"),
        None => format!("{ip} ("),
    };
    let mut parts: Vec<String> = Vec::new();
    if let Some(p) = i.place {
        if let Some(org) = &p.org {
            parts.push(org.to_string());
        }
        if let Some(c) = p.country_name.or(p.country.as_deref()) {
            parts.push(c.to_string());
        }
    }
    if i.server_name.is_some() && !parts.is_empty() {
        s.push_str(", ");
    }
    s.push_str(&parts.join(", "));
    if s.ends_with('(') {
        s.pop();
        return s.trim_end().to_string();
    }
    s.push(')');
    s
}

fn media_verdict(
    i: &Input<'_>,
    server: &ServerWords<'_>,
    findings: &mut Vec<Finding>,
) -> Encryption {
    let f = i.flow;
    let facts = f.facts();
    let c = i.class;
    let m = facts.media.as_deref();
    let app_sig = c.app.and_then(|a| i.sigs.app(a));
    let app_name = app_sig.map_or("this call", |a| a.name.as_str());
    let route_words = c.route_basis.clone().unwrap_or_default();

    // 1. Clear text or exposed keys.
    if i.keys_in_clear_sdp {
        findings.push(Finding::new(
            "keys-exposed",
            Severity::Critical,
            format!(
                "the SRTP keys of this media stream with {server} were announced in clear SIP/SDP (a=crypto): anyone on the path can decrypt it"
            ),
        ));
        return Encryption::None;
    }
    if m.is_some_and(|m| m.rtp.protection == Protection::Plain) {
        let reason = m
            .map(|m| m.rtp.protection_reason.clone())
            .unwrap_or_default();
        findings.push(Finding::new(
            "plaintext-media",
            Severity::Critical,
            format!("audio/video with {server} is sent as plain RTP, not encrypted: anyone on the path can listen ({reason})"),
        ));
        return Encryption::None;
    }
    let srtp_null = facts
        .dtls
        .as_deref()
        .is_some_and(|d| d.anomalies.contains(&DtlsAnomaly::NullSrtpCipherSelected));
    if srtp_null {
        findings.push(Finding::new(
            "plaintext-media",
            Severity::Critical,
            format!("DTLS with {server} selected a NULL SRTP cipher: media is not encrypted"),
        ));
        return Encryption::None;
    }

    // 2. Where encryption ends, and 3. the app's key model.
    let relay_server = c.relay == Some(Relay::MediaServer);
    if let Some(sig) = app_sig {
        let enc = &sig.encryption;
        let sources = enc
            .sources
            .first()
            .map(|s| format!(" (source: {s})"))
            .unwrap_or_default();
        match (enc.key_holder, enc.mode) {
            (_, EncryptionMode::E2ee) | (KeyHolder::Endpoints, _) => {
                findings.push(Finding::new(
                    "e2ee",
                    Severity::Info,
                    format!(
                        "{app_name} media with {server}: {route_words}; {app_name} calls are end-to-end encrypted with keys only the participants hold, so a relay cannot read them (app knowledge{sources})"
                    ),
                ));
                return Encryption::E2ee;
            }
            (KeyHolder::Vendor, _) => {
                findings.push(Finding::new(
                    "vendor-keyed",
                    Severity::High,
                    format!(
                        "{app_name} makes or hands out the media keys, so {} can decrypt this media even when it goes {}: {}{sources}",
                        sig.vendor,
                        if c.route == Some(Route::P2p) { "peer to peer" } else { "through its servers" },
                        first_sentence(&enc.summary)
                    ),
                ));
                if relay_server {
                    findings.push(server_terminated(app_name, server, &route_words));
                }
                optional_e2ee(sig, app_name, findings);
                return Encryption::Transport;
            }
            (KeyHolder::Server, _) => {
                if relay_server || c.route == Some(Route::Relayed) && c.relay != Some(Relay::Turn) {
                    findings.push(server_terminated(app_name, server, &route_words));
                    optional_e2ee(sig, app_name, findings);
                    return Encryption::Transport;
                }
            }
        }
    }
    // No app key model, or a peer-to-peer path of a server-keyed app: read the wire.
    if relay_server {
        findings.push(server_terminated(app_name, server, &route_words));
        return Encryption::Transport;
    }
    let far_cert = facts.dtls.as_deref().and_then(|d| {
        let far = if d.client_direction == Some(Direction::ToServer) {
            &d.server
        } else {
            &d.client
        };
        far.cert_kind
    });
    let dtls_srtp = facts
        .dtls
        .as_deref()
        .is_some_and(|d| !d.srtp_profiles_offered.is_empty());
    if dtls_srtp && (c.route == Some(Route::P2p) || c.relay == Some(Relay::Turn)) {
        let certs = match far_cert {
            Some(DtlsCertKind::BrowserSelfSigned) => {
                "the far end presents a browser's self-signed certificate"
            }
            _ => "the keys are agreed between the endpoints",
        };
        findings.push(Finding::new(
            "e2ee",
            Severity::Info,
            format!(
                "media with {server} is protected by DTLS-SRTP negotiated end to end ({route_words}; {certs}): only the participants hold the keys (wire evidence)"
            ),
        ));
        return Encryption::E2ee;
    }
    findings.push(Finding::new(
        "unverifiable",
        Severity::Info,
        format!(
            "media with {server} is encrypted (SRTP), but the wire does not show who holds the keys"
        ),
    ));
    Encryption::Unknown
}

fn server_terminated(app_name: &str, server: &ServerWords<'_>, route_words: &str) -> Finding {
    Finding::new(
        "server-terminated",
        Severity::High,
        format!(
            "{app_name} media goes through {server}, a vendor media server that can decrypt what passes through it ({route_words}): not end-to-end encrypted"
        ),
    )
}

fn optional_e2ee(
    sig: &crate::signature::AppSignature,
    app_name: &str,
    findings: &mut Vec<Finding>,
) {
    if sig.encryption.e2ee_mode == E2eeMode::Optional {
        findings.push(Finding::new(
            "unverifiable",
            Severity::Info,
            format!(
                "{app_name} has an optional end-to-end encryption mode that traffic cannot reveal; this verdict describes the default mode"
            ),
        ));
    }
}

fn first_sentence(s: &str) -> &str {
    match s.find(". ") {
        Some(i) => &s[..=i],
        None => s,
    }
}

/// SSL/TLS ≤ 1.1, NULL/EXPORT/RC4/3DES ciphers, expired certificates, and self-signed ones
/// where a CA certificate is expected.
fn weak_tls(i: &Input<'_>, server: &ServerWords<'_>, findings: &mut Vec<Finding>) {
    use crate::dissect::tls::{cipher_is_weak, cipher_name, version_name};
    let Some(t) = i.flow.facts().tls.as_deref() else {
        return;
    };
    if let Some(sh) = &t.server_hello {
        if sh.version < 0x0303 && sh.version >= 0x0300 {
            findings.push(Finding::new(
                "weak-tls",
                Severity::High,
                format!(
                    "{server} negotiated {}, an obsolete protocol version",
                    version_name(sh.version)
                ),
            ));
        }
        if cipher_is_weak(sh.cipher_suite) {
            findings.push(Finding::new(
                "weak-tls",
                Severity::High,
                format!(
                    "{server} chose the weak cipher suite {}",
                    cipher_name(sh.cipher_suite).unwrap_or("(unknown)")
                ),
            ));
        }
    }
    if let Some(leaf) = t.certificates.first() {
        let at = i.flow.first_seen.secs() as i64;
        if leaf.not_after_unix < at {
            findings.push(Finding::new(
                "weak-tls",
                Severity::Medium,
                format!("the certificate of {server} expired on {}", leaf.not_after),
            ));
        }
        if leaf.self_signed && t.certificates.len() == 1 {
            findings.push(Finding::new(
                "weak-tls",
                Severity::Medium,
                format!(
                    "{server} presents a self-signed certificate ({}) where a CA-issued one is expected: the client cannot tell it from an impostor",
                    leaf.subject
                ),
            ));
        }
    }
}

fn telemetry(i: &Input<'_>, server: &ServerWords<'_>, findings: &mut Vec<Finding>) {
    let Some(t) = i.class.telemetry else { return };
    let first_party =
        i.class.first_party_telemetry || i.session.is_some_and(|s| t.is_first_party_for(s.app));
    let country = if t.country.is_empty() {
        String::new()
    } else {
        format!(", {}", t.country)
    };
    let during = match i.session {
        Some(s) => format!(
            "during the {} session from {}: ",
            s.app_name,
            crate::session::local_endpoint(i.flow).ip
        ),
        None => format!(
            "the client {} contacted ",
            crate::session::local_endpoint(i.flow).ip
        ),
    };
    let at = i
        .session
        .map(|s| format!(" {}", crate::session::offset_words(s.offset_s)))
        .unwrap_or_default();
    let name = i.server_name.unwrap_or_else(|| server.get());
    if first_party {
        findings.push(Finding::new(
            "first-party-telemetry",
            Severity::Low,
            format!(
                "{during}{name} ({}{country}){at}: the vendor's own {} telemetry",
                t.company,
                format!("{:?}", t.category).to_lowercase()
            ),
        ));
    } else {
        findings.push(Finding::new(
            "third-party-telemetry",
            Severity::High,
            format!(
                "{during}{name} ({}{country}){at}, a third-party {} service: device and usage data leave to a company that is not part of the call",
                t.company,
                format!("{:?}", t.category).to_lowercase()
            ),
        ));
    }
}

fn transfer(i: &Input<'_>, server: &ServerWords<'_>, findings: &mut Vec<Finding>) {
    let Some(p) = i.place else { return };
    let Some((severity, note)) = p.third_country else {
        return;
    };
    // Only flows we can attribute: an app, a tracker, media or signalling.
    if i.class.app.is_none() && i.class.telemetry.is_none() && i.class.role != Role::Media {
        return;
    }
    let what = match i.class.role {
        Role::Media => "call media",
        Role::Telemetry => "telemetry",
        Role::Signalling => "call signalling",
        _ => "data",
    };
    let note = note.map(|n| format!(" ({n})")).unwrap_or_default();
    findings.push(Finding::new(
        "third-country-transfer",
        severity,
        format!("{what} goes to {server}, outside the EU/EEA without an adequacy decision{note}"),
    ));
}
