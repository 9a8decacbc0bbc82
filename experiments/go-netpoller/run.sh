#!/usr/bin/env bash
# Go's netpoller at work on the client side: chapter 01's demo, one client,
# traced with strace. Chapter 01's server uses no epoll, so every epoll
# call in the listing is the Go runtime's, made for the client's net.Conn.
source "$(dirname "$0")/../lib.sh"
need_strace

bin=$(build 01-busy-loop)
strace -f -o "$scratch/strace" -e trace=socket,connect,epoll_create1,epoll_ctl,epoll_pwait,read \
	"$bin" -clients 1 -messages 1 -pause 10ms

# The client's socket is the one it connects; keep the reads on it, and
# every socket, connect and epoll call, from any thread.
joined "$scratch/strace" >"$scratch/joined"
client=$(sed -n 's/^[0-9]* *connect(\([0-9]*\),.*/\1/p' "$scratch/joined" | head -1)
echo
echo "strace: the listener, Go's poller, and the client's socket (fd $client):"
awk -v fd="$client" '
	$2 ~ /^(socket|connect|epoll_create1|epoll_ctl|epoll_pwait)\(/ { print; next }
	index($2, "read(" fd ",") == 1 { print }
' "$scratch/joined"
