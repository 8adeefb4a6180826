#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What Qt 5's IPC classes do when a process dies or lives in another namespace, each
# claim that docs/migrating-from-qt.md and the README's "Why" table make, measured
# with qt-ipc-probe (one process per step). Fails when Qt behaves otherwise; prints
# what it measured.
#
# Usage: qt_ipc_test.sh QT_IPC_PROBE CLAIM
#   semaphore-killed-holder    a SIGKILLed holder's unit comes back (SEM_UNDO)
#   semaphore-posts-undone     a process's posts are undone at its exit, and its takes
#   semaphore-left-by-creator  a SIGKILLed creator leaves the semaphore in the kernel
#   shared-memory-after-crash  the segment stays; create() fails, attach() works; the
#                              lock() of a killed holder comes back
#   lockfile-killed-holder     QLockFile takes over a SIGKILLed holder's lock
#   lockfile-pid-namespace     ... and one of a holder in another PID namespace
#   ipc-namespace              another IPC namespace (a Flatpak app's) sees neither
set -euo pipefail
(($# == 2)) || { echo "usage: qt_ipc_test.sh QT_IPC_PROBE CLAIM" >&2; exit 2; }
probe=$1
claim=$2
# What killed processes leave must not outlive the test: SysV objects go with a
# private IPC namespace where one can be made, Qt's key files with a private TMPDIR.
if [[ -z ${QT_IPC_TEST_PRIVATE:-} ]]; then
	export QT_IPC_TEST_PRIVATE=1
	for unshare in "unshare --ipc" "unshare --user --map-root-user --ipc"; do
		if $unshare true 2>/dev/null; then
			exec $unshare "$0" "$@"
		fi
	done
fi
work=$(mktemp -d)
export TMPDIR=$work
# Qt names its key files by the key's letters (and a hash): a key of letters only.
key="ipchubqt$(echo "$$$RANDOM" | tr 0-9 a-j)"
shm="${key}m"
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
	# What the killed processes left: the last detach removes a segment, then a clean
	# creator's exit a semaphore (a segment's lock is one) and its key file.
	# A segment's lock is the semaphore of its key: segments have keys of their own.
	timeout 5 "$probe" shm-attach "$shm" >/dev/null 2>&1 || true
	for k in "$key" "${key}s" "$shm"; do
		"$probe" sem-create "$k" 0 >/dev/null 2>&1 || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# start NAME ARGS...: runs the probe in the background until it says "ready" or
# "locked" (at most 10 s); its pid is in $started.
start() {
	local name=$1
	shift
	"$@" >"$work/$name.out" 2>"$work/$name.err" &
	started=$!
	pids+=("$started")
	local deadline=$(($(now_ms) + 10000))
	until grep -qE '^(ready|locked)$' "$work/$name.out"; do
		kill -0 "$started" 2>/dev/null || fail "$name exited: $(cat "$work/$name.out" "$work/$name.err")"
		(($(now_ms) < deadline)) || fail "$name did not get ready within 10 s"
		sleep 0.02
	done
}
killed() { kill -9 "$1"; wait "$1" 2>/dev/null || true; }
# acquired KEY: 0 when a new process gets a unit within 2 s (it then exits)
acquired() { timeout 2 "$probe" sem-acquire "$1" >/dev/null; }
value() { "$probe" sysv-present sem "$1"; }

case $claim in
semaphore-killed-holder)
	start creator "$probe" sem-create "$key" 1 hold
	start holder "$probe" sem-acquire "$key" hold
	[[ $(value "$key") == "present value=0" ]] || fail "the holder's unit is not taken: $(value "$key")"
	t0=$(now_ms)
	killed "$started"
	acquired "$key" || fail "QSystemSemaphore: the unit of a SIGKILLed holder did not come back"
	echo "ok: the unit of a SIGKILLed holder came back, acquired $(($(now_ms) - t0)) ms after the kill (SEM_UNDO)"
	;;
semaphore-posts-undone)
	start creator "$probe" sem-create "$key" 0 hold
	"$probe" sem-release "$key" 2 >/dev/null
	[[ $(value "$key") == "present value=0" ]] ||
		fail "the posts of a producer that exited stayed: $(value "$key")"
	echo "ok: a producer posted 2 units and exited: value 0 again"
	start producer "$probe" sem-release "$key" 2 hold
	acquired "$key" || fail "a live producer's post could not be taken"
	[[ $(value "$key") == "present value=2" ]] ||
		fail "the unit a consumer took and kept did not come back at its exit: $(value "$key")"
	echo "ok: a consumer took 1 of a live producer's 2 units and exited: value 2 again"
	kill "$started"
	wait "$started" 2>/dev/null || true
	[[ $(value "$key") == "present value=0" ]] || fail "the producer's posts stayed after its exit: $(value "$key")"
	echo "ok: the producer exited: value 0; a producer/consumer hand-off across processes does not last"
	;;
