#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# docs/interop.md from one run of selftests/nf_ftp_sym_interop.sh in the
# VM: the test prints the document between "interop-doc begin" and
# "interop-doc end" when NF_FTP_SYM_INTEROP_DOC=1.  The document is
# written even when some transfers failed (it says which); the exit status
# is the test run's.
#
#   scripts/interop-doc.sh [VM OPTIONS]     e.g. --kernel-dir DIR
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
log=$(mktemp)
trap 'rm -f "$log" "$log.md"' EXIT

rc=0
NF_FTP_SYM_INTEROP_DOC=1 NF_FTP_SYM_KO_DIR=${NF_FTP_SYM_KO_DIR:-$top} \
	"$top/selftests/vm/run" "$@" -- "$top/selftests/run" nf_ftp_sym_interop |
	tee "$log" || rc=$?
sed -n 's/^# interop-doc: \{0,1\}//p' "$log" >"$log.md"
if [ ! -s "$log.md" ]; then
	echo "interop-doc: the test printed no document" >&2
	exit 1
fi
cp "$log.md" "$top/docs/interop.md"
echo "interop-doc: wrote docs/interop.md"
exit "$rc"
