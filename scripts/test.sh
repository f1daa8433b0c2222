#!/usr/bin/env bash
# Runs the whole test suite: installs the Debian packages the tests need when their programs are
# missing, then runs `dotnet test` on the solution in Release. Nothing is printed after dotnet
# test's own summary ("Passed!  - Failed: 0, Passed: N, ..." per test assembly), and the exit code
# is dotnet test's: non-zero when any test fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Program the tests run -> Debian package that provides it. Add later needs here, e.g.
#   [gnutls-cli]=gnutls-bin   [tshark]=tshark
declare -A REQUIRED_PROGRAMS=(
    [coap-client-notls]=libcoap3-bin
    [coap-server-notls]=libcoap3-bin
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
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing_packages[@]}"
fi

if ! command -v dotnet >/dev/null 2>&1; then
    echo "error: the .NET SDK (dotnet, see global.json) is not on PATH." >&2
    exit 1
fi

exec dotnet test CoapEnroll.sln -c Release --nologo "$@"
