#!/usr/bin/env bash
# Bytes and packets on the wire for ONE complete enrollment (handshake + CA certificates + enroll) over EST-coaps
# (RFC 9148) at block sizes 64 and 1024, against the same enrollment over EST over HTTPS (RFC 7030), all against one
# `coapenroll serve` with its shipped defaults (only --data). bench/REPORT.md section 11.
#
# usage: bench/wire.sh [--rounds N] [--mtu BYTES] [--pcap-dir DIR]      (as root: a network namespace, dumpcap and tshark)
#   build first: dotnet build src/CoapEnroll.Cli -c Release && dotnet build bench/CoapEnroll.Bench -c Release
#   CLI=path/coapenroll.dll BENCH=path/CoapEnroll.Bench.dll override the built ones.
#
# Everything runs in a fresh network namespace whose loopback has MTU 1500 (--mtu), so the shipped default ports are free
# and TCP segments / DTLS datagrams are sized as on an Ethernet path, not by the 64 KiB MTU of the host's lo. Each
# scenario is captured with dumpcap on that lo and summed with tshark: packets per direction, IP bytes (IPv4 header
# + payload, no link layer) and UDP/TCP payload bytes. Each scenario runs --rounds times (default 3) after one warm-up
# round; the table shows the round with the fewest IP bytes (a CoAP or DTLS retransmission on a loaded machine only adds)
# and the largest, since ECDSA signatures vary by a byte or two in DER.
set -euo pipefail

ROUNDS=3
MTU=1500
PCAP_DIR=
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --mtu) MTU=$2; shift 2 ;;
    --pcap-dir) PCAP_DIR=$2; shift 2 ;;
    *) echo "usage: bench/wire.sh [--rounds N] [--mtu BYTES] [--pcap-dir DIR]" >&2; exit 2 ;;
  esac
done

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLI=${CLI:-$ROOT/src/CoapEnroll.Cli/bin/Release/net10.0/coapenroll.dll}
BENCH=${BENCH:-$ROOT/bench/CoapEnroll.Bench/bin/Release/net10.0/CoapEnroll.Bench.dll}
for f in "$CLI" "$BENCH"; do [[ -f $f ]] || { echo "missing $f: build it first (see the top of this script)" >&2; exit 2; }; done
for t in tshark dumpcap coap-client-openssl curl openssl ip; do command -v $t >/dev/null || { echo "missing $t" >&2; exit 2; }; done

