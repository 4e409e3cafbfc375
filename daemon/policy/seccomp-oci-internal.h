/* SPDX-License-Identifier: MIT */
/*
 * Between seccomp-oci.c (reading a profile into libseccomp rules) and
 * seccomp-split.c (the zygote's split of a profile, seccomp-profile.h) only.
 */
#pragma once

#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* What one system call has been given so far, to refuse rules libseccomp would silently drop. */
typedef struct Given {
	int nr;
	uint32_t action;
	bool conditional;
	size_t entry; /* syscalls[entry] */
} Given;

/* One step of the key path of the value being looked at: a key, or an index when key is NULL. */
typedef struct PathStep {
	const char *key;
	size_t index;
} PathStep;

/* What a compile builds: the profile, or one half of its split for the zygote (seccomp-profile.h). */
typedef enum BuildMode { BUILD_FULL, BUILD_VARIANT, BUILD_DROPPED } BuildMode;

typedef struct Compiler {
	scmp_filter_ctx ctx;
	BuildMode mode;
	const int *split;        /* VARIANT, DROPPED: the zygote's calls the profile restricts */
	size_t n_split;
	uint32_t profile_default; /* the profile's defaultAction (DROPPED's own default is ALLOW) */
	uint32_t native;         /* SCMP_ARCH_* */
	const char *native_name; /* SCMP_ARCH_* name, or NULL if not in arches[] */
	const char *native_go;   /* the libseccomp-golang name, or NULL */
	uint32_t default_action;
	const char *multiplexing_arch; /* an ABI in the filter with socketcall/ipc, or NULL */
	Given *given;
	size_t n_given, n_given_alloc;
	/* The path is formatted only for an error, so the common case costs no allocation. */
	PathStep path[8];
	size_t depth;
	char *error;
} Compiler;

/* Sets c->error to "path: message" for the current path and returns r. */
int seccomp_oci_fail(Compiler *c, int r, const char *fmt, ...) _printf_(3, 4);

/* Reads the profile into c->ctx as mode says (split: the calls for VARIANT and DROPPED); on
 * failure c->ctx is NULL and c->error says why. The caller frees c->given and c->error. */
int seccomp_oci_compile(const char *text, size_t len, BuildMode mode, const int *split, size_t n_split,
			Compiler *c);

/* seccomp-split.c: after the profile's rules, what VARIANT allows instead and DROPPED adds. */
int seccomp_split_finish(Compiler *c);
