#!/usr/bin/env bash
# Runs every fuzz target (or those named with --targets) under AFL++ for --seconds each (default 60), after replaying the
# seed corpus and the regression inputs once. Installs afl++ (Debian) and the sharpfuzz tool (.config/dotnet-tools.json)
# when missing, publishes fuzz/CoapEnroll.Fuzz in Release and instruments the project's assemblies. Prints one line per
# target (executions, corpus, edges, crashes, hangs) and a closing "fuzz: N passed, N failed" line; exits non-zero when
# a replay fails or afl-fuzz saved a crash. Findings stay in fuzz/out/findings/TARGET (crashes/, hangs/, queue/).
#
#   bash fuzz/run.sh                       # every target, 60 s each
#   bash fuzz/run.sh --seconds 300 --targets coap-message,cmp
#   bash fuzz/run.sh --replay-only         # the corpus and regressions only, no afl-fuzz (seconds, no install of afl++)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=60
targets=""
replay_only=0
while (($# > 0)); do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --targets) targets="$2"; shift 2 ;;
        --replay-only) replay_only=1; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
done

out=fuzz/out
publish="$out/publish"
instrumented="$out/instrumented"

if ((replay_only == 0)) && ! command -v afl-fuzz >/dev/null 2>&1; then
    echo "Installing afl++ (Debian package) for afl-fuzz"
    if [[ $(id -u) -eq 0 ]]; then as_root=(); elif command -v sudo >/dev/null 2>&1; then as_root=(sudo); else
        echo "error: afl++ must be installed (apt-get install afl++), and this user is neither root nor has sudo." >&2; exit 1
    fi
    "${as_root[@]}" apt-get update
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends afl++ </dev/null
fi

dotnet publish fuzz/CoapEnroll.Fuzz -c Release -o "$publish" --nologo -v quiet
program=(dotnet "$publish/CoapEnroll.Fuzz.dll")
if [[ -z "$targets" ]]; then
    targets=$("${program[@]}" list | awk '{ print $1 }' | paste -sd, -)
fi
IFS=, read -r -a target_list <<< "$targets"

passed=0
failed=0
# A target passes when its seeds and regression inputs replay cleanly and afl-fuzz saved no crash.
declare -A target_failed=()
# One process replays every target; each says "TARGET: replayed N inputs, M failed". A target without that line (the
# process died before it) fails too.
mkdir -p "$out"
"${program[@]}" replay-all fuzz/corpus fuzz/regressions >"$out/replay.log" 2>&1 || true
cat "$out/replay.log"
for target in "${target_list[@]}"; do
    grep -Eq "^$target: replayed [0-9]+ inputs, 0 failed\$" "$out/replay.log" || target_failed[$target]=1
done

if ((replay_only == 0)); then
    dotnet tool restore >/dev/null
    rm -rf "$instrumented"
    cp -r "$publish" "$instrumented"
    # Our assemblies only: the runtime and packages are not what is under test.
    for assembly in "$instrumented"/CoapEnroll.*.dll; do
        [[ "$(basename "$assembly")" == CoapEnroll.Fuzz.dll ]] && continue
        dotnet tool run sharpfuzz "$assembly" >/dev/null
    done

    # dotnet is not an afl-instrumented binary (SharpFuzz speaks the forkserver protocol from managed code), the machine
    # is shared (no CPU binding, no frequency or core_pattern checks), and there is no terminal.
    export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
    export AFL_FORKSRV_INIT_TMOUT=60000
    printf '%-24s %12s %9s %7s %14s %8s %6s\n' target executions exec/s corpus edges crashes hangs
    for target in "${target_list[@]}"; do
        findings="$out/findings/$target"
        rm -rf "$findings"
        mkdir -p "$(dirname "$findings")"
        # -t: a generous per-input limit, since the machine may be loaded; a hang is reported, not failed on.
        # afl-fuzz's dry run once saw an empty coverage map on a loaded machine ("No instrumentation detected") for a target that
        # ran at once when started again: that start-up failure, and only it, gets one more start.
        for attempt in 1 2; do
            rm -rf "$findings"
            if afl-fuzz -i "fuzz/corpus/$target" -o "$findings" -V "$seconds" -t 5000 -m none \
                -- dotnet "$instrumented/CoapEnroll.Fuzz.dll" "$target" >"$out/afl-$target.log" 2>&1; then
                afl_ok=1
                break
            fi

            afl_ok=0
            if ((attempt == 1)) && grep -q "No instrumentation detected" "$out/afl-$target.log"; then
                echo "$target: afl-fuzz's dry run saw no coverage; starting it once more" >&2
                continue
            fi

            break
        done

        if ((afl_ok == 0)); then
            echo "$target: afl-fuzz failed, see $out/afl-$target.log" >&2
            tail -20 "$out/afl-$target.log" >&2
            target_failed[$target]=1
            continue
        fi
        stats="$findings/default/fuzzer_stats"
        stat() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
        printf '%-24s %12s %9s %7s %14s %8s %6s\n' "$target" "$(stat execs_done)" "$(stat execs_per_sec)" "$(stat corpus_count)" \
            "$(stat edges_found)/$(stat total_edges)" "$(stat saved_crashes)" "$(stat saved_hangs)"
        if [[ "$(stat saved_crashes)" != 0 ]]; then
            echo "$target: crashing inputs in $findings/default/crashes (replay one: dotnet $publish/CoapEnroll.Fuzz.dll replay $target FILE)" >&2
            target_failed[$target]=1
        fi
    done
fi

for target in "${target_list[@]}"; do
    if [[ -n "${target_failed[$target]-}" ]]; then failed=$((failed + 1)); else passed=$((passed + 1)); fi
done
echo "fuzz: $passed passed, $failed failed"
((failed == 0))
