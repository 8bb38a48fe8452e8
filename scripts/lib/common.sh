# shellcheck shell=bash
# Shared helpers for the capture scripts in scripts/record_*.sh.
# Sourced, not run. Every capture script:
#   - re-executes itself inside a private network namespace (unshare --net), so
#     the only interface is its own `lo`: no packet can leave the machine and no
#     other process's loopback traffic can end up in the capture;
#   - sets that private lo to MTU 1500 so TCP segments and QUIC datagrams have
#     the sizes seen on real Ethernet links;
#   - writes a classic pcap (DLT_EN10MB, zeroed MACs) with tcpdump -U.
# Needs root (unshare, tcpdump). Packages: util-linux, iproute2, tcpdump.

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck disable=SC2034 # used by the scripts that source this file
CAPTURE_DIR="$REPO_DIR/captures"
BG_PIDS=()
TCPDUMP_PID=""
WORK=""

# enter_netns "$0" "$@": call first thing in a script.
enter_netns() {
    local script="$1"
    shift
    if [ "$(id -u)" != 0 ]; then
        echo "run as root (needs unshare and tcpdump)" >&2
        exit 1
    fi
    if [ "${LEAKSCOPE_IN_NETNS:-}" != 1 ]; then
        exec unshare --net env LEAKSCOPE_IN_NETNS=1 bash "$script" "$@"
    fi
    ip link set lo mtu 1500
    ip link set lo up
    WORK="$(mktemp -d /tmp/leakscope-rec.XXXXXX)"
    trap cleanup EXIT
}

cleanup() {
    local pid
    for pid in "${BG_PIDS[@]}" $TCPDUMP_PID; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${BG_PIDS[@]}" $TCPDUMP_PID; do
        wait "$pid" 2>/dev/null || true
    done
    [ -n "$WORK" ] && rm -rf "$WORK"
}

# bg CMD...: start CMD in the background and remember its pid for cleanup.
bg() {
    "$@" &
    BG_PIDS+=("$!")
}

# wait_port tcp|udp PORT: wait until something listens on 127.0.0.1:PORT (or any address).
wait_port() {
    local proto="$1" port="$2" flag=-ltn
    [ "$proto" = udp ] && flag=-lun
    for _ in $(seq 100); do
        if ss -H "$flag" "sport = :$port" | grep -q .; then
            return 0
        fi
        sleep 0.05
    done
    echo "nothing listens on $proto/$port" >&2
    exit 1
}

# start_capture FILE FILTER: start tcpdump on lo and wait until it listens.
start_capture() {
    local file="$1" filter="$2"
    mkdir -p "$(dirname "$file")"
    rm -f "$file"
    tcpdump -i lo -U --immediate-mode -s 0 -Z root -w "$file" "$filter" 2>"$WORK/tcpdump.err" &
    TCPDUMP_PID=$!
    for _ in $(seq 100); do
        if grep -q "listening on" "$WORK/tcpdump.err"; then
            sleep 0.2
            return 0
        fi
        sleep 0.05
    done
    cat "$WORK/tcpdump.err" >&2
    echo "tcpdump did not start" >&2
    exit 1
}

# stop_capture: let the last packets land, then stop tcpdump with SIGINT.
stop_capture() {
    sleep 0.3
    kill -INT "$TCPDUMP_PID"
    wait "$TCPDUMP_PID" || true
    TCPDUMP_PID=""
    grep -E "packets (captured|dropped)" "$WORK/tcpdump.err" >&2 || true
}

# Certificates. Dates are pinned with faketime so re-runs give the same
# validity periods; keys are fresh on every run. Packages: openssl, faketime.
CERT_DATE="2026-09-01 00:00:00"

# make_ca NAME CN: self-signed EC P-256 CA in $WORK/NAME.{key,pem}.
make_ca() {
    local name="$1" cn="$2"
    faketime "2026-01-01 00:00:00" openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
        -nodes -keyout "$WORK/$name.key" -out "$WORK/$name.pem" -days 3650 -subj "/CN=$cn" \
        -set_serial 0x1eac5c09e00001 \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# make_leaf NAME CA SUBJECT SAN SERIAL: EC P-256 server certificate in
# $WORK/NAME.{key,pem}, signed by $WORK/CA.{key,pem}, 397 days from CERT_DATE.
make_leaf() {
    local name="$1" ca="$2" subject="$3" san="$4" serial="$5"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$WORK/$name.key" -out "$WORK/$name.csr" -subj "$subject" 2>/dev/null
    cat >"$WORK/$name.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$san
EXT
    faketime "$CERT_DATE" openssl x509 -req -in "$WORK/$name.csr" -CA "$WORK/$ca.pem" \
        -CAkey "$WORK/$ca.key" -set_serial "$serial" -days 397 -sha256 \
        -extfile "$WORK/$name.ext" -out "$WORK/$name.pem" 2>/dev/null
}
