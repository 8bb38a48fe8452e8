//! Calls and app sessions: flows of one app from one client host close in time form a
//! session with one verdict. Also the links between flows that classification needs: the
//! local address an app's STUN exchange discovered (P2P candidates), and media endpoints
//! announced in SDP.

use crate::classify::{Classification, Role, Route};
use crate::flow::Flow;
use crate::model::{Endpoint, Timestamp};
use crate::signature::{EncryptionMode, KeyHolder, SignatureSet};
use crate::verdict::{Encryption, Finding, Place};
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::net::IpAddr;

/// A session ends after this long without a flow of its app from its host.
pub const SESSION_GAP_NS: u64 = 300 * Timestamp::NANOS_PER_SEC;
/// Telemetry this close to a session (before its start or after its end) is attributed to it.
pub const TELEMETRY_WINDOW_NS: u64 = 120 * Timestamp::NANOS_PER_SEC;
/// Bounds: links and items kept per session.
pub const MAX_LINKS: usize = 65_536;
pub const MAX_SESSION_ITEMS: usize = 64;

/// The one-line verdict of a call or app session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CallVerdict {
    E2ee,
    NotE2ee,
    Plaintext,
    Unknown,
}

impl CallVerdict {
    pub fn label(self) -> &'static str {
        match self {
            CallVerdict::E2ee => "E2EE",
            CallVerdict::NotE2ee => "NOT E2EE (vendor can read)",
            CallVerdict::Plaintext => "PLAINTEXT",
            CallVerdict::Unknown => "UNKNOWN",
        }
    }
}

/// What the verdict rests on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    /// Seen in the traffic.
    Wire,
    /// Known from the app's documented design (its signature file).
    AppKnowledge,
    None,
}

/// A server or peer the session talked to.
#[derive(Clone, Debug, Serialize)]
pub struct Counterpart {
    pub ip: IpAddr,
    pub name: Option<String>,
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<Route>,
    #[serde(flatten)]
    pub place: Place,
}

/// A tracker contacted during the session.
#[derive(Clone, Debug, Serialize)]
pub struct TelemetryContact {
    pub name: String,
    pub company: String,
    pub country: String,
    pub offset_s: f64,
    pub first_party: bool,
}

/// `{"record": "session", ...}`.
#[derive(Clone, Debug, Serialize)]
pub struct SessionRecord {
    pub record: &'static str,
    pub id: u64,
    pub app: String,
    pub app_name: String,
    pub client: IpAddr,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// `E2EE`, `NOT E2EE (vendor can read)`, `PLAINTEXT` or `UNKNOWN`.
    pub verdict: &'static str,
    pub verdict_code: CallVerdict,
    pub basis: Basis,
    /// The chain of evidence, most important first.
    pub evidence: Vec<String>,
    pub media_flows: u32,
    pub routes: Vec<Route>,
    pub flows: Vec<u64>,
    pub counterparts: Vec<Counterpart>,
    pub telemetry: Vec<TelemetryContact>,
    /// Finding codes of the session's flows, each once.
    pub findings: Vec<&'static str>,
    /// Evidence of each policy rule the session breaks (`--policy`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policy_violations: Vec<String>,
}

#[derive(Debug)]
struct Session {
    rec: SessionRecord,
    media_encryptions: Vec<Encryption>,
    wire_server_evidence: bool,
}

/// Sessions and flow links of a run.
#[derive(Debug, Default)]
pub struct Sessions {
    open: FxHashMap<(IpAddr, String), Session>,
    next_id: u64,
    /// Local endpoints an app's STUN/ICE flow used: later flows from them are the app's P2P media.
    local_endpoints: FxHashMap<Endpoint, String>,
    /// Media endpoints announced in SDP, and whether keys were in clear.
    sdp_endpoints: FxHashMap<(IpAddr, u16), bool>,
}

/// The session a flow joined.
#[derive(Clone, Debug)]
pub struct Attached {
    pub app: String,
    pub app_name: String,
    /// Seconds since the session's first flow (negative: before it).
    pub offset_s: f64,
    /// The flow is part of the call (not a tracker contacted during it).
    pub member: bool,
}

/// What a session ending produced.
pub type Ended = Vec<SessionRecord>;

impl Sessions {
    /// The app whose STUN exchange used one of the flow's endpoints as its local address.
    pub fn local_endpoint_app(&self, flow: &Flow) -> Option<&str> {
        self.local_endpoints
            .get(&local_endpoint(flow))
            .or_else(|| self.local_endpoints.get(&flow.client()))
            .map(String::as_str)
    }

