#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# lint.sh [KDIR]: checkpatch.pl --no-tree on every kernel source file, and a
# W=1 build that must print no warning.  checkpatch comes from Debian's
# linux-source-6.1 (only its scripts/ is unpacked, under build/).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
kdir=${1:-}
tests/deps.sh lint || exit 1

cp=$(ls /usr/src/linux-source-*/scripts/checkpatch.pl build/linux-source/*/scripts/checkpatch.pl 2>/dev/null | head -n 1)
if [ -z "$cp" ]; then
	mkdir -p build/linux-source
	tar -C build/linux-source -xJf /usr/src/linux-source-6.1.tar.xz \
		--wildcards 'linux-source-6.1/scripts/*' || exit 1
	cp=build/linux-source/linux-source-6.1/scripts/checkpatch.pl
fi

rc=0
files=$(ls drivers/md/*.[ch] include/uapi/linux/*.h tests/kmod/*.c)
out=$(perl "$cp" --no-tree --terse -q -f $files 2>&1 | grep -E "ERROR|WARNING")
if [ -n "$out" ]; then
	echo "$out"
	rc=1
else
	echo "lint: checkpatch clean ($(echo $files | wc -w) files)"
fi

if [ -n "$kdir" ] && [ -d "$kdir" ]; then
	kver=$(basename "$(dirname "$kdir")")
	out=$(tests/vm/build-module "$kver" W=1 2>&1) || { echo "$out"; rc=1; }
	if echo "$out" | grep -E "warning:|error:"; then
		rc=1
	else
		echo "lint: W=1 build clean for $kver"
	fi
fi
exit $rc
