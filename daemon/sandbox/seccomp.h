/* SPDX-License-Identifier: MIT */
/*
 * A seccomp filter ready for the kernel: a classic BPF program (compiled from
 * an OCI profile by the policy layer, policy/seccomp-profile.h) that the
 * daughter only hands to seccomp(2) as the last step before execve.
 */
#pragma once

#include <linux/filter.h>

#include "util.h"

typedef struct SeccompProgram {
	struct sock_fprog prog; /* ready for SECCOMP_SET_MODE_FILTER; .filter is malloc'd */
	char *origin;           /* "default", "strict", or the profile's path */
	char sha256[65];        /* of the BPF instructions: which filter exactly a daughter ran under */
	/* The same profile split in two for a zygote (spawn-zygote.c): the variant, which the
	 * zygote runs under, allows the calls of spawn_zygote_syscalls that the profile
	 * restricts (but unshare(CLONE_NEWUSER)); the dropped filter holds only the profile's
	 * rules for those calls, and each child stacks it after its namespace steps. Stacked
	 * filters all run and the strictest action wins (an equal one: the newest filter's), so
	 * the daughter runs under exactly the profile. variant.len == 0: no split (the profile
	 * has conditional rules on such a call that cannot be split exactly; zygote_why_not
	 * names it), such daughters are spawned as before. dropped.len == 0: nothing to stack. */
	struct sock_fprog variant, dropped;
	const char *zygote_why_not;
} SeccompProgram;

/* Accepts NULL; returns NULL. */
SeccompProgram *seccomp_program_free(SeccompProgram *p);
static inline void seccomp_program_freep(SeccompProgram **p)
{
	seccomp_program_free(*p);
}
#define _cleanup_seccomp_program_ _cleanup_(seccomp_program_freep)

/*
 * Installs the filter on the calling thread, in the daughter, after
 * PR_SET_NO_NEW_PRIVS (without it the kernel wants CAP_SYS_ADMIN) and as the
 * last step before execve. Async-signal-safe and allocation-free, so it may run
 * in a vfork-style child sharing the daemon's memory; it reads p, which must
 * stay alive until the call returns. It uses seccomp(2), and prctl(2) where
 * that is missing. It does write errno, which in a CLONE_VM child is the
 * parent thread's. NULL (profile "none") does nothing.
 * Returns 0 or -errno. The profile itself must allow execve, and write and
 * exit_group if the child reports a failed execve: both shipped profiles do.
 */
int seccomp_program_load(const SeccompProgram *p);
/* The same for one program; NULL or an empty one does nothing. */
int seccomp_fprog_load(const struct sock_fprog *prog);

