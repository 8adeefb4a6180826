#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# expect-output.sh EXPECTED COMMAND...: runs COMMAND and fails unless its standard
# output is exactly the file EXPECTED (the diff is shown).
set -euo pipefail
expected=$1
shift
actual=$("$@") || { status=$?; echo "FAIL: $* exited with status $status; output:" >&2; echo "$actual" >&2; exit 1; }
diff -u "$expected" <(printf '%s\n' "$actual") || { echo "FAIL: the output of $* differs from $expected" >&2; exit 1; }
echo "ok: $* printed what $expected holds"
