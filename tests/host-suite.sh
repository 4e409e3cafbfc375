#!/bin/bash
# SPDX-License-Identifier: MIT
# host-suite.sh fresh|used: the suites whose outcome could depend on what the
# host holds (the vx11 groups, /etc/vx11, state left by earlier runs) again,
# in a private mount namespace that looks like a host where vx11d was never
# installed (fresh) or one where it was and tests ran before (used), whatever
# this host is really like (tests/host-state). So both branches of each such
# test run on every machine, and a test that passes only because of what an
# earlier run left behind fails here. TAP on stdout.
set -euo pipefail
state=${1:?fresh or used}
here=$(cd "$(dirname "$0")" && pwd)
if [[ $(id -u) -ne 0 ]] || ! unshare --mount true 2>/dev/null; then
	echo "1..0 # SKIP needs root and mount namespaces to fake a $state host"
	exit 0
fi
suites=(install.bats policy.bats permissions.bats)
exec "$here/host-state" "$state" -- "${BATS:-bats}" --tap "${suites[@]/#/$here/bats/}"
