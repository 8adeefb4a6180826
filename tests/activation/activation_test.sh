#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Bus activation and idle exit: a private dbus-daemon whose only servicedir holds the
# activation file made from dbus/io.github.ipchub1.service.in (Exec= the built
# ipchubd --idle-exit=1), and no ipchubd running. The first call starts ipchubd; with
# no objects it leaves the bus after about a second; an object keeps it; the next call
# after it left brings it back.
# libipchub's first call (sd-bus) activates it as well.
# Usage: activation_test.sh ACTIVATION_FILE VERSION LIBIPCHUB_CLIENT
source "$(dirname "$0")/../lib/bus.sh"

(($# == 3)) || fail "usage: activation_test.sh ACTIVATION_FILE VERSION LIBIPCHUB_CLIENT"
activation_file=$1
version=$2
libipchub_client=$3

grep -q '^Exec=.*/ipchubd --idle-exit=1$' "$activation_file" ||
	fail "$activation_file does not start ipchubd with --idle-exit=1"
mkdir "$IPCHUB_TEST_TMP/services"
cp "$activation_file" "$IPCHUB_TEST_TMP/services/"
cat >"$IPCHUB_TEST_TMP/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <!-- "session": activated services get DBUS_SESSION_BUS_ADDRESS -->
  <type>session</type>
  <listen>unix:tmpdir=$IPCHUB_TEST_TMP</listen>
  <servicedir>$IPCHUB_TEST_TMP/services</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF
startBus "$IPCHUB_TEST_TMP/bus.conf"

now() { date +%s.%N; }
# elapsed FROM: seconds since FROM, as a decimal.
elapsed() { awk -v to="$(now)" -v from="$1" 'BEGIN { printf "%.3f", to - from }'; }
notOwned() { ! nameOwned; }
gone() { [[ ! -d /proc/$1 ]] || [[ $(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) == Z ]]; }
manager()
{
	gdbus call --session --dest "$IPCHUB_BUS_NAME" --object-path /io/github/ipchub1 "$@"
}

nameOwned && fail "$IPCHUB_BUS_NAME is owned before any call"
[[ $(busCall ListActivatableNames) == *"'$IPCHUB_BUS_NAME'"* ]] ||
	fail "the bus does not list $IPCHUB_BUS_NAME as activatable"

# ---- the first call starts it
started=$(now)
reply=$(manager --method org.freedesktop.DBus.Properties.Get io.github.ipchub1.Manager Version) ||
	fail "the first call did not activate ipchubd"
[[ $reply == "(<'$version'>,)" ]] || fail "Version is $reply, not $version"
first_pid=$(busOwnerPid) || fail "nobody owns $IPCHUB_BUS_NAME after the first call"
echo "activated by the first call: ipchubd PID $first_pid"

# ---- idle with no objects: it leaves the bus and ends, about a second after it started
waitUntil 10 notOwned || fail "ipchubd --idle-exit=1 still owns the name after 10 s with no objects"
idle_for=$(elapsed "$started")
awk -v s="$idle_for" 'BEGIN { exit !(s >= 1) }' || fail "ipchubd left the bus after $idle_for s, before its 1 s idle time"
waitUntil 10 gone "$first_pid" || fail "ipchubd (PID $first_pid) left the bus but did not end"
echo "left the bus $idle_for s after the first call, and ended"

# ---- the next call brings it back; an object keeps it there
reply=$(manager --method io.github.ipchub1.Manager.CreateSemaphore kept 1 "{'persistent': <true>}") ||
	fail "the call after the idle exit did not activate ipchubd again"
[[ $reply == "(objectpath '/io/github/ipchub1/semaphore/kept',)" ]] || fail "CreateSemaphore replied $reply"
second_pid=$(busOwnerPid) || fail "nobody owns $IPCHUB_BUS_NAME after CreateSemaphore"
[[ $second_pid != "$first_pid" ]] || fail "the same ipchubd answered after it left"
echo "activated again by CreateSemaphore: PID $second_pid"

# Not an ordering wait: an observation window, three idle times long, in which an
# ipchubd that ignored its object would leave.
sleep 3
nameOwned || fail "ipchubd left the bus while the persistent semaphore 'kept' existed"
[[ $(busOwnerPid) == "$second_pid" ]] || fail "another ipchubd owns the name"
echo "stayed 3 s while the semaphore existed"

removed=$(now)
manager --method io.github.ipchub1.Manager.Remove /io/github/ipchub1/semaphore/kept >/dev/null ||
	fail "Remove failed"
waitUntil 10 notOwned || fail "ipchubd still owns the name 10 s after its last object went"
echo "left the bus $(elapsed "$removed") s after its last object was removed"
waitUntil 10 gone "$second_pid" || fail "ipchubd (PID $second_pid) left the bus but did not end"

# ---- a libipchub client (sd-bus) starts it too
nameOwned && fail "$IPCHUB_BUS_NAME is owned before the libipchub client runs"
output=$("$libipchub_client") || fail "the libipchub client did not activate ipchubd"
[[ $output == "/io/github/ipchub1/semaphore/outside value 1" ]] || fail "the libipchub client printed '$output'"
echo "activated by libipchub's createSemaphore: $output"
