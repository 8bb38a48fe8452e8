#!/usr/bin/env bash
# Records captures/quic_v1.pcap, captures/quic_v2.pcap and captures/quic_split_chlo.pcap.
# Packages (Debian): python3 python3-pip openssl faketime tcpdump iproute2 util-linux
# Packages (PyPI): aioquic (recorded with 1.7.2; it has no draft-29, so no draft capture)
# Run as root: sudo scripts/record_quic.sh
#
# scripts/lib/quic_pair.py runs an aioquic server on 127.0.0.1:443/udp (private
# netns; certificate for meet.google.com from the throwaway "leakscope test CA")
# and an aioquic client with SNI meet.google.com and ALPN h3: full handshake, one
# stream with a line echoed back, CONNECTION_CLOSE.
#   quic_v1.pcap          QUIC version 1 (0x00000001)
#   quic_v2.pcap          QUIC version 2 (0x6b3343cf, RFC 9369)
#   quic_split_chlo.pcap  version 1, client offers h3 plus 60 filler ALPN values
#                         (leakscope-pad-000..059), so its ClientHello (~1.5 KB)
#                         spans two Initial packets in two datagrams.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
enter_netns "$0" "$@"
cd "$WORK"
python3 -c 'import aioquic' 2>/dev/null || { echo "pip install aioquic" >&2; exit 1; }

make_ca ca "leakscope test CA"
make_leaf meet ca "/CN=meet.google.com" "DNS:meet.google.com" 0x2003
cat meet.pem ca.pem >meet-chain.pem

record() {
    local pcap="$1"
    shift
    start_capture "$pcap" 'udp port 443'
    python3 "$REPO_DIR/scripts/lib/quic_pair.py" --cert meet-chain.pem --key meet.key "$@"
    stop_capture
}

record "$CAPTURE_DIR/quic_v1.pcap" --version 1
record "$CAPTURE_DIR/quic_v2.pcap" --version 2
record "$CAPTURE_DIR/quic_split_chlo.pcap" --version 1 --pad-alpn 60
