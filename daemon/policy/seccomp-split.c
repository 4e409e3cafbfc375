/* SPDX-License-Identifier: MIT */
/*
 * A profile split for the zygote (seccomp-profile.h, sandbox/seccomp.h): the
 * variant the zygote runs under, and the dropped rules each of its children
 * stacks. Both are the profile read again by seccomp-oci.c in another mode:
 * the variant leaves out the profile's rules on the split calls and allows
 * them (unshare(CLONE_NEWUSER) excepted), the dropped filter keeps only those
 * rules over a default of ALLOW. The split calls are those of
 * spawn_zygote_syscalls that the profile does not simply allow.
 */
#include <assert.h>
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "seccomp-oci-internal.h"
#include "seccomp-profile.h"

/* What the profile does with a call: its unconditional action (*ret_action), or conditional rules. */
static bool unconditional(const Compiler *c, int nr, uint32_t *ret_action)
{
	bool conditional = false;

	*ret_action = c->profile_default;
	for (size_t i = 0; i < c->n_given; i++)
		if (c->given[i].nr == nr) {
			if (!c->given[i].conditional) {
				*ret_action = c->given[i].action;
				return true;
			}
			conditional = true;
		}
	return !conditional;
}

/* After the profile's rules: what the variant allows instead, and the dropped filter's
 * unconditional rules for the calls the profile leaves to its default. */
int seccomp_split_finish(Compiler *c)
{
	int unshare = seccomp_syscall_resolve_name("unshare"), r = 0;

	for (size_t k = 0; k < c->n_split && r >= 0; k++) {
		int nr = c->split[k];
		uint32_t a;
		bool given = false;

		(void)unconditional(c, nr, &a);
		for (size_t i = 0; i < c->n_given; i++)
			given = given || c->given[i].nr == nr;
		if (c->mode == BUILD_DROPPED) {
			if (!given && a != SCMP_ACT_ALLOW)
				r = seccomp_rule_add(c->ctx, a, nr, 0);
			continue;
		}
		/* The variant. unshare(CLONE_NEWUSER) keeps the profile's action, so the
		 * zygote and its children never get a user namespace on the way. */
		if (nr == unshare) {
			/* libseccomp refuses a rule that repeats the default action. */
			if (c->default_action != SCMP_ACT_ALLOW)
				r = seccomp_rule_add(c->ctx, SCMP_ACT_ALLOW, nr, 1,
						     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, 0));
			if (r >= 0 && a != c->default_action)
				r = seccomp_rule_add(c->ctx, a, nr, 1,
						     SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
		} else if (c->default_action != SCMP_ACT_ALLOW)
			r = seccomp_rule_add(c->ctx, SCMP_ACT_ALLOW, nr, 0);
	}
	if (r < 0)
		return seccomp_oci_fail(c, r, "libseccomp refused a rule of the zygote's split: %s", strerror(-r));
	return 0;
}

int seccomp_oci_build_split(const char *text, size_t len, const char *const *needed, scmp_filter_ctx *ret_variant,
			    scmp_filter_ctx *ret_dropped, const char **ret_why_not)
{
	int split[64], unshare = seccomp_syscall_resolve_name("unshare"), r;
	size_t n_split = 0;
	Compiler c;

	assert(text && needed && ret_variant && ret_dropped && ret_why_not);
	*ret_why_not = NULL;
	r = seccomp_oci_compile(text, len, BUILD_FULL, NULL, 0, &c);
	if (r >= 0)
		for (size_t k = 0; needed[k] && n_split < ELEMENTSOF(split); k++) {
			int nr = seccomp_syscall_resolve_name(needed[k]);
			uint32_t a;
			bool plain = unconditional(&c, nr, &a);

			if (nr == __NR_SCMP_ERROR)
				continue; /* not a call of this ABI */
			if (plain && a == SCMP_ACT_ALLOW)
				continue;
			/* Conditional rules fall through to the default action: the dropped filter, whose
			 * default is ALLOW, reproduces them only where the profile's is ALLOW too. And
			 * unshare(CLONE_NEWUSER) must keep exactly the profile's one action. */
			if (!plain && (c.profile_default != SCMP_ACT_ALLOW || nr == unshare)) {
				*ret_why_not = needed[k];
				break;
			}
			split[n_split++] = nr;
		}
	if (c.ctx)
		seccomp_release(c.ctx);
	free(c.given);
	free(c.error);
	if (r < 0)
		return r;
	if (*ret_why_not)
		return 0;

	r = seccomp_oci_compile(text, len, BUILD_VARIANT, split, n_split, &c);
	free(c.given);
	free(c.error);
	if (r < 0)
		return r;
	*ret_variant = c.ctx;
	*ret_dropped = NULL;
	if (n_split == 0)
		return 0; /* the profile allows all of them: nothing to stack */
	r = seccomp_oci_compile(text, len, BUILD_DROPPED, split, n_split, &c);
	free(c.given);
	free(c.error);
	if (r < 0) {
		seccomp_release(*ret_variant);
		*ret_variant = NULL;
		return r;
	}
	*ret_dropped = c.ctx;
	return 0;
}
