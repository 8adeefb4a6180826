#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# ipchubd as a desktop session runs it: the shipped user unit and activation file,
# installed for a test user, under a real `systemd --user` and its session bus
# (dbus-daemon or dbus-broker). Through the real bus and the real service manager:
#   - bus activation starts ipchubd.service; with no objects it exits (idle), cleanly;
#   - `systemctl --user kill -s KILL ipchubd` brings every persistent object back: a
#     semaphore's value, a lock with its holder, a shared-memory object's bytes; a persistent lock's
#     fencing token never goes back nor repeats, kill after kill;
#   - kills in a row (more than systemd's default start limit, 5 in 10 s) leave the unit
#     running with its store, not failed and emptied;
#   - a store of more descriptors than a service's default limit (1024) comes back;
#   - removing the last object lets it exit; the next call activates it again;
#   - with a small store (a drop-in: FileDescriptorStoreMax=8, --fd-store-max=8) filled
#     with persistent shared-memory objects, a kill restarts it with every shared-memory object back, and one
#     more is refused with LimitExceeded naming the limit; systemd never closes one;
#   - a command line ipchubd refuses fails the unit instead of restarting it forever.
# Prints "measure: ..." lines: activation time, time from KILL to state back, restarts.
# Usage: session_test.sh BUS UNIT_FILE ACTIVATION_FILE IPCHUBD VERSION
# (BUS: dbus-daemon or dbus-broker; UNIT_FILE and ACTIVATION_FILE: the configured ones
# of the build, whose paths to ipchubd are rewritten to a copy of IPCHUBD). Root;
# exits 77 where the machine cannot run a user manager, saying why.
# shellcheck source=user_session.sh
source "$(dirname "$0")/user_session.sh"

