#!/usr/bin/env bash
# One registration and one eventfd wake, as the kernel sees them: chapter
# 05's demo with one client, traced with strace for its epoll instances,
# eventfds, reads and writes. Shown from the first epoll_create1 to the
# last epoll_ctl, which leaves out the runtime's start-up reads and the
# summary's writes to stdout.
source "$(dirname "$0")/../lib.sh"
need_strace

bin=$(build 05-wakers)
strace -f -o "$scratch/strace" -e trace=epoll_create1,eventfd2,epoll_ctl,write,read \
	"$bin" -clients 1 -messages 1 -pause 10ms

echo
echo "strace: from the first epoll_create1 to the last epoll_ctl:"
joined "$scratch/strace" | grep -v -e ' +++ exited with ' -e ' --- SIG' >"$scratch/joined"
first=$(grep -n ' epoll_create1(' "$scratch/joined" | head -1 | cut -d: -f1)
last=$(grep -n ' epoll_ctl(' "$scratch/joined" | tail -1 | cut -d: -f1)
sed -n "${first},${last}p" "$scratch/joined"