    /// Whether SDP announced this endpoint, and with keys in clear.
    pub fn sdp_keys(&self, a: Endpoint, b: Endpoint) -> Option<bool> {
        self.sdp_endpoints
            .get(&(a.ip, a.port))
            .or_else(|| self.sdp_endpoints.get(&(b.ip, b.port)))
            .copied()
    }

    /// Remember what this flow tells about others (call before classifying the next flows).
    pub fn learn(&mut self, flow: &Flow, class: &Classification<'_>) {
        if let (Some(app), Some(m)) = (class.app, flow.facts().media.as_deref())
            && !m.stun.is_empty()
            && self.local_endpoints.len() < MAX_LINKS
        {
            self.local_endpoints
                .entry(local_endpoint(flow))
                .or_insert_with(|| app.to_string());
        }
        if let Some(sip) = flow.facts().sip.as_deref() {
            for (ip, port, _) in sip.media_endpoints() {
                // RTCP runs on the next port unless SDP says otherwise (RFC 3550 §11).
                for p in [port, port.saturating_add(1)] {
                    if self.sdp_endpoints.len() < MAX_LINKS {
                        *self.sdp_endpoints.entry((ip, p)).or_default() |= sip.keys_in_clear;
                    }
                }
            }
        }
    }

    /// The open session of the flow's host and app (started by this flow if none), and
    /// seconds since it began. Tracker flows join the conferencing session of their host.
    pub fn attach(
        &mut self,
        flow: &Flow,
        class: &Classification<'_>,
        sigs: &SignatureSet,
        ended: &mut Ended,
    ) -> Option<Attached> {
        let client = local_endpoint(flow).ip;
        let call = match class.app.and_then(|a| sigs.app(a)) {
            Some(sig) => Some((sig.id.clone(), sig.name.clone())),
            None if class.app.is_none() => self.generic_call(flow, class),
            None => None,
        };
        if let Some((app_id, app_name)) = call {
            let key = (client, app_id.clone());
            if let Some(s) = self.open.get(&key)
                && flow.first_seen.since(s.rec.last_seen) > SESSION_GAP_NS
                && flow.first_seen > s.rec.last_seen
                && let Some(old) = self.open.remove(&key)
            {
                ended.push(close(old, sigs));
            }
            let id = self.next_id;
            let s = self.open.entry(key).or_insert_with(|| Session {
                rec: SessionRecord {
                    record: "session",
                    id,
                    app: app_id.clone(),
                    app_name: app_name.clone(),
                    client,
                    first_seen: flow.first_seen,
                    last_seen: flow.last_seen,
                    verdict: CallVerdict::Unknown.label(),
                    verdict_code: CallVerdict::Unknown,
                    basis: Basis::None,
                    evidence: Vec::new(),
                    media_flows: 0,
                    routes: Vec::new(),
                    flows: Vec::new(),
                    counterparts: Vec::new(),
                    telemetry: Vec::new(),
                    findings: Vec::new(),
                    policy_violations: Vec::new(),
                },
                media_encryptions: Vec::new(),
                wire_server_evidence: false,
            });
            if s.rec.id == id {
                self.next_id += 1;
            }
            s.rec.first_seen = s.rec.first_seen.min(flow.first_seen);
            let offset_s = flow.first_seen.since(s.rec.first_seen) as f64 / 1e9;
            return Some(Attached {
                app: app_id,
                app_name,
                offset_s,
                member: true,
            });
        }
        // A tracker: the host's conferencing session active around the same time.
        if let Some(tracker) = class.telemetry {
            let t = flow.first_seen;
            let near = |s: &&Session| {
                s.rec.client == client
                    && t.0 + TELEMETRY_WINDOW_NS >= s.rec.first_seen.0
                    && t.since(s.rec.last_seen) <= TELEMETRY_WINDOW_NS
            };
            // The app whose own telemetry this is; else the session that began most recently.
            let s = self
                .open
                .values()
                .filter(near)
                .find(|s| tracker.is_first_party_for(&s.rec.app))
                .or_else(|| {
                    self.open
                        .values()
                        .filter(near)
                        .filter(|s| s.rec.first_seen <= t)
                        .max_by_key(|s| s.rec.first_seen)
                })
                .or_else(|| {
                    self.open
                        .values()
                        .filter(near)
                        .min_by_key(|s| s.rec.first_seen)
                })?;
            let offset_s = t.0 as f64 / 1e9 - s.rec.first_seen.0 as f64 / 1e9;
            return Some(Attached {
                app: s.rec.app.clone(),
                app_name: s.rec.app_name.clone(),
                offset_s,
                member: false,
            });
        }
        None
    }

