#!/bin/bash
# usage: cg.sh OP N  -> prints instructions/op = (Ir(N) - Ir(0)) / N
export DOTNET_TieredCompilation=0 DOTNET_TieredPGO=0
op=$1; n=$2; dll=${DLL:?set DLL to the path of CoapEnroll.Bench.dll}
ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null dotnet $dll loop $op $1 2>&1 | tee ${TMPDIR:-/tmp}/cg.$op.$1.log | grep -a "Collected" | awk '{print $4}'; }
a=$(ir 0); b=$(ir $n)
alloc=$(grep -a "allocated/op" ${TMPDIR:-/tmp}/cg.$op.$n.log | sed 's/.*iterations, //')
echo "$op: $(( (b - a) / n )) instructions/op ($alloc; Ir(0)=$a Ir($n)=$b)"
