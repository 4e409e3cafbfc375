# SPDX-License-Identifier: MIT
# bash completion for vx11ctl(1): commands, options, option values, and the
# ids of tasks, asked of the running vx11d through vx11ctl itself.
#
# Works with bash-completion (its _init_completion and _filedir are used when
# loaded) and in a bare bash: `source vx11ctl.bash` is enough. Nothing here
# writes to the terminal: a daemon that is not there, refuses or does not
# answer within 2 s just means no ids are offered.
#
# The tables below follow client/vx11ctl.c (verbs[], global_options[]) and the
# *_options[] of client/cmd-*.c; tests/bats/completion.bats fails when a
# command or option appears in `vx11ctl --help` but not here.

# The verbs, in the order of `vx11ctl --help`.
_vx11ctl_verbs() {
	verbs=(submit run result wait rerun tasks task logs cancel daughters spawn status types pause resume prune audit watch
		reload metrics heartbeat report subtask)
}

# The options of verb $1 into opts, those that take an argument into args.
# Global options are added by the caller.
_vx11ctl_verb_options() {
	case $1 in
	submit)
		opts=(--text --payload --task --spawner --switch --priority --source --ttl --retries
			--idempotency-key --wait --timeout --after --after-any)
		args=(--text --payload --task --priority --source --ttl --retries --idempotency-key --timeout --after)
		;;
	run)
		opts=(--type --cwd --env --ttl --retries --after --after-any --wait --timeout)
		args=(--type --cwd --env --ttl --retries --after --timeout)
		;;
	result) opts=(--wait) args=(--wait) ;;
	wait) opts=(--timeout) args=(--timeout) ;;
	rerun) opts=(--wait --timeout) args=(--timeout) ;;
	tasks)
		opts=(--status --failed --type --source --since --until --limit --after --all --full-ids)
		args=(--status --type --source --since --until --limit --after)
		;;
	logs) opts=(--attempt --stderr --both -f --follow) args=(--attempt) ;;
	daughters) opts=(--status --limit) args=("${opts[@]}") ;;
	spawn)
		opts=(--name --purpose --ttl --profile --parent --wait --timeout)
		args=(--name --purpose --ttl --profile --parent --timeout)
		;;
	pause | resume) opts=(--type) args=(--type) ;;
	prune) opts=(--older-than --status) args=(--older-than --status) ;;
	audit) opts=(--limit --after --all --full-ids) args=(--limit --after) ;;
	heartbeat) opts=(--status) args=(--status) ;;
	subtask) opts=(--payload) args=(--payload) ;;
	report)
		opts=(--status --error-message --tokens-cli --tokens-local --switch-model --cli-provider --result)
		args=("${opts[@]}")
		;;
	*) opts=() args=() ;;
	esac
}

# The most operands verb $1 takes; spawn's command line has no limit.
_vx11ctl_max_operands() {
	case $1 in
	submit | result | rerun | task | logs | cancel | watch | subtask) max=1 ;;
	spawn | run | wait) max=1000000 ;;
	*) max=0 ;;
	esac
}

# Append to COMPREPLY each word that starts with $cur.
_vx11ctl_filter() {
	local w
	for w in "$@"; do
		[[ $w == "$cur"* ]] && COMPREPLY+=("$w")
	done
	return 0
}