    /// Add a judged flow to its session.
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &mut self,
        at: &Attached,
        flow: &Flow,
        class: &Classification<'_>,
        server_name: Option<&str>,
        place: Option<&Place>,
        encryption: Encryption,
        findings: &[Finding],
    ) {
        let Some(s) = self
            .open
            .get_mut(&(local_endpoint(flow).ip, at.app.clone()))
        else {
            return;
        };
        let r = &mut s.rec;
        let is_member = at.member;
        let offset_s = at.offset_s;
        if is_member {
            r.last_seen = r.last_seen.max(flow.last_seen);
            if r.flows.len() < MAX_SESSION_ITEMS * 4 {
                r.flows.push(flow.id);
            }
        }
        if let Some(t) = class.telemetry
            && r.telemetry.len() < MAX_SESSION_ITEMS
        {
            r.telemetry.push(TelemetryContact {
                name: server_name.unwrap_or_default().to_string(),
                company: t.company.clone(),
                country: t.country.clone(),
                offset_s: (offset_s * 10.0).round() / 10.0,
                first_party: findings.iter().any(|f| f.code == "first-party-telemetry"),
            });
        }
        for f in findings {
            if !r.findings.contains(&f.code) {
                r.findings.push(f.code);
            }
        }
        if class.role == Role::Media {
            r.media_flows += 1;
            s.media_encryptions.push(encryption);
            if let Some(route) = class.route
                && !r.routes.contains(&route)
            {
                r.routes.push(route);
            }
            if findings.iter().any(|f| f.code == "server-terminated") {
                s.wire_server_evidence = true;
            }
            for f in findings.iter().filter(|f| {
                matches!(
                    f.code,
                    "server-terminated"
                        | "plaintext-media"
                        | "keys-exposed"
                        | "e2ee"
                        | "vendor-keyed"
                )
            }) {
                if r.evidence.len() < MAX_SESSION_ITEMS && !r.evidence.contains(&f.evidence) {
                    r.evidence.push(f.evidence.clone());
                }
            }
        }
        let remote = remote_endpoint(flow).ip;
        // A server first met on signalling that later carries media is a media server.
        if let Some(c) = r.counterparts.iter_mut().find(|c| c.ip == remote)
            && class.role == Role::Media
        {
            c.role = Role::Media;
            c.route = class.route;
        }
        if is_member
            && r.counterparts.len() < MAX_SESSION_ITEMS
            && !r.counterparts.iter().any(|c| c.ip == remote)
        {
            r.counterparts.push(Counterpart {
                ip: remote,
                name: server_name.map(str::to_string),
                role: class.role,
                route: class.route,
                place: place.cloned().unwrap_or_default(),
            });
        }
    }

    /// A call of no known app: SIP (signalling, or media its SDP announced), or WebRTC/RTP
    /// media and ICE of an unknown service (a telehealth portal, a self-hosted bridge).
    fn generic_call(&self, flow: &Flow, class: &Classification<'_>) -> Option<(String, String)> {
        let f = flow.facts();
        let sdp = self.sdp_keys(flow.client(), flow.server()).is_some();
        if f.sip.is_some() || (sdp && class.role == Role::Media) {
            return Some(("sip".into(), "SIP call".into()));
        }
        let ice = f.media.as_deref().is_some_and(|m| !m.stun.is_empty());
        (class.role == Role::Media || (class.role == Role::Signalling && ice))
            .then(|| ("webrtc".into(), "WebRTC/RTP call (unknown service)".into()))
    }

    /// Close sessions idle since before `now - SESSION_GAP_NS`.
    pub fn expire(&mut self, now: Timestamp, sigs: &SignatureSet, ended: &mut Ended) {
        let stale: Vec<_> = self
            .open
            .iter()
            .filter(|(_, s)| now.since(s.rec.last_seen) > SESSION_GAP_NS)
            .map(|(k, _)| k.clone())
            .collect();
        for k in stale {
            if let Some(s) = self.open.remove(&k) {
                ended.push(close(s, sigs));
            }
        }
        ended.sort_by_key(|r| r.id);
    }

    /// Close every session (end of input), in the order they began.
    pub fn drain(&mut self, sigs: &SignatureSet) -> Ended {
        let mut all: Vec<SessionRecord> = self.open.drain().map(|(_, s)| close(s, sigs)).collect();
        all.sort_by_key(|r| r.id);
        all
    }

    /// Snapshots of open sessions with their verdict so far (for the UI).
    pub fn open_records(&self, sigs: &SignatureSet) -> Vec<SessionRecord> {
        let mut v: Vec<SessionRecord> = self
            .open
            .values()
            .map(|s| {
                close(
                    Session {
                        rec: s.rec.clone(),
                        media_encryptions: s.media_encryptions.clone(),
                        wire_server_evidence: s.wire_server_evidence,
                    },
                    sigs,
                )
            })
            .collect();
        v.sort_by_key(|r| r.id);
        v
    }
}

