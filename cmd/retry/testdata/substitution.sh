#!/bin/sh
# Measures the command substitution
#   out=$(retry -attempt-timeout 1s -- sh -c 'sleep 4')
# which returns once retry has given up (about 1s per attempt), not when
# orphaned sleeps end (4s after the last attempt started, before the fix).
# Usage, from the repository's root:
#   go build -o /tmp/retry ./cmd/retry && sh cmd/retry/testdata/substitution.sh /tmp/retry
set -u
retry=${1:-retry}
now() { date +%s.%N; }
for attempts in 2 4; do
	start=$(now)
	out=$("$retry" -attempts "$attempts" -attempt-timeout 1s -- sh -c 'sleep 4' 2>/dev/null)
	status=$?
	end=$(now)
	echo "-attempts $attempts: status $status after $(awk "BEGIN { printf \"%.2f\", $end - $start }")s"
done
