#!/usr/bin/env bash
# Records captures/dns_udp_tcp.pcap.
# Packages (Debian): dnsmasq-base dnsutils tcpdump iproute2 util-linux
# Run as root: sudo scripts/record_dns_udp_tcp.sh
#
# dnsmasq answers on 127.0.0.1:53 (private netns, no upstream, TTL 300):
#   zoom.us A 127.0.0.10, AAAA 2001:db8::10 (documentation prefix, never contacted)
#   www.zoom.us CNAME zoom.edgesuite.example CNAME a1.edgesuite.example A 127.0.0.11
#   nosuchhost.zoom.us -> NXDOMAIN
# dig asks, over UDP: zoom.us A, zoom.us AAAA, www.zoom.us A, nosuchhost.zoom.us A;
# then over TCP (+tcp, one connection per query): www.zoom.us A, zoom.us AAAA.
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
enter_netns "$0" "$@"
cd "$WORK"

bg dnsmasq --no-daemon --conf-file=/dev/null --pid-file= --user=root \
    --port=53 --listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts \
    --local-ttl=300 --log-queries \
    --host-record=zoom.us,127.0.0.10,2001:db8::10 \
    --cname=www.zoom.us,zoom.edgesuite.example \
    --cname=zoom.edgesuite.example,a1.edgesuite.example \
    --host-record=a1.edgesuite.example,127.0.0.11 \
    --address=/nosuchhost.zoom.us/ >dns.log 2>&1
wait_port udp 53
wait_port tcp 53

start_capture "$CAPTURE_DIR/dns_udp_tcp.pcap" 'port 53'
ask() { dig @127.0.0.1 "$@" >>dig.log; sleep 0.05; }
ask zoom.us A
ask zoom.us AAAA
ask www.zoom.us A
ask nosuchhost.zoom.us A
ask +tcp www.zoom.us A
ask +tcp zoom.us AAAA
stop_capture
grep -q 'status: NXDOMAIN' dig.log
grep -q '127.0.0.11' dig.log