/// One verdict for the session from its flows' findings, then the app's key model.
fn close(mut s: Session, sigs: &SignatureSet) -> SessionRecord {
    let r = &mut s.rec;
    let has = |code: &str| r.findings.contains(&code);
    let app = sigs.app(&r.app);
    let (verdict, basis) = if has("plaintext-media") || has("keys-exposed") {
        (CallVerdict::Plaintext, Basis::Wire)
    } else if has("server-terminated") || has("vendor-keyed") {
        let basis = if s.wire_server_evidence {
            Basis::Wire
        } else {
            Basis::AppKnowledge
        };
        (CallVerdict::NotE2ee, basis)
    } else if !s.media_encryptions.is_empty()
        && s.media_encryptions.iter().all(|e| *e == Encryption::E2ee)
    {
        let basis = if app.is_some_and(|a| a.encryption.mode == EncryptionMode::E2ee) {
            Basis::AppKnowledge
        } else {
            Basis::Wire
        };
        (CallVerdict::E2ee, basis)
    } else if let Some(a) = app.filter(|_| s.media_encryptions.is_empty()) {
        match (a.encryption.mode, a.encryption.key_holder) {
            (EncryptionMode::E2ee, _) => (CallVerdict::E2ee, Basis::AppKnowledge),
            (_, KeyHolder::Vendor | KeyHolder::Server) => {
                (CallVerdict::NotE2ee, Basis::AppKnowledge)
            }
            _ => (CallVerdict::Unknown, Basis::None),
        }
    } else {
        (CallVerdict::Unknown, Basis::None)
    };
    if r.evidence.is_empty() {
        if let Some(a) = app {
            let line = format!("{}: {}", a.name, a.encryption.summary.replace('\n', " "));
            if !r.evidence.contains(&line) {
                r.evidence.push(line);
            }
        }
        if r.media_flows == 0 {
            r.evidence.push("no call media was seen in this session; the verdict rests on the app's documented design".into());
        }
    }
    for t in &r.telemetry {
        if !t.first_party {
            r.evidence.push(format!(
                "the client also contacted {} ({}, {}) {}",
                t.name,
                t.company,
                t.country,
                offset_words(t.offset_s)
            ));
        }
    }
    r.verdict = verdict.label();
    r.verdict_code = verdict;
    r.basis = basis;
    s.rec
}

/// The user's side of a flow: the client, unless the client is a public address talking to a
/// private one (a peer or server spoke first on a UDP media flow).
pub fn local_endpoint(flow: &Flow) -> Endpoint {
    if !is_private(flow.client().ip) && is_private(flow.server().ip) {
        flow.server()
    } else {
        flow.client()
    }
}

/// The other side of [`local_endpoint`].
pub fn remote_endpoint(flow: &Flow) -> Endpoint {
    if local_endpoint(flow) == flow.client() {
        flow.server()
    } else {
        flow.client()
    }
}

/// RFC 1918, CGNAT, loopback, link-local and unique-local addresses.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            let s0 = v6.segments()[0];
            v6.is_loopback() || (s0 & 0xfe00) == 0xfc00 || (s0 & 0xffc0) == 0xfe80
        }
    }
}

/// "+2.1 s after the session started" or "3.0 s before it".
pub fn offset_words(offset_s: f64) -> String {
    if offset_s >= 0.0 {
        format!("at +{offset_s:.1} s")
    } else {
        format!("{:.1} s before the session's first flow", -offset_s)
    }
}
