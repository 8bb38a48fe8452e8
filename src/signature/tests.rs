//! Tests over the built-in signature files and the loader.

use super::*;
use proptest::prelude::*;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

fn builtin() -> SignatureSet {
    SignatureSet::builtin().unwrap_or_else(|e| panic!("built-in signatures: {e}"))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e:?}"))
}

/// A fresh empty directory under the system temp dir.
fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "leakscope-sig-{}-{}-{tag}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("{name}: {e}"));
}

/// Loads one user file into a fresh built-in set and returns the error.
fn load_error(name: &str, text: &str) -> SignatureError {
    let dir = temp_dir("err");
    write(&dir, name, text);
    let mut set = builtin();
    let err = set.load_dir(&dir).err();
    let _ = std::fs::remove_dir_all(&dir);
    err.unwrap_or_else(|| panic!("{name} should not load"))
}

const MINIMAL_APP: &str = r#"id = "practice"
name = "Practice video"
vendor = "Example GmbH"
vendor_country = "DE"

[encryption]
mode = "e2ee"
key_holder = "endpoints"
e2ee_mode = "always"
summary = "Test app."
sources = ["https://example.org"]

[match]
domains = ["video.practice.example"]
"#;

#[test]
fn every_builtin_file_loads() {
    let mut set = SignatureSet::empty();
    let report = set
        .load_builtin_files(builtin::FILES)
        .unwrap_or_else(|e| panic!("{e}"));
    let app_files = builtin::FILES
        .iter()
        .filter(|(p, _)| p.starts_with("apps/") && p.ends_with(".toml"))
        .count();
    assert!(app_files >= 16, "only {app_files} app files");
    assert_eq!(report.apps, app_files);
    assert_eq!(set.apps().count(), app_files);
    assert!(
        report.telemetry_entries >= 60,
        "{} telemetry entries",
        report.telemetry_entries
    );
    assert_eq!(report.network_owners, 1);
    for id in [
        "zoom",
        "teams",
        "skype",
        "webex",
        "meet",
        "jitsi",
        "bigbluebutton",
        "goto",
        "whatsapp",
        "signal",
        "telegram",
        "facetime",
        "threema",
        "wire",
        "element",
        "discord",
    ] {
        let app = set.app(id).unwrap_or_else(|| panic!("missing app {id}"));
        assert!(
            !app.encryption.sources.is_empty(),
            "{id} has no encryption sources"
        );
        assert!(!app.encryption.summary.is_empty(), "{id} has no summary");
    }
    // Every built-in file name matches the id inside.
    for app in set.apps() {
        let stem = app.origin.file_stem().and_then(|s| s.to_str());
        assert_eq!(stem, Some(app.id.as_str()));
    }
}

#[test]
fn encryption_facts_per_signals_md() {
    let set = builtin();
    let enc = |id: &str| {
        set.app(id)
            .map(|a| (a.encryption.mode, a.encryption.key_holder))
    };
    assert_eq!(
        enc("zoom"),
        Some((EncryptionMode::Transport, KeyHolder::Vendor))
    );
    assert_eq!(
        enc("teams"),
        Some((EncryptionMode::Transport, KeyHolder::Vendor))
    );
    assert_eq!(
        enc("meet"),
        Some((EncryptionMode::Transport, KeyHolder::Vendor))
    );
    assert_eq!(
        enc("webex"),
        Some((EncryptionMode::Transport, KeyHolder::Vendor))
    );
    assert_eq!(
        enc("bigbluebutton"),
        Some((EncryptionMode::Transport, KeyHolder::Server))
    );
    for id in ["whatsapp", "signal", "facetime", "telegram", "redconnect"] {
        assert_eq!(
            enc(id),
            Some((EncryptionMode::E2ee, KeyHolder::Endpoints)),
            "{id}"
        );
    }
}

#[test]
fn domain_suffix_roles_and_specificity() {
    let set = builtin();
    let m = |n: &str| set.match_domain(n);
    assert!(m("notzoom.us").is_none());
    assert!(m("zoom.us.evil.example").is_none());
    let z = m("ZOOM.US.");
    assert_eq!(z.and_then(|z| z.app), Some("zoom"));
    assert_eq!(z.and_then(|z| z.role), None);
    let mmr = m("zoomfrn99mmr.zoom.us");
    assert_eq!(
        mmr.map(|d| (d.app, d.role)),
        Some((Some("zoom"), Some(Role::Media)))
    );
    assert_eq!(mmr.map(|d| d.pattern), Some("zoom*mmr.zoom.us"));
    let zc = m("zoomam104zc.zoom.us");
    assert_eq!(zc.and_then(|d| d.role), Some(Role::Signalling));
    let relay = m("turn.teams.microsoft.com");
    assert_eq!(
        relay.map(|d| (d.app, d.role)),
        Some((Some("teams"), Some(Role::MediaRelay)))
    );
    let tr = m("euaz.tr.teams.microsoft.com");
    assert_eq!(tr.and_then(|d| d.role), Some(Role::MediaRelay));
    assert_eq!(m("teams.microsoft.com").and_then(|d| d.app), Some("teams"));
    assert_eq!(
        m("sfu.voip.signal.org").and_then(|d| d.role),
        Some(Role::Media)
    );
}

