//! Readable lines about one flow for the UI's detail pane: TLS/DTLS certificate, QUIC, HTTP,
//! STUN/TURN, SIP and where the server is. Text from packets is kept as seen; the UI
//! escapes it when it draws.

use crate::dissect::tls::cert::CertInfo;
use crate::flow::Facts;
use crate::verdict::Place;

/// At most this many lines per flow, so a flow with hundreds of SANs stays readable.
pub const MAX_DETAIL_LINES: usize = 40;
/// SANs, addresses and similar lists are shown up to this many entries.
const MAX_LIST: usize = 6;

fn list<T: ToString>(items: &[T]) -> String {
    let mut out: Vec<String> = items.iter().take(MAX_LIST).map(T::to_string).collect();
    if items.len() > MAX_LIST {
        out.push(format!("… +{}", items.len() - MAX_LIST));
    }
    out.join(", ")
}

fn cert_lines(who: &str, c: &CertInfo, out: &mut Vec<String>) {
    out.push(format!("{who} certificate: {}", c.subject));
    out.push(format!("  issuer: {}", c.issuer));
    if !c.sans.is_empty() {
        out.push(format!("  names: {}", list(&c.sans)));
    }
    out.push(format!(
        "  valid {} .. {}{}",
        c.not_before,
        c.not_after,
        if c.self_signed { " (self-signed)" } else { "" }
    ));
    out.push(format!("  sha256 {}", c.sha256));
}

/// The detail lines of a flow's facts and its server's place.
pub fn detail_lines(facts: &Facts, place: Option<&Place>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(p) = place {
        let mut line = String::from("server location:");
        if let Some(c) = &p.country {
            line.push_str(&format!(" {c}"));
        }
        if let Some(n) = p.country_name {
            line.push_str(&format!(" ({n})"));
        }
        if let Some(asn) = p.asn {
            line.push_str(&format!(" AS{asn}"));
        }
        if let Some(org) = &p.org {
            line.push_str(&format!(" {org}"));
        }
        out.push(line);
    }
    if let Some(tls) = facts.tls.as_deref() {
        if let Some(ch) = &tls.client_hello {
            let h = &ch.hello;
            out.push(format!(
                "TLS ClientHello: SNI {}, ALPN [{}]{}",
                h.sni.as_deref().unwrap_or("-"),
                list(&h.alpn),
                if h.ech { ", ECH" } else { "" }
            ));
            out.push(format!("  JA3 {}  JA4 {}", ch.ja3(), ch.ja4()));
        }
        if let Some(sh) = &tls.server_hello {
            out.push(format!(
                "TLS ServerHello: {} {}{}",
                sh.version_name,
                sh.cipher_name.unwrap_or("unknown cipher"),
                sh.alpn
                    .as_deref()
                    .map(|a| format!(", ALPN {a}"))
                    .unwrap_or_default()
            ));
        }
        for (i, c) in tls.certificates.iter().enumerate().take(2) {
            cert_lines(if i == 0 { "TLS server" } else { "TLS CA" }, c, &mut out);
        }
        if let Some(a) = &tls.alert {
            out.push(format!(
                "TLS alert from {:?}: {}",
                a.from,
                a.description_name.unwrap_or("unknown")
            ));
        }
    }
    if let Some(q) = facts.quic.as_deref() {
        out.push(format!(
            "QUIC: SNI {}{}",
            q.sni.as_deref().unwrap_or("-"),
            q.user_agent
                .as_deref()
                .map(|u| format!(", user agent {u}"))
                .unwrap_or_default()
        ));
    }
    if let Some(d) = facts.dtls.as_deref() {
        out.push(format!(
            "DTLS: {}{}{}",
            d.version_negotiated
                .or(d.version_offered)
                .map_or_else(|| "version unknown".into(), |v| v.name()),
            d.srtp_profile_selected
                .map(|p| format!(", SRTP profile {}", p.name()))
                .unwrap_or_default(),
            if d.handshake_complete {
                ", handshake complete"
            } else {
                ""
            }
        ));
        for (who, peer) in [("DTLS client", &d.client), ("DTLS server", &d.server)] {
            if let Some(c) = peer.certificates.first() {
                cert_lines(who, c, &mut out);
            }
        }
    }
    if let Some(h) = facts.http.as_deref()
        && let Some(r) = &h.request
    {
        out.push(format!(
            "HTTP {} {} Host {}",
            r.method,
            r.target.as_deref().unwrap_or(""),
            r.host.as_deref().unwrap_or("-")
        ));
        if let Some(ua) = &r.user_agent {
            out.push(format!("  User-Agent: {ua}"));
        }
    }
    if let Some(s) = facts.sip.as_deref() {
        out.push(format!(
            "SIP: {} messages [{}], from {} to {}",
            s.messages,
            list(&s.methods),
            s.from.as_deref().unwrap_or("-"),
            s.to.as_deref().unwrap_or("-")
        ));
        if let Some(ua) = s.user_agent.as_deref().or(s.server.as_deref()) {
            out.push(format!("  agent: {ua}"));
        }
        if s.keys_in_clear {
            out.push("  SDP carries SRTP keys in clear (a=crypto inline:)".into());
        }
    }
    if let Some(m) = facts.media.as_deref() {
        let st = &m.stun;
        if st.messages > 0 {
            out.push(format!(
                "STUN: {} messages, {} binding requests, {} responses",
                st.messages,
                st.binding_requests.to_server + st.binding_requests.to_client,
                st.binding_responses.to_server + st.binding_responses.to_client
            ));
            if !st.xor_mapped_addresses.is_empty() {
                out.push(format!(
                    "  mapped addresses: {}",
                    list(&st.xor_mapped_addresses)
                ));
            }
            if let Some(s) = &st.software {
                out.push(format!("  software: {s}"));
            }
            if let Some(r) = &st.realm {
                out.push(format!("  realm: {r}"));
            }
            if !st.vendors.is_empty() {
                out.push(format!("  vendor attributes: {}", list(&st.vendors)));
            }
        }
        let t = &m.turn;
        if t.allocate_requests > 0 || t.channel_data > 0 {
            out.push(format!(
                "TURN: {} allocations, {} channel binds, {} ChannelData",
                t.allocate_success, t.channel_binds, t.channel_data
            ));
            if !t.relayed_addresses.is_empty() {
                out.push(format!(
                    "  relayed addresses: {}",
                    list(&t.relayed_addresses)
                ));
            }
            if !t.peer_addresses.is_empty() {
                out.push(format!("  peers: {}", list(&t.peer_addresses)));
            }
        }
        if m.rtp.packets > 0 {
            out.push(format!(
                "RTP: {} packets, {} streams",
                m.rtp.packets,
                m.rtp.ssrcs.len()
            ));
        }
    }
    out.truncate(MAX_DETAIL_LINES);
    out
}