(($# == 5)) || fail "usage: session_test.sh BUS UNIT_FILE ACTIVATION_FILE IPCHUBD VERSION"
bus=$1
unit_file=$2
activation_file=$3
ipchubd=$4
version=$5
readonly BUS_NAME=io.github.ipchub1
readonly MANAGER=/io/github/ipchub1
readonly IDLE_EXIT=2
# Debian's python3 with python3-gi, as the build found it.
readonly PYTHON=${IPCHUB_PYTHON_GI:-/usr/bin/python3}

sessionPrepare "$bus"

# ---- install: ipchubd staged where the test user can run it, the build's unit and
# activation file pointing at it, in the user's own unit and services dirs
stage=$SESSION_TMP/libexec
install -d -m 755 "$stage"
install -m 755 "$ipchubd" "$stage/ipchubd"
install -m 644 "$SESSION_HERE/client.py" "$stage/client.py"
readonly CLIENT=$stage/client.py
units=$SESSION_HOME/.config/systemd/user
sed -E "s|^ExecStart=[^ ]*/ipchubd --idle-exit=[0-9]+ |ExecStart=$stage/ipchubd --idle-exit=$IDLE_EXIT |" \
	"$unit_file" >"$units/ipchubd.service"
grep -q "^ExecStart=$stage/ipchubd --idle-exit=$IDLE_EXIT --fd-store-max=4096$" "$units/ipchubd.service" ||
	fail "$unit_file: no ExecStart= line of ipchubd --idle-exit=N --fd-store-max=4096 to point at the build"
sed -E "s|^Exec=[^ ]*/ipchubd --idle-exit=[0-9]+$|Exec=$stage/ipchubd --idle-exit=$IDLE_EXIT|" \
	"$activation_file" >"$SESSION_HOME/.local/share/dbus-1/services/$BUS_NAME.service"
grep -q "^Exec=$stage/ipchubd --idle-exit=$IDLE_EXIT$" "$SESSION_HOME/.local/share/dbus-1/services/$BUS_NAME.service" ||
	fail "$activation_file: no Exec= line of ipchubd --idle-exit=N to point at the build"
grep -q '^SystemdService=ipchubd.service$' "$activation_file" ||
	fail "$activation_file does not name ipchubd.service"

# Under AddressSanitizer, LeakSanitizer's check at exit needs ptrace, which the unit's
# SystemCallFilter= refuses (the exit then fails): leaks are the integration tests'
# to find; here the rest of the sanitizers stay on.
if [[ ${IPCHUB_SANITIZE:-none} == *address* ]]; then
	mkdir -p "$units/ipchubd.service.d"
	printf '[Service]\nEnvironment=ASAN_OPTIONS=detect_leaks=0\n' >"$units/ipchubd.service.d/sanitizer.conf"
fi

sessionLaunch

# ---- helpers: every call bounded
nowMs() { echo $(($(date +%s%N) / 1000000)); }
gcall()
{
	asUser timeout 30 gdbus call --session --timeout 20 --dest "$BUS_NAME" "$@"
}
manager() { gcall --object-path "$MANAGER" --method "$BUS_NAME.Manager.$1" "${@:2}"; }
# property PATH INTERFACE NAME
property() { gcall --object-path "$1" --method org.freedesktop.DBus.Properties.Get "$BUS_NAME.$2" "$3"; }
busCall()
{
	asUser timeout 10 gdbus call --session --timeout 5 --dest org.freedesktop.DBus \
		--object-path /org/freedesktop/DBus --method "org.freedesktop.DBus.$1" "${@:2}"
}
nameOwned() { [[ $(busCall NameHasOwner "$BUS_NAME") == "(true,)" ]]; }
nameFree() { [[ $(busCall NameHasOwner "$BUS_NAME") == "(false,)" ]]; }
ownerPid()
{
	local reply
	reply=$(busCall GetConnectionUnixProcessID "$BUS_NAME") || return 1
	reply=${reply#"(uint32 "}
	echo "${reply%",)"}"
}
unit() { asUser timeout 10 systemctl --user "$@"; }
unitProperty() { unit show -P "$1" ipchubd.service; }
# A clean idle exit leaves the unit inactive with Result=success: not failed, no restart.
unitStopped()
{
	[[ $(unitProperty ActiveState) == inactive ]] && nameFree
}
# Back after a kill: another main PID, active (Type=dbus: the name is owned).
restartedFrom()
{
	local pid
	pid=$(unitProperty MainPID) || return 1
	[[ $pid != 0 && $pid != "$1" && $(unitProperty ActiveState) == active ]] && nameOwned
}
killIpchubd()
{
	unit kill -s KILL ipchubd.service || fail "systemctl --user kill -s KILL ipchubd failed"
}
# The string of a gdbus reply "(<'x'>,)", the number of "(<uint32 3>,)" or "(<3>,)".
replyValue()
{
	sed -E "s/^\(<(uint32 |uint64 )?'?([^'>]*)'?>,\)$/\2/" <<<"$1"
}

# ---- bus activation, and the idle exit with no objects
nameOwned && fail "$BUS_NAME is owned before any call"
[[ $(busCall ListActivatableNames) == *"'$BUS_NAME'"* ]] ||
	fail "the $bus does not list $BUS_NAME as activatable"
started=$(nowMs)
reply=$(property "$MANAGER" Manager Version) || fail "the first call did not activate ipchubd"
activation_ms=$(($(nowMs) - started))
[[ $(replyValue "$reply") == "$version" ]] || fail "Version is $reply, not $version"
[[ $(unitProperty ActiveState) == active ]] || fail "ipchubd.service is $(unitProperty ActiveState) after activation"
[[ $(ownerPid) == "$(unitProperty MainPID)" ]] ||
	fail "$BUS_NAME is owned by PID $(ownerPid), not by ipchubd.service's main PID $(unitProperty MainPID): the bus did not start it through systemd"
echo "measure: $bus: activation (first call to its reply, ipchubd.service started by the bus): $activation_ms ms"

started=$(nowMs)
waitUntil 20 unitStopped || fail "ipchubd --idle-exit=$IDLE_EXIT with no objects did not exit in 20 s (unit $(unitProperty ActiveState))"
echo "measure: $bus: idle exit, no objects: unit inactive $(($(nowMs) - started)) ms after the reply"
[[ $(unitProperty Result) == success ]] || fail "the idle exit left Result=$(unitProperty Result)"

# ---- persistent objects, made by the call that activates ipchubd again
started=$(nowMs)
reply=$(manager CreateSemaphore jobs 5 "{'persistent': <true>, 'max': <uint32 10>, 'return_on_exit': <false>}") ||
	fail "CreateSemaphore did not activate ipchubd again"
echo "measure: $bus: activation again after the idle exit: $(($(nowMs) - started)) ms"
semaphore=$(sed -E "s/^\(objectpath '(.*)',\)$/\1/" <<<"$reply")
gcall --object-path "$semaphore" --method "$BUS_NAME.Semaphore.Acquire" 2 0 >/dev/null ||
	fail "Acquire 2 on $semaphore failed"
# return_on_exit false: the 2 units are consumed, 3 stay.
semaphoreValue() { replyValue "$(property "$semaphore" Semaphore Value)"; }
[[ $(semaphoreValue) == 3 ]] || fail "the semaphore's value is $(semaphoreValue), not 3"

shm_size=$((64 * 1024 + 17))
asUser timeout 30 "$PYTHON" "$CLIENT" create-shared-memory frame "$shm_size" >/dev/null ||
	fail "cannot create the persistent shared-memory object 'frame'"

# The lock holder stays on the bus through every kill; its grant must stay its own.
holder_out=$SESSION_TMP/holder.out
"${AS_USER[@]}" "$PYTHON" "$CLIENT" hold-lock db >"$holder_out" 2>&1 &
holder=$!
sessionTrack "$holder"
waitUntil 20 test -s "$holder_out" || fail "the lock holder got no token: $(cat "$holder_out")"
holder_token=$(head -n 1 "$holder_out")
[[ $holder_token =~ ^[0-9]+$ ]] || fail "the lock holder printed '$holder_token', not a token"
lock=$(sed -E "s/^\(objectpath '(.*)',\)$/\1/" <<<"$(manager OpenLock db "{}")")
lockToken() { replyValue "$(property "$lock" Lock Token)"; }

# What must come back after each kill: the value, the bytes, the lock and its token.
checkState()
{
	local expected_token=$1
	[[ $(semaphoreValue) == 3 ]] || fail "$2: the semaphore's value is $(semaphoreValue), not 3"
	asUser timeout 30 "$PYTHON" "$CLIENT" check-shared-memory frame "$shm_size" ||
		fail "$2: the shared-memory object 'frame' lost its bytes"
	[[ $(lockToken) == "$expected_token" ]] || fail "$2: the lock's token is $(lockToken), not $expected_token"
}

# ---- one kill: the state back, measured from the kill to a call that reads it
main_pid=$(unitProperty MainPID)
restarts=$(unitProperty NRestarts)
started=$(nowMs)
killIpchubd
# A call while ipchubd is away waits in the bus for the restart (or activates it).
stateBack() { [[ $(semaphoreValue 2>/dev/null) == 3 ]]; }
waitUntil 30 stateBack || fail "the semaphore did not come back in 30 s after the kill"
kill_ms=$(($(nowMs) - started))
waitUntil 10 restartedFrom "$main_pid" || fail "ipchubd.service did not restart after the kill"
echo "measure: $bus: KILL to the semaphore's value read back: $kill_ms ms (RestartSec=$(unitProperty RestartUSec))"
(($(unitProperty NRestarts) == restarts + 1)) ||
	fail "NRestarts is $(unitProperty NRestarts) after a kill, not $((restarts + 1))"
checkState "$holder_token" "after a kill"
mode=$(replyValue "$(property "$lock" Lock Mode)")
[[ $mode == exclusive ]] || fail "the lock is '$mode' after the kill, not held exclusive by its holder still on the bus"
holders=$(property "$lock" Lock Holders)
[[ $holders == *"uint64 $holder_token"* || $holders == *", $holder_token, "* ]] ||
	fail "the lock's holders after the kill are $holders: not the holder with token $holder_token"

# The holder leaves: its grant ends; new grants go on from the last token.
kill "$holder"
wait "$holder" 2>/dev/null || true
sessionForget "$holder"
lockFree() { [[ $(replyValue "$(property "$lock" Lock Mode)") == unlocked ]]; }
waitUntil 20 lockFree || fail "the lock stayed held after its holder left the bus"

# ---- kills in a row, each as soon as ipchubd is back; a grant between each two
kills=8
last_token=$holder_token
restarts=$(unitProperty NRestarts)
restart_times=()
started=$(nowMs)
for ((i = 1; i <= kills; i++)); do
	reply=$(gcall --object-path "$lock" --method "$BUS_NAME.Lock.TryAcquire" exclusive) ||
		fail "kill $i: TryAcquire failed"
	[[ $reply =~ ^\(true,\ (uint64\ )?([0-9]+)\)$ ]] || fail "kill $i: TryAcquire replied $reply"
	token=${BASH_REMATCH[2]}
	((token > last_token)) || fail "kill $i: token $token after token $last_token: a fencing token went back or repeated"
	last_token=$token
	main_pid=$(unitProperty MainPID)
	killed=$(nowMs)
	killIpchubd
	waitUntil 30 restartedFrom "$main_pid" || fail "kill $i of $kills: ipchubd.service did not come back in 30 s ($(unitProperty ActiveState), $(unitProperty Result))"
	restart_times+=($(($(nowMs) - killed)))
done
elapsed=$(($(nowMs) - started))
echo "measure: $bus: $kills kills in $elapsed ms, each KILL to active again: ${restart_times[*]} ms; NRestarts $restarts -> $(unitProperty NRestarts)"
# systemd's default start limit fails the unit at a 6th start within 10 s.
((elapsed * 6 <= kills * 10000)) ||
	echo "note: the kills came more than 10/6 s apart: systemd's default start limit (5 in 10 s) was not put to the test"
[[ $(unitProperty ActiveState) == active ]] || fail "after $kills kills the unit is $(unitProperty ActiveState) ($(unitProperty Result))"
(($(unitProperty NRestarts) == restarts + kills)) ||
	fail "NRestarts went from $restarts to $(unitProperty NRestarts) over $kills kills"
checkState "$last_token" "after $kills kills"
reply=$(gcall --object-path "$lock" --method "$BUS_NAME.Lock.TryAcquire" exclusive)
[[ $reply =~ ^\(true,\ (uint64\ )?([0-9]+)\)$ ]] && ((BASH_REMATCH[2] > last_token)) ||
	fail "after $kills kills TryAcquire replied $reply, not a token above $last_token"

# ---- more descriptors in the store than a service's default limit (1024): they must
# all be passed back at start (LimitNOFILE=)
many=1100
asUser timeout 120 "$PYTHON" "$CLIENT" create-shared-memories many "$many" 4096 ||
	fail "cannot create $many persistent shared-memory objects"
main_pid=$(unitProperty MainPID)
started=$(nowMs)
killIpchubd
waitUntil 60 restartedFrom "$main_pid" ||
	fail "ipchubd.service did not restart with $many shared-memory objects in its store ($(unitProperty ActiveState), $(unitProperty Result))"
echo "measure: $bus: KILL with $((many + 2)) descriptors in the store to active again: $(($(nowMs) - started)) ms"
asUser timeout 120 "$PYTHON" "$CLIENT" check-shared-memories many "$many" 4096 ||
	fail "the $many shared-memory objects did not all come back"
checkState "$(lockToken)" "after a restart with $many shared-memory objects"
asUser timeout 120 "$PYTHON" "$CLIENT" remove-shared-memories many "$many" || fail "cannot remove the $many shared-memory objects"

# ---- the last object removed: ipchubd exits, and the next call activates it again
for path in "$semaphore" "$lock" "$(sed -E "s/^\(objectpath '(.*)',\)$/\1/" <<<"$(manager OpenSharedMemory frame "{}")")"; do
	manager Remove "$path" >/dev/null || fail "Remove $path failed"
done
started=$(nowMs)
waitUntil 20 unitStopped || fail "ipchubd did not exit in 20 s after its last object was removed (unit $(unitProperty ActiveState))"
echo "measure: $bus: idle exit after the last Remove: unit inactive in $(($(nowMs) - started)) ms"
[[ $(unitProperty Result) == success ]] || fail "the idle exit left Result=$(unitProperty Result)"
started=$(nowMs)
if reply=$(manager OpenSemaphore jobs "{}" 2>&1); then
	fail "OpenSemaphore found the removed semaphore: $reply"
fi
[[ $reply == *"$BUS_NAME.Error.NotFound"* ]] || fail "OpenSemaphore of the removed semaphore: $reply"
echo "measure: $bus: activation again by a call (NotFound): $(($(nowMs) - started)) ms"
nameOwned || fail "the call after the idle exit did not activate ipchubd"
waitUntil 20 unitStopped || fail "the reactivated ipchubd with no objects did not exit again"

# ---- a small fd store, full: restart with it full; one more is refused
store_max=8
mkdir -p "$units/ipchubd.service.d"
cat >"$units/ipchubd.service.d/store.conf" <<CONF
[Service]
FileDescriptorStoreMax=$store_max
ExecStart=
ExecStart=$stage/ipchubd --idle-exit=$IDLE_EXIT --fd-store-max=$store_max
CONF
chown -R "$SESSION_UID:$SESSION_GID" "$units/ipchubd.service.d"
unit daemon-reload || fail "daemon-reload failed"
# The records' memfd takes a place, and one is kept free for its move at start.
expected=$((store_max - 2))
created=0
for ((i = 0; i <= store_max; i++)); do
	out=$(asUser timeout 30 "$PYTHON" "$CLIENT" create-shared-memory "full$i" 4096) && {
		created=$((created + 1))
		continue
	}
	[[ $out == "ERROR $BUS_NAME.Error.LimitExceeded: "*"fd_store_max is $store_max"* ]] ||
		fail "shared-memory object $i in a store of $store_max: $out"
	break
done
((created == expected)) || fail "$created persistent shared-memory objects fit in a store of $store_max, not $expected"
echo "full store: $created persistent shared-memory objects, then: ${out#ERROR }"
main_pid=$(unitProperty MainPID)
started=$(nowMs)
killIpchubd
waitUntil 30 restartedFrom "$main_pid" || fail "ipchubd.service did not restart with its store full ($(unitProperty ActiveState), $(unitProperty Result))"
echo "measure: $bus: KILL with a full store ($store_max) to active again: $(($(nowMs) - started)) ms"
for ((i = 0; i < created; i++)); do
	asUser timeout 30 "$PYTHON" "$CLIENT" check-shared-memory "full$i" 4096 || fail "shared-memory object full$i did not come back whole from a full store"
done
out=$(asUser timeout 30 "$PYTHON" "$CLIENT" create-shared-memory "full$created" 4096) &&
	fail "one more persistent shared-memory object was taken after the restart with the store full"
[[ $out == "ERROR $BUS_NAME.Error.LimitExceeded: "*"fd_store_max is $store_max"* ]] ||
	fail "one more shared-memory object after the restart: $out"
if sessionLog | grep -E 'Cannot store more fds|closing remaining|Failed to shift fd'; then
	fail "systemd closed or could not pass back descriptors of the store"
fi
# ---- a command line ipchubd refuses (exit status 2): the unit fails at once rather
# than restarting twice a second below its start limit
cat >"$units/ipchubd.service.d/store.conf" <<CONF
[Service]
ExecStart=
ExecStart=$stage/ipchubd --idle-exit=$IDLE_EXIT --no-such-option
CONF
unit daemon-reload || fail "daemon-reload failed"
unit restart ipchubd.service 2>/dev/null && fail "ipchubd started with --no-such-option"
unitFailed() { [[ $(unitProperty ActiveState) == failed ]]; }
waitUntil 10 unitFailed || fail "with a refused command line the unit is $(unitProperty ActiveState), not failed"
# An observation window of several RestartSec= spacings in which a restart would come.
sleep 2
# (A start by hand counts its restarts from 0.)
[[ $(unitProperty ActiveState) == failed && $(unitProperty NRestarts) == 0 ]] ||
	fail "with a refused command line the unit restarted: $(unitProperty ActiveState), NRestarts $(unitProperty NRestarts)"

echo "PASS: $bus: activation, kills, the full store, idle exit"
