#!/bin/bash
# SPDX-License-Identifier: MIT
# The daemon's layers (daemon/README.md) and the one rule between them:
# includes run downward only. For every #include "..." in the tree:
#   - "folder/x.h" names a header of another layer; that layer must be one
#     this file's layer may use (the table below), and x.h must exist there;
#   - a bare "x.h" must be in the file's own folder or in common/ (so no
#     header of another layer slips in by name);
#   - a *-internal.h header is private to its folder;
#   - client/ uses common/ only; common/ includes nothing of daemon/.
# Then, whatever the table says, the graph between folders must have no cycle.
# Fails (TAP "not ok") naming each offending line. Usage: check-layout.sh [SRCDIR]
set -uo pipefail
top=${1:-${VX11_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}}
cd "$top" || exit 1

# Layer -> the layers it may include, bottom up.
declare -A may=(
	[common]=""
	[sandbox]="common"
	[store]="common"
	[policy]="common sandbox"
	[plan]="common policy"
	[run]="common sandbox store policy plan"
	[core]="common sandbox store policy plan run"
	[api]="common sandbox store policy plan run core"
	[daemon]="common sandbox store policy plan run core api" # daemon/main.c: wires them
	[client]="common"
)
# Folders outside the layers (tests, benches, fuzzers) may include any layer.

layer_of() { # PATH -> its layer name, or "" outside the layers
	case $1 in
	common/*) echo common ;;
	client/*) echo client ;;
	daemon/*/*) local f=${1#daemon/}; echo "${f%%/*}" ;;
	daemon/*) echo daemon ;;
	*) echo "" ;;
	esac
}

fails=0 n=0
declare -A edges=()
report() { fails=$((fails + 1)); echo "# $*"; }

while IFS= read -r file; do
	from=$(layer_of "$file")
	dir=$(dirname "$file")
	while IFS=: read -r line inc; do
		n=$((n + 1))
		inc=${inc#*\"}
		inc=${inc%%\"*}
		if [[ $inc == */* ]]; then
			to=${inc%%/*}
			[[ -f daemon/$inc ]] || { [[ -f $dir/$inc ]] && continue; report "$file:$line: \"$inc\": no such header in daemon/"; continue; }
			[[ -z $from ]] && continue
			if [[ $to == "$from" ]]; then
				report "$file:$line: \"$inc\": a header of its own folder: include it by its bare name"
				continue
			fi
			[[ $inc == *-internal.h ]] && report "$file:$line: \"$inc\": private to daemon/$to"
			[[ " ${may[$from]} " == *" $to "* ]] ||
				report "$file:$line: \"$inc\": $from/ may not include $to/ (it may use: ${may[$from]:-nothing})"
			edges[$from>$to]=1
		else
			[[ -z $from ]] && continue
			if [[ -f $dir/$inc ]]; then
				continue
			elif [[ -f common/$inc ]]; then
				[[ $from == common ]] || edges[$from>common]=1
			else
				report "$file:$line: \"$inc\": not in $dir/ nor common/ (name its folder)"
			fi
		fi
	done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" | sed 's/^\([0-9]*\):/\1:/')
done < <(find common client daemon tests bench fuzz -name '*.[ch]' -not -path '*/build*' | sort)

# No cycle between folders, whatever the table above allows: a depth-first
# search over the edges seen.
declare -A state=()
cycle=
visit() { # NODE PATH
	local node=$1 path=$2 e to
	state[$node]=1
	for e in "${!edges[@]}"; do
		[[ ${e%%>*} == "$node" ]] || continue
		to=${e#*>}
		if [[ ${state[$to]:-0} == 1 ]]; then
			cycle="$path > $to"
		elif [[ ${state[$to]:-0} == 0 ]]; then
			visit "$to" "$path > $to"
		fi
	done
	state[$node]=2
}
for node in common sandbox store policy plan run core api daemon client; do
	[[ ${state[$node]:-0} == 0 ]] && visit "$node" "$node"
done
[[ -n $cycle ]] && report "a cycle between folders: $cycle"

echo "1..1"
if [[ $fails -eq 0 ]]; then
	echo "ok 1 layout: $n includes, every one downward; folder graph: $(printf '%s\n' "${!edges[@]}" | sort | tr '\n' ' ')"
else
	echo "not ok 1 layout: $fails problem(s) above"
	exit 1
fi
