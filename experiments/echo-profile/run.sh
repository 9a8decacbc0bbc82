#!/usr/bin/env bash
# Where a server's CPU goes per echo. Each server runs pinned to CPU 0 with
# GOMAXPROCS=1, the load generator (go run ./bench -load: 50 connections,
# 16 messages of 64 bytes in flight on each) pinned to CPU 1, and perf
# samples the server at 10 kHz over the measured window. Per million
# answers it prints the samples in user space and in the kernel, and the
# user-space symbols that took the most (and three kernel functions whose
# cost depends on the process, not on TCP). Servers alternate round by round,
# so a slow spell of the machine does not fall on one of them.
#
#	bash experiments/echo-profile/run.sh [-rounds N] [-seconds S] [SERVER...]
#
# A SERVER is 06 (chapter 06 as the working tree has it), 06@REV (chapter
# 06 at a commit, built from a git worktree), 06bytes (chapter 06's
# runtime with an application that echoes bytes as they come, as the
# peers do: no lines, limits or deadlines; byteecho/), gnet or tokio
# (built from bench/peers, as go run ./bench builds them). With none: 06
# gnet tokio.
source "$(dirname "$0")/../lib.sh"
need perf "to sample where the server's CPU goes"
need taskset "to pin the server and the load generator to a CPU each"
if [ "$(nproc)" -lt 2 ]; then
	echo "this experiment needs two CPUs, one for the server and one for the load generator" >&2
	exit 3
fi
paranoid=$(cat /proc/sys/kernel/perf_event_paranoid)
if [ "$(id -u)" -ne 0 ] && [ "$paranoid" -gt 1 ]; then
	echo "perf may not sample the kernel here (kernel.perf_event_paranoid is $paranoid: it must be 1 or less, or run as root)" >&2
	exit 3
fi
if ! perf record -o "$scratch/probe.data" -- true >/dev/null 2>&1; then
	echo "perf may not record here" >&2
	exit 3
fi

# tokio is built as go run ./bench builds it: with cargo, against
# Debian's packaged crates.
tokio_missing() {
	if ! command -v cargo >/dev/null 2>&1; then
		echo "cargo not found; apt-get install cargo librust-tokio-dev"
	elif ! compgen -G "/usr/share/cargo/registry/tokio-1.*" >/dev/null; then
		echo "Debian's tokio crate not found; apt-get install librust-tokio-dev"
	fi
}

rounds=5 seconds=3 servers=()
while [ $# -gt 0 ]; do
	case $1 in
	-rounds) rounds=$2; shift 2 ;;
	-seconds) seconds=$2; shift 2 ;;
	-*) echo "usage: run.sh [-rounds N] [-seconds S] [06|06@REV|06bytes|gnet|tokio ...]" >&2; exit 2 ;;
	*) servers+=("$1"); shift ;;
	esac
done
if [ ${#servers[@]} -eq 0 ]; then
	servers=(06 gnet)
	if [ -z "$(tokio_missing)" ]; then
		servers+=(tokio)
	else
		echo "tokio left out: $(tokio_missing)" >&2
	fi
fi

# On the way out, for whatever reason: stop the server if one runs, and
# take away the worktrees of 06@REV builds, then the scratch folder.
spid=
cleanup() {
	if [ -n "$spid" ]; then
		kill "$spid" 2>/dev/null || true
	fi
	for tree in "$scratch"/tree-*; do
		if [ -d "$tree" ]; then
			git worktree remove --force "$tree" 2>/dev/null || true
		fi
	done
	git worktree prune
	rm -rf "$scratch"
}
trap cleanup EXIT

# Build everything first: the load generator, then each server, as a
# command that listens on a port the kernel picks and says which.
go build -o "$scratch/bench" ./bench
declare -A argv
for s in "${servers[@]}"; do
	case $s in
	06)
		go build -o "$scratch/06" ./06-full-runtime
		argv[$s]="$scratch/06 -listen 127.0.0.1:0 -idle 1h" ;;
	06bytes)
		go build -o "$scratch/06bytes" ./experiments/echo-profile/byteecho
		argv[$s]="$scratch/06bytes 127.0.0.1:0" ;;
	06@*)
		rev=${s#06@} dir="$scratch/tree-${s//[^A-Za-z0-9._-]/_}"
		git worktree add --quiet --detach "$dir" "$rev"
		go build -C "$dir" -o "$dir.bin" ./06-full-runtime
		git worktree remove --force "$dir"
		argv[$s]="$dir.bin -listen 127.0.0.1:0 -idle 1h" ;;
	gnet)
		go build -C bench/peers -o "$scratch/gnet" ./gnet
		argv[$s]="$scratch/gnet echo 127.0.0.1:0" ;;
	tokio)
		if [ -n "$(tokio_missing)" ]; then
			echo "tokio: $(tokio_missing)" >&2
			exit 3
		fi
		(cd bench/peers/tokio && cargo build --release --quiet --target-dir "$scratch/tokio-target")
		argv[$s]="$scratch/tokio-target/release/tokio-peer echo 127.0.0.1:0" ;;
	*) echo "unknown server $s: 06, 06@REV, 06bytes, gnet or tokio" >&2; exit 2 ;;
	esac
done

# fail SERVER WHAT: say what went wrong, with what the server and the load
# generator printed, and stop.
fail() {
	echo "$1: $2" >&2
	cat "$scratch/server.out" "$scratch/load.out" >&2 2>/dev/null || true
	exit 1
}

