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
	free(p->origin);
	free(p);
	return NULL;
}

int seccomp_program_load(const SeccompProgram *p)
{
	if (!p)
		return 0;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p->prog) >= 0)
		return 0;
	/* Kernels before 3.17 have no seccomp(2), and an outer filter may hide it: prctl is the same. */
	if (errno == ENOSYS && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &p->prog, 0, 0) >= 0)
		return 0;
	return -errno;
}
