#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every source file of the tree starts with its license line (after a #! line).
# Usage: spdx_test.sh SOURCE_ROOT
set -eu
root=$1
missing=$(find "$root" \( -path "$root/build*" -o -path "$root/.git" -o -path "$root/subprojects" \) -prune -o \
	-type f \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' -o -name '*.py' -o -name '*.sh' -o -name meson.build \) -print |
	while read -r f; do
		head -n 2 "$f" | grep -q 'SPDX-License-Identifier: ' || echo "$f"
	done)
if [ -n "$missing" ]; then
	echo "no SPDX-License-Identifier line at the top of:" >&2
	echo "$missing" >&2
	exit 1
fi
echo "every source file has its SPDX line"
