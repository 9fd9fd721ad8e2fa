#!/bin/sh
# Builds banger's libFuzzer targets with clang (libFuzzer + ASan + UBSan)
# and runs each for a bounded time, one after the other, on one core.
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]    (default 20 s; dns toml request)
#
# Targets: dns (DNS packet parser), toml (TOML parser + config mapping),
# request (the API's request body and path-name decoders). Each starts from
# its seed corpus in tests/fuzz/<target>/corpus (read only); what it finds
# goes to $FUZZ_WORK/<target>/corpus. FUZZ_RUNS=N runs N inputs per target
# instead of a time bound. Exits non-zero when a target finds a crash (the
# input is saved as crash-* in its work directory, printed below, which is
# then kept; a passing run removes its own work directory, not FUZZ_WORK).
set -eu

seconds=${1:-20}
[ $# -gt 0 ] && shift
targets=${*:-dns toml request}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${FUZZ_WORK:-}
keep=${FUZZ_WORK:+1}
[ -n "$work" ] || work=$(mktemp -d /tmp/fuzz-banger.XXXXXX)

if ! command -v clang >/dev/null 2>&1; then
	echo "run.sh: clang not found; install it with scripts/install-deps.sh (package clang)" >&2
	exit 2
fi

# The sources and libraries each target links (the pure modules only).
sources() {
	case $1 in
	dns) echo "$root/src/dns/dns_packet.c" ;;
	toml) echo "$root/src/toml/"*.c "$root/src/config/"*.c "$root/src/util/"*.c ;;
	request) echo "$root/src/daemon/names.c $root/src/daemon/req_decode.c" "$root/src/util/"*.c ;;
	*) echo "run.sh: unknown target $1 (dns, toml, request)" >&2; exit 2 ;;
	esac
}
libs() {
	case $1 in
	toml) echo "-lm -lpthread" ;;
	request) echo "-ljansson -lpthread" ;;
	esac
}

build() {
	# shellcheck disable=SC2046 # word splitting of the source lists is wanted
	clang -g -O1 -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-I "$root/src" $(sources "$1") "$here/$1/fuzz_$1.c" $(libs "$1") \
		-o "$work/$1/fuzz_$1"
}

run() {
	t=$1
	dict=
	[ -f "$here/$t/$t.dict" ] && dict="-dict=$here/$t/$t.dict"
	if [ -n "${FUZZ_RUNS:-}" ]; then bound="-runs=$FUZZ_RUNS"; else bound="-max_total_time=$seconds"; fi
	echo "run.sh: fuzzing $t ($bound) in $work/$t"
	# New inputs go to the work corpus; the checked-in seeds are read only.
	# shellcheck disable=SC2086
	(cd "$work/$t" && ASAN_OPTIONS=detect_leaks=1 "./fuzz_$t" $bound $dict -print_final_stats=1 \
		-max_len=4096 -timeout=10 -rss_limit_mb=2048 "$work/$t/corpus" "$here/$t/corpus") \
		>"$work/$t/log" 2>&1
}

failed=0
for t in $targets; do
	mkdir -p "$work/$t/corpus"
	build "$t"
	if run "$t"; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t/log")
		echo "run.sh: $t: ${execs:-?} inputs, no crash"
	else
		failed=1
		tail -n 40 "$work/$t/log"
		echo "run.sh: $t FAILED; input and log in $work/$t" >&2
		ls "$work/$t"/crash-* "$work/$t"/leak-* "$work/$t"/timeout-* 2>/dev/null || true
	fi
done
# A work directory of our own goes unless it holds a crash to look at.
[ "$failed" = 0 ] && [ -z "$keep" ] && rm -rf "$work"
exit $failed
