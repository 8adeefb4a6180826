#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# packaging/debian builds installable packages: a copy of the source tree with
# packaging/debian moved to debian/ goes through `dpkg-buildpackage -us -uc -b`; the
# .debs must hold the expected files and resolve against this system's archive
# (apt-get --simulate: nothing is installed); then, unpacked into a temporary root,
# the -dev package builds an outside program with pkg-config that talks to the
# packaged ipchubd on a private bus.
# Usage: deb_test.sh SOURCE_ROOT VERSION
source "$(dirname "$0")/../lib/bus.sh"

(($# == 2)) || fail "usage: deb_test.sh SOURCE_ROOT VERSION"
source_root=$1
version=$2
for tool in dpkg-buildpackage dpkg-deb dh fakeroot; do
	command -v "$tool" >/dev/null || fail "$tool is missing (./dev installs debhelper, dpkg-dev, fakeroot)"
done

# ---- the tree as a release would have it: tracked and new files, no build dirs
tree=$IPCHUB_TEST_TMP/ipchub-$version
mkdir "$tree"
if git -C "$source_root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git -C "$source_root" ls-files -z --cached --others --exclude-standard |
		(cd "$source_root" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
		tar -C "$source_root" --null -T - -cf - | tar -C "$tree" -xf -
else
	tar -C "$source_root" --exclude='./build*' -cf - . | tar -C "$tree" -xf -
fi
[[ -d $tree/packaging/debian ]] || fail "no packaging/debian in the copied tree"
mv "$tree/packaging/debian" "$tree/debian"

upstream_version=$(dpkg-parsechangelog -l "$tree/debian/changelog" -S Version)
[[ ${upstream_version%-*} == "$version" ]] ||
	fail "debian/changelog is at $upstream_version, meson.build at $version"

started=$SECONDS
(cd "$tree" && DEB_BUILD_OPTIONS="nocheck parallel=2" DEB_BUILD_PROFILES=nocheck \
	dpkg-buildpackage -us -uc -b >"$IPCHUB_TEST_TMP/build.log" 2>&1) ||
	{ tail -n 60 "$IPCHUB_TEST_TMP/build.log" >&2; fail "dpkg-buildpackage failed"; }
echo "dpkg-buildpackage -b: $((SECONDS - started)) s"

arch=$(dpkg-architecture -qDEB_HOST_ARCH)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
debs=()
for package in ipchubd libipchub0 libipchub-dev; do
	deb=$IPCHUB_TEST_TMP/${package}_${upstream_version}_$arch.deb
	[[ -f $deb ]] || fail "dpkg-buildpackage made no $deb: $(ls "$IPCHUB_TEST_TMP")"
	debs+=("$deb")
	echo "$(basename "$deb"): $(stat -c %s "$deb") bytes"
done

# ---- each package's files, and only those (dpkg-deb -c)
# contents DEB: its regular files and links, without the Debian docs.
contents()
{
	dpkg-deb -c "$1" | awk '$1 !~ /^d/ { print $6 }' | sed 's|^\./|/|' |
		grep -v '^/usr/share/doc/' | sort
}
expectContents()
{
	local deb=$1 actual
	shift
	actual=$(contents "$deb")
	local expected
	expected=$(printf '%s\n' "$@" | sort)
	[[ $actual == "$expected" ]] ||
		fail "$(basename "$deb") holds:$(printf '\n  %s' $actual)$(printf '\nnot:')$(printf '\n  %s' "$@")"
}
ipchubd_files=(/usr/libexec/ipchubd /usr/lib/systemd/user/ipchubd.service
	/usr/share/dbus-1/services/io.github.ipchub1.service /usr/share/man/man8/ipchubd.8.gz)
# ipchubctl and its man page (issue 6, item 4) go with the daemon when the build has them.
if grep -qx /usr/bin/ipchubctl <<<"$(contents "${debs[0]}")"; then
	ipchubd_files+=(/usr/bin/ipchubctl /usr/share/man/man1/ipchubctl.1.gz)
fi
expectContents "${debs[0]}" "${ipchubd_files[@]}"
expectContents "${debs[1]}" "/usr/lib/$multiarch/libipchub.so.$version" "/usr/lib/$multiarch/libipchub.so.0"
dev_files=("/usr/lib/$multiarch/libipchub.so" "/usr/lib/$multiarch/pkgconfig/ipchub.pc")
for header in "$source_root"/lib/include/ipchub/*.hpp; do dev_files+=("/usr/include/ipchub/${header##*/}"); done
for xml in "$source_root"/interfaces/*.xml; do dev_files+=("/usr/share/dbus-1/interfaces/${xml##*/}"); done
expectContents "${debs[2]}" "${dev_files[@]}"

# ---- the control fields dh computed
depends=$(dpkg-deb -f "${debs[0]}" Depends)
for library in libsdbus-c++ libsystemd0 libstdc++6; do
	[[ $depends == *"$library"* ]] || fail "ipchubd's Depends lack $library: $depends"
done
[[ $(dpkg-deb -f "${debs[2]}" Depends) == *"libipchub0 (= $upstream_version)"* ]] ||
	fail "libipchub-dev does not depend on libipchub0 (= $upstream_version)"
[[ $(dpkg-deb -f "${debs[1]}" Depends) == *libsdbus-c++* ]] || fail "libipchub0 does not depend on sdbus-c++"

# ---- installable on this system: apt resolves them (simulation only, as any user)
apt-get install --simulate --no-install-recommends "${debs[@]}" >"$IPCHUB_TEST_TMP/apt.log" 2>&1 ||
	{ cat "$IPCHUB_TEST_TMP/apt.log" >&2; fail "apt-get cannot install the three packages"; }
for package in ipchubd libipchub0 libipchub-dev; do
	grep -q "^Inst $package " "$IPCHUB_TEST_TMP/apt.log" ||
		grep -q "^Conf $package " "$IPCHUB_TEST_TMP/apt.log" ||
		fail "apt-get would not install $package: $(cat "$IPCHUB_TEST_TMP/apt.log")"
done

if command -v lintian >/dev/null; then
	lintian --fail-on error --suppress-tags no-symbols-control-file,initial-upload-closes-no-bugs "${debs[@]}" \
		>"$IPCHUB_TEST_TMP/lintian.log" 2>&1 ||
		{ cat "$IPCHUB_TEST_TMP/lintian.log" >&2; fail "lintian found errors"; }
	echo "lintian: $(grep -c '^[EW]:' "$IPCHUB_TEST_TMP/lintian.log" || true) errors and warnings"
	grep '^[EWI]:' "$IPCHUB_TEST_TMP/lintian.log" | sed 's/^/  /' || true
fi

# ---- unpacked, they work: the activation file names the packaged daemon, and the
# -dev package builds a program that talks to it
root=$IPCHUB_TEST_TMP/root
for deb in "${debs[@]}"; do dpkg-deb -x "$deb" "$root"; done
grep -qx "Exec=/usr/libexec/ipchubd --idle-exit=[0-9]*" "$root/usr/share/dbus-1/services/io.github.ipchub1.service" ||
	fail "the activation file does not start /usr/libexec/ipchubd"
grep -qx "ExecStart=/usr/libexec/ipchubd --idle-exit=[0-9]* --fd-store-max=[0-9]*" "$root/usr/lib/systemd/user/ipchubd.service" ||
	fail "the user unit does not start /usr/libexec/ipchubd"
[[ $("$root/usr/libexec/ipchubd" --version) == "ipchubd $version" ]] || fail "the packaged ipchubd --version"

export PKG_CONFIG_PATH=$root/usr/lib/$multiarch/pkgconfig
[[ $(pkg-config --variable=interfaces_dir ipchub) == /usr/share/dbus-1/interfaces ]] ||
	fail "ipchub.pc: interfaces_dir is $(pkg-config --variable=interfaces_dir ipchub)"
# The -I and -L paths moved into the unpacked root.
export PKG_CONFIG_SYSROOT_DIR=$root
read -ra cflags < <(pkg-config --cflags ipchub)
read -ra libs < <(pkg-config --libs ipchub)
c++ "${cflags[@]}" -o "$IPCHUB_TEST_TMP/outside" "$source_root/tests/install/outside.cpp" "${libs[@]}" ||
	fail "the outside program does not build against libipchub-dev"
startBus
startIpchubd "$root/usr/libexec/ipchubd"
output=$(LD_LIBRARY_PATH=$root/usr/lib/$multiarch "$IPCHUB_TEST_TMP/outside") || fail "the outside program failed"
[[ $output == "/io/github/ipchub1/semaphore/outside value 1" ]] || fail "the outside program printed '$output'"
echo "ok: the three packages build, hold their files, resolve, and work unpacked"