semaphore-left-by-creator)
	start creator "$probe" sem-create "$key" 3 hold
	killed "$started"
	[[ $(value "$key") == "present value=3" ]] || fail "no semaphore left by a SIGKILLed creator: $(value "$key")"
	# sysv-present found the key file (else it says so) and the semaphore it names.
	echo "ok: a SIGKILLed creator left its SysV semaphore (value 3) and its key file (in TMPDIR)"
	"$probe" sem-create "$key" 3 >/dev/null
	[[ $(value "$key") == "absent (no key file)" ]] || fail "a clean creator's exit left $(value "$key")"
	echo "ok: a creator that exits cleanly removes both"
	;;
shared-memory-after-crash)
	start creator "$probe" shm-create "$shm" 4096 42 hold
	creator=$started
	start holder "$probe" shm-lock "$shm" hold
	if timeout 2 "$probe" shm-lock "$shm" >/dev/null 2>&1; then
		fail "lock() of a segment locked by another process did not wait"
	fi
	t0=$(now_ms)
	killed "$started"
	timeout 2 "$probe" shm-lock "$shm" >/dev/null 2>&1 || fail "the lock() of a SIGKILLed holder did not come back"
	echo "ok: the segment's lock() of a SIGKILLed holder came back, taken $(($(now_ms) - t0)) ms after the kill"
	killed "$creator"
	[[ $("$probe" sysv-present shm "$shm") == present ]] || fail "no segment left by a SIGKILLed creator"
	echo "ok: a SIGKILLed creator left its SysV segment"
	# QSharedMemory::AlreadyExists is 4
	[[ $("$probe" shm-create "$shm" 4096 7 || true) == "create failed: 4" ]] ||
		fail "create() of the left segment's key did not fail with AlreadyExists"
	echo "ok: create() of its key fails with AlreadyExists"
	[[ $("$probe" shm-attach "$shm") == "attached byte=42" ]] || fail "attach() did not find the left bytes"
	echo "ok: attach() works and sees the dead creator's bytes"
	[[ $("$probe" sysv-present shm "$shm") == "absent (no key file)" ]] ||
		fail "the segment stayed after the last detach"
	echo "ok: the last detach (nobody attached) removed it"
	;;
lockfile-killed-holder)
	start holder "$probe" lock "$work/lock" hold
	[[ $("$probe" lock "$work/lock") == "busy error=1" ]] || fail "QLockFile: a live holder's lock was taken"
	t0=$(now_ms)
	killed "$started"
	[[ $("$probe" lock "$work/lock") == locked ]] || fail "QLockFile: a SIGKILLed holder's lock was not taken over"
	echo "ok: a SIGKILLed holder's lock file was taken over at once ($(($(now_ms) - t0)) ms), by its PID"
	;;
lockfile-pid-namespace)
	if ! unshare --pid --fork true 2>/dev/null; then
		echo "SKIP: unshare --pid cannot make a PID namespace here"
		exit 77
	fi
	start holder unshare --pid --fork --kill-child=SIGKILL "$probe" lock "$work/lock" hold
	pid=$(head -n 1 "$work/lock")
	echo "the holder in its own PID namespace wrote PID $pid into the lock file"
	[[ $("$probe" lock "$work/lock") == "busy error=1" ]] || fail "QLockFile: a live holder in another PID namespace lost its lock"
	touch -d '-60 seconds' "$work/lock"
	[[ $("$probe" lock "$work/lock") == "busy error=1" ]] ||
		fail "QLockFile: a live holder's lock older than staleLockTime (30 s) was taken"
	echo "ok: a live holder in another PID namespace keeps its lock, even past staleLockTime (flock)"
	killed "$started"
	[[ $("$probe" lock "$work/lock") == locked ]] ||
		fail "QLockFile: the lock of a SIGKILLed holder in another PID namespace was not taken over"
	echo "ok: the lock of a SIGKILLed holder in another PID namespace was taken over at once"
	;;
ipc-namespace)
	if ! unshare --ipc true 2>/dev/null; then
		echo "SKIP: unshare --ipc cannot make an IPC namespace here"
		exit 77
	fi
	start creator "$probe" shm-create "$shm" 4096 9 hold
	[[ $("$probe" shm-attach "$shm") == "attached byte=9" ]] || fail "attach() in the same namespace failed"
	# QSharedMemory::NotFound is 5
	[[ $(unshare --ipc "$probe" shm-attach "$shm") == "attach failed: 5" ]] ||
		fail "a process in another IPC namespace attached the segment"
	echo "ok: a process in another IPC namespace does not find the segment (NotFound)"
	start semaphore "$probe" sem-create "${key}s" 1 hold
	if timeout 2 unshare --ipc "$probe" sem-acquire "${key}s" >/dev/null; then
		fail "a process in another IPC namespace acquired the free unit"
	fi
	echo "ok: a process in another IPC namespace does not get the semaphore's free unit (it waits on a semaphore of its own)"
	;;
*)
	fail "unknown claim $claim"
	;;
esac
