#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# checkpatch --strict on every kernel source and header, shellcheck on every
# shell script, and every command a shell script calls must exist
# (scripts/lint-calls.py).  checkpatch comes from Debian's linux-source-6.1
# tarball; the four files it needs are extracted once into the cache.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${NF_FTP_SYM_CACHE:-$top/.cache}/lint
tarball=$(find /usr/src -maxdepth 1 -name 'linux-source-6.1.tar.*' | sort | tail -n 1)
rc=0

if [ ! -x "$cache/scripts/checkpatch.pl" ]; then
	if [ -z "$tarball" ]; then
		echo "lint: linux-source-6.1 is not installed" >&2
		exit 1
	fi
	mkdir -p "$cache"
	tar -xaf "$tarball" -C "$cache" --strip-components=1 \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch \
		linux-source-6.1/.clang-format
fi

cd "$top"
mapfile -t kernel_files < <(git ls-files "*.c" | grep -v /)
mapfile -t headers < <(git ls-files 'include/*.h' 2>/dev/null || ls include/*.h)
for f in "${kernel_files[@]}" "${headers[@]}"; do
	ignore=
	# Only the compat header may test versions (see its comment).
	[ "$f" = include/nf_ftp_sym_compat.h ] &&
		ignore=--ignore=LINUX_VERSION_CODE,CONSTANT_COMPARISON
	if ! perl "$cache/scripts/checkpatch.pl" --no-tree --strict -f \
		--terse --show-types $ignore "$f"; then
		rc=1
	fi
done

# The userspace tool and tests follow kernel style too, minus what only
# the kernel provides (ARRAY_SIZE, __printf) and libFuzzer's entry name.
mapfile -t user_c < <(git ls-files 'tools/*.c' 'tools/*.h' \
	'tests/*.c' 'tests/*.h' 'bench/*.c' 'selftests/*.c' 2>/dev/null)
for f in "${user_c[@]}"; do
	if ! perl "$cache/scripts/checkpatch.pl" --no-tree --strict -f \
		--terse --show-types \
		--ignore=NEW_TYPEDEFS,PREFER_KERNEL_TYPES,SPLIT_STRING,EMBEDDED_FUNCTION_NAME,ARRAY_SIZE,CAMELCASE,PREFER_DEFINED_ATTRIBUTE_MACRO,STRING_FRAGMENTS \
		"$f"; then
		rc=1
	fi
done

# Every tracked shell script, found by its shebang.
mapfile -t scripts < <(git ls-files | while read -r f; do
	[ -f "$f" ] && head -n 1 "$f" | grep -qE '^#!.*\b(ba)?sh\b' && echo "$f"
done)
if [ "${#scripts[@]}" -gt 0 ] && ! shellcheck -x "${scripts[@]}"; then
	rc=1
fi
# What shellcheck cannot see: a call to a function that no sourced file
# defines (demo/run calling helpers a refactor had removed).
if [ "${#scripts[@]}" -gt 0 ] && ! scripts/lint-calls.py "${scripts[@]}"; then
	rc=1
fi

[ "$rc" -eq 0 ] && echo "lint: clean (checkpatch --strict, shellcheck, calls)"
exit "$rc"
