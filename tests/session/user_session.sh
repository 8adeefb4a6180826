# SPDX-License-Identifier: LGPL-2.1-or-later
# A desktop session's service side for the session tests, on a machine that need not
# have booted with systemd: a real `systemd --user` manager for a test user, and its
# session bus (dbus-daemon or dbus-broker) started by socket activation as on a
# desktop. Source it; it sets errexit and undoes everything it made on exit.
#
#   sessionPrepare BUS    the user and its home (BUS: dbus-daemon or dbus-broker), or
#                         exit 77 saying why this machine cannot run it; then put the
#                         units and activation files to test in $SESSION_HOME
#   sessionLaunch         start the manager, and through it the bus
#   asUser CMD...         run CMD as the test user, in the session ("${AS_USER[@]}"
#                         CMD... & to start it in the background)
#   sessionLog            the manager's and its services' log
#   sessionTrack PID      a process of the test's to kill at exit (sessionForget PID
#                         once the test has ended and reaped it)
#
# The test user is a system account made for the run (dbus-daemon admits only a UID
# with an account) and removed after it. Its home, runtime dir and units live in a
# temporary directory, so its units and activation files are seen by nothing else on
# the machine.
#
# How: systemd --user refuses to run unless /run/systemd/system exists (sd_booted), so
# it runs in a private mount namespace where a directory of ours is mounted on
# /run/systemd; it gets a cgroup of its own in every hierarchy, owned by the user; no
# journald runs, so journal.py takes the manager's and services' log.
# shellcheck shell=bash

set -euo pipefail

SESSION_HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
readonly SESSION_HERE
# Each bounded wait of the harness, in seconds.
readonly SESSION_WAIT=${SESSION_WAIT:-30}

SESSION_TMP=
SESSION_USER=
SESSION_USER_MADE=
SESSION_UID=
SESSION_GID=
SESSION_HOME=
SESSION_RUNTIME=
SESSION_MANAGER_PID=
SESSION_JOURNAL_PID=
SESSION_CGROUPS=()
SESSION_PIDS=()
SESSION_BUS=

skip()
{
	echo "SKIP: $*"
	exit 77
}

# shellcheck source=../lib/wait.sh
. "$SESSION_HERE/../lib/wait.sh"

# Every process of the manager's cgroups (the manager, the bus, ipchubd, what they
# started), killed; then the cgroups removed. Bounded: a process that does not die
# of SIGKILL in 5 s is reported and left.
killCgroups()
{
	local cgroup pids
	local deadline=$((SECONDS + 5))
	for cgroup in "${SESSION_CGROUPS[@]}"; do
		while [[ -d $cgroup ]]; do
			pids=$(find "$cgroup" -name cgroup.procs -exec cat {} + 2>/dev/null || true)
			[[ -z $pids ]] && break
			# shellcheck disable=SC2086
			kill -KILL $pids 2>/dev/null || true
			if ((SECONDS >= deadline)); then
				echo "session: processes $pids of $cgroup outlive SIGKILL" >&2
				break
			fi
			sleep 0.05
		done
		if [[ -d $cgroup ]]; then
			find "$cgroup" -depth -type d -exec rmdir {} + 2>/dev/null || true
		fi
	done
}

sessionCleanup()
{
	local status=$?
	set +e
	if [[ $status != 0 && $status != 77 && -n $SESSION_TMP && -f $SESSION_TMP/journal.log ]]; then
		echo "---- the session's log (manager, bus, ipchubd)" >&2
		tail -n 150 "$SESSION_TMP/journal.log" >&2
		[[ -s $SESSION_TMP/manager.out ]] && { echo "---- the manager's output" >&2; cat "$SESSION_TMP/manager.out" >&2; }
	fi
	local pid
	for pid in "${SESSION_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [[ -n $SESSION_MANAGER_PID ]]; then
		# As at logout: the manager stops its units, then itself.
		kill -TERM "$SESSION_MANAGER_PID" 2>/dev/null
		waitUntil 5 processGone "$SESSION_MANAGER_PID"
	fi
	killCgroups
	[[ -n $SESSION_MANAGER_PID ]] && wait "$SESSION_MANAGER_PID" 2>/dev/null
	# The account is this run's alone: whatever still runs as it is a test's leftover.
	if [[ -n $SESSION_UID ]] && pgrep -U "$SESSION_UID" >/dev/null; then
		echo "session: left running as $SESSION_USER: $(pgrep -a -U "$SESSION_UID" | tr '\n' ';')" >&2
		pkill -KILL -U "$SESSION_UID"
		waitUntil 5 userGone
		((status != 0)) || status=1
	fi
	if [[ -n $SESSION_JOURNAL_PID ]]; then
		kill -TERM "$SESSION_JOURNAL_PID" 2>/dev/null
		wait "$SESSION_JOURNAL_PID" 2>/dev/null
	fi
	# The mount on /run/systemd lived in the manager's namespace, gone with it.
	[[ -n $SESSION_TMP ]] && rm -rf "$SESSION_TMP"
	[[ -n $SESSION_USER_MADE ]] && { userdel "$SESSION_USER" || echo "session: userdel $SESSION_USER failed" >&2; }
	exit "$status"
}
trap sessionCleanup EXIT
# A test stopped by meson's timeout (SIGTERM) or ^C still cleans up.
trap 'exit 1' TERM INT HUP