#[test]
fn telemetry_first_and_third_party() {
    let set = builtin();
    let lg = set.match_domain("log-gateway.zoom.us");
    assert_eq!(lg.and_then(|d| d.app), Some("zoom"));
    assert_eq!(lg.and_then(|d| d.role), Some(Role::Telemetry));
    assert_eq!(lg.map(|d| d.first_party), Some(true));
    assert_eq!(
        lg.and_then(|d| d.telemetry).map(|t| t.company.as_str()),
        Some("Zoom Communications, Inc.")
    );
    let us = set.match_domain("us.telemetry.zoom.us");
    assert_eq!(
        us.map(|d| (d.app, d.role, d.first_party)),
        Some((Some("zoom"), Some(Role::Telemetry), true))
    );

    let fb = set.match_domain("graph.facebook.com");
    let t = fb.and_then(|d| d.telemetry);
    assert_eq!(
        t.map(|t| (t.company.as_str(), t.country.as_str())),
        Some(("Meta Platforms, Inc.", "US"))
    );
    assert_eq!(
        fb.map(|d| (d.app, d.first_party, d.owner)),
        Some((None, false, Some("meta")))
    );
    assert_eq!(t.map(|t| t.category), Some(Category::Analytics));

    let ms = set.match_domain("teams.events.data.microsoft.com");
    let t = ms.and_then(|d| d.telemetry);
    assert!(t.is_some_and(|t| t.is_first_party_for("teams") && !t.is_first_party_for("zoom")));
    assert!(
        set.match_domain("events.data.microsoft.com").is_none(),
        "`*.` is subdomains only"
    );

    // An owner-only match: a Meta domain that is not telemetry.
    let ig = set.match_domain("scontent.cdninstagram.com");
    assert_eq!(
        ig.map(|d| (d.app, d.owner, d.telemetry.is_none())),
        Some((None, Some("meta"), true))
    );
}

#[test]
fn ip_longest_prefix_v4_v6() {
    let set = builtin();
    let m = |s: &str| set.match_ip(ip(s));
    let t = m("13.107.64.5");
    assert_eq!(
        t.map(|t| (t.app, t.shared, t.prefix.to_string())),
        Some((Some("teams"), false, "13.107.64.0/18".into()))
    );
    assert_eq!(m("52.115.255.254").and_then(|t| t.app), Some("teams"));
    assert_eq!(m("2603:1063:3ff::1").and_then(|t| t.app), Some("teams"));
    assert!(m("2603:1063:400::1").is_none());
    let z = m("170.114.10.1");
    assert_eq!(
        z.map(|z| (z.app, z.source)),
        Some((
            Some("zoom"),
            "https://assets.zoom.us/docs/ipranges/Zoom.txt"
        ))
    );
    let wa = m("157.240.1.60");
    assert_eq!(
        wa.map(|w| (w.app, w.owner, w.shared)),
        Some((Some("whatsapp"), Some("meta"), true))
    );
    assert_eq!(m("2a03:2880:f001::1").and_then(|w| w.owner), Some("meta"));
    assert_eq!(
        m("17.1.2.3").map(|f| (f.app, f.shared)),
        Some((Some("facetime"), true))
    );
    assert_eq!(m("149.154.167.51").and_then(|t| t.app), Some("telegram"));
    assert!(m("192.0.2.1").is_none());
    assert!(m("::1").is_none());
}

