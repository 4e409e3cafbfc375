/* SPDX-License-Identifier: MIT */
/*
 * Seccomp profiles for daughters: an OCI/Docker JSON profile is compiled into
 * a classic BPF program once, when the policy is loaded, and the daughter only
 * hands that ready program to the kernel as the last step before execve.
 *
 * Profiles are named by the policy's "seccomp" key:
 *   "default", "strict"  <profile_dir>/default.json, <profile_dir>/strict.json
 *   "none"               no filter (the compile returns NULL)
 *   "/abs/path.json"     any OCI-format profile
 *
 * The JSON accepted (anything else, unknown keys included, is an error):
 *   defaultAction     required; one of the actions below
 *   defaultErrnoRet   errno for a defaultAction of SCMP_ACT_ERRNO (default EPERM)
 *   architectures     SCMP_ARCH_* names. The native ABI is always filtered;
 *                     its compat ABIs (x86 and x32 beside x86_64, arm beside
 *                     aarch64, s390 beside s390x) only when listed, or all of
 *                     them when the key is absent; every other ABI the kernel
 *                     runs is killed (bad-arch action KILL_PROCESS), so no ABI
 *                     bypasses the rules. Names of foreign ABIs are accepted and
 *                     ignored, so one profile serves several machines.
 *   syscalls[]        { names, action, errnoRet, args, comment, includes, excludes }
 *     names           system call names known to this libseccomp; an unknown
 *                     name is an error (not skipped), so a typo cannot open a hole
 *     errnoRet        only with SCMP_ACT_ERRNO (default EPERM), 0..4095
 *     args[]          { index 0..5, value, valueTwo, op }, all ANDed; one
 *                     comparison per argument index; for SCMP_CMP_MASKED_EQ
 *                     value is the mask and valueTwo the expected result,
 *                     other ops need valueTwo absent or 0. Refused for socket
 *                     and SysV IPC calls when x86 or s390 is filtered: there
 *                     they also come through socketcall(2)/ipc(2), where
 *                     libseccomp can only match the call, not its arguments.
 *     includes/excludes  {} or { "arches": [...] } with libseccomp-golang
 *                     names ("amd64", "arm64", "x86", ...), matched against
 *                     the native ABI as Docker does; "caps" lists must be
 *                     empty (a daughter's capabilities are not known when the
 *                     profile is compiled), "minKernel" is refused
 *   actions           SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_ACT_LOG, SCMP_ACT_TRAP,
 *                     SCMP_ACT_KILL (= SCMP_ACT_KILL_THREAD), SCMP_ACT_KILL_PROCESS.
 *                     SCMP_ACT_TRACE and SCMP_ACT_NOTIFY are refused with an
 *                     error: vx11d runs neither a tracer nor a notification
 *                     agent, and untraced the kernel would fail a TRACE call
 *                     with ENOSYS, which a profile should say as SCMP_ACT_ERRNO.
 *   ops               SCMP_CMP_NE, _LT, _LE, _EQ, _GE, _GT, _MASKED_EQ
 *
 * A rule whose action is the default action is accepted and has no effect.
 * One system call gets one unconditional action: a second rule for it with
 * another action, or a conditional rule whose action differs from an
 * unconditional one, is an error (libseccomp would silently keep one).
 * Conditional rules of one system call are ORed; two of them with different
 * actions must not match the same call, as which one wins is libseccomp's
 * choice (this is not checked).
 *
 * Errors come back as one line naming where in the profile, e.g.
 *   syscalls[3].names[1]: unknown system call "foo"
 * and, from seccomp_program_compile(), prefixed with the file's path. A
 * function returns -EINVAL for a bad profile, -ENOMEM, the -errno of a failed
 * read (-ENOENT, ...), or another -errno from libseccomp or the kernel.
 */
#pragma once

#include <seccomp.h>

#include <linux/filter.h>

#include "sandbox/seccomp.h"
#include "util.h"

/*
 * Compiles the profile called name (see above). "none" sets *ret to NULL and
 * returns 0. profile_dir is where "default" and "strict" live. On failure
 * *ret is untouched and, if ret_error is not NULL, *ret_error is set to a
 * malloc'd message (it may be NULL when even that allocation failed).
 */
int seccomp_program_compile(const char *name, const char *profile_dir, SeccompProgram **ret,
			    char **ret_error);

/* Compiles profile text; origin is only recorded. Errors carry no file name. */
int seccomp_program_compile_json(const char *json, const char *origin, SeccompProgram **ret,
				 char **ret_error);

/*
 * Between seccomp-profile.c and seccomp-oci.c only: builds the libseccomp context of
 * the profile text (NUL-terminated at text[len]). On failure *ret is
 * untouched and *ret_error holds the message (NULL when even that allocation
 * failed).
 */
int seccomp_oci_build(const char *text, size_t len, scmp_filter_ctx *ret, char **ret_error);

/*
 * The zygote's split of a profile that seccomp_oci_build() accepted (sandbox/seccomp.h):
 * *ret_variant, the profile without its rules for the calls of needed (NULL-terminated
 * names) that it restricts, which it allows instead (unshare(CLONE_NEWUSER) excepted);
 * *ret_dropped, a filter that allows everything but those calls and gives them exactly the
 * profile's treatment (NULL when the profile restricts none of them). Where that cannot be exact (conditional rules on such a call under a
 * default action other than SCMP_ACT_ALLOW, or on unshare), both stay NULL, *ret_why_not
 * names the call, and the return is 0. -errno on failure.
 */
int seccomp_oci_build_split(const char *text, size_t len, const char *const *needed, scmp_filter_ctx *ret_variant,
			    scmp_filter_ctx *ret_dropped, const char **ret_why_not);

