//! Classification: a finished flow's server name, application, role and media route, each
//! with the evidence it rests on. Pure: the signatures and the call links come in as
//! arguments, so the same flow always classifies the same way.

use crate::dissect::dtls::DtlsCertKind;
use crate::dissect::rtp::Protection;
use crate::dissect::zoom::ZoomMode;
use crate::flow::Flow;
use crate::model::{Direction, IpProto};
use crate::signature::{self, DomainMatch, SignatureSet, StunEvidence, TelemetryEntry};
use serde::Serialize;

/// What a flow does in a call or an app session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Role {
    Media,
    Signalling,
    Telemetry,
    Dns,
    #[default]
    Other,
}

crate::model::word_enum!(Role {
    Media => "media",
    Signalling => "signalling",
    Telemetry => "telemetry",
    Dns => "dns",
    Other => "other",
});

/// How media travels: straight to the other participant, or through a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    P2p,
    Relayed,
}

crate::model::word_enum!(Route {
    P2p => "p2p",
    Relayed => "relayed",
});

/// What kind of server relays media; it decides who can decrypt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Relay {
    /// A TURN relay forwards without decrypting (RFC 8656).
    Turn,
    /// A vendor media server (SFU, MMR) that ends the media encryption or holds the key.
    MediaServer,
}

/// Where a flow's server name came from, in order of preference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NameSource {
    TlsSni,
    QuicSni,
    HttpHost,
    Dns,
    Certificate,
}

crate::model::word_enum!(NameSource {
    TlsSni => "tls-sni",
    QuicSni => "quic-sni",
    HttpHost => "http-host",
    Dns => "dns",
    Certificate => "certificate",
});

/// The name of the responder: TLS SNI, QUIC SNI, HTTP Host, a DNS answer seen earlier for
/// the server's address, then the certificate's first name.
pub fn server_name(flow: &Flow) -> Option<(&str, NameSource)> {
    let facts = flow.facts();
    let tls = facts.tls.as_deref();
    let tls_sni = tls.and_then(|t| t.client_hello.as_ref()?.hello.sni.as_deref());
    let quic_sni = facts.quic.as_deref().and_then(|q| q.sni.as_deref());
    let http_host = facts
        .http
        .as_deref()
        .and_then(|h| h.request.as_ref()?.host.as_deref());
    let cert_name = tls.and_then(|t| {
        let leaf = t.certificates.first()?;
        leaf.sans
            .first()
            .map(String::as_str)
            .or(leaf.subject_cn.as_deref())
    });
    None.or(tls_sni.map(|n| (n, NameSource::TlsSni)))
        .or(quic_sni.map(|n| (n, NameSource::QuicSni)))
        .or(http_host.map(|n| (n, NameSource::HttpHost)))
        .or(flow.dns_name.as_deref().map(|n| (&**n, NameSource::Dns)))
        .or(cert_name.map(|n| (n, NameSource::Certificate)))
        .filter(|(n, _)| !n.is_empty())
}

/// What other flows of the run tell about this one (filled by the session tracker).
#[derive(Clone, Copy, Debug, Default)]
pub struct Links<'a> {
    /// The app whose STUN/ICE flow used the same local address and port (a P2P candidate).
    pub local_endpoint_app: Option<&'a str>,
    /// A SIP/SDP message announced this media endpoint; whether it carried SDES keys in clear.
    pub sdp_announced: Option<bool>,
}

/// The classification of one flow.
#[derive(Clone, Debug, Default)]
pub struct Classification<'s> {
    pub app: Option<&'s str>,
    /// Why the app was chosen, as a sentence.
    pub app_basis: Option<String>,
    /// The signature's name for what the server does (media server, TURN relay, …).
    pub server_role: Option<signature::Role>,
    pub telemetry: Option<&'s TelemetryEntry>,
    pub first_party_telemetry: bool,
    pub role: Role,
    pub route: Option<Route>,
    pub relay: Option<Relay>,
    pub route_basis: Option<String>,
    /// The flow carries call media (RTP/SRTP, Zoom media, DTLS-SRTP, relayed media).
    pub media: bool,
}

