# SPDX-License-Identifier: LGPL-2.1-or-later
# What the shell tests share: failing with a message, and a bounded poll. Sourced.

fail()
{
	echo "FAIL: $*" >&2
	exit 1
}

# waitUntil SECONDS COMMAND...: polls COMMAND every 50 ms until it succeeds; fails
# when SECONDS pass first.
waitUntil()
{
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.05
	done
}
