#!/usr/bin/env bash
# A timer as the kernel sees it: chapter 06's server under strace, with
# an idle limit of 3 s (or the first argument), and one client that says
# nothing until the server closes it. Shown from the first accept4 to the
# last close: the accept, a read that says EAGAIN, and the sleep in
# epoll_wait whose timeout is the idle timer; then the error line, the
# close, and the SIGTERM that ends the server through its eventfd.
source "$(dirname "$0")/../lib.sh"
need_strace

idle=${1:-3s}
bin=$(build 06-full-runtime)
strace -f -tt -o "$scratch/strace" -e trace=epoll_pwait,accept4,read,write,close,epoll_ctl \
	"$bin" -listen 127.0.0.1:0 -idle "$idle" >"$scratch/out" &
tracer=$!
until grep -q '^listening on' "$scratch/out" 2>/dev/null; do sleep 0.05; done
port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\);.*/\1/p' "$scratch/out")

exec 3<>"/dev/tcp/127.0.0.1/$port" # a silent client: it sends nothing
echo "the silent client got:"
cat <&3 # until the server closes the connection
exec 3<&-
kill -TERM "$(pgrep -P "$tracer")"
wait "$tracer"

echo
echo "strace: from the first accept4 to the close of the epoll instance (SIGURG and rt_sigreturn left out):"
joined "$scratch/strace" | grep -v -e ' +++ exited with ' -e 'SIGURG' -e 'rt_sigreturn' >"$scratch/joined"
first=$(grep -n ' accept4(' "$scratch/joined" | head -1 | cut -d: -f1)
# The last line is the close of our epoll instance: after it, the Go
# runtime's own poller starts up, for the summary's read of /proc.
epfd=$(sed -n 's/.* epoll_ctl(\([0-9]*\), EPOLL_CTL_ADD, [0-9]*, {events=EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET, data={u32=[0-9]*, u64=[0-9]*}}) = 0$/\1/p' "$scratch/joined" | head -1)
last=$(awk -v from="$first" -v call=" close($epfd) " 'NR >= from && index($0, call) { print NR; exit }' "$scratch/joined")
sed -n "${first},${last}p" "$scratch/joined"