/// Tracker companies use a short id in the `app` field.
fn company_id(owner_or_company: &str) -> String {
    let lower = owner_or_company.to_ascii_lowercase();
    if lower.starts_with("meta") || lower.contains("facebook") {
        return "facebook".into();
    }
    lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| !w.is_empty())
        .unwrap_or("tracker")
        .to_string()
}

/// Classify a finished flow.
pub fn classify<'s>(flow: &Flow, sigs: &'s SignatureSet, links: Links<'s>) -> Classification<'s> {
    let mut c = Classification::default();
    let facts = flow.facts();
    let media = facts.media.as_deref();
    let name = server_name(flow);

    // 1. Names: SNI, Host, DNS, certificate.
    let dm: Option<DomainMatch<'s>> = name.and_then(|(n, _)| sigs.match_domain(n));
    if let (Some(m), Some((n, src))) = (&dm, name) {
        c.server_role = m.role;
        c.telemetry = m.telemetry;
        c.first_party_telemetry = m.first_party;
        let how = match src {
            NameSource::TlsSni => "TLS server name",
            NameSource::QuicSni => "QUIC server name",
            NameSource::HttpHost => "HTTP Host",
            NameSource::Dns => "DNS answer",
            NameSource::Certificate => "certificate name",
        };
        if let Some(app) = m.app {
            c.app = Some(app);
            c.app_basis = Some(format!(
                "{how} {n} matches the {app} signature ({})",
                m.pattern
            ));
        } else if let Some(owner) = m.owner {
            c.app_basis = Some(format!("{how} {n} belongs to {owner}'s network"));
            c.app = sigs
                .network_owner(owner)
                .map(|o| leak(company_id(&o.company), sigs));
        } else if let Some(t) = m.telemetry {
            c.app_basis = Some(format!("{how} {n} is a tracker of {}", t.company));
            c.app = Some(leak(company_id(&t.company), sigs));
        }
    }
    // 2. Certificates that name a vendor's media server (DTLS) or a TLS server.
    if c.app.is_none() {
        let cert_names = cert_names(flow);
        for cn in cert_names {
            if let Some(app) = sigs.match_cert_name(cn) {
                c.app = Some(app);
                c.app_basis = Some(format!("certificate name {cn} belongs to {app}"));
                break;
            }
        }
    }
    // 3. STUN/TURN fingerprints: vendor attributes, realm, software.
    if let (None, Some(m)) = (c.app, media) {
        let attrs: Vec<u16> = m.stun.vendor_attributes.iter().map(|a| a.0).collect();
        let types: Vec<u16> = m.stun.message_types.iter().map(|t| t.0).collect();
        let evidence = StunEvidence {
            attributes: &attrs,
            message_types: &types,
            realm: m.stun.realm.as_deref(),
            software: m.stun.software.as_deref(),
        };
        if !m.stun.is_empty()
            && let Some(app) = sigs.match_stun(&evidence)
        {
            c.app = Some(app);
            c.app_basis = Some(format!("STUN fingerprint of {app} ({})", stun_words(m)));
        }
    }
    // 4. Zoom's own media framing.
    if let (None, Some(m)) = (c.app, media)
        && !m.zoom.is_empty()
    {
        c.app = sigs.app("zoom").map(|a| a.id.as_str());
        c.app_basis = Some("Zoom's own media framing on the Zoom media ports".into());
    }
    // 5. The server's address in a vendor-published range. A shared network (Meta's for
    // WhatsApp and Messenger, Apple's for FaceTime) names the app only with its documented
    // port; otherwise it names the network's owner.
    let ip_match = sigs.match_ip(flow.server().ip);
    if let Some(im) = &ip_match {
        match (c.app, im.app, im.owner) {
            (None, Some(app), _)
                if !im.shared
                    || signature::Transport::from_proto(flow.key.proto)
                        .is_some_and(|t| sigs.is_app_port(app, t, flow.server().port)) =>
            {
                c.app = Some(app);
                c.app_basis = Some(format!(
                    "server {} is in {app}'s published range {} ({}, {})",
                    flow.server().ip,
                    im.prefix,
                    im.source,
                    im.date
                ));
            }
            // The app's shared network without the app's own evidence: name its vendor.
            (None, Some(app), None) if im.shared => {
                if let Some(a) = sigs.app(app) {
                    c.app = Some(leak(company_id(&a.vendor), sigs));
                    c.app_basis = Some(format!(
                        "server {} is in {}'s network {} ({})",
                        flow.server().ip,
                        a.vendor,
                        im.prefix,
                        im.source
                    ));
                }
            }
            (None, _, Some(owner)) => {
                c.app = sigs
                    .network_owner(owner)
                    .map(|o| leak(company_id(&o.company), sigs));
                c.app_basis = Some(format!(
                    "server {} is in {owner}'s network {}",
                    flow.server().ip,
                    im.prefix
                ));
            }
            _ => {}
        }
    }
    // 6. A P2P candidate: same local address and port as the app's STUN/ICE flow.
    if let (None, Some(app)) = (c.app, links.local_endpoint_app) {
        c.app = Some(app);
        c.app_basis = Some(format!(
            "uses local address {} that {app}'s STUN exchange with its servers discovered",
            crate::session::local_endpoint(flow)
        ));
    }

    // Role.
    c.media = carries_media(flow);
    c.role = if facts.dns.is_some() || facts.protocol == Some("dns") {
        Role::Dns
    } else if c.telemetry.is_some() || c.server_role == Some(signature::Role::Telemetry) {
        Role::Telemetry
    } else if c.media {
        Role::Media
    } else if facts.sip.is_some()
        || media.is_some_and(|m| !m.stun.is_empty() || !m.turn.is_empty())
        || (c.app.is_some_and(|a| sigs.app(a).is_some()) && flow.key.proto != IpProto::ICMP)
    {
        Role::Signalling
    } else {
        Role::Other
    };
    if c.role == Role::Media {
        route(
            flow,
            &mut c,
            ip_match.as_ref().and_then(|m| m.app).is_some(),
        );
    }
    c
}

