/* SPDX-License-Identifier: MIT */
/* A compiled seccomp program: what the daughter loads, and its release. */
#include <errno.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seccomp.h"

SeccompProgram *seccomp_program_free(SeccompProgram *p)
{
	if (!p)
		return NULL;
	free(p->prog.filter);
	free(p->variant.filter);
	free(p->dropped.filter);
	free(p->origin);
	free(p);
	return NULL;
}

int seccomp_fprog_load(const struct sock_fprog *prog)
{
	if (!prog || prog->len == 0)
		return 0;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog) >= 0)
		return 0;
	/* Kernels before 3.17 have no seccomp(2), and an outer filter may hide it: prctl is the same. */
	if (errno == ENOSYS && syscall(SYS_prctl, PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog, 0, 0) >= 0)
		return 0;
	return -errno;
}

int seccomp_program_load(const SeccompProgram *p)
{
	return p ? seccomp_fprog_load(&p->prog) : 0;
}