NS=coapenroll-wire-$$
WORK=$(mktemp -d /tmp/coapenroll-wire-XXXXXX)
DATA=$WORK/data
SERVE_PID=
cleanup() {
  local rc=$?
  if [[ -n $SERVE_PID ]]; then kill "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null || true; fi
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
ip netns add "$NS"
inns() { ip netns exec "$NS" "$@"; }
inns ip link set lo up mtu "$MTU"

COAPS=5684 HTTPS=8443   # serve's shipped defaults
# Not through inns: as a function in the background, $! would be a subshell and the kill in cleanup would miss serve.
ip netns exec "$NS" dotnet "$CLI" serve --data "$DATA" >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
for _ in $(seq 1 240); do
  [[ -f $DATA/trust-anchor.pem ]] && inns curl -sf --cacert "$DATA/trust-anchor.pem" -o /dev/null \
    "https://127.0.0.1:$HTTPS/.well-known/est/cacerts" && break
  kill -0 "$SERVE_PID" 2>/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
  sleep 0.5
done
TRUST=$DATA/trust-anchor.pem DEV=$DATA/demo/device.pem DEVKEY=$DATA/demo/device.key

# One CSR (P-256, CN=demo-device-1, no challengePassword) for every client, so that each sends the same bytes.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/new.key" -subj /CN=demo-device-1 \
  -outform DER -out "$WORK/csr.der" 2>/dev/null
base64 -w 64 "$WORK/csr.der" >"$WORK/csr.b64"
CSR_BYTES=$(stat -c %s "$WORK/csr.der")

coaps_uri() { echo "coaps://127.0.0.1:$COAPS/.well-known/est/$1"; }
https_uri() { echo "https://127.0.0.1:$HTTPS/.well-known/est/$1"; }

# Each client: exit non-zero unless it got the CA certificates and an issued certificate (checked with openssl).
check_p7_der() { openssl pkcs7 -inform DER -in "$1" -print_certs 2>/dev/null | grep -q 'BEGIN CERTIFICATE'; }
check_p7_b64() { base64 -d "$1" | openssl pkcs7 -inform DER -print_certs 2>/dev/null | grep -q 'BEGIN CERTIFICATE'; }

run_ours_one_session() {   # block
  inns dotnet "$BENCH" wire-enroll "$COAPS" "$DATA" "$WORK/csr.der" "$1"
}
run_libcoap() {   # block: one DTLS session per request (coap-client sends one request per run)
  rm -f "$WORK/crts.p7" "$WORK/sen.p7"
  inns coap-client-openssl -b "$1" -c "$DEV" -j "$DEVKEY" -R "$TRUST" -o "$WORK/crts.p7" "$(coaps_uri crts)" &&
  inns coap-client-openssl -b "$1" -c "$DEV" -j "$DEVKEY" -R "$TRUST" -m post -t 286 -f "$WORK/csr.der" -o "$WORK/sen.p7" "$(coaps_uri sen)" &&
  check_p7_der "$WORK/crts.p7" && check_p7_der "$WORK/sen.p7"
}
run_coapenroll() {   # block: `coapenroll est crts` then `est enroll`, one DTLS session each
  inns dotnet "$CLI" est crts --server "coaps://127.0.0.1:$COAPS" --trust "$TRUST" --cert "$DEV" --key "$DEVKEY" \
    --block-size "$1" --out "$WORK/crts.pem" &&
  inns dotnet "$CLI" est enroll --server "coaps://127.0.0.1:$COAPS" --trust "$TRUST" --cert "$DEV" --key "$DEVKEY" \
    --block-size "$1" --csr "$WORK/csr.der" --out "$WORK/sen.pem"
}
CURL_TLS13=(--tlsv1.3)
CURL_TLS12=(--tlsv1.2 --tls-max 1.2)
run_curl_one_connection() {   # tls options...: GET cacerts, then POST simpleenroll on the same connection (--next)
  rm -f "$WORK/cacerts.b64" "$WORK/sen.b64"
  local tls=(-sS --fail "$@" --cacert "$TRUST" --cert "$DEV" --key "$DEVKEY")
  inns curl -v "${tls[@]}" "$(https_uri cacerts)" -o "$WORK/cacerts.b64" \
    --next "${tls[@]}" -H 'Content-Type: application/pkcs10' --data-binary @"$WORK/csr.b64" "$(https_uri simpleenroll)" \
    -o "$WORK/sen.b64" 2>"$WORK/curl.log" &&
  grep -q 'Re-using existing connection' "$WORK/curl.log" &&
  check_p7_b64 "$WORK/cacerts.b64" && check_p7_b64 "$WORK/sen.b64"
}
run_curl_two_connections() {   # tls options...: two curl runs, like the two CoAP sessions above
  rm -f "$WORK/cacerts.b64" "$WORK/sen.b64"
  local tls=(-sS --fail "$@" --cacert "$TRUST" --cert "$DEV" --key "$DEVKEY")
  inns curl "${tls[@]}" "$(https_uri cacerts)" -o "$WORK/cacerts.b64" &&
  inns curl "${tls[@]}" -H 'Content-Type: application/pkcs10' --data-binary @"$WORK/csr.b64" "$(https_uri simpleenroll)" \
    -o "$WORK/sen.b64" &&
  check_p7_b64 "$WORK/cacerts.b64" && check_p7_b64 "$WORK/sen.b64"
}

# stop_capture PID: SIGINT, then wake dumpcap with one 1-byte datagram from port 9 (left out of the sums) until it has
# written its summary: on an idle interface it does not look at its stop flag until a packet arrives.
stop_capture() {
  kill -INT "$1"
  for _ in $(seq 1 50); do
    grep -q 'Packets captured' "$WORK/tshark.log" && break
    inns python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.bind(("127.0.0.1",9)); s.sendto(b"\0",("127.0.0.1",int(sys.argv[1])))' "$COAPS" || true
    sleep 0.1
  done
  wait "$1" || true
}

# capture NAME CMD...: runs CMD with dumpcap on the namespace's lo; prints "packets_c2s packets_s2c ip_bytes l4_payload".
capture() {
  local name=$1; shift
  local pcap=$WORK/$name.pcap
  # dumpcap itself, not tshark (which leaves the writing to a dumpcap child that may still be flushing when tshark is gone),
  # stopped with SIGINT: on SIGTERM dumpcap exits without flushing what it buffered.
  # Not through inns (a function: $! would be a subshell). env --default-signal=INT: a background job of a non-interactive shell starts with SIGINT ignored, and dumpcap keeps it so.
  ip netns exec "$NS" env --default-signal=INT dumpcap -i lo -f "udp port $COAPS or tcp port $HTTPS" -w "$pcap" >"$WORK/tshark.log" 2>&1 &
  local ts=$!
  for _ in $(seq 1 100); do grep -q 'Capturing on' "$WORK/tshark.log" && break; sleep 0.1; done
  sleep 0.5
  if ! "$@" >"$WORK/$name.out" 2>&1; then
    stop_capture "$ts"
    echo "scenario $name failed:" >&2; cat "$WORK/$name.out" >&2; return 1
  fi
  sleep 0.5
  stop_capture "$ts"
  grep -q 'Packets captured' "$WORK/tshark.log" || { echo "dumpcap did not finish cleanly:" >&2; cat "$WORK/tshark.log" >&2; return 1; }
  [[ -n $PCAP_DIR ]] && mkdir -p "$PCAP_DIR" && cp "$pcap" "$PCAP_DIR/"
  tshark -r "$pcap" -T fields -e ip.len -e udp.length -e tcp.len -e udp.srcport -e tcp.srcport -e udp.dstport 2>/dev/null |
    awk -F'\t' -v coaps="$COAPS" -v https="$HTTPS" '
      $4 == 9 || $6 == 9 { next }
      { ip += $1; if ($2 != "") l4 += $2 - 8; else l4 += $3
        if ($4 == coaps || $5 == https) s2c++; else c2s++ }
      END { printf "%d %d %d %d\n", c2s, s2c, ip, l4 }'
}

SCENARIOS=()
add() { SCENARIOS+=("$1|$2|$3|$4|$5"); }   # id | client | transport | block | sessions ; the function is run_<...>
for b in 64 1024; do
  add "ours-$b" "wire-enroll (EstCoapsClient)" "EST-coaps, DTLS 1.2" "$b" 1
  add "libcoap-$b" "coap-client-openssl 4.3.1" "EST-coaps, DTLS 1.2" "$b" 2
  add "cli-$b" "coapenroll est crts + est enroll" "EST-coaps, DTLS 1.2" "$b" 2
done
add "curl13-1" "curl --next" "EST/HTTPS, TLS 1.3" "-" 1
add "curl12-1" "curl --next" "EST/HTTPS, TLS 1.2" "-" 1
add "curl13-2" "curl, two runs" "EST/HTTPS, TLS 1.3" "-" 2
add "curl12-2" "curl, two runs" "EST/HTTPS, TLS 1.2" "-" 2

run_scenario() {   # id
  case "$1" in
    ours-*) run_ours_one_session "${1#ours-}" ;;
    libcoap-*) run_libcoap "${1#libcoap-}" ;;
    cli-*) run_coapenroll "${1#cli-}" ;;
    curl13-1) run_curl_one_connection "${CURL_TLS13[@]}" ;;
    curl12-1) run_curl_one_connection "${CURL_TLS12[@]}" ;;
    curl13-2) run_curl_two_connections "${CURL_TLS13[@]}" ;;
    curl12-2) run_curl_two_connections "${CURL_TLS12[@]}" ;;
  esac
}

