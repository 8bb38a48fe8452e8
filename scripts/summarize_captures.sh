#!/usr/bin/env bash
# Prints what tshark sees in each capture (Markdown table). Packages: tshark.
set -euo pipefail
cd "$(dirname "$0")/../captures"
uniq_join() { sort -u | grep -v '^$' | paste -sd ' ' || true; }
ts() { tshark -r "$f" -o tcp.reassemble_out_of_order:TRUE "$@" 2>/dev/null; }
echo "| capture | packets | bytes | SNI | server version | cipher | ALPN offered / selected | other |"
echo "|---|---|---|---|---|---|---|---|"
for f in *.pcap; do
    packets=$(capinfos -c -M "$f" | awk '/Number of packets/ {print $NF}')
    bytes=$(stat -c %s "$f")
    sni=$(ts -Y 'tls.handshake.type==1' -T fields -e tls.handshake.extensions_server_name | uniq_join)
    ver=$(ts -Y 'tls.handshake.type==2' -T fields -e tls.handshake.extensions.supported_version -e tls.handshake.version |
        awk -F'\t' '{print ($1 != "" ? $1 : $2)}' | uniq_join)
    qver=$(ts -Y 'quic.version' -T fields -e quic.version | tr ',' '\n' | uniq_join)
    [ -n "$qver" ] && ver="QUIC $qver${ver:+, TLS $ver}"
    cipher=$(ts -Y 'tls.handshake.type==2' -T fields -e tls.handshake.ciphersuite | uniq_join)
    offered=$(ts -Y 'tls.handshake.type==1' -T fields -e tls.handshake.extensions_alpn_str | cut -c1-40 | uniq_join)
    selected=$(ts -Y 'tls.handshake.type==2' -T fields -e tls.handshake.extensions_alpn_str | uniq_join)
    alpn="${offered}${selected:+ / $selected}"
    dns=$(ts -Y 'dns.flags.response==1' -T fields -e dns.qry.name -e dns.flags.rcode -e dns.a -e dns.aaaa -e dns.cname |
        awk -F'\t' '{printf "%s(rc%s)%s%s%s;\n", $1, $2, ($5!=""?" cname "$5:""), ($3!=""?" A "$3:""), ($4!=""?" AAAA "$4:"")}' | uniq_join)
    http=$(ts -Y 'http.request' -T fields -e http.host | uniq_join)
    certs=$(ts -Y 'tls.handshake.type==11' -T fields -e x509ce.dNSName | uniq_join)
    other=""
    [ -n "$dns" ] && other="DNS: $dns "
    [ -n "$http" ] && other="${other}HTTP Host: $http "
    [ -n "$certs" ] && other="${other}cert SAN: $certs"
    echo "| $f | $packets | $bytes | $sni | $ver | $cipher | $alpn | $other |"
done