# one SERVER: run it under load, sample it, and append a line to
# $scratch/results: server, answers a second, user and kernel samples per
# million answers. The symbols go to $scratch/SERVER.symbols.
one() {
	local s=$1 addr= lpid
	: >"$scratch/load.out"
	# shellcheck disable=SC2086 # the command line is split on purpose
	GOMAXPROCS=1 taskset -c 0 ${argv[$s]} >"$scratch/server.out" 2>&1 &
	spid=$!
	for _ in $(seq 100); do
		addr=$(sed -n 's/^listening on \([^ ;]*\).*/\1/p' "$scratch/server.out" | head -1)
		if [ -n "$addr" ] || ! kill -0 "$spid" 2>/dev/null; then
			break
		fi
		sleep 0.05
	done
	[ -n "$addr" ] || fail "$s" "it did not say where it listens"
	GOMAXPROCS=1 taskset -c 1 "$scratch/bench" -load "$addr" -c 50 -d 16 \
		-duration "${seconds}s" -warmup 300ms >"$scratch/load.out" 2>&1 &
	lpid=$!
	# Sample from just after the warm-up to just before the window ends.
	local window per rate
	window=$(awk -v s="$seconds" 'BEGIN { print s - 0.2 }')
	sleep 0.4
	perf record -F 10000 -p "$spid" -o "$scratch/perf.data" -- sleep "$window" >"$scratch/perf.out" 2>&1 ||
		fail "$s" "perf record failed"
	wait "$lpid" || fail "$s" "the load generator failed"
	kill "$spid"
	wait "$spid" 2>/dev/null || true
	spid=
	# In a virtual machine perf may sample nothing now and then (its
	# clock event did, in several of a dozen short runs on one): say so,
	# and let the caller run the round again, rather than count it as
	# zero.
	if ! grep -q '([1-9][0-9]* samples)' "$scratch/perf.out"; then
		nosamples=1
		return 0
	fi
	rate=$(awk '/answers in/ { gsub(",", "", $6); print $6 }' "$scratch/load.out")
	[ -n "$rate" ] || fail "$s" "the load generator printed no rate"
	per=$(awk -v r="$rate" -v w="$window" 'BEGIN { print r * w / 1e6 }') # millions of answers sampled
	perf report -i "$scratch/perf.data" --no-children --sort dso --stdio -g none -n 2>/dev/null |
		awk -v s="$s" -v r="$rate" -v m="$per" '/%/ { if ($3 ~ /kernel/) k += $2; else u += $2 }
			END { printf "%s %d %.1f %.1f\n", s, r, u / m, k / m }' >>"$scratch/results"
	perf report -i "$scratch/perf.data" --no-children --sort sym --stdio -g none -n 2>/dev/null >"$scratch/symbols.txt"
	awk -v m="$per" '/%/ && !/\[k\]/ { n = $2; $1 = ""; $2 = ""; $3 = ""; printf "%8.1f  %s\n", n / m, substr($0, 4) }' "$scratch/symbols.txt" |
		sed 's|github.com/asyncio-go/tutorial/06-full-runtime/||' | head -12 >"$scratch/$s.symbols"
	# Three kernel functions whose cost depends on the process, not on
	# TCP: in a process of more than one thread, fdget takes a reference
	# on the socket's file at every system call on it and fput drops it
	# (with one thread, fdget only looks the file up); finish_task_switch
	# ends every switch to one of the server's threads, its own or the Go
	# runtime's (its name may carry a compiler's suffix).
	awk -v m="$per" '/\[k\] fdget$/ { g = $2 } /\[k\] fput$/ { p = $2 } /\[k\] finish_task_switch/ { f += $2 }
		END { printf "fdget %.1f, fput %.1f, finish_task_switch %.1f\n", g / m, p / m, f / m }' "$scratch/symbols.txt" >"$scratch/$s.kernel"
}

for r in $(seq "$rounds"); do
	for s in "${servers[@]}"; do
		for _ in 1 2 3; do
			nosamples=
			one "$s"
			if [ -z "$nosamples" ]; then
				break
			fi
			echo "$s: perf recorded no samples in round $r; running it again" >&2
		done
		if [ -n "$nosamples" ]; then
			echo "perf recorded no samples of $s three times running: it may not sample here" >&2
			exit 3
		fi
	done
	echo "round $r of $rounds done" >&2
done

echo "per million echoes, perf samples of the server at 10 kHz (medians of $rounds rounds of ${seconds}s, each round's in brackets; all is the median of each round's total):"
for s in "${servers[@]}"; do
	awk -v s="$s" '$1 == s' "$scratch/results" | awk '
		{ rate[NR] = $2; user[NR] = $3; kern[NR] = $4; all[NR] = $3 + $4 }
		function median(a, n,   i, j, t, b) {
			for (i = 1; i <= n; i++) b[i] = a[i]
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (b[j] < b[i]) { t = b[i]; b[i] = b[j]; b[j] = t }
			return n % 2 ? b[(n + 1) / 2] : (b[n / 2] + b[n / 2 + 1]) / 2
		}
		function list(a, n,   i, out) { for (i = 1; i <= n; i++) out = out (i > 1 ? " " : "") sprintf("%.0f", a[i]); return out }
		END {
			printf "%-14s user %6.1f [%s]   kernel %7.1f   all %7.1f   answers/s %.0f\n", "'"$s"'",
				median(user, NR), list(user, NR), median(kern, NR), median(all, NR), median(rate, NR)
		}'
done
echo
for s in "${servers[@]}"; do
	echo "$s: the user-space symbols that took the most, samples per million echoes (last round):"
	cat "$scratch/$s.symbols"
	echo "    and in the kernel: $(cat "$scratch/$s.kernel")"
done
