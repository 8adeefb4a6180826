#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A DESTDIR install has every file in its place with the right content, and a program
# from outside builds against it with `pkg-config ipchub` and talks to the installed
# ipchubd on a private bus. The expected directories come from meson (tests/meson.build).
source "$(dirname "$0")/../lib/bus.sh"

for var in BUILD_ROOT SOURCE_ROOT PREFIX BINDIR LIBEXECDIR LIBDIR INCLUDEDIR DATADIR MANDIR \
	SESSION_SERVICES_DIR USER_UNIT_DIR IDLE_EXIT VERSION; do
	[[ -n ${!var:-} ]] || fail "$var is not set (run through meson test)"
done

root=$IPCHUB_TEST_TMP/root
meson install -C "$BUILD_ROOT" --no-rebuild --quiet --destdir "$root" >"$IPCHUB_TEST_TMP/install.log" 2>&1 ||
	{ cat "$IPCHUB_TEST_TMP/install.log" >&2; fail "meson install failed"; }

checkFile()
{
	[[ -f $root$1 ]] || fail "not installed: $1"
}
checkSame()
{
	checkFile "$1"
	cmp -s "$2" "$root$1" || fail "$1 differs from $2"
}
# checkLine FILE LINE: FILE (installed) has exactly that line.
checkLine()
{
	grep -qxF -- "$2" "$root$1" || fail "$1 has no line '$2'; it reads:$(printf '\n%s' "$(cat "$root$1")")"
}

# ---- the daemon and how it starts
daemon=$LIBEXECDIR/ipchubd
[[ -x $root$daemon ]] || fail "not installed or not executable: $daemon"

activation=$SESSION_SERVICES_DIR/io.github.ipchub1.service
checkFile "$activation"
checkLine "$activation" "[D-BUS Service]"
checkLine "$activation" "Name=io.github.ipchub1"
checkLine "$activation" "Exec=$daemon --idle-exit=$IDLE_EXIT"
checkLine "$activation" "SystemdService=ipchubd.service"

unit=$USER_UNIT_DIR/ipchubd.service
checkFile "$unit"
checkLine "$unit" "[Service]"
checkLine "$unit" "Type=dbus"
checkLine "$unit" "BusName=io.github.ipchub1"
checkLine "$unit" "ExecStart=$daemon --idle-exit=$IDLE_EXIT --fd-store-max=4096"
# ipchubd counts against the store's real maximum, and the soft descriptor limit at
# start holds a full store (fds 3..) with room to spare.
checkLine "$unit" "FileDescriptorStoreMax=4096"
soft=$(sed -n 's/^LimitNOFILE=\([0-9]*\):.*/\1/p' "$root$unit")
[[ -n $soft ]] && ((soft > 4096 + 3)) || fail "$unit: LimitNOFILE= soft limit '$soft' does not hold a full fd store"
# A run of crashes must not fail the unit: that empties the store.
checkLine "$unit" "RestartSec=500ms"
checkLine "$unit" "StartLimitBurst=150"
checkLine "$unit" "NoNewPrivileges=yes"
# Only directives a user manager applies without privileges (see ipchubd.service.in).
for directive in ProtectSystem PrivateTmp ProtectHome PrivateDevices User Group; do
	! grep -q "^$directive=" "$root$unit" || fail "$unit: $directive= does not fit a user unit"
done
if command -v systemd-analyze >/dev/null; then
	# The unit's keys as systemd reads them; the ExecStart= binary is looked up on
	# the real root, so verify a copy that points at the DESTDIR one.
	mkdir "$IPCHUB_TEST_TMP/unit"
	sed "s|^ExecStart=$daemon|ExecStart=$root$daemon|" "$root$unit" >"$IPCHUB_TEST_TMP/unit/ipchubd.service"
	# Type=dbus requires the session bus's socket unit, which the bus's package
	# (dbus-user-session) provides, not systemd: this one, next to the unit, stands for
	# it (verify searches the unit's directory first), so the check does not depend on
	# which session bus this machine has.
	cat >"$IPCHUB_TEST_TMP/unit/dbus.socket" <<-'EOF'
		[Unit]
		Description=D-Bus User Message Bus Socket

		[Socket]
		ListenStream=%t/bus
	EOF
	# As a user unit; the user manager it simulates wants a runtime dir of its own.
	mkdir -m 700 "$IPCHUB_TEST_TMP/runtime"
	XDG_RUNTIME_DIR=$IPCHUB_TEST_TMP/runtime SYSTEMD_LOG_LEVEL=warning \
		systemd-analyze --user verify --man=no "$IPCHUB_TEST_TMP/unit/ipchubd.service" \
		>"$IPCHUB_TEST_TMP/verify.log" 2>&1 ||
		{ cat "$IPCHUB_TEST_TMP/verify.log" >&2; fail "systemd-analyze verify $unit"; }
	! grep -q . "$IPCHUB_TEST_TMP/verify.log" ||
		{ cat "$IPCHUB_TEST_TMP/verify.log" >&2; fail "systemd-analyze verify $unit warned"; }
fi

checkSame "$MANDIR/man8/ipchubd.8" "$SOURCE_ROOT/man/ipchubd.8"

# ---- what programs build against
for xml in "$SOURCE_ROOT"/interfaces/*.xml; do
	checkSame "$DATADIR/dbus-1/interfaces/${xml##*/}" "$xml"
done
for header in "$SOURCE_ROOT"/lib/include/ipchub/*.hpp; do
	checkSame "$INCLUDEDIR/ipchub/${header##*/}" "$header"
