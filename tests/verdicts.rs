//! Every verdict rule on captures the project recorded itself (`captures/`): the NDJSON a
//! tool outside the project would read must say what the traffic shows.

use leakscope::analyze::AnalyzerConfig;
use leakscope::report::ndjson::NdjsonSink;
use serde_json::Value;
use std::path::PathBuf;

fn records(capture: &str) -> Vec<Value> {
    let mut out = Vec::new();
    {
        let mut sink = NdjsonSink::new(Box::new(&mut out));
        let config = AnalyzerConfig::default();
        let path = PathBuf::from("captures").join(capture);
        let r = leakscope::replay::replay(&[path], config, &mut sink, &mut |_| {});
        assert!(r.is_ok());
    }
    String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn of<'a>(recs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    recs.iter().filter(|r| r["record"] == kind).collect()
}

fn codes(flow: &Value) -> Vec<String> {
    flow["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["code"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn media(recs: &[Value]) -> Vec<&Value> {
    of(recs, "flow")
        .into_iter()
        .filter(|f| f["role"] == "media")
        .collect()
}

#[test]
fn browser_p2p_dtls_srtp_is_e2ee_on_wire_evidence() {
    for capture in ["webrtc_p2p.pcap", "webrtc_p2p_dtls12.pcap"] {
        let recs = records(capture);
        let m = media(&recs);
        assert!(!m.is_empty(), "{capture}: no media flow");
        for f in &m {
            assert_eq!(f["route"], "p2p", "{capture}");
            assert_eq!(f["encryption"], "e2ee", "{capture}");
            assert!(codes(f).contains(&"e2ee".to_string()));
            assert!(
                !codes(f)
                    .iter()
                    .any(|c| c == "server-terminated" || c == "vendor-keyed")
            );
        }
        let s = of(&recs, "session");
        assert_eq!(s.len(), 1, "{capture}");
        assert_eq!(s[0]["verdict"], "E2EE");
        assert_eq!(s[0]["basis"], "wire");
    }
}

#[test]
fn turn_relay_does_not_break_e2ee() {
    let recs = records("webrtc_turn.pcap");
    let relayed: Vec<_> = media(&recs)
        .into_iter()
        .filter(|f| f["route"] == "relayed")
        .collect();
    assert!(!relayed.is_empty());
    for f in relayed {
        assert_eq!(
            f["route_basis"].as_str().map(|s| s.contains("TURN")),
            Some(true)
        );
        assert_eq!(f["encryption"], "e2ee");
        assert!(f["media"]["turn"]["allocate_success"].as_u64() > Some(0));
    }
    assert_eq!(of(&recs, "session")[0]["verdict"], "E2EE");
}

#[test]
fn plain_sip_and_rtp_are_plaintext() {
    let recs = records("sip_rtp_plain.pcap");
    let flows = of(&recs, "flow");
    let sip: Vec<_> = flows.iter().filter(|f| f["protocol"] == "sip").collect();
    assert_eq!(sip.len(), 1);
    assert_eq!(sip[0]["encryption"], "none");
    assert!(codes(sip[0]).contains(&"plaintext-signalling".to_string()));
    let m = media(&recs);
    assert!(!m.is_empty());
    for f in m {
        assert_eq!(f["encryption"], "none");
        assert!(codes(f).contains(&"plaintext-media".to_string()));
    }
    assert_eq!(of(&recs, "session")[0]["verdict"], "PLAINTEXT");
}

#[test]
fn sdes_keys_in_clear_sdp_are_exposed() {
    let recs = records("sip_sdes_srtp.pcap");
    let sip: Vec<_> = of(&recs, "flow")
        .into_iter()
        .filter(|f| f["protocol"] == "sip")
        .collect();
    assert!(codes(sip[0]).contains(&"keys-exposed".to_string()));
    // The key itself never reaches the report.
    let text = serde_json::to_string(&recs).unwrap_or_default();
    assert!(!text.contains("inline:"));
    for f in media(&recs) {
        assert!(codes(f).contains(&"keys-exposed".to_string()), "{f}");
        assert_eq!(f["encryption"], "none");
    }
    assert_eq!(of(&recs, "session")[0]["verdict"], "PLAINTEXT");
}

#[test]
fn facebook_graph_api_is_third_party_telemetry() {
    let recs = records("tls_graph_facebook.pcap");
    let f = of(&recs, "flow")[0];
    assert_eq!(f["server_name"], "graph.facebook.com");
    assert_eq!(f["app"], "facebook");
    assert_eq!(f["role"], "telemetry");
    assert_eq!(f["encryption"], "transport");
    assert!(codes(f).contains(&"third-party-telemetry".to_string()));
}

#[test]
fn old_tls_weak_cipher_expired_self_signed_is_weak_tls() {
    let recs = records("tls10_weak.pcap");
    let f = of(&recs, "flow")[0];
    let evidence: Vec<&str> = f["findings"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["evidence"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        evidence.iter().any(|e| e.contains("TLS 1.0")),
        "{evidence:?}"
    );
    assert!(
        evidence.iter().any(|e| e.contains("expired")),
        "{evidence:?}"
    );
    assert!(
        evidence.iter().any(|e| e.contains("self-signed")),
        "{evidence:?}"
    );
    let modern = records("tls13_zoom.pcap");
    assert!(!codes(of(&modern, "flow")[0]).contains(&"weak-tls".to_string()));
}

#[test]
fn tls_to_zoom_names_the_app_and_stays_transport() {
    let recs = records("tls12_zoom.pcap");
    let f = of(&recs, "flow")[0];
    assert_eq!(f["app"], "zoom");
    assert_eq!(f["role"], "signalling");
    assert_eq!(f["encryption"], "transport");
    assert_eq!(f["tls"]["certificates"][0]["sans"][0], "zoom.us");
    let s = of(&recs, "session");
    assert_eq!(s[0]["verdict"], "NOT E2EE (vendor can read)");
    assert_eq!(s[0]["basis"], "app-knowledge");
}

#[test]
fn plain_http_to_trackers_is_third_party_telemetry() {
    let recs = records("http_plain.pcap");
    let flows = of(&recs, "flow");
    assert_eq!(flows.len(), 3);
    for f in flows {
        assert_eq!(f["encryption"], "none");
        assert!(
            codes(f).contains(&"third-party-telemetry".to_string()),
            "{f}"
        );
    }
}
