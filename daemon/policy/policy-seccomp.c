/* SPDX-License-Identifier: MIT */
/*
 * The tasks' "seccomp" keys. Every profile a task or mutation level names is
 * compiled into a BPF program while the policy loads, so a bad profile
 * refuses the policy instead of the first spawn, and a spawn only hands a
 * ready program to the kernel. The Policy owns the programs: one per distinct
 * name, shared by every task and level that names it, so a policy of many
 * tasks compiles "default" once.
 *
 * "default" and "strict" are compiled from copies built into the binary, so
 * they resolve whether or not anything is installed, and a daemon always
 * runs the profiles of its own version. Absolute paths are read at each load.
 */
#include <errno.h>
#include <string.h>

#include "policy-internal.h"
#include "seccomp-profile.h"

static const char *builtin_profile(const char *name)
{
	if (streq(name, "default"))
		return vx11_seccomp_default_json;
	if (streq(name, "strict"))
		return vx11_seccomp_strict_json;
	return NULL;
}

static int compile_profile(const char *name, const char *path, SeccompProgram **ret, char **error)
{
	_cleanup_free_ char *text = NULL, *inner = NULL;
	const char *builtin = builtin_profile(name);
	int r;

	if (builtin) {
		r = seccomp_program_compile_json(builtin, name, ret, &inner);
		if (r == -ENOMEM)
			return policy_oom(error);
		if (r < 0)
			return policy_error(error, r, path, "the built-in \"%s\" profile: %s", name,
					    inner ?: "cannot be compiled");
		return 0;
	}

	r = policy_read_file(name, POLICY_SECCOMP_FILE_MAX, &text, NULL);
	if (r == -ENOMEM)
		return policy_oom(error);
	/* A profile that is not there is a mistake in the policy, like a missing group. */
	if (r < 0)
		return policy_error(error, -EINVAL, path, "%s: %s", name, policy_read_strerror(r));
	r = seccomp_program_compile_json(text, name, ret, &inner);
	if (r == -ENOMEM)
		return policy_oom(error);
	if (r < 0)
		return policy_error(error, r, path, "%s: %s", name, inner ?: "cannot be compiled");
	return 0;
}

int policy_seccomp_resolve(Policy *p, const char *name, const char *path, const SeccompProgram **ret,
			   char **error)
{
	SeccompProgram *prog = NULL, **a;
	int r;

	if (streq(name, "none")) {
		*ret = NULL;
		return 0;
	}
	/* A policy names a handful of profiles at most. */
	for (size_t i = 0; i < p->n_seccomp_programs; i++)
		if (streq(p->seccomp_programs[i]->origin, name)) {
			*ret = p->seccomp_programs[i];
			return 0;
		}

	a = reallocarray(p->seccomp_programs, p->n_seccomp_programs + 1, sizeof(SeccompProgram *));
	if (!a)
		return policy_oom(error);
	p->seccomp_programs = a;
	r = compile_profile(name, path, &prog, error);
	if (r < 0)
		return r;
	p->seccomp_programs[p->n_seccomp_programs++] = prog;
	*ret = prog;
	return 0;
}

int policy_get_seccomp(Policy *p, json_object *v, const char *path, char **ret_name,
		       const SeccompProgram **ret_program, char **error)
{
	const SeccompProgram *prog;
	const char *s;
	char *dup;
	int r;

	/* Relative paths are refused: they would depend on the daemon's working directory. */
	if (policy_get_string(v, path, &s, NULL) < 0 ||
	    (!builtin_profile(s) && !streq(s, "none") && s[0] != '/'))
		return policy_error(error, -EINVAL, path,
				    "expected \"default\", \"strict\", \"none\" or an absolute path "
				    "to an OCI seccomp profile");
	r = policy_seccomp_resolve(p, s, path, &prog, error);
	if (r < 0)
		return r;
	dup = strdup(s);
	if (!dup)
		return policy_oom(error);
	free(*ret_name);
	*ret_name = dup;
	*ret_program = prog;
	return 0;
}

void policy_seccomp_done(Policy *p)
{
	for (size_t i = 0; i < p->n_seccomp_programs; i++)
		seccomp_program_free(p->seccomp_programs[i]);
	free(p->seccomp_programs);
	p->seccomp_programs = NULL;
	p->n_seccomp_programs = 0;
}