echo "# bench/wire.sh  $(date -u +%FT%TZ)  rounds=$ROUNDS  mtu=$MTU  csr=${CSR_BYTES} bytes DER"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A BEST WORST
for s in "${SCENARIOS[@]}"; do
  IFS='|' read -r id _ <<<"$s"
  run_scenario "$id" >"$WORK/warmup.out" 2>&1 || { echo "warm-up of $id failed:" >&2; cat "$WORK/warmup.out" >&2; exit 1; }
  echo "# $id" >&2
  for r in $(seq 1 "$ROUNDS"); do
    m=$(capture "$id-r$r" run_scenario "$id")
    read -r c2s s2c ip l4 <<<"$m"
    if [[ -z ${BEST[$id]:-} ]] || (( ip < $(cut -d' ' -f3 <<<"${BEST[$id]}") )); then BEST[$id]=$m; fi
    if [[ -z ${WORST[$id]:-} ]] || (( ip > $(cut -d' ' -f3 <<<"${WORST[$id]}") )); then WORST[$id]=$m; fi
  done
done

REF=$(cut -d' ' -f3 <<<"${BEST[curl13-1]}")
echo "# ratio = IP bytes / IP bytes of curl --next over TLS 1.3 (one connection: handshake + GET cacerts + POST simpleenroll)"
echo "| id | client | transport | block | sessions | packets c→s | packets s→c | IP bytes | UDP/TCP payload bytes | IP bytes, largest round | ratio |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for s in "${SCENARIOS[@]}"; do
  IFS='|' read -r id client transport block sessions <<<"$s"
  read -r c2s s2c ip l4 <<<"${BEST[$id]}"
  worst=$(cut -d' ' -f3 <<<"${WORST[$id]}")
  ratio=$(awk -v a="$ip" -v b="$REF" 'BEGIN { printf "%.2f", a / b }')
  echo "| $id | $client | $transport | $block | $sessions | $c2s | $s2c | $ip | $l4 | $worst | $ratio |"
done
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
