/* SPDX-License-Identifier: MIT */
/*
 * What policy.c (the model) and policy-validate.c (typed JSON extraction)
 * share. Every helper that can fail takes the key path of the value it looks
 * at and, on failure, stores "path: what is wrong" in *error (malloc'd) and
 * returns a negative errno: -EINVAL for a bad file, -ENOMEM, or the errno of
 * a failed lookup or read.
 */
#pragma once

#include <json-c/json.h>
#include <stdarg.h>

#include "json-util.h"
#include "policy.h"
#include "util.h"

/* Far above any sane policy; keeps a mistaken --policy /dev/zero finite. */
#define POLICY_FILE_MAX (16U * 1024U * 1024U)
/* OCI seccomp profiles are a few tens of KiB. */
#define POLICY_SECCOMP_FILE_MAX (4U * 1024U * 1024U)

/* Sets *error to "path: <fmt>" (or just <fmt> when path is NULL or "") and returns r. */
int policy_error(char **error, int r, const char *path, const char *fmt, ...) _printf_(4, 5);
int policy_oom(char **error);

/* "parent.key", or "key" at the top level; "parent[i]". NULL on OOM. */
char *policy_path_key(const char *parent, const char *key);
char *policy_path_index(const char *parent, size_t i);

/*
 * Reads a whole regular file of at most max bytes, NUL-terminated. Returns
 * -errno, or -EBADFD (not a regular file), -EFBIG (over max), -EILSEQ (holds
 * a NUL byte, which would silently cut the text short); policy_read_strerror()
 * words these for a message.
 */
int policy_read_file(const char *path, size_t max, char **ret, size_t *ret_len);
const char *policy_read_strerror(int r);

/*
 * Strict JSON: json-c in strict mode with UTF-8 validation, plus what its
 * strict mode still lets through (single quotes, NaN/Infinity, control
 * characters and \u0000 in strings) and duplicate keys, which json-c would
 * silently resolve to the last one.
 */
int policy_parse_json(const char *text, size_t len, json_object **ret, char **error);

/* Typed extraction; ranges are inclusive unless said otherwise. */
int policy_get_int(json_object *v, const char *path, int64_t min, int64_t max, int64_t *ret, char **error);
/* A size: a JSON integer of bytes, or a string like "256M" (K, M, G, T: powers of 1024). */
int policy_get_size(json_object *v, const char *path, uint64_t min, uint64_t max, uint64_t *ret,
		    char **error);
/* A whole percentage as a string, "50%". */
int policy_get_percent(json_object *v, const char *path, uint32_t min, uint32_t max, uint32_t *ret,
		       char **error);
/* A finite JSON number; min is exclusive (seconds must be > min), max inclusive. */
int policy_get_seconds(json_object *v, const char *path, double min_exclusive, double max, double *ret,
		       char **error);
int policy_get_bool(json_object *v, const char *path, bool *ret, char **error);
/* A non-empty string without NUL bytes; the pointer lives as long as v. */
int policy_get_string(json_object *v, const char *path, const char **ret, char **error);

/*
 * Table-driven objects: each key of o must name a field; fields write into
 * base + offset. Keys are visited in file order, so the first bad key in the
 * file is the one reported.
 */
typedef enum PolicyFieldKind {
	POLICY_FIELD_INT,     /* int64_t, from a JSON integer in [min, max] */
	POLICY_FIELD_COUNT,   /* uint64_t, from a JSON integer in [min, max] */
	POLICY_FIELD_SIZE,    /* uint64_t, a size in [min, max] */
	POLICY_FIELD_PERCENT, /* uint32_t, "N%" with N in [min, max] */
	POLICY_FIELD_BOOL,    /* bool */
	POLICY_FIELD_CUSTOM,  /* fn */
} PolicyFieldKind;

typedef int (*PolicyFieldFn)(void *base, json_object *v, const char *path, char **error);

typedef struct PolicyField {
	const char *name;
	PolicyFieldKind kind;
	size_t offset;
	int64_t min, max;            /* INT, COUNT, PERCENT */
	uint64_t size_min, size_max; /* SIZE */
	PolicyFieldFn fn;
} PolicyField;

int policy_parse_object(json_object *o, const char *path, const PolicyField *fields, size_t n_fields,
			void *base, char **error);

/* Group names to gids; unknown names are errors naming path[i]. */
int policy_get_groups(json_object *v, const char *path, PolicyGroups *ret, char **error);
void policy_groups_done(PolicyGroups *g);
/* 0 and the gid, -ENOENT when there is no such group, other -errno on lookup failure. */
int policy_lookup_group(const char *name, gid_t *ret);

/* "dynamic" gives NULL; any other name must be an existing user. */
int policy_get_user(json_object *v, const char *path, char **ret, char **error);
/* A non-empty argv whose first element is an absolute path. */
int policy_get_command(json_object *v, const char *path, char ***ret, char **error);
/*
 * Users and groups whose ids fall in [first, last] refuse the range, as a
 * daughter runs with uid = gid = one of them. path names the key in errors.
 */
int policy_check_dynamic_ids(uid_t first, uid_t last, const char *path, char **error);

/* policy-seccomp.c: "seccomp" values, compiled into programs p owns. */

/*
 * "default", "strict", "none" or an absolute path to an OCI profile: the name
 * goes to *ret_name (replacing it) and its program to *ret_program.
 */
int policy_get_seccomp(Policy *p, json_object *v, const char *path, char **ret_name,
		       const SeccompProgram **ret_program, char **error);
/* Frees p's programs. */
void policy_seccomp_done(Policy *p);

char **policy_strv_free(char **l);

/* policy-task.c: the "tasks" object into p->tasks (sorted by name), and the
 * "defaults" object into p->defaults; policy_task_done() frees one. */
int policy_parse_tasks(Policy *p, json_object *o, char **error);
int policy_parse_defaults(Policy *p, json_object *v, const char *path, char **error);
/* policy-retention.c: "retention" into p->retention (defaults set by policy_new). */
int policy_parse_retention(Policy *p, json_object *v, const char *path, char **error);
void policy_retention_init(Policy *p);
void policy_task_done(PolicyTask *t);