#[test]
fn stun_ports_and_certs() {
    let set = builtin();
    let ev = |attributes: &'static [u16], message_types: &'static [u16], realm| StunEvidence {
        attributes,
        message_types,
        realm,
        software: None,
    };
    assert_eq!(
        set.match_stun(&ev(&[0x4003], &[0x0801], None)),
        Some("whatsapp")
    );
    assert_eq!(
        set.match_stun(&ev(&[0x8008, 0x8070], &[0x0001], None)),
        Some("teams")
    );
    assert_eq!(set.match_stun(&ev(&[0x0101], &[], None)), Some("zoom"));
    assert_eq!(
        set.match_stun(&ev(&[], &[], Some("signal.org"))),
        Some("signal")
    );
    assert_eq!(
        set.match_stun(&ev(&[], &[], Some("turn.l.google.com"))),
        Some("meet")
    );
    assert_eq!(
        set.match_stun(&ev(&[0x0006, 0x8029], &[0x0001], Some("example.org"))),
        None
    );

    assert!(set.is_app_port("zoom", Transport::Udp, 8805));
    assert!(!set.is_app_port("zoom", Transport::Udp, 8811));
    assert!(!set.is_app_port("zoom", Transport::Tcp, 8805));
    assert!(set.is_app_port("teams", Transport::Udp, 3481));
    assert!(!set.is_app_port("nope", Transport::Udp, 3478));
    assert_eq!(Transport::from_proto(IpProto::UDP), Some(Transport::Udp));

    assert_eq!(set.match_cert_name("hangouts"), Some("meet"));
    assert_eq!(set.match_cert_name("*.CLOUD.zoom.us"), Some("zoom"));
    assert_eq!(
        set.match_cert_name("TODO-APP-NAME TODO-APP-VERSION"),
        Some("jitsi")
    );
    assert_eq!(set.match_cert_name("WebRTC"), None);
}

#[test]
fn syntax_error_has_position() {
    // toml points at the end of the line, where the closing quote is missing.
    let e = load_error("broken.toml", "id = \"x\"\nname = \"unterminated\n");
    assert_eq!((e.line, e.column), (2, 21), "{e}");
    assert!(
        e.to_string()
            .starts_with(&format!("{}:2:21: ", e.file.display())),
        "{e}"
    );
}

#[test]
fn unknown_key_has_position() {
    let text = MINIMAL_APP.replace("[match]\n", "[match]\ndomian = [\"typo.example\"]\n");
    let e = load_error("typo.toml", &text);
    assert_eq!((e.line, e.column), (14, 1), "{e}");
    assert!(e.message.contains("domian"), "{e}");
}

#[test]
fn bad_cidr_has_position() {
    let text = format!(
        "{MINIMAL_APP}\n[[match.cidrs]]\nsource = \"x\"\ndate = \"2025-01\"\nprefixes = [\"10.0.0.0/8\", \"10.1.2.3/16\"]\n"
    );
    let e = load_error("cidr.toml", &text);
    assert_eq!((e.line, e.column), (19, 27), "{e}");
    assert!(e.message.contains("host bits"), "{e}");
}

#[test]
fn semantic_errors_have_positions() {
    let e = load_error(
        "role.toml",
        &format!("{MINIMAL_APP}\n[[roles]]\npattern = \"a.practice.example\"\nrole = \"sfu\"\n"),
    );
    assert_eq!((e.line, e.column), (18, 8), "{e}");
    assert!(e.message.contains("unknown role `sfu`"), "{e}");

    let e = load_error(
        "ports.toml",
        &format!("{MINIMAL_APP}\n[match.ports]\nudp = [\"9000-8000\"]\n"),
    );
    assert_eq!((e.line, e.column), (17, 8), "{e}");
    assert!(e.message.contains("reversed"), "{e}");

    let e = load_error("dup.toml", &MINIMAL_APP.replace("\"practice\"", "\"zoom\""));
    assert_eq!((e.line, e.column), (1, 6), "{e}");
    assert!(e.message.contains("duplicate app id `zoom`"), "{e}");

    let e = load_error(
        "dom.toml",
        &MINIMAL_APP.replace("video.practice.example", "a.*.example"),
    );
    assert_eq!((e.line, e.column), (14, 12), "{e}");

    let e = load_error(
        "claim.toml",
        &MINIMAL_APP.replace("video.practice.example", "zoom.us"),
    );
    assert!(e.message.contains("already claimed by app `zoom`"), "{e}");

    // An exact prefix already listed by a built-in app.
    let pfx = format!(
        "{MINIMAL_APP}\n[[match.cidrs]]\nsource = \"x\"\ndate = \"2025\"\nprefixes = [\"52.112.0.0/14\"]\n"
    );
    let e = load_error("pfx.toml", &pfx);
    assert!(e.message.contains("already listed for app `teams`"), "{e}");

    let e = load_error(
        "mode.toml",
        &MINIMAL_APP.replace("mode = \"e2ee\"", "mode = \"strong\""),
    );
    assert_eq!((e.line, e.column), (7, 8), "{e}");

    let e = load_error(
        "tel.toml",
        "[[entry]]\nhost = \"x.example\"\ncompany = \"X\"\ncountry = \"US\"\ncategory = \"spying\"\nsource = \"s\"\n",
    );
    assert_eq!((e.line, e.column), (5, 12), "{e}");

    let e = load_error(
        "fp.toml",
        "[[entry]]\nhost = \"x.example\"\ncompany = \"X\"\ncountry = \"US\"\ncategory = \"crash\"\nfirst_party_for = [\"nosuchapp\"]\nsource = \"s\"\n",
    );
    assert_eq!((e.line, e.column), (6, 20), "{e}");

    let e = load_error("what.toml", "hello = 1\n");
    assert_eq!((e.line, e.column), (1, 1), "{e}");
}

