#!/usr/bin/env bash
# Every Pending is an EAGAIN: chapter 03's demo under strace -c, which
# counts the read, write and accept4 calls of every thread and how many
# failed. The tracer stops the program at each call, so the loop runs far
# slower than without it; the proportions are what to look at.
source "$(dirname "$0")/../lib.sh"
need_strace

bin=$(build 03-futures)
strace -f -c -e trace=read,write,accept4 "$bin" "$@" 2>&1 | grep -v '^strace: Process [0-9]* attached$'
