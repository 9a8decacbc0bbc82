# lib.sh is what the experiments' scripts share. A script sources it first:
#
#	source "$(dirname "$0")/../lib.sh"
#
# Then it runs from the repository's root, whatever folder it was started
# in, stops at the first failing command, and has a scratch folder for
# binaries and traces that is removed when it exits.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/experiment.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# build CHAPTER compiles ./CHAPTER into the scratch folder and prints the
# binary's path. The binary has the chapter's name, as go run's would.
build() {
	go build -o "$scratch/$1" "./$1"
	echo "$scratch/$1"
}

# need TOOL WHY stops the experiment with a clear message when TOOL is not
# installed. (Exit status 3 tells the smoke test to skip, not fail.)
need() {
	if ! command -v "$1" >/dev/null 2>&1; then
		echo "this experiment needs $1 ($2); install it, or run it in the container the README describes" >&2
		exit 3
	fi
}

# joined FILE prints strace -f output with each call that another thread's
# line cut in two (strace prints "<unfinished ...>", then later
# "<... read resumed>") put back together on one line. With strace -tt,
# the line keeps the time the call started.
joined() {
	awk '
		/ <unfinished \.\.\.>$/ { tid = $1; line = $0; sub(/ <unfinished \.\.\.>$/, "", line); cut[tid] = line; next }
		/^[0-9]+ +([0-9:.]+ +)?<\.\.\. [a-z0-9_]+ resumed>/ {
			tid = $1; rest = $0; sub(/^[0-9]+ +([0-9:.]+ +)?<\.\.\. [a-z0-9_]+ resumed> ?/, "", rest)
			if (tid in cut) { print cut[tid] rest; delete cut[tid] } else { print }
			next
		}
		{ print }
	' "$1"
}

# need_strace stops the experiment unless strace is installed and allowed
# to trace here. (Docker, for one, forbids ptrace unless the container is
# started with --cap-add=SYS_PTRACE.)
need_strace() {
	need strace "to watch the system calls a program makes"
	if ! strace -o /dev/null true 2>/dev/null; then
		echo "strace is installed but may not trace here; in a container, start it with --cap-add=SYS_PTRACE" >&2
		exit 3
	fi
}
