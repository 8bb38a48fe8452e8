#!/usr/bin/env bash
# Records captures/tls_graph_facebook.pcap.
# Packages (Debian): openssl faketime tcpdump iproute2 util-linux
# Run as root: sudo scripts/record_tls_graph_facebook.sh
#
# A throwaway CA "leakscope test CA" issues an EC P-256 certificate with subject
# C=US, ST=California, L=Menlo Park, O=Meta Platforms, Inc., CN=*.facebook.com and
# SAN *.facebook.com, graph.facebook.com. `openssl s_server` on 127.0.0.1:443
# (private netns), `openssl s_client -tls1_2 -servername graph.facebook.com`
# offering ALPN h2,http/1.1; one GET request as application data, clean close.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
enter_netns "$0" "$@"
cd "$WORK"

make_ca ca "leakscope test CA"
make_leaf fb ca "/C=US/ST=California/L=Menlo Park/O=Meta Platforms, Inc./CN=*.facebook.com" \
    "DNS:*.facebook.com,DNS:graph.facebook.com" 0x2002
printf 'hello from leakscope\n' >hello.txt

bg openssl s_server -accept 127.0.0.1:443 -naccept 1 -cert fb.pem -key fb.key \
    -cert_chain ca.pem -alpn http/1.1 -WWW >server.log 2>&1
wait_port tcp 443
start_capture "$CAPTURE_DIR/tls_graph_facebook.pcap" 'tcp port 443'
(printf 'GET /hello.txt HTTP/1.1\r\nHost: graph.facebook.com\r\n\r\n'; sleep 1) |
    openssl s_client -connect 127.0.0.1:443 -servername graph.facebook.com \
        -alpn h2,http/1.1 -tls1_2 -CAfile ca.pem -ign_eof >client.log 2>&1
stop_capture
grep -q 'hello from leakscope' client.log
