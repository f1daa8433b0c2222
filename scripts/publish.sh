#!/usr/bin/env bash
# coapenroll as one self-contained executable for Linux x64 (src/CoapEnroll.Cli/Properties/PublishProfiles/linux-x64.pubxml):
#   bash scripts/publish.sh [OUTPUT_DIR]        default: artifacts/linux-x64
# CONFIGURATION=Debug builds that configuration instead of Release (the tests publish the configuration they were built in).
# The target needs no .NET: OUTPUT_DIR/coapenroll is the whole program. packaging/ installs it (systemd unit, Dockerfile).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$repo/artifacts/linux-x64}"
dotnet publish "$repo/src/CoapEnroll.Cli" -c "${CONFIGURATION:-Release}" -p:PublishProfile=linux-x64 -o "$out"
echo "$out/coapenroll"
