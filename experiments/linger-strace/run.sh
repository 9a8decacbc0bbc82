#!/usr/bin/env bash
# A lingering close as the kernel sees it: chapter 06's server under
# strace, one client that says nothing, then SIGTERM; the client reads
# nothing and keeps its side open until the server has exited. Shown
# from the SIGTERM to the close of the epoll instance: the eventfd wake,
# the listener closed, a last read (EAGAIN: nothing to echo),
# shutdown(SHUT_WR), the SIOCOUTQ ioctl (TIOCOUTQ to strace) until our FIN
# is acknowledged, and the close.
# An argument is passed to the server (-linger=false: the close as it was
# before the lingering close).
source "$(dirname "$0")/../lib.sh"
need_strace

bin=$(build 06-full-runtime)
strace -f -tt -o "$scratch/strace" -e trace=epoll_pwait,read,write,shutdown,ioctl,close,epoll_ctl \
	"$bin" -listen 127.0.0.1:0 "$@" >"$scratch/out" &
tracer=$!
until grep -q '^listening on' "$scratch/out" 2>/dev/null; do sleep 0.05; done
port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\);.*/\1/p' "$scratch/out")

exec 3<>"/dev/tcp/127.0.0.1/$port" # a silent client
sleep 1
kill -TERM "$(pgrep -P "$tracer")"
wait "$tracer" # the client neither reads nor closes meanwhile: its kernel acknowledges our FIN
cat <&3        # then it reads: nothing, and EOF
exec 3<&-

echo "strace: from the SIGTERM to the close of the epoll instance (SIGURG and rt_sigreturn left out):"
joined "$scratch/strace" | grep -v -e ' +++ exited with ' -e 'SIGURG' -e 'rt_sigreturn' >"$scratch/joined"
first=$(grep -n -- '--- SIGTERM' "$scratch/joined" | head -1 | cut -d: -f1)
# The last line is the close of our epoll instance: after it, the Go
# runtime's own poller starts up, for the summary's read of /proc.
epfd=$(sed -n 's/.* epoll_ctl(\([0-9]*\), EPOLL_CTL_ADD, [0-9]*, {events=EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET, data={u32=[0-9]*, u64=[0-9]*}}) = 0$/\1/p' "$scratch/joined" | head -1)
last=$(awk -v from="$first" -v call=" close($epfd) " 'NR >= from && index($0, call) { print NR; exit }' "$scratch/joined")
sed -n "${first},${last}p" "$scratch/joined"
