#!/bin/sh
# Builds the DNS packet fuzzer with clang (libFuzzer + ASan + UBSan) and runs
# it for a bounded time. Usage: tests/fuzz/dns/run.sh [SECONDS] (default 60).
# Exits non-zero when the fuzzer finds a crash (the input is saved as
# crash-* in the work directory, printed below).
set -eu

seconds=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
work=${FUZZ_WORK:-$(mktemp -d /tmp/fuzz-dns.XXXXXX)}
mkdir -p "$work/corpus"

if ! command -v clang >/dev/null 2>&1; then
	echo "run.sh: clang not found; install it with scripts/install-deps.sh (package clang)" >&2
	exit 2
fi

clang -g -O1 -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-I "$root/src" "$root/src/dns/dns_packet.c" "$here/fuzz_dns.c" -o "$work/fuzz_dns"

echo "run.sh: fuzzing for ${seconds}s in $work"
# New inputs go to $work/corpus; the checked-in seeds are read only.
cd "$work"
"$work/fuzz_dns" -max_total_time="$seconds" -print_final_stats=1 -max_len=1024 \
	"$work/corpus" "$here/corpus"
