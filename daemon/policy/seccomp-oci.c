/* SPDX-License-Identifier: MIT */
/*
 * OCI/Docker seccomp profiles, read strictly into a libseccomp filter context
 * (the format is described in seccomp.h). seccomp.c turns the context into a
 * plain BPF program; nothing here runs in a daughter.
 *
 * A typo must not open a hole, so everything libseccomp would accept and then
 * silently drop or resolve its own way is an error with its place in the
 * profile: unknown keys, names and values, a system call given two different
 * unconditional actions, and argument comparisons libseccomp cannot make on
 * an ABI in the filter (socketcall(2) and ipc(2) on x86 and s390).
 *
 * ABIs: libseccomp keys rules by name and translates them per architecture,
 * so adding the compat ABIs to the context applies the same rules to i386
 * (int 0x80) and x32 (__X32_SYSCALL_BIT) calls; any ABI not in the filter
 * hits the bad-arch action, KILL_PROCESS.
 *
 * The same reading, in another BuildMode, makes the two halves of the
 * zygote's split of a profile (seccomp-split.c).
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy-internal.h"
#include "seccomp-oci-internal.h"
#include "seccomp-profile.h"

/* Short: every error return below uses it. */
#define fail seccomp_oci_fail

#define ERRNO_MAX 4095 /* the kernel's MAX_ERRNO: larger values are not errors to libc */
#define ARGS_MAX 6

typedef struct NamedValue {
	const char *name;
	uint32_t value;
} NamedValue;

/* SCMP_ACT_ERRNO carries its errno in the low 16 bits; the table holds it with 0. */
static const NamedValue actions[] = {
	{ "SCMP_ACT_ALLOW", SCMP_ACT_ALLOW },
	{ "SCMP_ACT_ERRNO", SCMP_ACT_ERRNO(0) },
	{ "SCMP_ACT_LOG", SCMP_ACT_LOG },
	{ "SCMP_ACT_TRAP", SCMP_ACT_TRAP },
	{ "SCMP_ACT_KILL", SCMP_ACT_KILL },
	{ "SCMP_ACT_KILL_THREAD", SCMP_ACT_KILL_THREAD },
	{ "SCMP_ACT_KILL_PROCESS", SCMP_ACT_KILL_PROCESS },
};

