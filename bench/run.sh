#!/usr/bin/env bash
# The load generator in one command: installs the Debian packages the bench modes run (libcoap's
# programs for the comparisons, openssl) when missing, builds the CLI and the bench in Release, and
# runs a default set of `load` scenarios against a fresh `coapenroll serve` each. Every scenario's
# summary goes to stdout and bench/results/load-SCENARIO.json; the progress lines go to stderr.
# Environment: DURATION (seconds per GET scenario, 10), DEVICES (64), CONCURRENCY (128),
# ENROLLMENTS (operations for handshake, handshake-cert, est-enroll, est-reenroll and cmp-ir, 200).
# The certificate scenarios' devices get certificates of their own from a manufacturer CA the bench makes, which the serve it
# starts trusts through --trust-manufacturer; cmp-ir registers a shared secret per device with `coapenroll cmp secrets add`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

declare -A REQUIRED_PROGRAMS=(
    [coap-client-notls]=libcoap3-bin
    [coap-server-notls]=libcoap3-bin
    [coap-server-openssl]=libcoap3-bin
    [openssl]=openssl
)

missing_packages=()
for program in "${!REQUIRED_PROGRAMS[@]}"; do
    if ! command -v "$program" >/dev/null 2>&1; then
        package="${REQUIRED_PROGRAMS[$program]}"
        if [[ ! " ${missing_packages[*]-} " == *" $package "* ]]; then
            missing_packages+=("$package")
        fi
    fi
done

if ((${#missing_packages[@]} > 0)); then
    echo "Installing Debian packages the bench needs: ${missing_packages[*]}"
    if [[ $(id -u) -eq 0 ]]; then
        as_root=()
    elif command -v sudo >/dev/null 2>&1; then
        as_root=(sudo)
    else
        echo "error: ${missing_packages[*]} must be installed (apt-get install ${missing_packages[*]}), and this user is neither root nor has sudo." >&2
        exit 1
    fi
    "${as_root[@]}" apt-get update
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing_packages[@]}" </dev/null
fi

if ! command -v dotnet >/dev/null 2>&1; then
    echo "error: the .NET SDK (dotnet, see global.json) is not on PATH." >&2
    exit 1
fi

dotnet build src/CoapEnroll.Cli -c Release --nologo -v quiet
dotnet build bench/CoapEnroll.Bench -c Release --nologo -v quiet

duration=${DURATION:-10}
devices=${DEVICES:-64}
concurrency=${CONCURRENCY:-128}
enrollments=${ENROLLMENTS:-200}
mkdir -p bench/results
bench=(dotnet bench/CoapEnroll.Bench/bin/Release/net10.0/CoapEnroll.Bench.dll load)
status=0
run() {
    local scenario=$1
    shift
    echo "== $scenario (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    "${bench[@]}" --scenario "$scenario" "$@" --json "bench/results/load-$scenario.json" || status=1
}
run coap-get --devices "$devices" --concurrency "$concurrency" --duration "$duration"
run coaps-get-psk --devices 8 --concurrency 32 --duration "$duration"
run coaps-get-cert --devices 8 --concurrency 32 --duration "$duration"
run handshake --devices 4 --concurrency 4 --count "$enrollments"
run handshake-cert --devices 4 --concurrency 4 --count "$enrollments"
run est-enroll --devices 4 --concurrency 4 --count "$enrollments"
run est-reenroll --devices 4 --concurrency 4 --count "$enrollments"
run cmp-ir --devices 4 --concurrency 4 --count "$enrollments"
exit "$status"
