#!/usr/bin/env bash
# Runs the side-by-side benchmarks and prints a benchstat table with one
# column per library. Works from any directory.
#
#   COUNT      runs of each benchmark (default 10, what benchstat needs for
#              confidence intervals)
#   BENCHTIME  go test -benchtime (default 1s)
#   BENCH      go test -bench regexp (default: every benchmark)
#
# Raw results are kept in benchmarks/results/bench.txt (ignored by git).
# After the benchstat table it prints a Markdown table of medians
# (cmd/mdtable), the one in README.md.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

count="${COUNT:-10}"
benchtime="${BENCHTIME:-1s}"
bench="${BENCH:-.}"

benchstat="$(go env GOPATH)/bin/benchstat"
if [[ ! -x "$benchstat" ]]; then
	echo "installing benchstat..." >&2
	go install golang.org/x/perf/cmd/benchstat@latest
fi

echo "contract tests first: every adapter must do the same work" >&2
go test -count=1 ./...

mkdir -p results
out="results/bench.txt"
echo "go test -run '^\$' -bench '$bench' -benchmem -count $count -benchtime $benchtime" >&2
# failsafehttp never closes the responses it retries, so each retried
# request leaks a connection (two file descriptors on loopback); at the
# default benchtime HTTP503x2 exhausts the process's descriptors and stalls.
# It runs apart: COUNT separate processes of 1000 iterations each.
leaky='HTTP503x2/lib=failsafe-go'
go test -run '^$' -bench "$bench" -skip "$leaky" -benchmem -count "$count" -benchtime "$benchtime" . | tee "$out" >&2
if go test -list "$bench" . | grep -q '^BenchmarkHTTP503x2$'; then
	go test -c -o results/benchmarks.test .
	for _ in $(seq "$count"); do
		results/benchmarks.test -test.run '^$' -test.bench "$leaky" -test.benchmem -test.benchtime 1000x |
			grep '^Benchmark' | tee -a "$out" >&2
	done
	rm -f results/benchmarks.test
fi

"$benchstat" -col /lib "$out"

echo
echo "Medians (ns/op, allocs/op), for README.md:"
go run ./cmd/mdtable "$out"
