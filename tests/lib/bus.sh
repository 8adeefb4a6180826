# SPDX-License-Identifier: LGPL-2.1-or-later
# Shell helpers of the script tests: a private dbus-daemon, the real ipchubd on it,
# bounded waits. Source it; it sets errexit and cleans up what it started on exit.
# shellcheck shell=bash

set -euo pipefail

readonly IPCHUB_BUS_NAME=io.github.ipchub1
IPCHUB_TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ipchub-test.XXXXXX")
TEST_BUS_PID=
TEST_IPCHUBD_PID=

testCleanup()
{
	local status=$?
	if [[ -n $TEST_IPCHUBD_PID ]]; then
		kill -TERM "$TEST_IPCHUBD_PID" 2>/dev/null || true
		wait "$TEST_IPCHUBD_PID" 2>/dev/null || true
	fi
	# An ipchubd the bus activated is the bus's child: killing the bus does not end it.
	if [[ -n $TEST_BUS_PID ]]; then
		local owner
		owner=$(busOwnerPid 2>/dev/null) && kill -TERM "$owner" 2>/dev/null || true
		kill -TERM "$TEST_BUS_PID" 2>/dev/null || true
	fi
	rm -rf "$IPCHUB_TEST_TMP"
	exit "$status"
}
trap testCleanup EXIT

# shellcheck source=wait.sh
. "$(dirname "${BASH_SOURCE[0]}")/wait.sh"

# startBus [CONFIG]: a private dbus-daemon (the session configuration unless CONFIG);
# exports DBUS_SESSION_BUS_ADDRESS.
startBus()
{
	local config=(--session)
	[[ $# -gt 0 ]] && config=(--config-file="$1")
	dbus-daemon "${config[@]}" --fork --nopidfile --print-address=3 --print-pid=4 \
		3>"$IPCHUB_TEST_TMP/bus.address" 4>"$IPCHUB_TEST_TMP/bus.pid" </dev/null ||
		fail "cannot start dbus-daemon"
	TEST_BUS_PID=$(head -n 1 "$IPCHUB_TEST_TMP/bus.pid")
	DBUS_SESSION_BUS_ADDRESS=$(head -n 1 "$IPCHUB_TEST_TMP/bus.address")
	export DBUS_SESSION_BUS_ADDRESS
	unset DBUS_STARTER_ADDRESS DBUS_STARTER_BUS_TYPE
}

busCall()
{
	gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
		--method "org.freedesktop.DBus.$1" "${@:2}"
}

# Whether somebody owns io.github.ipchub1, without activating it.
nameOwned()
{
	[[ $(busCall NameHasOwner "$IPCHUB_BUS_NAME") == "(true,)" ]]
}

# The PID of the name's owner.
busOwnerPid()
{
	local reply
	reply=$(busCall GetConnectionUnixProcessID "$IPCHUB_BUS_NAME" 2>/dev/null) || return 1
	reply=${reply#"(uint32 "}
	echo "${reply%",)"}"
}

# startIpchubd IPCHUBD [ARGS...]: the daemon on the private bus, its stderr in
# $IPCHUB_TEST_TMP/ipchubd.log; returns once it owns the name.
startIpchubd()
{
	"$@" </dev/null 2>"$IPCHUB_TEST_TMP/ipchubd.log" &
	TEST_IPCHUBD_PID=$!
	if ! waitUntil 10 nameOwned; then
		cat "$IPCHUB_TEST_TMP/ipchubd.log" >&2
		fail "$1 did not take $IPCHUB_BUS_NAME"
	fi
}

# stopIpchubd: SIGTERM, then its exit status in $IPCHUBD_STATUS.
stopIpchubd()
{
	IPCHUBD_STATUS=0
	kill -TERM "$TEST_IPCHUBD_PID"
	wait "$TEST_IPCHUBD_PID" || IPCHUBD_STATUS=$?
	TEST_IPCHUBD_PID=
}
