#!/usr/bin/env bash
# Re-records every capture in captures/ (run as root on Debian; see each script).
set -euo pipefail
cd "$(dirname "$0")"
for script in record_tls_zoom.sh record_tls_graph_facebook.sh record_tls10_weak.sh \
    record_dns_udp_tcp.sh record_dns_then_connect.sh record_http_plain.sh \
    record_quic.sh record_tcp_reorder.sh; do
    echo "== $script"
    bash "./$script"
done
