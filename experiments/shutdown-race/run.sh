#!/usr/bin/env bash
# Whether chapter 05's shutdown goes through the eventfd: a race between
# the main goroutine, which wakes the accept task, and the event loop,
# which may or may not be asleep in epoll_wait at that moment. Runs the
# demo N times (20 unless given), then the traced one-client run N times,
# and counts how often the wake found the loop asleep.
source "$(dirname "$0")/../lib.sh"

runs=${1:-20}
bin=$(build 05-wakers)

echo "the demo, $runs runs: wakes made by other goroutines while the loop slept"
for _ in $(seq "$runs"); do
	"$bin" | grep -o 'wakes: .*([0-9]* by' | grep -o '([0-9]* by'
done | sort | uniq -c

echo "the traced run with one client, $runs runs: lines that mention the eventfd"
for _ in $(seq "$runs"); do
	"$bin" -trace -clients 1 -messages 2 -pause 50ms 2>&1 >/dev/null | grep -c eventfd || true
done | sort | uniq -c