/// Names the app signatures can match in certificates (TLS leaf, DTLS server side).
fn cert_names(flow: &Flow) -> Vec<&str> {
    let mut names = Vec::new();
    if let Some(t) = flow.facts().tls.as_deref()
        && let Some(leaf) = t.certificates.first()
    {
        names.extend(leaf.subject_cn.as_deref());
        names.extend(leaf.sans.iter().map(String::as_str));
    }
    if let Some(d) = flow.facts().dtls.as_deref() {
        for peer in [&d.server, &d.client] {
            if let Some(leaf) = peer.certificates.first() {
                names.extend(leaf.subject_cn.as_deref());
                names.extend(leaf.sans.iter().map(String::as_str));
            }
        }
    }
    names
}

fn stun_words(m: &crate::dissect::media::MediaInfo) -> String {
    let mut parts = Vec::new();
    if let Some(r) = &m.stun.realm {
        parts.push(format!("realm {r}"));
    }
    if let Some(s) = &m.stun.software {
        parts.push(format!("software {s}"));
    }
    if !m.stun.vendors.is_empty() {
        parts.push(format!("{} attributes", m.stun.vendors.join("/")));
    }
    if m.stun.whatsapp_messages > 0 {
        parts.push("WhatsApp message types".into());
    }
    parts.join(", ")
}

/// The signature set owns the strings apps are named by; company ids are few and reused, so
/// they are interned in a process-wide table instead of allocated per flow.
fn leak(id: String, _sigs: &SignatureSet) -> &'static str {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static IDS: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let set = IDS.get_or_init(|| Mutex::new(HashSet::new()));
    let Ok(mut set) = set.lock() else {
        return "tracker";
    };
    if let Some(s) = set.get(id.as_str()) {
        return s;
    }
    // Bounded: ids come from signature files, never from packets.
    let s: &'static str = Box::leak(id.into_boxed_str());
    set.insert(s);
    s
}

