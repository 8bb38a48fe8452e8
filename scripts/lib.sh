# Shared helpers for the capture scripts in this folder (sourced, not run).
# Every script runs as root inside its own network namespace that holds only `lo`,
# so nothing it starts can reach any address but 127.0.0.0/8 and ::1.

die() { echo "error: $*" >&2; exit 1; }

# ensure_pkgs PKG...: install the Debian packages that are missing.
ensure_pkgs() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "installing: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${missing[@]}" >&2
  fi
}

# enter_loopback_netns "$0" "$@": re-exec the calling script in a fresh network namespace
# (only `lo`, brought up here). Returns normally once inside.
enter_loopback_netns() {
  if [[ -z "${LEAKSCOPE_IN_NETNS:-}" ]]; then
    [[ $EUID -eq 0 ]] || die "run as root (needs unshare --net and tcpdump)"
    LEAKSCOPE_IN_NETNS=1 exec unshare --net -- bash "$@"
  fi
  ip link set lo up
  [[ "$(ip -o link show | cut -d: -f2 | tr -d " ")" == "lo" ]] || die "expected a namespace with only lo"
}

# start_tcpdump OUT.pcap [FILTER...]: capture on lo, full snaplen, packet-buffered; waits until
# tcpdump says it is listening. Sets TCPDUMP_PID.
start_tcpdump() {
  local out=$1; shift
  TCPDUMP_LOG=$(mktemp)
  rm -f "$out"
  # -Z root: keep ownership simple when the output dir is root's anyway.
  tcpdump -i lo -s 0 -U -n -Z root -w "$out" "$@" 2>"$TCPDUMP_LOG" &
  TCPDUMP_PID=$!
  local i
  for i in $(seq 100); do
    grep -q 'listening on' "$TCPDUMP_LOG" && return 0
    kill -0 "$TCPDUMP_PID" 2>/dev/null || { cat "$TCPDUMP_LOG" >&2; die "tcpdump died"; }
    sleep 0.1
  done
  die "tcpdump did not start"
}

# stop_tcpdump: SIGINT, so tcpdump flushes and closes the file.
stop_tcpdump() {
  [[ -n "${TCPDUMP_PID:-}" ]] || return 0
  sleep 0.5 # let the last packets (BYE, close_notify) land
  kill -INT "$TCPDUMP_PID" 2>/dev/null || true
  wait "$TCPDUMP_PID" 2>/dev/null || true
  cat "$TCPDUMP_LOG" >&2
  rm -f "$TCPDUMP_LOG"
  TCPDUMP_PID=
}

# BG_PIDS holds background processes that cleanup() stops.
BG_PIDS=()
cleanup() {
  local p
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  stop_tcpdump
  [[ -n "${WORK_DIR:-}" ]] && rm -rf "$WORK_DIR"
}

# wait_for COND_CMD TIMEOUT_S WHAT: poll COND_CMD every 0.1 s; returns 1 (with a message) on timeout.
wait_for() {
  local cond=$1 t=$2 what=$3 i
  for i in $(seq $((t * 10))); do
    eval "$cond" && return 0
    sleep 0.1
  done
  echo "timed out waiting for $what" >&2
  return 1
}
