//! Writes a pcap of N TCP SYNs (default 1 000 000), each from a distinct client address and
//! port, one microsecond apart: N concurrent half-open flows for the memory bound test.
//!
//! `cargo run --release --example syn_flood -- /tmp/syn1m.pcap [N]`, then
//! `/usr/bin/time -f %M leakscope replay /tmp/syn1m.pcap --max-flows 1000000 -f ndjson >/dev/null`.
//! Not committed as a file: 1 M frames are 70 MB.

use std::io::{BufWriter, Write};

/// Ethernet (14) + IPv4 (20) + TCP (20).
const FRAME_LEN: u32 = 54;

fn ipv4_checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "/tmp/syn1m.pcap".into());
    let n: u32 = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
    // pcap global header: microseconds, snaplen 65535, Ethernet.
    out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
    out.write_all(&2u16.to_le_bytes())?;
    out.write_all(&4u16.to_le_bytes())?;
    out.write_all(&[0; 8])?;
    out.write_all(&65535u32.to_le_bytes())?;
    out.write_all(&1u32.to_le_bytes())?;
    let start: u32 = 1_700_000_000;
    for i in 0..n {
        let (secs, micros) = (start + i / 1_000_000, i % 1_000_000);
        out.write_all(&secs.to_le_bytes())?;
        out.write_all(&micros.to_le_bytes())?;
        out.write_all(&FRAME_LEN.to_le_bytes())?;
        out.write_all(&FRAME_LEN.to_le_bytes())?;
        let mut f = [0u8; FRAME_LEN as usize];
        f[0..6].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
        f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
        f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        let ip = &mut f[14..34];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&40u16.to_be_bytes());
        ip[8] = 64;
        ip[9] = 6;
        // 10.x.y.z clients (16 addresses per 2^16 … enough distinct), one server.
        let client = 0x0a00_0000 | (i >> 12);
        ip[12..16].copy_from_slice(&client.to_be_bytes());
        ip[16..20].copy_from_slice(&[192, 0, 2, 1]);
        let sum = ipv4_checksum(ip);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        let tcp = &mut f[34..54];
        let sport = 1024 + (i & 0x0fff) as u16;
        tcp[0..2].copy_from_slice(&sport.to_be_bytes());
        tcp[2..4].copy_from_slice(&443u16.to_be_bytes());
        tcp[4..8].copy_from_slice(&i.to_be_bytes());
        tcp[12] = 5 << 4;
        tcp[13] = 0x02; // SYN
        tcp[14..16].copy_from_slice(&65535u16.to_be_bytes());
        out.write_all(&f)?;
    }
    out.flush()?;
    eprintln!("{path}: {n} SYNs");
    Ok(())
}
