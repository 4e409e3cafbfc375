/* SPDX-License-Identifier: MIT */
/*
 * Theory of operation. The policy loader compiles each profile a task names
 * once: seccomp-oci.c reads the JSON strictly into libseccomp rules, and here
 * libseccomp's BPF is exported through a memfd into a plain malloc'd array,
 * since libseccomp 2.5 can only export to a file descriptor. The libseccomp
 * context is then gone; what remains is a struct sock_fprog that needs
 * nothing but the kernel.
 *
 * The daughter sets no_new_privs, so the filter does not (SCMP_FLTATR_CTL_NNP
 * off), and it is single-threaded at that point, so there is nothing to
 * synchronise (TSYNC off). It loads the program with one seccomp(2) call
 * (sandbox/seccomp.c) and then execs: no libseccomp and no allocation in the
 * child, which may share the daemon's memory.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "policy-internal.h"
#include "seccomp-profile.h"
#include "sandbox/spawn.h"
#include "sha256.h"

/* Sets *error to the formatted message (NULL if that fails) and returns r. */
static int export_fail(char **error, int r, const char *fmt, ...) _printf_(3, 4);
static int export_fail(char **error, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(error, fmt, ap) < 0)
		*error = NULL;
	va_end(ap);
	return r;
}

/* libseccomp 2.5 exports only to a file descriptor; a memfd keeps that off the disk. */
static int export_program(scmp_filter_ctx ctx, struct sock_fprog *ret, char **error)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ struct sock_filter *filter = NULL;
	size_t size, done = 0;
	struct stat st;
	int r;

	fd = memfd_create("vx11-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return export_fail(error, -errno, "memfd_create: %s", strerror(errno));
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return export_fail(error, r, "libseccomp cannot export the filter: %s", strerror(-r));
	if (fstat(fd, &st) < 0)
		return export_fail(error, -errno, "fstat: %s", strerror(errno));

	size = (size_t)st.st_size;
	if (size == 0 || size % sizeof(struct sock_filter) != 0)
		return export_fail(error, -EBADMSG, "libseccomp exported %zu bytes, not a BPF program", size);
	if (size / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return export_fail(error, -E2BIG,
				   "the filter has %zu instructions, over the kernel's limit of %d",
				   size / sizeof(struct sock_filter), BPF_MAXINSNS);

	filter = malloc(size);
	if (!filter)
		return -ENOMEM;
	while (done < size) {
		ssize_t k = pread(fd, (char *)filter + done, size - done, (off_t)done);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return export_fail(error, -errno, "cannot read the exported filter: %s", strerror(errno));
		if (k == 0)
			return export_fail(error, -EBADMSG, "the exported filter is shorter than announced");
		done += (size_t)k;
	}

	ret->len = (unsigned short)(size / sizeof(struct sock_filter));
	ret->filter = TAKE_PTR(filter);
	return 0;
}

/* Hands error over to *ret_error (if wanted) and returns r; a failure without a message is OOM. */
static int hand_error(char **ret_error, char *error, int r)
{
	if (ret_error)
		*ret_error = error ?: strdup("Out of memory");
	else
		free(error);
	return r;
}

/* The zygote's split of the profile (sandbox/seccomp.h), or the reason there is none. */
static int compile_split(const char *text, size_t len, SeccompProgram *p, char **error)
{
	scmp_filter_ctx variant = NULL, dropped = NULL;
	int r;

	r = seccomp_oci_build_split(text, len, spawn_zygote_syscalls, &variant, &dropped, &p->zygote_why_not);
	if (r < 0)
		return export_fail(error, r, "splitting the profile for the zygote: %s", strerror(-r));
	if (!variant)
		return 0;
	r = export_program(variant, &p->variant, error);
	if (r >= 0 && dropped)
		r = export_program(dropped, &p->dropped, error);
	seccomp_release(variant);
	if (dropped)
		seccomp_release(dropped);
	return r;
}

static int compile_text(const char *text, size_t len, const char *origin, SeccompProgram **ret,
			char **ret_error)
{
	_cleanup_seccomp_program_ SeccompProgram *p = NULL;
	char *error = NULL;
	scmp_filter_ctx ctx = NULL;
	int r;

	r = seccomp_oci_build(text, len, &ctx, &error);
	if (r < 0)
		return hand_error(ret_error, error, r);

	p = calloc(1, sizeof(SeccompProgram));
	if (!p || !(p->origin = strdup(origin)))
		r = -ENOMEM;
	else
		r = export_program(ctx, &p->prog, &error);
	seccomp_release(ctx);
	if (r >= 0)
		r = compile_split(text, len, p, &error);
	if (r >= 0)
		sha256_hex(p->prog.filter, p->prog.len * sizeof(struct sock_filter), p->sha256);
	if (r < 0)
		return hand_error(ret_error, error, r);
	*ret = TAKE_PTR(p);
	return 0;
}

int seccomp_program_compile_json(const char *json, const char *origin, SeccompProgram **ret,
				 char **ret_error)
{
	assert(json);
	assert(origin);
	assert(ret);

	return compile_text(json, strlen(json), origin, ret, ret_error);
}

int seccomp_program_compile(const char *name, const char *profile_dir, SeccompProgram **ret,
			    char **ret_error)
{
	_cleanup_free_ char *file = NULL, *text = NULL, *inner = NULL;
	char *error = NULL;
	const char *path = name;
	size_t len;
	int r;

	assert(name);
	assert(ret);

	if (streq(name, "none")) {
		*ret = NULL;
		return 0;
	}
	if (streq(name, "default") || streq(name, "strict")) {
		if (!profile_dir || !*profile_dir) {
			if (asprintf(&error, "no directory to look up the \"%s\" seccomp profile in",
				     name) < 0)
				error = NULL;
			return hand_error(ret_error, error, -EINVAL);
		}
		if (asprintf(&file, "%s/%s.json", profile_dir, name) < 0)
			return hand_error(ret_error, NULL, -ENOMEM);
		path = file;
	} else if (name[0] != '/') {
		if (asprintf(&error,
			     "unknown seccomp profile \"%s\" (expected \"default\", \"strict\", \"none\" or "
			     "an absolute path)",
			     name) < 0)
			error = NULL;
		return hand_error(ret_error, error, -EINVAL);
	}

	r = policy_read_file(path, POLICY_SECCOMP_FILE_MAX, &text, &len);
	if (r >= 0)
		r = compile_text(text, len, file ? name : path, ret, &inner);
	if (r < 0 && r != -ENOMEM &&
	    asprintf(&error, "%s: %s", path, inner ?: policy_read_strerror(r)) < 0)
		error = NULL;
	return r < 0 ? hand_error(ret_error, error, r) : 0;
}
