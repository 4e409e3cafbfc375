#!/bin/bash
# run-v2.sh: run commands inside a small VM with a pure cgroup v2 hierarchy (tests/v2vm), to test
# on a hybrid host the code paths of real v2 hosts, e.g. a unit test built on this machine:
#
#   tests/run-v2.sh [-t SECONDS] [-m MIB] [-c CPUS] COMMAND...
#   tests/run-v2.sh /tmp/build/test-cgroup 'VX11_FOO=1 /tmp/build/test-x --verbose'
#
# Each COMMAND is one argument, run in turn with /bin/sh -c, as root, in the current directory,
# all in one boot (~10 s; the first run installs qemu and a kernel with apt). The VM sees this
# machine's files read-only with a throwaway tmpfs overlay; unlike plain v2vm, the host's /tmp is
# visible as /tmp (writes stay in the VM), since that is where builds and test binaries live.
# Prints what the commands print, with a "# run-v2:" line before each; exits 0 if all succeeded,
# else with the status of the first that failed (125: the VM itself failed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

usage() { echo "usage: run-v2.sh [-t SECONDS] [-m MIB] [-c CPUS] COMMAND..." >&2; exit 2; }
opts=()
while getopts "t:m:c:" o; do
	case $o in t | m | c) opts+=("-$o" "$OPTARG") ;; *) usage ;; esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
[ "$(id -u)" = 0 ] || { echo "run-v2.sh: needs root (v2vm runs qemu and installs it on first use)" >&2; exit 2; }

sq() { local s=${1//\'/\'\\\'\'}; printf "'%s'" "$s"; }

# v2vm mounts a fresh tmpfs on /tmp; a non-recursive bind of / still shows the overlay's /tmp.
script="mkdir -p /run/host && mount --bind / /run/host && mount --bind /run/host/tmp /tmp ||
	echo '# run-v2: cannot show the host /tmp' >&2
cd $(sq "$PWD") 2>/dev/null || true
echo \"# run-v2: kernel \$(uname -r), cgroup2 controllers: \$(cat /sys/fs/cgroup/cgroup.controllers)\"
rc=0"
for c in "$@"; do
	script+=$'\n'"echo '# run-v2:' $(sq "$c")"
	script+=$'\n'"sh -c $(sq "$c") || { r=\$?; echo \"# run-v2: exit status \$r\"; [ \$rc -ne 0 ] || rc=\$r; }"
done
script+=$'\n''exit $rc'
exec "$here/v2vm" "${opts[@]}" "$script"
