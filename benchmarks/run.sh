#!/usr/bin/env bash
# Measures retrykit against the libraries it is compared with and prints
# the Markdown of README.md's measured section. Works from any directory.
#
# It runs the contract tests of benchmarks/ and benchmarks/grpc (every
# adapter must do the same work), then cmd/benchcmp: each module's test
# binary built once; every library of every comparison in a process of its
# own, in a new random order in each round; medians, ratios paired within
# each round with their spread, benchstat's p-value, "no difference" unless
# every round agrees; an idle run and a run with one CPU kept busy, the
# worse of the two quoted. The CPU's model name, the date and the machine's
# load head the output.
#
#   ROUNDS     rounds of each run (default 10)
#   BENCHTIME  go test -benchtime of each process (default 1s)
#   FILTER     regexp of the comparisons to measure (default: all of them)
#   SEED       seed of the random order (default: a random one, printed)
#   LOAD       the runs, in order (default idle,busy; busy spins a process
#              on one CPU for the run's duration)
#   README     a Markdown file whose generated section is replaced by the
#              output (README=README.md from the repository's root)
#
# Raw results go to benchmarks/results/ (ignored by git); `go run
# ./cmd/benchcmp -report results/FILE.txt` prints their Markdown again.
# More options: go run ./cmd/benchcmp -h.
set -euo pipefail

readme=""
if [[ -n "${README:-}" ]]; then
	readme="$(realpath "$README")"
fi
cd "$(dirname "${BASH_SOURCE[0]}")"

echo "contract tests first: every adapter must do the same work" >&2
go test -count=1 ./... >&2
(cd grpc && go test -count=1 ./...) >&2

args=(-repo .. -rounds "${ROUNDS:-10}" -benchtime "${BENCHTIME:-1s}" -filter "${FILTER:-.}" -load "${LOAD:-idle,busy}")
if [[ -n "${SEED:-}" ]]; then
	args+=(-seed "$SEED")
fi
if [[ -n "$readme" ]]; then
	args+=(-readme "$readme")
fi
exec go run ./cmd/benchcmp "${args[@]}" "$@"
