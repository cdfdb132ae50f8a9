# Helpers shared by the test scripts (sourced, not run). Each test prints
# "PASS: name" or "FAIL: name: why"; tools/test counts those lines.
# BUILD, KERNEL and LOGS are set here unless the caller set them.
BUILD=${BUILD:-build}
KERNEL=${KERNEL:-$BUILD/kernel}
LOGS=${LOGS:-$BUILD/test-logs}
mkdir -p "$LOGS"

result() { # result NAME OK [why]
	if [ "$2" = 0 ]; then echo "PASS: $1"; else echo "FAIL: $1: ${3:-}"; fi
}

# Echo a log's PASS/FAIL/SKIP lines (a guest's, say) as this script's own.
relay() { tr -d '\r' < "$1" | grep -a -E '^(PASS|FAIL|SKIP): ' || true; }

show_tail() {
	echo "---- last lines of $1 ----"
	tr -d '\r' < "$1" | tail -n 25
	echo "----"
}

# (grep reads to the end, not -q: under pipefail, tr cut off by an early
# exit would fail the check)
check_log() { # check_log NAME LOG PATTERN
	if tr -d '\r' < "$2" | grep -a -E -- "$3" > /dev/null; then
		result "$1" 0
	else
		result "$1" 1 "no line matching '$3'"
	fi
}

check_count() { # check_count NAME LOG PATTERN N: at least N lines match
	local c
	c=$(tr -d '\r' < "$2" | grep -a -cE -- "$3")
	if [ "$c" -ge "$4" ]; then
		result "$1" 0
	else
		result "$1" 1 "$c lines matching '$3', want $4"
	fi
}

check_no_log() { # check_no_log NAME LOG PATTERN
	if tr -d '\r' < "$2" | grep -a -E -- "$3" > /dev/null; then
		result "$1" 1 "a line matches '$3'"
	else
		result "$1" 0
	fi
}

# The shell over the serial line: wait for each prompt, then type.
prompts() { tr -d '\r' < "$1" 2>/dev/null | grep -a -o 'exo:[^ ]*\$ ' | wc -l; }

# wait_for LOG N PID: until LOG shows N prompts; fails if QEMU ends or 60 s pass.
wait_for() {
	local i
	for i in $(seq 1 300); do
		[ "$(prompts "$1")" -ge "$2" ] && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}

# shell_session LOG STEP...: boot and drive the shell (QEMU's environment,
# DISK say, comes from the caller). A STEP is a command line, typed at the
# next prompt; or "!sleep S" (wait S seconds), "!raw BYTES" (typed at once,
# no Enter: keys for a running program), "!line TEXT" (TEXT and Enter, at
# once: input for a running program), "!key BYTES" (typed at the next
# prompt, no Enter added).
shell_session() {
	local log=$1 fifo n=0 qpid step
	shift
	fifo=$(mktemp -u)
	mkfifo "$fifo"
	timeout 180 tools/qemu "$KERNEL" < "$fifo" > "$log" 2>&1 &
	qpid=$!
	exec 9> "$fifo"
	rm -f "$fifo"
	for step in "$@"; do
		case "$step" in
		"!sleep "*) sleep "${step#!sleep }" ;;
		"!raw "*) printf '%s' "${step#!raw }" >&9 ;;
		"!line "*) printf '%s\r' "${step#!line }" >&9 ;;
		"!key "*)
			n=$((n + 1))
			wait_for "$log" $n $qpid || break
			printf '%s' "${step#!key }" >&9
			;;
		*)
			n=$((n + 1))
			wait_for "$log" $n $qpid || break
			printf '%s\r' "$step" >&9
			;;
		esac
	done
	exec 9>&-
	wait $qpid
}