# A comma-separated list of these words ("pending,ru" -> "pending,running"),
# leaving out the ones already in the list.
_vx11ctl_comma_list() {
	local head='' last=$cur w
	if [[ $cur == *,* ]]; then
		head=${cur%,*},
		last=${cur##*,}
	fi
	for w in "$@"; do
		[[ ,$head == *",$w,"* ]] && continue
		[[ $w == "$last"* ]] && COMPREPLY+=("$head$w")
	done
	return 0
}

_vx11ctl_files() {
	if declare -F _filedir >/dev/null; then
		_filedir
	else
		local f
		while IFS= read -r f; do
			COMPREPLY+=("$f")
		done < <(compgen -f -- "$cur")
		compopt -o filenames 2>/dev/null || true
	fi
	return 0
}

# A word of the command line as the shell would pass it, for the simple cases:
# one level of quotes or backslashes, and a leading ~/.
_vx11ctl_dequote() {
	local w=$1
	case $w in
	\'*\') w=${w:1:${#w}-2} ;;
	\"*\") w=${w:1:${#w}-2} ;;
	*)
		w=${w//\\\\/$'\001'}
		w=${w//\\/}
		w=${w//$'\001'/\\}
		;;
	esac
	# shellcheck disable=SC2088 # a literal ~/, typed and not yet expanded
	[[ $w == '~/'* ]] && w=$HOME/${w#'~/'}
	dequoted=$w
	return 0
}

# Append to COMPREPLY the members $1 ("id" or "intent_id") of the daemon's
# tasks that start with $cur; $2, if any, is a --status filter. The daemon is
# asked by the vx11ctl being completed (words[0]), on the socket a --socket
# earlier on the line names, else $VX11_SOCKET, else its default.
_vx11ctl_task_ids() {
	local key=$1 status=${2-} ctl dequoted out line
	local re='^[[:space:]]*"'$key'"[[:space:]]*:[[:space:]]*"([^"\\]+)"'
	local -a cmd=()

	_vx11ctl_dequote "${words[0]}"
	ctl=$dequoted
	[[ $ctl == */* ]] || ctl=$(type -P -- "$ctl") || ctl=
	[[ -n $ctl && -x $ctl ]] || ctl=$(type -P vx11ctl) || return 0
	type -P timeout >/dev/null || return 0 # unbounded, a hung daemon would hang the shell

	cmd=(timeout 2 "$ctl")
	[[ -n $socket ]] && cmd+=(--socket "$socket")
	# The newest 1000 (the most task.list gives).
	cmd+=(--json tasks --limit 1000)
	[[ -n $status ]] && cmd+=(--status "$status")
	out=$("${cmd[@]}" </dev/null 2>/dev/null) || return 0

	# Pretty JSON has one member a line, and a string cannot hold a raw
	# newline: a line that starts with "id": is that member of a task.
	while IFS= read -r line; do
		if [[ $line =~ $re ]]; then
			[[ ${BASH_REMATCH[1]} == "$cur"* ]] && COMPREPLY+=("${BASH_REMATCH[1]}")
		fi
	done <<<"$out"
	return 0
}

# Complete the argument of option $1 of verb $verb.
_vx11ctl_option_argument() {
	case $verb:$1 in
	*:--socket) _vx11ctl_files ;;
	tasks:--status)
		_vx11ctl_comma_list pending planning running retrying completed failed expired cancelled
		;;
	daughters:--status) _vx11ctl_filter spawning running exited failed expired killed ;;
	prune:--status) _vx11ctl_comma_list completed failed expired cancelled ;;
	tasks:--source | submit:--source) _vx11ctl_filter shub operator madre hijas ;;
	submit:--priority) _vx11ctl_filter P0 P1 P2 P3 ;;
	spawn:--profile) _vx11ctl_filter default strict none ;;
	tasks:--after | spawn:--parent | submit:--after | run:--after) _vx11ctl_task_ids id ;;
	run:--cwd) _vx11ctl_files ;;
	esac
	# Anything else (numbers, free text, JSON): nothing to offer.
	return 0
}

# Complete operand number $1 (0 the first) of verb $verb.
_vx11ctl_operand() {
	case $verb in
	task | logs | watch | rerun) _vx11ctl_task_ids id ;;
	# Only tasks that have not ended can be cancelled, or are worth waiting for.
	cancel | wait) _vx11ctl_task_ids id pending,planning,running,retrying ;;
	# A spawner task's intent_id is its intent's correlation id.
	result) _vx11ctl_task_ids intent_id ;;
	# COMMAND, an absolute path (run: or a program in PATH), then its arguments.
	spawn) _vx11ctl_files ;;
	run)
		if (($1 == 0)) && [[ $cur != */* ]]; then
			local c
			while IFS= read -r c; do COMPREPLY+=("$c"); done < <(compgen -c -- "$cur")
		else
			_vx11ctl_files
		fi
		;;
	esac
	# submit's INTENT_TYPE: the protocol does not list the policy's task types.
	return 0
}

_vx11ctl() {
	local IFS=$' \t\n'
	# shellcheck disable=SC2034 # prev: _init_completion sets it, unused here
	local cur prev words cword
	local -a verbs opts args global_opts global_args
	local verb='' socket='' want_arg='' w i n_operands=0 end_of_options='' max dequoted

	COMPREPLY=()
	if declare -F _init_completion >/dev/null; then
		# -n =: keep "--opt=value" one word; it is split below.
		_init_completion -n = || return 0
	else
		# The same by hand: COMP_WORDS has "--opt", "=", "value" for --opt=value.
		local join=''
		words=()
		cword=0
		for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
			w=${COMP_WORDS[i]}
			if [[ -n $join ]]; then
				words[${#words[@]} - 1]+=$w
				join=
			elif ((i > 0)) && [[ $w == = && ${words[${#words[@]} - 1]} == --* ]]; then
				words[${#words[@]} - 1]+='='
				join=1
			else
				words+=("$w")
			fi
			((i == COMP_CWORD)) && cword=$((${#words[@]} - 1))
		done
		((cword > 0)) || return 0
		# The cursor may be inside a word: complete what is before it.
		cur=${words[cword]-}
		local before=${COMP_LINE:0:COMP_POINT}
		before=${before##*[[:blank:]]}
		[[ ${#before} -lt ${#cur} && $cur == "$before"* ]] && cur=$before
	fi

	_vx11ctl_verbs
	global_opts=(--socket --json --utc -h --help --version)
	global_args=(--socket)

	# Read the line before the cursor as vx11ctl would: global options, the
	# verb, then its operands mixed with its and the global options (for
	# spawn, the command to run ends the options).
	for ((i = 1; i < cword; i++)); do
		w=${words[i]}
		if [[ -z $end_of_options && $w == -?* ]]; then
			if [[ $w == -- ]]; then
				end_of_options=1
				continue
			fi
			if [[ $w == --socket=* ]]; then
				_vx11ctl_dequote "${w#*=}"
				socket=$dequoted
			elif [[ " ${global_args[*]} ${args[*]-} " == *" $w "* ]]; then
				if ((i + 1 == cword)); then
					want_arg=$w
				elif [[ $w == --socket ]]; then
					_vx11ctl_dequote "${words[i + 1]}"
					socket=$dequoted
				fi
				i=$((i + 1))
			fi
			continue
		fi
		if [[ -z $verb ]]; then
			verb=$w
			_vx11ctl_verb_options "$verb"
			# A "--" before the verb ends only the global options: vx11ctl
			# reads the verb's afresh.
			end_of_options=''
			continue
		fi
		n_operands=$((n_operands + 1))
		[[ $verb == spawn || $verb == run ]] && end_of_options=1
	done

	# --opt=value: complete the value.
	if [[ -z $want_arg && -z $end_of_options && $cur == --*=* ]]; then
		want_arg=${cur%%=*}
		cur=${cur#*=}
		[[ " ${global_args[*]} ${args[*]-} " == *" $want_arg "* ]] || return 0
	fi

	if [[ -n $want_arg ]]; then
		_vx11ctl_option_argument "$want_arg"
	elif [[ -z $end_of_options && $cur == -* ]]; then
		_vx11ctl_filter ${opts[@]+"${opts[@]}"} "${global_opts[@]}"
	elif [[ -z $verb ]]; then
		_vx11ctl_filter "${verbs[@]}"
	else
		_vx11ctl_max_operands "$verb"
		((n_operands < max)) && _vx11ctl_operand "$n_operands"
	fi
	return 0
}

complete -F _vx11ctl vx11ctl
