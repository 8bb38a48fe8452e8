#!/usr/bin/env bash
# Prints what tshark sees in the conferencing-media captures (one block per capture).
# Debian packages: tshark (wireshark-common), capinfos
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$HERE/../captures"
T() { tshark -n -r "$@" 2>/dev/null; }
counts() { sort | uniq -c | sed 's/^ *//' | paste -sd ';' -; }

for f in "${@:-webrtc_p2p.pcap webrtc_p2p_dtls12.pcap webrtc_turn.pcap sip_rtp_plain.pcap sip_sdes_srtp.pcap}"; do
  for p in $f; do
    [[ -f $p ]] || { echo "== $p: missing"; continue; }
    echo "== $p: $(stat -c %s "$p") bytes, $(capinfos -c -M "$p" | awk '/Number of packets/ {print $NF}') packets"
    echo "  STUN Binding requests (src>dst port): $(T "$p" -Y 'stun.type==0x0001' -T fields -e udp.srcport -e udp.dstport | tr '\t' '>' | counts)"
    echo "  TURN methods: $(T "$p" -Y 'stun.type!=0x0001 && stun.type!=0x0101 && stun.type' -T fields -e stun.type | counts)"
    echo "  TURN XOR-RELAYED-ADDRESS: $(T "$p" -Y 'stun.att.type==0x0016' -T fields -e stun.att.ipv4 -e stun.att.port | head -4 | tr '\t' ':' | paste -sd ' ' -)"
    echo "  TURN ChannelData: $(T "$p" -Y 'stun.channel' | wc -l) (first payload bytes: $(T "$p" -Y 'stun.channel' -T fields -e udp.payload | cut -c9-10 | counts))"
    echo "  DTLS handshake: $(T "$p" -Y 'dtls.handshake.type' -T fields -e dtls.handshake.type | tr ',' '\n' | counts)"
    echo "  DTLS ServerHello supported_version: $(T "$p" -Y 'dtls.handshake.type==2' -T fields -e dtls.handshake.extensions.supported_version | counts)"
    echo "  DTLS use_srtp in ClientHello: $(T "$p" -Y 'dtls.handshake.type==1 && dtls.handshake.extension.type==14' | wc -l)"
    echo "  DTLS cert CNs: $(T "$p" -Y 'dtls.handshake.certificate' -T fields -e x509sat.uTF8String -e x509sat.printableString | tr ',\t' '\n\n' | grep -v '^$' | sort -u | paste -sd ' ' -)"
    echo "  SIP: $(T "$p" -Y 'sip' -T fields -e sip.Method -e sip.Status-Code | tr '\t' ' ' | counts)"
    echo "  SDP m= : $(T "$p" -Y 'sdp' -T fields -e sdp.media | sort -u | paste -sd ';' -)"
    echo "  a=crypto: $(T "$p" -Y 'sdp' -T fields -e sdp.media_attr | tr ',' '\n' | grep -c '^crypto:' || true)"
    echo "  RTP payload types (heuristic): $(T "$p" --enable-heuristic rtp_udp -Y 'rtp && !stun' -T fields -e rtp.p_type | counts)"
  done
done