userGone()
{
	! pgrep -U "$SESSION_UID" >/dev/null
}

processGone()
{
	[[ ! -d /proc/$1 ]] || [[ $(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) == Z ]]
}

# A test account of our own, ipchub-session-N: the first N whose lock is free (held on
# fd 9 until this shell ends, so parallel runs never share one), made now unless a run
# killed outright left it, and removed at exit.
claimUser()
{
	local dir=/run/lock n
	[[ -d $dir && -w $dir ]] || dir=/tmp
	for n in {0..7}; do
		exec 9>"$dir/ipchub-session-$n.lock"
		if flock -n 9; then
			SESSION_USER=ipchub-session-$n
			getent passwd "$SESSION_USER" >/dev/null ||
				useradd --system --user-group --no-create-home --home-dir /nonexistent \
					--shell /usr/sbin/nologin --comment "ipchub session tests" "$SESSION_USER" ||
				fail "useradd $SESSION_USER failed"
			SESSION_USER_MADE=1
			SESSION_UID=$(id -u "$SESSION_USER")
			SESSION_GID=$(id -g "$SESSION_USER")
			return 0
		fi
		exec 9>&-
	done
	return 1
}

# Whether this machine can run a user manager the way sessionStart does; skips with
# the reason when it cannot.
checkMachine()
{
	local bus=$1
	((EUID == 0)) || skip "needs root: it runs a systemd --user manager for a test account, in a mount namespace of its own"
	[[ -x /lib/systemd/systemd ]] || skip "systemd is not installed (/lib/systemd/systemd)"
	case $bus in
	dbus-daemon)
		[[ -f /usr/lib/systemd/user/dbus.service ]] ||
			skip "dbus-user-session is not installed (no user unit dbus.service)"
		;;
	dbus-broker)
		[[ -f /usr/lib/systemd/user/dbus-broker.service ]] ||
			skip "dbus-broker is not installed (Debian package dbus-broker)"
		;;
	*) fail "unknown bus '$bus'" ;;
	esac
	local tool
	for tool in setpriv unshare flock systemctl python3 gdbus; do
		command -v "$tool" >/dev/null || skip "$tool is not installed"
	done
	[[ -d /run/systemd ]] || skip "no /run/systemd to mount the manager's own over"
	unshare -m --propagation private true 2>/dev/null ||
		skip "cannot make a mount namespace here (unshare -m failed: a chroot or a restricted container)"
	[[ -d /sys/fs/cgroup ]] && mountpoint -q /sys/fs/cgroup ||
		skip "no cgroup file system mounted at /sys/fs/cgroup (a chroot?)"
}