/// The flow carries call media: RTP/RTCP seen (plain or SRTP), Zoom media, a DTLS-SRTP
/// handshake, or media relayed through TURN.
pub fn carries_media(flow: &Flow) -> bool {
    let facts = flow.facts();
    let dtls_srtp = facts
        .dtls
        .as_deref()
        .is_some_and(|d| !d.srtp_profiles_offered.is_empty());
    let Some(m) = facts.media.as_deref() else {
        return dtls_srtp;
    };
    let rtp = m.rtp.packets >= 4 && !m.rtp.payload_types.is_empty();
    let zoom_media = !m.zoom.is_empty() && m.zoom.packets >= 4;
    let relayed = m.turn.channel_data + m.turn.data_indications + m.turn.send_indications >= 4;
    rtp || zoom_media || relayed || dtls_srtp || !m.rtcp.is_empty()
}

fn route(flow: &Flow, c: &mut Classification<'_>, vendor_ip: bool) {
    let facts = flow.facts();
    let m = facts.media.as_deref();
    let turn = m.is_some_and(|m| {
        !m.turn.relayed_addresses.is_empty()
            || m.turn.channel_data > 0
            || m.turn.allocate_success > 0
    });
    let zoom_mode = m.and_then(|m| m.zoom.mode);
    let dtls_server = facts.dtls.as_deref().and_then(|d| {
        // The far side's certificate: the DTLS peer that is not this flow's client.
        let far = if d.client_direction == Some(Direction::ToServer) {
            &d.server
        } else {
            &d.client
        };
        far.cert_kind
    });
    let ice_lite = m.is_some_and(|m| {
        m.stun.binding_requests.to_server > 0 && m.stun.binding_requests.to_client == 0
    });
    let both_check = m.is_some_and(|m| m.stun.bidirectional_checks());
    let server_role = c.server_role;
    let (route, relay, why): (Route, Option<Relay>, String) = if turn {
        (
            Route::Relayed,
            Some(Relay::Turn),
            "media goes through a TURN relay (allocation or ChannelData seen)".into(),
        )
    } else if zoom_mode == Some(ZoomMode::Server) {
        (
            Route::Relayed,
            Some(Relay::MediaServer),
            "Zoom's server encapsulation: media goes through a Zoom multimedia router".into(),
        )
    } else if zoom_mode == Some(ZoomMode::P2p) {
        (
            Route::P2p,
            None,
            "Zoom's peer-to-peer framing straight to the other participant".into(),
        )
    } else if let Some(DtlsCertKind::KnownServer(s)) = dtls_server {
        (
            Route::Relayed,
            Some(Relay::MediaServer),
            format!("DTLS ends at a media server (certificate of {s})"),
        )
    } else if matches!(server_role, Some(signature::Role::MediaRelay)) {
        (
            Route::Relayed,
            Some(Relay::Turn),
            "the server's name marks it as the vendor's TURN relay".into(),
        )
    } else if matches!(server_role, Some(signature::Role::Media)) {
        (
            Route::Relayed,
            Some(Relay::MediaServer),
            "the server's name marks it as the vendor's media server".into(),
        )
    } else if both_check && !vendor_ip {
        (
            Route::P2p,
            None,
            "both sides send ICE connectivity checks: a peer, not a server".into(),
        )
    } else if vendor_ip || ice_lite {
        let why = if vendor_ip {
            format!(
                "the remote address {} is in the vendor's published server range",
                flow.server().ip
            )
        } else {
            "only the client sends ICE checks: an ICE-lite media server".into()
        };
        (Route::Relayed, Some(Relay::MediaServer), why)
    } else if crate::session::is_private(flow.server().ip)
        && crate::session::is_private(flow.client().ip)
    {
        (
            Route::P2p,
            None,
            format!(
                "the remote address {} is a local or private address: a peer",
                flow.server().ip
            ),
        )
    } else if c.app.is_some() && m.is_some_and(|m| m.rtp.protection != Protection::Unknown) {
        (
            Route::P2p,
            None,
            format!(
                "the remote address {} is not one of the vendor's servers",
                flow.server().ip
            ),
        )
    } else {
        (
            Route::P2p,
            None,
            format!(
                "no server evidence for the remote address {}",
                flow.server().ip
            ),
        )
    };
    c.route = Some(route);
    c.relay = relay;
    c.route_basis = Some(why);
}
