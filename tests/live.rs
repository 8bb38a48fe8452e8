//! Live capture on `lo` (needs root, as CI runs; skipped with a message otherwise): a real
//! TLS handshake (`openssl s_server`/`s_client -servername zoom.us`, throwaway certificate)
//! and a real STUN Binding exchange (RFC 5389, two UDP sockets) on random high ports.
//! `leakscope live -i lo --format ndjson` must name the TLS server within 2 s of the
//! connection closing, report the STUN flow, drop root after opening, and end on SIGINT
//! with a summary. Every wait is bounded.

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// A child process killed (by its pid) when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg(if tool == "openssl" {
            "version"
        } else {
            "--version"
        })
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2))
        == Some("0")
}

fn skip_reason() -> Option<&'static str> {
    if !is_root() {
        Some("not root: live capture on lo needs CAP_NET_RAW")
    } else if !have("openssl") {
        Some("openssl is not installed")
    } else if !have("tcpdump") {
        Some("tcpdump is not installed (no capture tools on this machine)")
    } else {
        None
    }
}

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// Lines of a child's stream, with the time each arrived.
fn lines_of(r: impl Read + Send + 'static) -> Receiver<(Instant, String)> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if tx.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_line(
    rx: &Receiver<(Instant, String)>,
    timeout: Duration,
    mut want: impl FnMut(&str) -> bool,
    seen: &mut Vec<String>,
) -> Option<Instant> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((at, line)) => {
                let hit = want(&line);
                seen.push(line);
                if hit {
                    return Some(at);
                }
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
        }
    }
}

const MAGIC_COOKIE: u32 = 0x2112_A442;

/// An RFC 5389 Binding request, or a success response with XOR-MAPPED-ADDRESS for `peer`.
fn stun(response_for: Option<std::net::SocketAddr>, txid: [u8; 12]) -> Vec<u8> {
    let mut attrs = Vec::new();
    if let Some(std::net::SocketAddr::V4(peer)) = response_for {
        attrs.extend_from_slice(&0x0020u16.to_be_bytes()); // XOR-MAPPED-ADDRESS
        attrs.extend_from_slice(&8u16.to_be_bytes());
        attrs.extend_from_slice(&[0, 1]);
        attrs.extend_from_slice(&(peer.port() ^ (MAGIC_COOKIE >> 16) as u16).to_be_bytes());
        attrs.extend_from_slice(&(u32::from(*peer.ip()) ^ MAGIC_COOKIE).to_be_bytes());
    }
    let typ: u16 = if response_for.is_some() {
        0x0101
    } else {
        0x0001
    };
    let mut m = typ.to_be_bytes().to_vec();
    m.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    m.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
    m.extend_from_slice(&txid);
    m.extend_from_slice(&attrs);
    m
}

fn stun_exchange(client: &UdpSocket, server: &UdpSocket) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = server.set_read_timeout(Some(Duration::from_secs(2)));
    let Ok(server_addr) = server.local_addr() else {
        return;
    };
    for i in 0..3u8 {
        let txid = [i, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
        assert!(client.send_to(&stun(None, txid), server_addr).is_ok());
        let mut buf = [0u8; 1500];
        let Ok((_, from)) = server.recv_from(&mut buf) else {
            panic!("STUN request not received")
        };
        assert!(server.send_to(&stun(Some(from), txid), from).is_ok());
        assert!(
            client.recv_from(&mut buf).is_ok(),
            "STUN response not received"
        );
    }
}

