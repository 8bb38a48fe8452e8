//! Test support: a pcap writer and packet builders (etherparse's `PacketBuilder` for whole
//! packets, hand-made IPv4 headers where a test needs fragments), so the adversarial tests
//! generate their captures themselves into a temp dir.

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used)]

pub mod harness;

use etherparse::PacketBuilder;
use std::path::{Path, PathBuf};

pub const CLIENT_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
pub const SERVER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];

/// TCP flag bits for [`tcp`].
pub const SYN: u8 = 0x02;
pub const ACK: u8 = 0x10;
pub const PSH: u8 = 0x08;
pub const FIN: u8 = 0x01;

/// A classic pcap file being written in memory (µs timestamps, little-endian).
pub struct Pcap {
    pub bytes: Vec<u8>,
    /// Microseconds since the epoch of the next packet.
    pub now_us: u64,
}

impl Pcap {
    pub fn new(link: u32) -> Pcap {
        let mut bytes = Vec::with_capacity(1 << 16);
        bytes.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        bytes.extend_from_slice(&2u16.to_le_bytes());
        bytes.extend_from_slice(&4u16.to_le_bytes());
        bytes.extend_from_slice(&[0; 8]);
        bytes.extend_from_slice(&262_144u32.to_le_bytes());
        bytes.extend_from_slice(&link.to_le_bytes());
        Pcap {
            bytes,
            now_us: 1_700_000_000_000_000,
        }
    }

    pub fn ethernet() -> Pcap {
        Pcap::new(1)
    }

    /// Append a packet 1 ms after the previous one.
    pub fn push(&mut self, frame: &[u8]) {
        self.push_at(self.now_us, frame);
        self.now_us += 1000;
    }

    pub fn push_at(&mut self, us: u64, frame: &[u8]) {
        let len = u32::try_from(frame.len()).expect("frame fits a pcap record");
        self.bytes
            .extend_from_slice(&u32::try_from(us / 1_000_000).unwrap_or(0).to_le_bytes());
        self.bytes
            .extend_from_slice(&u32::try_from(us % 1_000_000).unwrap_or(0).to_le_bytes());
        self.bytes.extend_from_slice(&len.to_le_bytes());
        self.bytes.extend_from_slice(&len.to_le_bytes());
        self.bytes.extend_from_slice(frame);
    }

    pub fn write(&self, dir: &Path, name: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, &self.bytes).expect("write capture");
        p
    }
}

/// A fresh directory under the system temp dir, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "leakscope-test-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An Ethernet + IPv4 + TCP packet.
pub fn tcp(
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    seq: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut b = PacketBuilder::ethernet2(CLIENT_MAC, SERVER_MAC)
        .ipv4(src, dst, 64)
        .tcp(sport, dport, seq, 65535);
    if flags & SYN != 0 {
        b = b.syn();
    }
    if flags & ACK != 0 {
        b = b.ack(1);
    }
    if flags & PSH != 0 {
        b = b.psh();
    }
    if flags & FIN != 0 {
        b = b.fin();
    }
    let mut out = Vec::with_capacity(64 + payload.len());
    b.write(&mut out, payload).expect("build TCP packet");
    out
}

/// An Ethernet + IPv4 + UDP packet.
pub fn udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(CLIENT_MAC, SERVER_MAC)
        .ipv4(src, dst, 64)
        .udp(sport, dport);
    let mut out = Vec::with_capacity(64 + payload.len());
    b.write(&mut out, payload).expect("build UDP packet");
    out
}

/// An Ethernet frame holding one IPv4 fragment: `offset` in bytes (a multiple of 8),
/// `data` the fragment's share of the transport bytes.
pub fn ipv4_fragment(
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    id: u16,
    offset: u32,
    more: bool,
    data: &[u8],
) -> Vec<u8> {
    let total = u16::try_from(20 + data.len()).expect("fragment fits");
    let frag =
        u16::try_from(offset / 8).expect("offset fits 13 bits") | if more { 0x2000 } else { 0 };
    let mut ip = Vec::with_capacity(20 + data.len());
    ip.push(0x45);
    ip.push(0);
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&id.to_be_bytes());
    ip.extend_from_slice(&frag.to_be_bytes());
    ip.push(64);
    ip.push(proto);
    ip.extend_from_slice(&[0, 0]);
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let sum = checksum(&ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    ip.extend_from_slice(data);
    let mut out = Vec::with_capacity(14 + ip.len());
    out.extend_from_slice(&SERVER_MAC);
    out.extend_from_slice(&CLIENT_MAC);
    out.extend_from_slice(&[0x08, 0x00]);
    out.extend_from_slice(&ip);
    out
}

/// The Internet checksum (RFC 1071).
pub fn checksum(b: &[u8]) -> u16 {
    let mut s: u32 = b
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// A TLS 1.2 ClientHello record offering TLS_AES_128_GCM_SHA256 with one SNI (the layout
/// of `/work/shared/eval/hostile_pcap.py`).
pub fn client_hello(sni: &[u8]) -> Vec<u8> {
    let mut name = vec![0u8];
    name.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    name.extend_from_slice(sni);
    let mut ext = Vec::new();
    ext.extend_from_slice(&0u16.to_be_bytes());
    ext.extend_from_slice(&((name.len() + 2) as u16).to_be_bytes());
    ext.extend_from_slice(&(name.len() as u16).to_be_bytes());
    ext.extend_from_slice(&name);
    let mut body = vec![3, 3];
    body.extend_from_slice(&[0; 32]);
    body.push(0);
    body.extend_from_slice(&[0, 2, 0x13, 0x01, 1, 0]);
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    let mut hs = vec![1];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    let mut rec = vec![0x16, 3, 1];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

/// One TCP connection (handshake, then `payload` in one segment) to port 443.
pub fn tls_connection(
    pcap: &mut Pcap,
    client: [u8; 4],
    server: [u8; 4],
    sport: u16,
    payload: &[u8],
) {
    pcap.push(&tcp(client, server, sport, 443, 1000, SYN, b""));
    pcap.push(&tcp(server, client, 443, sport, 5000, SYN | ACK, b""));
    pcap.push(&tcp(client, server, sport, 443, 1001, ACK, b""));
    pcap.push(&tcp(client, server, sport, 443, 1001, ACK | PSH, payload));
}

/// Runs the built binary; returns (status code, stdout, stderr).
pub fn run_bin(args: &[&std::ffi::OsStr]) -> (i32, Vec<u8>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_leakscope"))
        .args(args)
        .output()
        .expect("run leakscope");
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The project's own recordings in `captures/` (pcap and pcapng), sorted by name.
pub fn project_captures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir("captures")
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| {
        matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("pcap" | "pcapng")
        )
    });
    files.sort();
    files
}
