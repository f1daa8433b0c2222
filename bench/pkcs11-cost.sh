#!/usr/bin/env bash
# Enrollments/s and server CPU per enrollment with the issuing key in a PEM file against the same key on a SoftHSM2 token
# (Ca:KeyProvider=Pkcs11), issue 18 item 4. Each round starts one serve per provider in turn (fresh data directory, same
# manufacturer), runs the bench's est-enroll load against it, and stops it. Results: bench/results/pkcs11-*.json.
#   bench/pkcs11-cost.sh [ROUNDS] [SECONDS] [CONCURRENCY]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
seconds=${2:-15}
concurrency=${3:-4}
for program in softhsm2-util coap-client-openssl; do
    command -v "$program" >/dev/null || { echo "error: $program is missing (apt-get install softhsm2 libcoap3-bin)" >&2; exit 1; }
done
dotnet build src/CoapEnroll.Cli -c Release -v q -nologo >/dev/null
dotnet build bench/CoapEnroll.Bench -c Release -v q -nologo >/dev/null
cli=src/CoapEnroll.Cli/bin/Release/net10.0/coapenroll.dll
bench=bench/CoapEnroll.Bench/bin/Release/net10.0/CoapEnroll.Bench.dll
work=$(mktemp -d /tmp/coapenroll-pkcs11-bench-XXXXXX)
trap 'kill "${serve_pid-}" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/tokens" bench/results
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$work" > "$work/softhsm2.conf"
export SOFTHSM2_CONF=$work/softhsm2.conf
export COAPENROLL_BENCH_PIN=1234
softhsm2-util --init-token --free --label bench --pin "$COAPENROLL_BENCH_PIN" --so-pin 12345678 >/dev/null
pkcs11=(--Ca:KeyProvider=Pkcs11 --Ca:Pkcs11:Module=/usr/lib/softhsm/libsofthsm2.so --Ca:Pkcs11:TokenLabel=bench
    --Ca:Pkcs11:PinEnvironmentVariable=COAPENROLL_BENCH_PIN)
# The first call creates the manufacturer CA (and stops: no server trusts it yet).
dotnet "$bench" load --scenario est-enroll --devices 1 --concurrency 1 --count 1 --server coaps://127.0.0.1:1 --data "$work" \
    --manufacturer "$work/manufacturer" >/dev/null 2>&1 || true
free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
for round in $(seq 1 "$rounds"); do
    for provider in file pkcs11; do
        data=$work/data-$provider-$round
        extra=()
        if [[ $provider == pkcs11 ]]; then
            extra=("${pkcs11[@]}" "--Ca:Pkcs11:KeyLabel=issuing-$round")
            dotnet "$cli" ca init --data "$data" "${extra[@]}" >/dev/null
        fi
        port=$(free_port)
        dotnet "$cli" serve --data "$data" --bind 127.0.0.1 --coap-port 0 --coaps-port "$port" --http-port 0 --https-port 0 \
            --trust-manufacturer "$work/manufacturer/manufacturer-ca.pem" "${extra[@]}" >"$work/serve-$provider-$round.log" 2>&1 &
        serve_pid=$!
        for _ in $(seq 1 100); do grep -q "listening on coaps://" "$work/serve-$provider-$round.log" && break; sleep 0.2; done
        dotnet "$bench" load --scenario est-enroll --devices 64 --concurrency "$concurrency" --duration "$seconds" \
            --server "coaps://127.0.0.1:$port" --server-pid "$serve_pid" --data "$data" --manufacturer "$work/manufacturer" \
            --json "bench/results/pkcs11-$provider-$round.json" 2>&1 | grep -E "operations in|server CPU" || true
        kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true; unset serve_pid
    done
done
python3 - "$rounds" <<'PY'
import json, sys, statistics
rounds = int(sys.argv[1])
rows = {p: [json.load(open(f"bench/results/pkcs11-{p}-{r}.json")) for r in range(1, rounds + 1)] for p in ("file", "pkcs11")}
def med(p, key): return statistics.median(x[key] for x in rows[p])
for p in ("file", "pkcs11"):
    print(f"{p}: {med(p, 'OperationsPerSecond'):.1f} enrollments/s, {med(p, 'ServerCpuMsPerOperation'):.2f} ms server CPU per enrollment (median of {rounds})")
ratios = [b["ServerCpuMsPerOperation"] / a["ServerCpuMsPerOperation"] for a, b in zip(rows["file"], rows["pkcs11"])]
print("pkcs11/file CPU per enrollment, paired by round: " + ", ".join(f"{r:.2f}" for r in ratios))
PY
