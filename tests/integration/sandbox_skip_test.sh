#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A sandbox test skips where bubblewrap or xdg-dbus-proxy is not installed, and fails,
# not skips, where both are and bubblewrap cannot make a sandbox: here a bwrap first on
# PATH that exits as bwrap does where the kernel allows it no namespace.
# Usage: sandbox_skip_test.sh INTEGRATION_FLATPAK_SANDBOX
source "$(dirname "$0")/../lib/bus.sh"

(($# == 1)) || fail "usage: sandbox_skip_test.sh INTEGRATION_FLATPAK_SANDBOX"
binary=$1
proxy=$(command -v xdg-dbus-proxy) || fail "xdg-dbus-proxy is not installed (./dev installs it)"
bwrap=$(command -v bwrap) || fail "bwrap is not installed (./dev installs bubblewrap)"
# One sandbox test is enough: the decision is the fixture's SetUp.
one=$("$binary" --gtest_list_tests 2>&1 | awk '/^[^ ]/ { suite = $1 } /^  / { print suite $1; exit }')
[[ $one == FlatpakSandboxTest.* ]] || fail "no sandbox test listed: '$one'"

# runWith PATH: runs the one test with that PATH; its TAP line in $tap, stderr in $err.
runWith()
{
	status=0
	PATH=$1 "$binary" --gtest_filter="$one" >"$IPCHUB_TEST_TMP/out" 2>"$IPCHUB_TEST_TMP/err" ||
		status=$?
	tap=$(grep -E '^(not )?ok 1 ' "$IPCHUB_TEST_TMP/out" || true)
	err=$(cat "$IPCHUB_TEST_TMP/err")
}

mkdir "$IPCHUB_TEST_TMP"/{none,no-proxy,no-bwrap,failing}
ln -s "$bwrap" "$IPCHUB_TEST_TMP/no-proxy/bwrap"
ln -s "$proxy" "$IPCHUB_TEST_TMP/no-bwrap/xdg-dbus-proxy"
ln -s "$proxy" "$IPCHUB_TEST_TMP/failing/xdg-dbus-proxy"
cat >"$IPCHUB_TEST_TMP/failing/bwrap" <<'SH'
#!/bin/sh
echo "bwrap: No permissions to create new namespace, likely because the kernel does not allow non-privileged user namespaces." >&2
exit 1
SH
chmod +x "$IPCHUB_TEST_TMP/failing/bwrap"

for missing in none:bwrap no-proxy:xdg-dbus-proxy no-bwrap:bwrap; do
	runWith "$IPCHUB_TEST_TMP/${missing%%:*}"
	[[ $status == 0 && $tap == "ok 1 - $one # SKIP ${missing#*:} is not installed" ]] ||
		fail "with PATH=${missing%%:*}, not a skip for want of ${missing#*:}: status $status, '$tap'$(printf '\n%s' "$err")"
done
echo "ok: skips where bwrap or xdg-dbus-proxy is not installed"

# In a plain chroot, where "/" is no mount point, no bwrap can make a sandbox: a skip
# that says so, whatever bwrap is on PATH.
if ! awk '$5 == "/" { found = 1 } END { exit !found }' /proc/self/mountinfo; then
	runWith "$IPCHUB_TEST_TMP/failing:$PATH"
	[[ $status == 0 && $tap == "ok 1 - $one # SKIP the root directory is not a mount point"* ]] ||
		fail "in a chroot, not a skip that says so: status $status, '$tap'$(printf '\n%s' "$err")"
	echo "ok: skips in a chroot, where no sandbox can start"
	exit 0
fi

# Installed but failing: the system's tools stay on PATH behind the failing bwrap.
runWith "$IPCHUB_TEST_TMP/failing:$PATH"
[[ $status != 0 && $tap == "not ok 1 - $one" ]] ||
	fail "with a bwrap that cannot make a sandbox, not a failure: status $status, '$tap'$(printf '\n%s' "$err")"
[[ $err == *"bubblewrap is installed but cannot make a sandbox here (status 1): bwrap: No permissions"* ]] ||
	fail "the failure does not say why: $err"
echo "ok: fails where bwrap is installed but makes no sandbox"
