#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# meson reports a skipped gtest as skipped: every gtest binary of the build is a test()
# with protocol 'tap' (its main() is tests/gtest_tap_main.cpp), and a project of such
# tests around tap_fixture.cpp gets SKIP for a binary whose tests all skipped, FAIL for
# one that failed or died, and OK with a "# SKIP" line in the log for one whose tests
# partly skipped.
# Usage: tap_test.sh TAP_FIXTURE BUILD_ROOT
source "$(dirname "$0")/../lib/bus.sh"

(($# == 2)) || fail "usage: tap_test.sh TAP_FIXTURE BUILD_ROOT"
fixture=$(readlink -f "$1")
build_root=$2

# ---- the build's gtest binaries (programs that take --gtest_filter) all speak TAP
python3 - "$build_root/meson-info/intro-tests.json" <<'PY' || fail "gtest binaries not run as TAP"
import json, sys
gtests = 0
for test in json.load(open(sys.argv[1])):
    with open(test["cmd"][0], "rb") as program:
        content = program.read()
    if not content.startswith(b"\x7fELF") or b"gtest_filter" not in content:
        continue
    gtests += 1
    if test["protocol"] != "tap":
        sys.exit(f"{test['name']}: protocol {test['protocol']}, not tap")
if gtests < 10:
    sys.exit(f"only {gtests} gtest binaries among the tests")
print(f"ok: {gtests} gtest binaries, each with protocol tap")
PY

# ---- what meson makes of their results
project=$IPCHUB_TEST_TMP/project
mkdir "$project"
cat >"$project/meson.build" <<MESON
project('tap-fixture', meson_version: '>= 1.0')
fixture = find_program('$fixture')
tests = {
  'passes': 'Fixture.Passes',
  'skips': 'Fixture.Skips',
  'passes-and-skips': 'Fixture.Passes:Fixture.Skips',
  'fails-and-skips': 'Fixture.Fails:Fixture.Skips',
  'dies': 'Fixture.Passes:Fixture.Dies',
}
foreach name, filter : tests
  test(name, fixture, args: ['--gtest_filter=' + filter], protocol: 'tap')
endforeach
MESON
meson setup "$project/build" "$project" >"$IPCHUB_TEST_TMP/setup.log" 2>&1 ||
	{ cat "$IPCHUB_TEST_TMP/setup.log" >&2; fail "meson setup of the fixture project"; }
# Failures are expected: the summary and the log say which.
meson test -C "$project/build" >"$IPCHUB_TEST_TMP/test.log" 2>&1 || true
cat "$IPCHUB_TEST_TMP/test.log"

python3 - "$project/build/meson-logs/testlog.json" <<'PY' || fail "meson's results"
import json, sys
results = {}
for line in open(sys.argv[1]):
    entry = json.loads(line)
    results[entry["name"]] = entry
expected = {
    "passes": {"OK"},
    "skips": {"SKIP"},
    "passes-and-skips": {"OK"},
    "fails-and-skips": {"FAIL", "ERROR"},
    "dies": {"FAIL", "ERROR"},
}
bad = [f"{name}: {results[name]['result'] if name in results else 'not run'}, not {'/'.join(sorted(want))}"
       for name, want in expected.items()
       if name not in results or results[name]["result"] not in want]
stdout = results.get("passes-and-skips", {}).get("stdout", "")
if "# SKIP what it needs is not here" not in stdout:
    bad.append(f"passes-and-skips: no '# SKIP' line with the reason in its output:\n{stdout}")
if bad:
    sys.exit("\n".join(bad))
PY
for count in "Ok: 2" "Fail: 2" "Skipped: 1"; do
	grep -qE "^${count%% *} +${count##* } *\$" "$IPCHUB_TEST_TMP/test.log" ||
		fail "meson's summary lacks '$count'"
done
echo "ok: meson reports the skipping binary as SKIP, the failing and dying ones as FAIL"
