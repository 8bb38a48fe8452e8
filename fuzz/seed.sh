#!/usr/bin/env bash
# Seed the fuzz corpora (fuzz/corpus/<target>/, git-ignored) from the project's own
# captures: whole files for `capture`, pcap bodies for `pipeline`, frames for `decode`, and
# per-flow payloads (extracted with tshark) in the harness's record layout
# ([flags u8][len u16 BE][bytes], flags bit 0 = to client) for the dissector targets.
# usage: fuzz/seed.sh [CAPTURE...]   (default: captures/*.pcap)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v tshark >/dev/null || { echo "seed.sh: tshark not found" >&2; exit 1; }
command -v python3 >/dev/null || { echo "seed.sh: python3 not found" >&2; exit 1; }
[ $# -gt 0 ] || set -- captures/*.pcap

out=fuzz/corpus
mkdir -p "$out"
# Committed tiny seeds first.
if [ -d fuzz/seeds ]; then
  for d in fuzz/seeds/*/; do
    t=$(basename "$d"); mkdir -p "$out/$t"; cp "$d"* "$out/$t/" 2>/dev/null || true
  done
fi

# Groups tshark's lines into flows and writes the seeds.
split=$(cat <<'PY'
import os, struct, sys
pcap, base, out = sys.argv[1:4]

def put(target, name, data):
    d = os.path.join(out, target); os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f: f.write(data)

def frame(recs):
    return b"".join(bytes([d]) + struct.pack("!H", len(b[:65535])) + b[:65535] for d, b in recs)

raw = open(pcap, "rb").read()
if raw[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
    if len(raw) <= 64 << 10: put("capture", base, raw)
    put("pipeline", base, raw[24:][:32 << 10])
    frames, at = [], 24
    while at + 16 <= len(raw) and len(frames) < 64:
        n = struct.unpack("<I", raw[at + 8:at + 12])[0]
        frames.append((0, raw[at + 16:at + 16 + n])); at += 16 + n
    put("decode", base, frame(frames))

flows = {}
for line in sys.stdin:
    f = line.rstrip("\n").split("\t") + [""] * 11
    protos, ts, us, src4, src6, tsp, tdp, usp, udp_, tpay, upay = f[:11]
    tcp = ts != ""
    key = ("t" + ts) if tcp else ("u" + us)
    pay = bytes.fromhex((tpay if tcp else upay).replace(":", ""))
    if not pay: continue
    src = (src4 or src6, tsp if tcp else usp)
    fl = flows.setdefault(key, {"client": src, "recs": [], "ports": {tsp, tdp, usp, udp_}, "tcp": tcp})
    fl["recs"].append((0 if src == fl["client"] else 1, pay))

for key, fl in flows.items():
    ports, recs = fl["ports"], fl["recs"][:64]
    name = f"{base}-{key}"
    framed = frame(recs)
    if "53" in ports or "5353" in ports:
        put("dns", name, framed); put("dns", name + "-msg", recs[0][1])
    elif fl["tcp"]:
        for t in ("tls", "http", "sip"): put(t, name, framed)
        put("tls", name + "-msg", recs[0][1][5:])
    elif "443" in ports:
        put("quic", name, framed)
    else:
        for t in ("media", "dtls", "rtp", "zoom", "sip"): put(t, name, framed)
        for t in ("stun", "rtp", "dtls", "sip"): put(t, name + "-first", recs[0][1])
PY
)

for pcap in "$@"; do
  base=$(basename "$pcap" .pcap)
  # One line per packet with payload: stream ids, ports, source and the payload in hex.
  tshark -r "$pcap" -T fields -E separator=/t \
    -e frame.protocols -e tcp.stream -e udp.stream -e ip.src -e ipv6.src \
    -e tcp.srcport -e tcp.dstport -e udp.srcport -e udp.dstport \
    -e tcp.payload -e udp.payload 2>/dev/null |
  python3 -c "$split" "$pcap" "$base" "$out"
done

for f in signatures/*/*.toml; do
  case "$f" in */telemetry/*) b='\x01' ;; *) b='\x00' ;; esac
  mkdir -p "$out/signatures"
  { printf "$b"; cat "$f"; } > "$out/signatures/$(basename "$f")"
done
for t in "$out"/*/; do echo "$(basename "$t"): $(ls "$t" | wc -l) inputs"; done
