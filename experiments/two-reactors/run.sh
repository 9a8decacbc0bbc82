#!/usr/bin/env bash
# Two reactors in one process: chapter 02's demo with one client, its
# epoll registrations traced with strace. Our server's epoll instance and
# the Go runtime's (which serves the client's net.Conn) live side by side.
source "$(dirname "$0")/../lib.sh"
need_strace

bin=$(build 02-epoll)
strace -f -o "$scratch/strace" -e trace=epoll_create1,epoll_ctl "$bin" -clients 1 -messages 1 -pause 10ms

echo
echo "strace: every epoll_create1 and epoll_ctl, from every thread:"
joined "$scratch/strace" | grep -v -e ' +++ exited with ' -e ' --- SIGURG '
# SIGURG is how Go's scheduler preempts a goroutine that runs too long; a
# signal that lands in epoll_wait makes it fail with EINTR.
echo "(and $(grep -c ' --- SIGURG ' "$scratch/strace" || true) SIGURG signals, left out above)"