# The manager's cgroup in each hierarchy systemd uses: name=systemd and the unified
# one on a hybrid layout, else the unified one alone.
makeCgroups()
{
	local hierarchy cgroup
	for hierarchy in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified /sys/fs/cgroup; do
		[[ -d $hierarchy ]] || continue
		case $(stat -f -c %T "$hierarchy") in
		cgroupfs | cgroup2fs) SESSION_CGROUPS+=("$hierarchy/$SESSION_USER") ;;
		esac
		# A unified hierarchy at /sys/fs/cgroup is the only one.
		[[ $hierarchy == /sys/fs/cgroup/unified && ${#SESSION_CGROUPS[@]} -gt 0 ]] && break
	done
	((${#SESSION_CGROUPS[@]} > 0)) || return 1
	# What a run killed outright left behind: this UID's lock is ours now.
	killCgroups
	for cgroup in "${SESSION_CGROUPS[@]}"; do
		mkdir "$cgroup" 2>/dev/null || return 1
		chown -R "$SESSION_UID:$SESSION_GID" "$cgroup" || return 1
	done
}

# The command that runs what follows it as the user, in the session: "${AS_USER[@]}"
# CMD... & gives the PID of CMD itself.
AS_USER=()
setAsUser()
{
	AS_USER=(setpriv --reuid "$SESSION_UID" --regid "$SESSION_GID" --init-groups
		env -i HOME="$SESSION_HOME" USER="$SESSION_USER" LOGNAME="$SESSION_USER"
		XDG_RUNTIME_DIR="$SESSION_RUNTIME" XDG_CONFIG_HOME="$SESSION_HOME/.config"
		XDG_DATA_HOME="$SESSION_HOME/.local/share"
		DBUS_SESSION_BUS_ADDRESS="unix:path=$SESSION_RUNTIME/bus"
		PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8)
}

asUser()
{
	"${AS_USER[@]}" "$@"
}

sessionTrack()
{
	SESSION_PIDS+=("$1")
}

sessionForget()
{
	local pid kept=()
	for pid in "${SESSION_PIDS[@]}"; do
		[[ $pid == "$1" ]] || kept+=("$pid")
	done
	SESSION_PIDS=("${kept[@]}")
}

sessionLog()
{
	cat "$SESSION_TMP/journal.log"
}

managerUp()
{
	[[ -S $SESSION_RUNTIME/bus ]] || return 1
	processGone "$SESSION_MANAGER_PID" && fail "the user manager ended at start; its output: $(cat "$SESSION_TMP/manager.out")"
	# (is-system-running says "offline" outside a systemd boot, whatever the manager's state)
	asUser timeout 5 systemctl --user is-active --quiet default.target
}

sessionPrepare()
{
	local bus=$1
	checkMachine "$bus"
	command -v useradd >/dev/null || skip "useradd is not installed (package passwd)"
	claimUser || fail "all the test accounts ipchub-session-0..7 are in use"
	SESSION_TMP=$(mktemp -d /tmp/ipchub-session.XXXXXX)
	# The user walks through it to its home and runtime dir.
	chmod 755 "$SESSION_TMP"
	SESSION_HOME=$SESSION_TMP/home
	SESSION_RUNTIME=$SESSION_TMP/runtime
	mkdir -p "$SESSION_HOME/.config/systemd/user" "$SESSION_HOME/.local/share/dbus-1/services" \
		"$SESSION_RUNTIME" "$SESSION_TMP/run-systemd/system" "$SESSION_TMP/run-systemd/journal"
	chmod 700 "$SESSION_RUNTIME"

	# Which bus the user's dbus.service is: the user's own units win over /etc's.
	if [[ $bus == dbus-broker ]]; then
		ln -s /usr/lib/systemd/user/dbus-broker.service "$SESSION_HOME/.config/systemd/user/dbus.service"
	else
		cp /usr/lib/systemd/user/dbus.service "$SESSION_HOME/.config/systemd/user/dbus.service"
	fi
	chown -R -h "$SESSION_UID:$SESSION_GID" "$SESSION_HOME" "$SESSION_RUNTIME"

	makeCgroups || skip "cannot make a cgroup for the user manager under /sys/fs/cgroup (read-only, or a container without cgroup delegation)"
	SESSION_BUS=$bus
	setAsUser
}

sessionLaunch()
{
	chown -R -h "$SESSION_UID:$SESSION_GID" "$SESSION_HOME"

	python3 "$SESSION_HERE/journal.py" "$SESSION_TMP/run-systemd/journal" "$SESSION_TMP/journal.log" \
		>"$SESSION_TMP/journal.out" 2>&1 9>&- &
	SESSION_JOURNAL_PID=$!
	waitUntil 10 test -S "$SESSION_TMP/run-systemd/journal/socket" ||
		fail "journal.py did not start: $(cat "$SESSION_TMP/journal.out")"

	(
		local cgroup
		for cgroup in "${SESSION_CGROUPS[@]}"; do
			echo "$BASHPID" >"$cgroup/cgroup.procs"
		done
		export HOME=$SESSION_HOME USER=$SESSION_USER LOGNAME=$SESSION_USER XDG_RUNTIME_DIR=$SESSION_RUNTIME
		export XDG_CONFIG_HOME=$SESSION_HOME/.config XDG_DATA_HOME=$SESSION_HOME/.local/share
		export PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 SYSTEMD_LOG_TARGET=journal
		unset DBUS_SESSION_BUS_ADDRESS NOTIFY_SOCKET LISTEN_FDS LISTEN_PID LISTEN_FDNAMES
		cd "$SESSION_HOME"
		exec 9>&- </dev/null
		exec unshare -m --propagation private sh -c \
			'mount --bind "$1" /run/systemd && exec setpriv --reuid "$2" --regid "$3" --init-groups /lib/systemd/systemd --user' \
			sh "$SESSION_TMP/run-systemd" "$SESSION_UID" "$SESSION_GID"
	) >"$SESSION_TMP/manager.out" 2>&1 &
	SESSION_MANAGER_PID=$!

	waitUntil "$SESSION_WAIT" managerUp ||
		fail "the user manager did not come up in $SESSION_WAIT s (bus socket: $(ls "$SESSION_RUNTIME"))"
	echo "session: systemd --user (PID $SESSION_MANAGER_PID) for UID $SESSION_UID, bus $SESSION_BUS at $SESSION_RUNTIME/bus"
}
