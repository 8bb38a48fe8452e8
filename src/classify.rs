//! Classification: the flow's server name, role and (later) application.

use crate::flow::Flow;
use serde::Serialize;

/// What a flow does in a call or an app session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Media,
    Signalling,
    Telemetry,
    Dns,
    #[default]
    Other,
}

/// How media travels: straight to the other participant, or through a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Route {
    P2p,
    Relayed,
}

/// Where a flow's server name came from, in order of preference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NameSource {
    TlsSni,
    QuicSni,
    HttpHost,
    Dns,
    Certificate,
}

/// The name of the responder: TLS SNI, QUIC SNI, HTTP Host, a DNS answer seen earlier for
/// the server's address, then the certificate's first name.
pub fn server_name(flow: &Flow) -> Option<(&str, NameSource)> {
    let facts = &flow.facts;
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
        .or(flow.dns_name.as_deref().map(|n| (n, NameSource::Dns)))
        .or(cert_name.map(|n| (n, NameSource::Certificate)))
        .filter(|(n, _)| !n.is_empty())
}

/// The flow's role as far as the protocol alone tells.
pub fn role(flow: &Flow) -> Role {
    match flow.facts.protocol {
        Some("dns") => Role::Dns,
        _ => Role::Other,
    }
}