#[test]
fn broken_user_dir_leaves_builtins_intact() {
    let dir = temp_dir("broken");
    write(&dir, "a_good.toml", MINIMAL_APP);
    write(&dir, "hosts.txt", "0.0.0.0 tracker.example\n");
    write(&dir, "z_bad.toml", "id = \n");
    let mut set = builtin();
    let before = set.apps().count();
    assert!(set.load_dir(&dir).is_err());
    assert_eq!(set.apps().count(), before);
    assert!(set.app("practice").is_none());
    assert!(set.match_domain("tracker.example").is_none());
    assert_eq!(
        set.match_domain("x.zoom.us").and_then(|d| d.app),
        Some("zoom")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn user_dir_adds_apps_telemetry_and_lists() {
    let dir = temp_dir("good");
    write(&dir, "practice.toml", MINIMAL_APP);
    write(
        &dir,
        "local.toml",
        "[[entry]]\nhost = \"stats.practice.example\"\ncompany = \"Example GmbH\"\ncountry = \"DE\"\ncategory = \"analytics\"\nfirst_party_for = [\"practice\"]\nsource = \"own audit\"\n",
    );
    write(
        &dir,
        "easyprivacy.txt",
        "[Adblock Plus 2.0]\n||tracker.example^\n||graph.facebook.com^\n/pixel.gif\n",
    );
    write(
        &dir,
        "services.json",
        r#"{"categories":{"Analytics":[{"Ex":{"https://ex.example/":["ex-metrics.example"]}}]}}"#,
    );
    let mut set = builtin();
    let report = set.load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.apps, 1);
    assert_eq!(report.telemetry_entries, 1);
    assert_eq!(report.list_entries, 2);
    assert_eq!(report.duplicates, 1, "graph.facebook.com is built in");
    assert_eq!(report.ignored_rules, 1);
    assert_eq!(
        set.match_domain("video.practice.example")
            .and_then(|d| d.app),
        Some("practice")
    );
    // The host is outside the app's domains: first-party only in the app's context.
    let st = set.match_domain("stats.practice.example");
    assert_eq!(st.map(|d| (d.app, d.first_party)), Some((None, false)));
    assert!(
        st.and_then(|d| d.telemetry)
            .is_some_and(|t| t.is_first_party_for("practice"))
    );
    let tr = set
        .match_domain("a.tracker.example")
        .and_then(|d| d.telemetry);
    assert_eq!(
        tr.map(|t| (t.company.as_str(), t.category)),
        Some(("unknown", Category::Other))
    );
    let ex = set
        .match_domain("ex-metrics.example")
        .and_then(|d| d.telemetry);
    assert_eq!(
        ex.map(|t| (t.company.as_str(), t.category)),
        Some(("Ex", Category::Analytics))
    );
    // Built-in entry kept, not the list's anonymous one.
    let fb = set
        .match_domain("graph.facebook.com")
        .and_then(|d| d.telemetry);
    assert_eq!(fb.map(|t| t.company.as_str()), Some("Meta Platforms, Inc."));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn error_display_without_position() {
    let e = SignatureError {
        file: PathBuf::from("x.toml"),
        line: 0,
        column: 0,
        message: "gone".into(),
    };
    assert_eq!(e.to_string(), "x.toml: gone");
}

fn app_suffix_domains() -> Vec<String> {
    SET.with(|set| {
        set.apps()
            .flat_map(|a| a.domains.iter().cloned())
            .filter(|d| !d.contains('*'))
            .collect()
    })
}

proptest! {
    #[test]
    fn match_domain_never_panics(name in "\\PC{0,300}") {
        SET.with(|set| {
            let _ = set.match_domain(&name);
            let _ = set.match_cert_name(&name);
        });
    }

    #[test]
    fn label_plus_signature_domain_matches(label in "[a-z0-9][a-z0-9-]{0,20}", i in any::<prop::sample::Index>()) {
        let domains = app_suffix_domains();
        prop_assume!(!domains.is_empty());
        let domain = i.get(&domains);
        let name = format!("{label}.{domain}");
        let m = set_match(&name);
        prop_assert!(m.is_some(), "{name} did not match");
        if let Some((pattern_len, hit)) = m {
            prop_assert!(hit, "{name}: no app or telemetry");
            prop_assert!(pattern_len >= domain.len(), "{name} matched a shorter pattern");
        }
    }
}

thread_local! {
    static SET: SignatureSet = builtin();
}

fn set_match(name: &str) -> Option<(usize, bool)> {
    SET.with(|s| {
        s.match_domain(name)
            .map(|m| (m.pattern.len(), m.app.is_some() || m.telemetry.is_some()))
    })
}
