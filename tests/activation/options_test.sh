#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# ipchubd's command line: --help, --version, --verbose, and bad options ending it with
# status 2 before it touches the bus.
# Usage: options_test.sh IPCHUBD VERSION
source "$(dirname "$0")/../lib/bus.sh"

(($# == 2)) || fail "usage: options_test.sh IPCHUBD VERSION"
ipchubd=$1
version=$2

# runIpchubd ARGS...: status, stdout and stderr in $status, $out, $err. No bus: an
# ipchubd that got past its options would fail to connect, with status 1.
runIpchubd()
{
	status=0
	DBUS_SESSION_BUS_ADDRESS=unix:path=$IPCHUB_TEST_TMP/no-bus timeout 10 "$ipchubd" "$@" \
		>"$IPCHUB_TEST_TMP/out" 2>"$IPCHUB_TEST_TMP/err" </dev/null || status=$?
	out=$(cat "$IPCHUB_TEST_TMP/out")
	err=$(cat "$IPCHUB_TEST_TMP/err")
}

for help in --help -h; do
	runIpchubd "$help"
	((status == 0)) || fail "ipchubd $help: status $status"
	[[ -z $err ]] || fail "ipchubd $help wrote to stderr: $err"
	[[ $out == "Usage: ipchubd [OPTION]..."* ]] || fail "ipchubd $help: $out"
	for option in --help --version --verbose --idle-exit=SECONDS --objects-per-connection=N \
		--waits-per-connection=N --waiters-per-object=N --segment-size=BYTES \
		--bytes-per-connection=BYTES --interested-peers-per-object=N \
		--interests-per-connection=N --unread-signals-per-connection=N \
		--grants-per-connection=N --grants-total=N \
		--handles-per-connection=N --handles-total=N --descriptor-reserve=N \
		--objects-per-uid=N --objects-per-app=N --waits-per-uid=N \
		--waits-per-app=N --grants-per-uid=N --grants-per-app=N --bytes-per-uid=BYTES \
		--bytes-per-app=BYTES --persistent-objects-per-uid=N --persistent-objects-per-app=N \
		--persistent-bytes-per-uid=BYTES --persistent-bytes-per-app=BYTES --state-bytes=BYTES \
		--fd-store-max=N; do
		grep -qF -- "$option" <<<"$out" || fail "ipchubd $help does not mention $option"
	done
done

runIpchubd --version
((status == 0)) || fail "ipchubd --version: status $status"
[[ $out == "ipchubd $version" ]] || fail "ipchubd --version printed '$out', not 'ipchubd $version'"

for bad in --bogus -x --idle-exit --idle-exit=soon --idle-exit=-1 --idle-exit=4294967296 \
	--objects-per-connection=0 --waits-per-connection=ten --waiters-per-object=4294967296 \
	--segment-size=1X --segment-size=0 --bytes-per-connection= --handles-total=0 \
	--handles-per-connection=-1 --descriptor-reserve=many \
	--objects-per-uid=0 \
	--grants-per-app=4294967296 --bytes-per-app=1X --state-bytes=129M --fd-store-max=0 \
	an-argument; do
	runIpchubd "$bad"
	((status == 2)) || fail "ipchubd $bad: status $status, not 2 (stderr: $err)"
	[[ -z $out ]] || fail "ipchubd $bad wrote to stdout: $out"
	[[ $err == *"Try 'ipchubd --help'." ]] || fail "ipchubd $bad: stderr does not point at --help: $err"
done
# The message names the option and the value.
runIpchubd --segment-size=1X
[[ $err == "ipchubd: --segment-size=1X: "* ]] || fail "the message does not name --segment-size=1X: $err"

# Good values are taken: the daemon gets as far as the bus, which is not there.
runIpchubd --idle-exit=0 --segment-size=64K --bytes-per-connection=1G --objects-per-connection=5 \
	--handles-per-connection=8 --descriptor-reserve=0 \
	--objects-per-app=7 --state-bytes=128M --persistent-bytes-per-uid=2G
((status == 1)) || fail "ipchubd with good options and no bus: status $status, not 1 (stderr: $err)"

# --verbose logs a client that leaves holding objects; without it, nothing.
startBus
for verbose in "" --verbose -v; do
	startIpchubd "$ipchubd" ${verbose:+"$verbose"}
	gdbus call --session --dest "$IPCHUB_BUS_NAME" --object-path /io/github/ipchub1 \
		--method io.github.ipchub1.Manager.CreateSemaphore held 1 "{}" >/dev/null ||
		fail "CreateSemaphore failed"
	# gdbus left holding "held"; a second call is served after ipchubd saw it go.
	logged() { grep -q " left the bus; giving back what it held" "$IPCHUB_TEST_TMP/ipchubd.log"; }
	if [[ -n $verbose ]]; then
		waitUntil 10 logged || fail "ipchubd $verbose did not log the client that left: $(cat "$IPCHUB_TEST_TMP/ipchubd.log")"
	else
		# The semaphore's end shows ipchubd handled the departure; only then is the
		# log's silence meaningful.
		semaphoreGone()
		{
			! gdbus call --session --dest "$IPCHUB_BUS_NAME" --object-path /io/github/ipchub1/semaphore/held \
				--method org.freedesktop.DBus.Properties.Get io.github.ipchub1.Semaphore Key >/dev/null 2>&1
		}
		waitUntil 10 semaphoreGone || fail "the semaphore outlived its only client"
		! logged || fail "ipchubd without --verbose logged the client that left"
	fi
	stopIpchubd
	((IPCHUBD_STATUS == 0)) || fail "ipchubd $verbose: SIGTERM status $IPCHUBD_STATUS"
done
echo "ok: --help, --version, --verbose, good and bad options"
