#!/usr/bin/env bash
# Runs the whole test suite: installs the Debian packages the tests need when their programs are
# missing, then runs `dotnet test` on the solution in Release and, without extra arguments, the fuzz smoke run
# (fuzz/run.sh: every fuzz target's seeds and regressions, then COAPENROLL_FUZZ_SECONDS, default 3, of AFL++ each).
# The last line is the total over all test assemblies and fuzz targets ("N passed, N failed, N skipped"), and the
# exit code is non-zero when any test or fuzz target fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Program the tests run -> Debian package that provides it.
declare -A REQUIRED_PROGRAMS=(
    [coap-client-notls]=libcoap3-bin
    [coap-server-notls]=libcoap3-bin
    [coap-client-openssl]=libcoap3-bin
    [coap-client-gnutls]=libcoap3-bin
    [openssl]=openssl
    [gnutls-cli]=gnutls-bin
    [gnutls-serv]=gnutls-bin
    [coap-server-openssl]=libcoap3-bin
    [coap-server-gnutls]=libcoap3-bin
    [tshark]=tshark
    [curl]=curl
    [afl-fuzz]=afl++
    [chromium]=chromium
    [softhsm2-util]=softhsm2
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

# PostgreSQL's server (the PostgreSQL store's tests start a throwaway cluster, tests/CoapEnroll.Testing/PostgresCluster.cs): Debian
# keeps initdb off PATH, in /usr/lib/postgresql/VERSION/bin; COAPENROLL_PG_BIN names another directory.
postgres_binaries=(/usr/lib/postgresql/*/bin/initdb)
if [[ -z "${COAPENROLL_PG_BIN-}" && ! -x "${postgres_binaries[0]}" ]] && ! command -v initdb >/dev/null 2>&1; then
    missing_packages+=(postgresql)
fi

if ((${#missing_packages[@]} > 0)); then
    echo "Installing Debian packages the tests need: ${missing_packages[*]}"
    if [[ $(id -u) -eq 0 ]]; then
        as_root=()
    elif command -v sudo >/dev/null 2>&1; then
        as_root=(sudo)
    else
        echo "error: ${missing_packages[*]} must be installed (apt-get install ${missing_packages[*]}), and this user is neither root nor has sudo." >&2
        exit 1
    fi
    "${as_root[@]}" apt-get update
    # tshark's package asks whether non-root users may capture; answer it beforehand so nothing waits for a terminal.
    if [[ " ${missing_packages[*]} " == *" tshark "* ]] && command -v debconf-set-selections >/dev/null 2>&1; then
        echo "wireshark-common wireshark-common/install-setuid boolean false" | "${as_root[@]}" debconf-set-selections
    fi
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing_packages[@]}" </dev/null
fi

if ! command -v dotnet >/dev/null 2>&1; then
    echo "error: the .NET SDK (dotnet, see global.json) is not on PATH." >&2
    exit 1
fi

# dotnet test prints one summary per test assembly; CI and people want one closing line for the
# whole suite, so the per-assembly counts are added up into "N passed, N failed, N skipped".
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test CoapEnroll.sln -c Release --nologo "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# Extra arguments select tests (e.g. --filter); the fuzz smoke run belongs to the whole suite only.
if (($# == 0)); then
    bash fuzz/run.sh --seconds "${COAPENROLL_FUZZ_SECONDS:-3}" 2>&1 | tee -a "$log"
    fuzz_status=${PIPESTATUS[0]}
    if ((status == 0)); then status=$fuzz_status; fi
fi
set -e
fuzz_ran=0
if (($# == 0)); then fuzz_ran=1; fi
awk -v fuzz_ran="$fuzz_ran" '
    /(Passed|Failed)! +- +Failed: +[0-9]+, +Passed: +[0-9]+, +Skipped: +[0-9]+/ {
        for (i = 1; i <= NF; i++) {
            if ($i == "Failed:") failed += $(i + 1)
            if ($i == "Passed:") passed += $(i + 1)
            if ($i == "Skipped:") skipped += $(i + 1)
        }
        seen = 1
    }
    /^fuzz: [0-9]+ passed, [0-9]+ failed$/ { passed += $2; failed += $4; fuzz_seen = 1 }
    END {
        # A fuzz run that printed no summary (its project did not build, or it died) is a failure, not nothing.
        if (fuzz_ran && !fuzz_seen) { failed += 1; print "fuzz: no summary (fuzz/run.sh failed before its targets ran)" }
        if (seen) printf "%d passed, %d failed, %d skipped\n", passed, failed, skipped
        else print "0 passed, 1 failed (dotnet test printed no summary: the build or the test host failed)"
    }' "$log"
exit "$status"