done
checkFile "$LIBDIR/libipchub.so.$VERSION"
[[ $(readlink "$root$LIBDIR/libipchub.so.0") == "libipchub.so.$VERSION" ]] || fail "libipchub.so.0 is not a link to libipchub.so.$VERSION"
[[ -L $root$LIBDIR/libipchub.so ]] || fail "libipchub.so is not a link"
soname=$(objdump -p "$root$LIBDIR/libipchub.so.$VERSION" | awk '$1 == "SONAME" { print $2 }')
[[ $soname == libipchub.so.0 ]] || fail "SONAME is '$soname', not libipchub.so.0"

pc=$LIBDIR/pkgconfig/ipchub.pc
checkFile "$pc"
export PKG_CONFIG_PATH=$root$LIBDIR/pkgconfig
[[ $(pkg-config --modversion ipchub) == "$VERSION" ]] || fail "$pc: version is not $VERSION"
[[ $(pkg-config --variable=interfaces_dir ipchub) == "$DATADIR/dbus-1/interfaces" ]] ||
	fail "$pc: interfaces_dir is '$(pkg-config --variable=interfaces_dir ipchub)', not $DATADIR/dbus-1/interfaces"
# The program picks its own standard (C++17 on), and sees nothing of the build tree.
[[ " $(pkg-config --cflags ipchub) " != *" -std="* ]] || fail "$pc: Cflags force a standard: $(pkg-config --cflags ipchub)"
pkg-config --print-requires-private ipchub | grep -q '^sdbus-c++' || fail "$pc: Requires.private lacks sdbus-c++"

# ---- nothing else: no test binary, no stray file. ipchubctl and its man page are the
# files of the command-line tool (issue 6, item 4), there or not.
expected=(
	"$daemon" "$activation" "$unit" "$MANDIR/man8/ipchubd.8" "$pc"
	"$LIBDIR/libipchub.so.$VERSION" "$LIBDIR/libipchub.so.0" "$LIBDIR/libipchub.so"
	"$BINDIR/ipchubctl" "$MANDIR/man1/ipchubctl.1"
)
for xml in "$SOURCE_ROOT"/interfaces/*.xml; do expected+=("$DATADIR/dbus-1/interfaces/${xml##*/}"); done
for header in "$SOURCE_ROOT"/lib/include/ipchub/*.hpp; do expected+=("$INCLUDEDIR/ipchub/${header##*/}"); done
while IFS= read -r installed; do
	installed=${installed#"$root"}
	printf '%s\n' "${expected[@]}" | grep -qxF -- "$installed" || fail "unexpected installed file: $installed"
done < <(find "$root" ! -type d)

# ---- an outside program: pkg-config only, paths moved into the DESTDIR
export PKG_CONFIG_SYSROOT_DIR=$root
read -ra cflags < <(pkg-config --cflags ipchub)
read -ra libs < <(pkg-config --libs ipchub)
[[ " ${cflags[*]} " == *" -I$root$INCLUDEDIR "* ]] || fail "pkg-config --cflags ipchub: ${cflags[*]}"
# Only installed directories (the sysroot prefixes the system's, as sdbus-c++'s).
for flag in "${cflags[@]}"; do
	[[ $flag != -I* || $flag == "-I$root$INCLUDEDIR" || $flag == "-I$root/usr/include"* ]] ||
		fail "pkg-config --cflags ipchub names a directory outside the install: $flag"
done
sanitize=()
SANITIZE=${SANITIZE//[][\' ]/}
[[ ${SANITIZE:-none} == none ]] || sanitize=("-fsanitize=$SANITIZE")
# Built as a C++17 program (Qt 5's default) and as a C++20 one: both use the one
# ipchub::Result the library was built with.
standards=(c++17 c++20)
for std in "${standards[@]}"; do
	for program in outside outside_shared_memory; do
		c++ "-std=$std" -Wall -Wextra -Werror "${sanitize[@]}" "${cflags[@]}" \
			-o "$IPCHUB_TEST_TMP/$program-$std" "$SOURCE_ROOT/tests/install/$program.cpp" "${libs[@]}" ||
			fail "$program.cpp does not build with: c++ -std=$std ${cflags[*]} ... ${libs[*]}"
	done
done

startBus
startIpchubd "$root$daemon"
for std in "${standards[@]}"; do
	program=$IPCHUB_TEST_TMP/outside-$std
	output=$(LD_LIBRARY_PATH=$root$LIBDIR "$program") || fail "the $std outside program failed"
	[[ $output == "/io/github/ipchub1/semaphore/outside value 1" ]] ||
		fail "the $std outside program printed '$output'"
	shared_memory=$(LD_LIBRARY_PATH=$root$LIBDIR "$IPCHUB_TEST_TMP/outside_shared_memory-$std") ||
		fail "the $std outside_shared_memory program failed"
	[[ $shared_memory == "frame 16 bytes hello" ]] || fail "the $std outside_shared_memory program printed '$shared_memory'"
	# It used the installed library, not the build tree's.
	libraries=$(LD_LIBRARY_PATH=$root$LIBDIR ldd "$program")
	[[ $libraries == *"libipchub.so.0 => $root$LIBDIR/libipchub.so.0 "* ]] ||
		fail "the $std outside program is not linked with the installed libipchub: $libraries"
done
echo "ok: DESTDIR install checked, outside programs built with pkg-config as C++17 and C++20, each ran: $output; $shared_memory"
