#!/bin/bash
# The cgroup and sandbox suites again on a pure cgroup v2 kernel, in a small VM
# (tests/run-v2.sh): most real hosts are pure v2, this machine may be hybrid.
# Runs each test program named below inside one VM boot and re-emits their TAP
# as one stream, each case prefixed "[v2] <program>:", so `make check` counts
# them like any other test. bats suites given as *.bats run with `bats --tap`.
#
#   VX11_V2=0      skip the whole suite (says so, with VX11_V2_WHY if set)
#   VX11_V2_TESTS  override the list ("tests/unit/test-cgroup tests/bats/sandbox.bats")
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${VX11_BUILDDIR:-$(pwd)}
src=${VX11_SRCDIR:-$(cd "$here/.." && pwd)}

if [[ ${VX11_V2:-1} == 0 ]]; then
	echo "1..0 # SKIP VX11_V2=0: ${VX11_V2_WHY:-the pure cgroup v2 suite was turned off}"
	exit 0
fi
if [[ $(id -u) != 0 ]]; then
	echo "1..0 # SKIP needs root (the VM runs qemu)"
	exit 0
fi

# The VM runs this machine's kernel: what differs is the cgroup hierarchy, so
# only what touches cgroups runs there (its CPU is emulated: a bats file takes
# ten times as long or more): seccomp, Landlock and namespaces are the same on
# both. A bats
# file may be narrowed to the tests whose names match a regex (bats -f), as
# FILE.bats:REGEX (no spaces).
list=${VX11_V2_TESTS:-tests/unit/test-cgroup tests/unit/test-cgroup-job tests/unit/test-spawn tests/unit/test-spawn-confine tests/unit/test-spawn-zygote tests/bats/sandbox.bats:hostile|memory_max|fork.bomb|attestation tests/bats/zygote.bats}
cmds=()
for t in $list; do
	case $t in
	*.bats | *.bats:*)
		filter=
		if [[ $t == *.bats:* ]]; then
			filter=" -f '${t#*.bats:}'"
			t=${t%%:*}
		fi
		[[ -e $src/$t ]] || continue
		# The VM's /dev has no /dev/fd, which bats' process substitutions need.
		cmds+=("{ [ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd; } && VX11_BUILDDIR='$build' VX11_SRCDIR='$src' VX11D='$build/daemon/vx11d' VX11CTL='$build/client/vx11ctl' bats --tap$filter '$src/$t'")
		;;
	*) cmds+=("'$build/$t'") ;;
	esac
done

out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$here/run-v2.sh" -t 900 "${cmds[@]}" >"$out" 2>&1
rc=$?

n=0 failed=0 current=
while IFS= read -r line; do
	case $line in
	"# run-v2: kernel"*) echo "$line" ;;
	"# run-v2: "*)
		current=${line#\# run-v2: }
		current=${current//\'/}
		current=${current##* }
		current=${current#"$build/"}
		current=${current#"$src/"}
		;;
	"ok "* | "not ok "*)
		n=$((n + 1))
		neg=${line%%ok *}
		rest=${line#*ok }
		rest=${rest#* } # drop the inner number
		rest=${rest#- }
		[[ -n $neg ]] && failed=$((failed + 1))
		echo "${neg}ok $n - [v2] $current: $rest"
		;;
	"#"*) echo "$line" ;;
	esac
done <"$out"

if [[ $rc -eq 125 || $n -eq 0 ]]; then
	n=$((n + 1))
	echo "not ok $n - the v2 VM did not run the suites (run-v2.sh exit $rc); its output:"
	sed 's/^/# /' "$out" | tail -n 40
elif [[ $rc -ne 0 && $failed -eq 0 ]]; then
	n=$((n + 1))
	echo "not ok $n - a program exited with status $rc in the v2 VM without a failing case (crash?)"
	sed 's/^/# /' "$out" | tail -n 40
fi
echo "1..$n"