static const NamedValue operators[] = {
	{ "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT }, { "SCMP_CMP_LE", SCMP_CMP_LE },
	{ "SCMP_CMP_EQ", SCMP_CMP_EQ }, { "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
	{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
};

typedef struct Arch {
	const char *oci;    /* in "architectures" */
	const char *go;     /* in includes/excludes "arches", as libseccomp-golang names it */
	uint32_t token;     /* SCMP_ARCH_* */
	uint32_t compat_of; /* the 64-bit ABI whose kernel also runs this one, or 0 */
} Arch;

static const Arch arches[] = {
	{ "SCMP_ARCH_X86_64", "amd64", SCMP_ARCH_X86_64, 0 },
	{ "SCMP_ARCH_X86", "x86", SCMP_ARCH_X86, SCMP_ARCH_X86_64 },
	{ "SCMP_ARCH_X32", "x32", SCMP_ARCH_X32, SCMP_ARCH_X86_64 },
	{ "SCMP_ARCH_AARCH64", "arm64", SCMP_ARCH_AARCH64, 0 },
	{ "SCMP_ARCH_ARM", "arm", SCMP_ARCH_ARM, SCMP_ARCH_AARCH64 },
	{ "SCMP_ARCH_MIPS", "mips", SCMP_ARCH_MIPS, 0 },
	{ "SCMP_ARCH_MIPS64", "mips64", SCMP_ARCH_MIPS64, 0 },
	{ "SCMP_ARCH_MIPS64N32", "mips64n32", SCMP_ARCH_MIPS64N32, 0 },
	{ "SCMP_ARCH_MIPSEL", "mipsel", SCMP_ARCH_MIPSEL, 0 },
	{ "SCMP_ARCH_MIPSEL64", "mipsel64", SCMP_ARCH_MIPSEL64, 0 },
	{ "SCMP_ARCH_MIPSEL64N32", "mipsel64n32", SCMP_ARCH_MIPSEL64N32, 0 },
	{ "SCMP_ARCH_PPC", "ppc", SCMP_ARCH_PPC, 0 },
	{ "SCMP_ARCH_PPC64", "ppc64", SCMP_ARCH_PPC64, 0 },
	{ "SCMP_ARCH_PPC64LE", "ppc64le", SCMP_ARCH_PPC64LE, 0 },
	{ "SCMP_ARCH_S390", "s390", SCMP_ARCH_S390, SCMP_ARCH_S390X },
	{ "SCMP_ARCH_S390X", "s390x", SCMP_ARCH_S390X, 0 },
	{ "SCMP_ARCH_PARISC", "parisc", SCMP_ARCH_PARISC, 0 },
	{ "SCMP_ARCH_PARISC64", "parisc64", SCMP_ARCH_PARISC64, 0 },
	{ "SCMP_ARCH_RISCV64", "riscv64", SCMP_ARCH_RISCV64, 0 },
};

/*
 * On x86 and s390 these also come through the socketcall(2) and ipc(2)
 * multiplexers, whose arguments sit in memory: libseccomp then drops a rule's
 * comparisons and matches on the call number alone, which would turn a
 * conditional allow into an unconditional one.
 */
static const char *const multiplexed[] = {
	"socket", "bind", "connect", "listen", "accept", "accept4", "getsockname", "getpeername",
	"socketpair", "send", "recv", "sendto", "recvfrom", "shutdown", "setsockopt", "getsockopt",
	"sendmsg", "recvmsg", "recvmmsg", "sendmmsg", "semop", "semget", "semctl", "semtimedop",
	"msgsnd", "msgrcv", "msgget", "msgctl", "shmat", "shmdt", "shmget", "shmctl", NULL,
};

static void push(Compiler *c, const char *key, size_t index)
{
	assert(c->depth < ELEMENTSOF(c->path));
	c->path[c->depth++] = (PathStep){ .key = key, .index = index };
}

static void pop(Compiler *c)
{
	assert(c->depth > 0);
	c->depth--;
}

/* Sets c->error to "path: message" for the current path and returns r. */
int seccomp_oci_fail(Compiler *c, int r, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	char path[512] = "";
	size_t len = 0;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg)
		return -ENOMEM;

	for (size_t i = 0; i < c->depth && len < sizeof(path); i++) {
		const PathStep *s = &c->path[i];
		int k = s->key ? snprintf(path + len, sizeof(path) - len, "%s%s", i > 0 ? "." : "", s->key)
			       : snprintf(path + len, sizeof(path) - len, "[%zu]", s->index);

		len += (size_t)MAX(k, 0);
	}
	free(c->error);
	if (asprintf(&c->error, "%s%s%s", path, path[0] ? ": " : "", msg) < 0) {
		c->error = NULL;
		return -ENOMEM;
	}
	return r;
}

static bool lookup(const NamedValue *table, size_t n, const char *name, uint32_t *ret)
{
	for (size_t i = 0; i < n; i++)
		if (streq(table[i].name, name)) {
			*ret = table[i].value;
			return true;
		}
	return false;
}

static const char *format_action(char buf[static 32], uint32_t action)
{
	if ((action & 0xffff0000U) == SCMP_ACT_ERRNO(0)) {
		snprintf(buf, 32, "SCMP_ACT_ERRNO(%u)", action & 0xffffU);
		return buf;
	}
	for (size_t i = 0; i < ELEMENTSOF(actions); i++)
		if (actions[i].value == action)
			return actions[i].name;
	snprintf(buf, 32, "0x%08" PRIx32, action);
	return buf;
}

/*
 * Typed getters for value v at key (NULL: the current path); on failure the
 * path names v. json-c reads a number above 2^64-1 as 2^64-1 without telling,
 * so get_uint() cannot tell those apart.
 */
static int get_string(Compiler *c, json_object *v, const char *key, const char **ret)
{
	const char *s = json_object_get_string(v);
	bool is_string = json_object_is_type(v, json_type_string);

	if (!is_string || !*s || strlen(s) != (size_t)json_object_get_string_len(v)) {
		if (key)
			push(c, key, 0);
		return fail(c, -EINVAL, is_string ? "expected a non-empty string" : "expected a string");
	}
	*ret = s;
	return 0;
}

static int get_uint(Compiler *c, json_object *v, const char *key, uint64_t max, uint64_t *ret)
{
	if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0 ||
	    json_object_get_uint64(v) > max) {
		push(c, key, 0);
		return fail(c, -EINVAL, "expected an integer from 0 to %" PRIu64, max);
	}
	*ret = json_object_get_uint64(v);
	return 0;
}

static int get_array(Compiler *c, json_object *v, const char *key, const char *what, size_t *ret_n)
{
	if (!json_object_is_type(v, json_type_array)) {
		push(c, key, 0);
		return fail(c, -EINVAL, "expected an array of %s", what);
	}
	*ret_n = json_object_array_length(v);
	return 0;
}

/* Sorts the keys of object o into values[] by their index in known[]; unknown keys and nulls are errors. */
static int get_object(Compiler *c, json_object *o, const char *const *known, json_object **values)
{
	if (!json_object_is_type(o, json_type_object))
		return fail(c, -EINVAL, "expected an object");

	json_object_object_foreach(o, key, v)
	{
		size_t i;

		for (i = 0; known[i] && !streq(known[i], key); i++)
			;
		if (!known[i] || !v)
			push(c, key, 0);
		if (!known[i] && streq(key, "archMap"))
			return fail(c, -EINVAL, "unknown key (Docker's \"archMap\" is not supported, "
						"list \"architectures\" instead)");
		if (!known[i] && streq(key, "name"))
			return fail(c, -EINVAL, "unknown key (write \"names\": [...])");
		if (!known[i])
			return fail(c, -EINVAL, "unknown key");
		if (!v)
			return fail(c, -EINVAL, "null is not allowed here");
		values[i] = v;
	}
	return 0;
}

/* An action with its errno, from the values at action_key and errno_key of the current object. */
static int parse_action(Compiler *c, json_object *action, json_object *errno_ret, const char *action_key,
			const char *errno_key, uint32_t *ret)
{
	const char *name;
	uint64_t e = EPERM;
	uint32_t a;
	int r;

	r = get_string(c, action, action_key, &name);
	if (r < 0)
		return r;
	if (!lookup(actions, ELEMENTSOF(actions), name, &a)) {
		push(c, action_key, 0);
		if (streq(name, "SCMP_ACT_TRACE"))
			return fail(c, -EINVAL, "SCMP_ACT_TRACE is not supported: vx11d does not trace "
						"daughters (use SCMP_ACT_ERRNO)");
		if (streq(name, "SCMP_ACT_NOTIFY"))
			return fail(c, -EINVAL,
				    "SCMP_ACT_NOTIFY is not supported: vx11d runs no seccomp agent");
		return fail(c, -EINVAL, "unknown action \"%s\"", name);
	}
	if (errno_ret && a != SCMP_ACT_ERRNO(0)) {
		push(c, errno_key, 0);
		return fail(c, -EINVAL, "only allowed with SCMP_ACT_ERRNO");
	}
	if (errno_ret) {
		r = get_uint(c, errno_ret, errno_key, ERRNO_MAX, &e);
		if (r < 0)
			return r;
	}
	*ret = a == SCMP_ACT_ERRNO(0) ? SCMP_ACT_ERRNO((uint32_t)e) : a;
	return 0;
}

static int add_arch(Compiler *c, const Arch *a)
{
	int r;

	if (seccomp_arch_exist(c->ctx, a->token) == 0)
		return 0;
	r = seccomp_arch_add(c->ctx, a->token);
	if (r < 0)
		return fail(c, r, "libseccomp cannot add %s: %s", a->oci, strerror(-r));
	if (a->token == SCMP_ARCH_X86 || a->token == SCMP_ARCH_S390 || a->token == SCMP_ARCH_S390X)
		c->multiplexing_arch = a->oci;
	return 0;
}

static int parse_architectures(Compiler *c, json_object *list)
{
	size_t n = 0;
	int r;

	if (c->native == SCMP_ARCH_X86 || c->native == SCMP_ARCH_S390 || c->native == SCMP_ARCH_S390X)
		c->multiplexing_arch = c->native_name;
	if (!list) {
		for (size_t i = 0; i < ELEMENTSOF(arches); i++)
			if (arches[i].compat_of == c->native) {
				r = add_arch(c, &arches[i]);
				if (r < 0)
					return r;
			}
		return 0;
	}

	r = get_array(c, list, "architectures", "SCMP_ARCH_* names", &n);
	if (r < 0)
		return r;
	push(c, "architectures", 0);
	for (size_t i = 0; i < n; i++) {
		const Arch *a = NULL;
		const char *name;

		push(c, NULL, i);
		r = get_string(c, json_object_array_get_idx(list, i), NULL, &name);
		if (r < 0)
			return r;
		for (size_t k = 0; k < ELEMENTSOF(arches); k++)
			if (streq(arches[k].oci, name))
				a = &arches[k];
		if (!a)
			return fail(c, -EINVAL, "unknown architecture \"%s\"", name);
		/* ABIs this kernel cannot run never reach the filter: leave them out. */
		if (a->compat_of == c->native) {
			r = add_arch(c, a);
			if (r < 0)
				return r;
		}
		pop(c);
	}
	pop(c);
	return 0;
}

/* includes/excludes: *ret_listed is whether "arches" is non-empty, *ret_native whether it names us. */
static int parse_condition(Compiler *c, json_object *o, const char *key, bool *ret_listed, bool *ret_native)
{
	static const char *const known[] = { "caps", "arches", NULL };
	json_object *values[ELEMENTSOF(known)] = {};
	size_t n = 0;
	int r;

	*ret_listed = *ret_native = false;

	push(c, key, 0);
	r = get_object(c, o, known, values);
	if (r < 0)
		return r;
	if (values[0]) {
		r = get_array(c, values[0], "caps", "capability names", &n);
		if (r < 0)
			return r;
		if (n > 0) {
			push(c, "caps", 0);
			return fail(c, -EINVAL, "capability conditions are not supported (a daughter's "
						"capabilities are not known when the profile is compiled)");
		}
	}
	if (values[1]) {
		r = get_array(c, values[1], "arches", "architecture names", &n);
		if (r < 0)
			return r;
		push(c, "arches", 0);
		for (size_t i = 0; i < n; i++) {
			const char *name;
			bool known_arch = false;

			push(c, NULL, i);
			r = get_string(c, json_object_array_get_idx(values[1], i), NULL, &name);
			if (r < 0)
				return r;
			if (streq(name, "386")) /* Go's name for x86 */
				name = "x86";
			for (size_t k = 0; k < ELEMENTSOF(arches); k++)
				known_arch = known_arch || streq(arches[k].go, name);
			if (!known_arch)
				return fail(c, -EINVAL, "unknown architecture \"%s\"", name);
			*ret_listed = true;
			*ret_native = *ret_native || streq(c->native_go, name);
			pop(c);
		}
		pop(c);
	}
	pop(c);
	return 0;
}

/* One comparison; seen_at[i] is the args[] index that compares argument i already, or SIZE_MAX. */
static int parse_arg(Compiler *c, json_object *o, const size_t seen_at[static ARGS_MAX],
		     struct scmp_arg_cmp *ret)
{
	static const char *const known[] = { "index", "value", "valueTwo", "op", NULL };
	enum { INDEX, VALUE, VALUE_TWO, OP };
	json_object *values[ELEMENTSOF(known)] = {};
	uint64_t index, value, value_two = 0;
	const char *name;
	uint32_t op;
	int r;

	r = get_object(c, o, known, values);
	if (r < 0)
		return r;
	for (size_t k = INDEX; k <= OP; k++)
		if (!values[k] && k != VALUE_TWO)
			return fail(c, -EINVAL, "missing \"%s\"", known[k]);

	r = get_uint(c, values[INDEX], "index", ARGS_MAX - 1, &index);
	if (r < 0)
		return r;
	if (seen_at[index] != SIZE_MAX) {
		push(c, "index", 0);
		return fail(c, -EINVAL, "argument %" PRIu64 " is already compared by args[%zu] (one "
					"comparison per argument and rule)", index, seen_at[index]);
	}
	r = get_string(c, values[OP], "op", &name);
	if (r < 0)
		return r;
	if (!lookup(operators, ELEMENTSOF(operators), name, &op)) {
		push(c, "op", 0);
		return fail(c, -EINVAL, "unknown operator \"%s\"", name);
	}
	r = get_uint(c, values[VALUE], "value", UINT64_MAX, &value);
	if (r < 0)
		return r;
	if (values[VALUE_TWO]) {
		r = get_uint(c, values[VALUE_TWO], "valueTwo", UINT64_MAX, &value_two);
		if (r < 0)
			return r;
		if (value_two != 0 && op != SCMP_CMP_MASKED_EQ) {
			push(c, "valueTwo", 0);
			return fail(c, -EINVAL, "only used with SCMP_CMP_MASKED_EQ");
		}
	}

	/* OCI's MASKED_EQ: (arg & value) == valueTwo, which is libseccomp's (mask, datum). */
	*ret = (struct scmp_arg_cmp){
		.arg = (unsigned)index,
		.op = (enum scmp_compare)op,
		.datum_a = value,
		.datum_b = value_two,
	};
	return 0;
}

/* Refuses a rule whose action differs from one the same system call already has and would shadow it. */
static int remember(Compiler *c, int nr, const char *name, uint32_t action, bool conditional, size_t entry)
{
	char a[32], b[32];

	for (size_t i = 0; i < c->n_given; i++) {
		const Given *g = &c->given[i];

		if (g->nr != nr || g->action == action || (g->conditional && conditional))
			continue;
		if (!g->conditional && !conditional)
			return fail(c, -EINVAL, "\"%s\" is given %s by syscalls[%zu] and %s here", name,
				    format_action(a, g->action), g->entry, format_action(b, action));
		return fail(c, -EINVAL, "\"%s\" has an unconditional rule (%s, syscalls[%zu]) and a "
					"conditional one (%s, syscalls[%zu]) with different actions",
			    name, format_action(a, g->conditional ? action : g->action),
			    g->conditional ? entry : g->entry,
			    format_action(b, g->conditional ? g->action : action), g->conditional ? g->entry : entry);
	}

	if (c->n_given == c->n_given_alloc) {
		size_t n = MAX(c->n_given_alloc * 2, (size_t)64);
		Given *g = reallocarray(c->given, n, sizeof(Given));

		if (!g)
			return -ENOMEM;
		c->given = g;
		c->n_given_alloc = n;
	}
	c->given[c->n_given++] =
		(Given){ .nr = nr, .action = action, .conditional = conditional, .entry = entry };
	return 0;
}

static int add_rule(Compiler *c, const char *name, uint32_t action, const struct scmp_arg_cmp *cmps,
		    size_t n_cmps, size_t entry)
{
	/* Names of other ABIs resolve too, to libseccomp's negative pseudo numbers. */
	int nr = seccomp_syscall_resolve_name(name), r;

	if (nr == __NR_SCMP_ERROR)
		return fail(c, -EINVAL, "unknown system call \"%s\"", name);
	if (n_cmps > 0 && c->multiplexing_arch)
		for (size_t k = 0; multiplexed[k]; k++)
			if (streq(multiplexed[k], name))
				return fail(c, -EINVAL, "\"%s\" cannot be filtered by its arguments on %s, "
							"where it may come through a multiplexer call; "
							"leave %s out of \"architectures\"",
					    name, c->multiplexing_arch, c->multiplexing_arch);
	r = remember(c, nr, name, action, n_cmps > 0, entry);
	if (r < 0)
		return r;
	if (c->mode != BUILD_FULL) {
		bool in_split = false;
		for (size_t k = 0; k < c->n_split; k++)
			in_split = in_split || c->split[k] == nr;
		/* The variant leaves the split calls to what split_finish() adds; the dropped filter
		 * holds their rules only. */
		if (in_split != (c->mode == BUILD_DROPPED))
			return 0;
	}
	/* libseccomp refuses a rule that repeats the default action; it would change nothing. */
	if (action == c->default_action)
		return 0;
	r = seccomp_rule_add_array(c->ctx, action, nr, (unsigned)n_cmps, cmps);
	if (r == -EEXIST)
		return fail(c, -EINVAL,
			    "\"%s\": an earlier rule has the same comparisons and another action", name);
	if (r < 0)
		return fail(c, r, "libseccomp refused the rule for \"%s\": %s", name, strerror(-r));
	return 0;
}

static int parse_entry(Compiler *c, json_object *o, size_t entry)
{
	static const char *const known[] = { "names",	 "action",   "errnoRet", "args",
					     "comment", "includes", "excludes", NULL };
	enum { NAMES, ACTION, ERRNO_RET, ARGS, COMMENT, INCLUDES, EXCLUDES };
	json_object *values[ELEMENTSOF(known)] = {};
	struct scmp_arg_cmp cmps[ARGS_MAX];
	size_t seen_at[ARGS_MAX], n_args = 0, n_names = 0;
	bool applies = true, listed, native;
	const char *ignored;
	uint32_t action;
	int r;

	r = get_object(c, o, known, values);
	if (r < 0)
		return r;
	if (!values[NAMES])
		return fail(c, -EINVAL, "missing \"names\"");
	if (!values[ACTION])
		return fail(c, -EINVAL, "missing \"action\"");
	r = parse_action(c, values[ACTION], values[ERRNO_RET], "action", "errnoRet", &action);
	if (r < 0)
		return r;
	if (values[COMMENT] && (r = get_string(c, values[COMMENT], "comment", &ignored)) < 0)
		return r;

	if (values[INCLUDES]) {
		r = parse_condition(c, values[INCLUDES], "includes", &listed, &native);
		if (r < 0)
			return r;
		applies = applies && (!listed || native);
	}
	if (values[EXCLUDES]) {
		r = parse_condition(c, values[EXCLUDES], "excludes", &listed, &native);
		if (r < 0)
			return r;
		applies = applies && !native;
	}

	if (values[ARGS]) {
		r = get_array(c, values[ARGS], "args", "comparisons", &n_args);
		if (r < 0)
			return r;
		push(c, "args", 0);
		if (n_args > ARGS_MAX)
			return fail(c, -EINVAL, "at most %d comparisons (one per argument)", ARGS_MAX);
		for (size_t k = 0; k < ARGS_MAX; k++)
			seen_at[k] = SIZE_MAX;
		for (size_t j = 0; j < n_args; j++) {
			push(c, NULL, j);
			r = parse_arg(c, json_object_array_get_idx(values[ARGS], j), seen_at, &cmps[j]);
			if (r < 0)
				return r;
			seen_at[cmps[j].arg] = j;
			pop(c);
		}
		pop(c);
	}

	r = get_array(c, values[NAMES], "names", "system call names", &n_names);
	if (r < 0)
		return r;
	push(c, "names", 0);
	if (n_names == 0)
		return fail(c, -EINVAL, "expected a non-empty array of system call names");
	for (size_t j = 0; j < n_names; j++) {
		const char *name;

		push(c, NULL, j);
		r = get_string(c, json_object_array_get_idx(values[NAMES], j), NULL, &name);
		if (r < 0)
			return r;
		if (applies)
			r = add_rule(c, name, action, cmps, n_args, entry);
		else if (seccomp_syscall_resolve_name(name) == __NR_SCMP_ERROR)
			r = fail(c, -EINVAL, "unknown system call \"%s\"", name);
		if (r < 0)
			return r;
		pop(c);
	}
	pop(c);
	return 0;
}

static int compile_profile(Compiler *c, json_object *root)
{
	static const char *const known[] = { "defaultAction", "defaultErrnoRet", "architectures", "syscalls",
					     NULL };
	enum { DEFAULT_ACTION, DEFAULT_ERRNO_RET, ARCHITECTURES, SYSCALLS };
	json_object *values[ELEMENTSOF(known)] = {};
	size_t n = 0;
	char a[32];
	int r;

	r = get_object(c, root, known, values);
	if (r < 0)
		return r;
	if (!values[DEFAULT_ACTION])
		return fail(c, -EINVAL, "missing \"defaultAction\"");
	r = parse_action(c, values[DEFAULT_ACTION], values[DEFAULT_ERRNO_RET], "defaultAction",
			 "defaultErrnoRet", &c->default_action);
	if (r < 0)
		return r;
	c->profile_default = c->default_action;
	if (c->mode == BUILD_DROPPED)
		c->default_action = SCMP_ACT_ALLOW;

	c->native = seccomp_arch_native();
	for (size_t i = 0; i < ELEMENTSOF(arches); i++)
		if (arches[i].token == c->native) {
			c->native_name = arches[i].oci;
			c->native_go = arches[i].go;
		}
	c->ctx = seccomp_init(c->default_action);
	if (!c->ctx) {
		push(c, "defaultAction", 0);
		return fail(c, -EOPNOTSUPP, "libseccomp or the kernel does not support %s",
			    format_action(a, c->default_action));
	}
	r = seccomp_attr_set(c->ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r >= 0)
		r = seccomp_attr_set(c->ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r >= 0)
		r = seccomp_attr_set(c->ctx, SCMP_FLTATR_CTL_TSYNC, 0);
	if (r < 0)
		return fail(c, r, "cannot set the filter's attributes: %s", strerror(-r));

	/* Before any rule: libseccomp applies a rule to the architectures present when it is added. */
	r = parse_architectures(c, values[ARCHITECTURES]);
	if (r < 0)
		return r;

	if (values[SYSCALLS]) {
		r = get_array(c, values[SYSCALLS], "syscalls", "rules", &n);
		if (r < 0)
			return r;
		push(c, "syscalls", 0);
		for (size_t i = 0; i < n; i++) {
			push(c, NULL, i);
			r = parse_entry(c, json_object_array_get_idx(values[SYSCALLS], i), i);
			if (r < 0)
				return r;
			pop(c);
		}
		pop(c);
	}
	return 0;
}

int seccomp_oci_compile(const char *text, size_t len, BuildMode mode, const int *split, size_t n_split,
			Compiler *c)
{
	_cleanup_(json_object_putp) json_object *root = NULL;
	int r;

	*c = (Compiler){ .mode = mode, .split = split, .n_split = n_split };
	r = policy_parse_json(text, len, &root, &c->error);
	if (r >= 0)
		r = compile_profile(c, root);
	if (r >= 0 && mode != BUILD_FULL)
		r = seccomp_split_finish(c);
	if (r < 0 && c->ctx) {
		seccomp_release(c->ctx);
		c->ctx = NULL;
	}
	return r;
}

int seccomp_oci_build(const char *text, size_t len, scmp_filter_ctx *ret, char **ret_error)
{
	Compiler c;
	int r;

	assert(text);
	assert(ret);
	assert(ret_error);

	r = seccomp_oci_compile(text, len, BUILD_FULL, NULL, 0, &c);
	free(c.given);
	if (r < 0) {
		*ret_error = c.error;
		return r;
	}
	free(c.error);
	*ret = c.ctx;
	return 0;
}