fn uid_line(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn live_names_tls_and_stun_drops_root_and_stops_on_sigint() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIP: {why}");
        return;
    }
    let dir = std::env::temp_dir().join(format!("leakscope-live-{}", std::process::id()));
    assert!(std::fs::create_dir_all(&dir).is_ok());
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args(["-subj", "/CN=zoom.us", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    assert!(made.is_ok_and(|s| s.success()), "openssl req failed");

    let tls_port = free_tcp_port();
    let stun_client = UdpSocket::bind("127.0.0.1:0");
    let stun_server = UdpSocket::bind("127.0.0.1:0");
    let (Ok(stun_client), Ok(stun_server)) = (stun_client, stun_server) else {
        panic!("cannot bind UDP sockets")
    };
    let stun_port = stun_server.local_addr().map(|a| a.port()).unwrap_or(0);
    let pcapng = dir.join("live.pcapng");

    let child = Command::new(env!("CARGO_BIN_EXE_leakscope"))
        .args(["live", "-i", "lo", "--format", "ndjson", "--duration", "60"])
        .arg("--filter")
        .arg(format!("tcp port {tls_port} or udp port {stun_port}"))
        .arg("--write")
        .arg(&pcapng)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        panic!("cannot start leakscope")
    };
    let pid = child.id();
    let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
        panic!("no pipes")
    };
    let mut leakscope = Killed(child);
    let out = lines_of(out);
    let err = lines_of(err);
    let mut errs = Vec::new();
    assert!(
        wait_line(
            &err,
            Duration::from_secs(10),
            |l| l.contains("capturing on lo"),
            &mut errs
        )
        .is_some(),
        "leakscope did not start: {errs:?}"
    );
    // The capture handle is open: the process must no longer be root.
    let uid = uid_line(pid);
    let ids: Vec<&str> = uid.split_whitespace().skip(1).collect();
    assert_eq!(ids.len(), 4, "{uid:?}");
    assert!(ids.iter().all(|id| *id != "0"), "still root: {uid}");

    // TLS: a server that accepts one connection, and a client naming zoom.us.
    let server = Command::new("openssl")
        .args(["s_server", "-naccept", "1", "-accept"])
        .arg(format!("127.0.0.1:{tls_port}"))
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut server) = server else {
        panic!("cannot start openssl s_server")
    };
    let server_out = server.stdout.take().map(lines_of);
    let _server = Killed(server);
    let mut seen = Vec::new();
    if let Some(rx) = &server_out {
        assert!(
            wait_line(
                rx,
                Duration::from_secs(10),
                |l| l.contains("ACCEPT"),
                &mut seen
            )
            .is_some(),
            "s_server did not start: {seen:?}"
        );
    }
    let client = Command::new("openssl")
        .args(["s_client", "-servername", "zoom.us", "-connect"])
        .arg(format!("127.0.0.1:{tls_port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(client) = client else {
        panic!("cannot start openssl s_client")
    };
    let mut client = Killed(client);
    let started = Instant::now();
    let closed_at = loop {
        if let Ok(Some(_)) = client.0.try_wait() {
            break Instant::now();
        }
        assert!(started.elapsed() < Duration::from_secs(10), "s_client hung");
        std::thread::sleep(Duration::from_millis(20));
    };

    // STUN while the TLS flow lingers.
    stun_exchange(&stun_client, &stun_server);

    let mut records = Vec::new();
    let named = wait_line(
        &out,
        Duration::from_secs(5),
        |l| l.contains("\"record\":\"flow\"") && l.contains("\"server_name\":\"zoom.us\""),
        &mut records,
    );
    let Some(named) = named else {
        panic!("no flow named zoom.us: {records:#?}")
    };
    let after = named.saturating_duration_since(closed_at);
    assert!(
        after <= Duration::from_secs(2),
        "the TLS flow was named {after:?} after the connection closed"
    );

    // SIGINT ends the capture cleanly, with the UDP flow and a summary.
    let sent = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
    assert!(sent.is_ok_and(|s| s.success()));
    let summary = wait_line(
        &out,
        Duration::from_secs(10),
        |l| l.contains("\"record\":\"summary\""),
        &mut records,
    );
    assert!(summary.is_some(), "no summary after SIGINT: {records:#?}");
    let exited = (0..100).find_map(|_| {
        std::thread::sleep(Duration::from_millis(50));
        leakscope.0.try_wait().ok().flatten()
    });
    assert!(exited.is_some_and(|s| s.success()), "exit: {exited:?}");

    let parsed: Vec<serde_json::Value> = records
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let flow = |pred: &dyn Fn(&serde_json::Value) -> bool| parsed.iter().find(|v| pred(v)).cloned();
    let tls = flow(&|v| v["server_name"] == "zoom.us");
    let tls = tls.unwrap_or_default();
    assert_eq!(tls["protocol"], "tls", "{tls}");
    assert_eq!(tls["end_reason"], "closed", "{tls}");
    let stun = flow(&|v| v["record"] == "flow" && v["dst"]["port"] == stun_port);
    let Some(stun) = stun else {
        panic!("no STUN flow: {records:#?}")
    };
    assert_eq!(stun["protocol"], "stun", "{stun}");
    let summary = flow(&|v| v["record"] == "summary").unwrap_or_default();
    let live = &summary["live"];
    assert_eq!(live["interface"], "lo", "{summary}");
    assert_eq!(live["stopped_by"], "signal", "{summary}");
    assert_ne!(live["uid"], 0, "{summary}");
    assert_ne!(live["euid"], 0, "{summary}");
    assert_eq!(live["kernel_dropped"], 0, "{summary}");
    assert_eq!(live["leakscope_dropped"], 0, "{summary}");
    // The pcapng file holds the analysed frames.
    let frames = summary["packets"]["frames"].as_u64().unwrap_or(0);
    assert!(frames >= 10, "{summary}");
    let size = std::fs::metadata(&pcapng).map(|m| m.len()).unwrap_or(0);
    assert!(size > 100, "pcapng is {size} bytes");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unprivileged_open_says_how_to_grant_capabilities() {
    if !is_root() {
        eprintln!("SKIP: needs root to switch to an unprivileged user for the check");
        return;
    }
    if !have("setpriv") && Command::new("setpriv").arg("--help").output().is_err() {
        eprintln!("SKIP: setpriv (util-linux) is not installed");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_leakscope");
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg("--bounding-set=-net_raw,-net_admin")
        .args([
            bin,
            "live",
            "-i",
            "lo",
            "--format",
            "ndjson",
            "--duration",
            "1",
        ])
        .stdin(Stdio::null())
        .output();
    let Ok(out) = out else {
        eprintln!("SKIP: setpriv failed to run");
        return;
    };
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let canonical = std::fs::canonicalize(bin)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| bin.to_string());
    assert!(
        err.contains(&format!(
            "sudo setcap cap_net_raw,cap_net_admin=eip {canonical}"
        )),
        "{err}"
    );
}
