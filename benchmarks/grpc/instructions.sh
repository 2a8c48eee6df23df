#!/usr/bin/env bash
# Counts the instructions one benchmark call costs each gRPC client, with
# valgrind's callgrind: the whole process (client, loopback server, Go
# runtime and its garbage collector) on one CPU (GOMAXPROCS=1), run twice,
# with N1 and N2 calls; the difference over N2-N1 is the cost of a call,
# without the process's start, the server's and the connection's setup.
# Instruction counts do not depend on the machine's load, which timings on
# a shared machine do; they leave out what instructions do not show
# (cache misses, waiting for the other goroutines' CPU). The garbage
# collector's share varies from run to run (a cycle every ~150 calls):
# REPEAT runs each measurement again.
#
# With CATEGORIES=1 it also sorts each client's instructions per call by
# what spends them (allocation and GC; grpc-go and http2; protobuf; the
# metadata; grpcx and the retry loop; the rest), from callgrind_annotate.
#
#   BENCH       the benchmark (default GRPCUnavailable2)
#   LIBS        the clients (default "retrykit grpc-go go-grpc-middleware")
#   N1, N2      the calls of the two runs (default 100 and 500)
#   REPEAT      measurements of each client (default 1)
#   CATEGORIES  1: the breakdown above (default 0)
#
# Needs valgrind (3.19 was used). From any directory:
#   ./benchmarks/grpc/instructions.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

bench="${BENCH:-GRPCUnavailable2}"
libs="${LIBS:-retrykit grpc-go go-grpc-middleware}"
n1="${N1:-100}"
n2="${N2:-500}"
repeat="${REPEAT:-1}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

go test -c -o "$tmp/grpcbench.test" . >&2

# run N LIB OUT: the callgrind profile of N calls with LIB; prints the total.
run() {
	# Go's asynchronous preemption signals trip callgrind's signal handling.
	GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 valgrind --tool=callgrind --callgrind-out-file="$3" \
		"$tmp/grpcbench.test" -test.run '^$' -test.bench "^Benchmark$bench/lib=$2\$" -test.benchtime "${1}x" 2>&1 |
		awk '/Collected/ {print $4}'
}

# categories FILE: instructions by category, "name count" lines.
categories() {
	callgrind_annotate --threshold=100 --auto=no --show-percs=no "$1" | awk '
		$2 ~ /:/ {
			n = $1; gsub(",", "", n); f = $0; sub(/^[ 0-9,]+(\([^)]*\))? */, "", f); sub(/^[^:]*:/, "", f)
			c = "other (scheduler, syscalls, locks, maps)"
			if (f ~ /^github\.com\/retrykit\/retry(\/grpcx)?\./) c = "grpcx and the retry loop"
			else if (f ~ /^(runtime\.(malloc|newobject|makeslice|makemap|growslice|newarray|memclr|bulkBarrier|wbBuf|gcWriteBarrier|\(\*(mspan|mcache|mcentral|mheap|pageAlloc|pallocBits|sweepLocked|spanInlineMarkBits|gcWork|gcBits|spanSet|mSpanList|gcControllerState|scavengerState)\)|sweepone|scan|greyobject|findObject|tryDeferToSpanScan|gcmarknewobject|gcDrain|gcBgMarkWorker|markroot|typePointers|heapSetType|extractHeapBits|nextFreeFast|deductSweepCredit|gcAssist|gcMark|wbBufFlush|shade|roundupsize|bgsweep|bgscavenge)|gcWriteBarrier)/) c = "allocation and GC"
			else if (f ~ /^google\.golang\.org\/protobuf/) c = "protobuf encoding"
			else if (f ~ /^(google\.golang\.org\/grpc\/(internal\/)?metadata|strings\.ToLower|internal\/runtime\/maps\.\(\*Iter\))/) c = "metadata (check, copy, iterate)"
			else if (f ~ /^(google\.golang\.org\/grpc|golang\.org\/x\/net)/) c = "grpc-go and http2 (the rest)"
			else if (f ~ /^context\./) c = "context"
			sum[c] += n
		}
		END { for (c in sum) printf "%s\t%d\n", c, sum[c] }'
}

for lib in $libs; do
	for r in $(seq "$repeat"); do
		a="$(run "$n1" "$lib" "$tmp/a")"
		b="$(run "$n2" "$lib" "$tmp/b")"
		printf '%s\t%s\t%d instructions/call\n' "$bench" "$lib" $(((b - a) / (n2 - n1)))
		if [[ "${CATEGORIES:-0}" == 1 ]]; then
			join -t $'\t' <(categories "$tmp/a" | sort) <(categories "$tmp/b" | sort) |
				awk -F '\t' -v d=$((n2 - n1)) '{printf "\t%-40s %9d\n", $1, ($3 - $2) / d}' | sort -t $'\t' -k2
		fi
	done
done
