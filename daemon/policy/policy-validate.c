/* SPDX-License-Identifier: MIT */
/*
 * Typed extraction from the policy's JSON: every value is checked for its
 * type and range where it is read, and a failure names the full key path, so
 * an administrator can find the mistake without reading our source.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "policy-internal.h"

int policy_error(char **error, int r, const char *path, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	int k;

	if (!error)
		return r;

	va_start(ap, fmt);
	k = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (k < 0)
		return policy_oom(error);

	free(*error);
	*error = NULL;
	if (!path || !*path)
		*error = TAKE_PTR(msg);
	else if (asprintf(error, "%s: %s", path, msg) < 0) {
		*error = NULL;
		return policy_oom(error);
	}
	return r;
}

int policy_oom(char **error)
{
	if (error) {
		free(*error);
		*error = strdup("Out of memory"); /* may be NULL: there is nothing better to do */
	}
	return -ENOMEM;
}

char *policy_path_key(const char *parent, const char *key)
{
	char *s;

	if (!parent || !*parent)
		return strdup(key);
	if (asprintf(&s, "%s.%s", parent, key) < 0)
		return NULL;
	return s;
}

char *policy_path_index(const char *parent, size_t i)
{
	char *s;

	if (asprintf(&s, "%s[%zu]", parent ? parent : "", i) < 0)
		return NULL;
	return s;
}

int policy_read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, size;
	struct stat st;

	/* O_NONBLOCK: a FIFO must not hang the daemon in open() during a reload. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EBADFD;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;

	/* The size is a hint only: the file may change while we read it. */
	size = (size_t)st.st_size + 1;
	buf = malloc(size + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == size) {
			char *b;

			if (size > max)
				return -EFBIG;
			size = MIN(size * 2, max + 1);
			b = realloc(buf, size + 1);
			if (!b)
				return -ENOMEM;
			buf = b;
		}
		n = read(fd, buf + len, size - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max)
		return -EFBIG;
	if (memchr(buf, 0, len))
		return -EILSEQ;
	buf[len] = '\0';

	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

const char *policy_read_strerror(int r)
{
	switch (r) {
	case -EBADFD:
		return "not a regular file";
	case -EFBIG:
		return "file too large";
	case -EILSEQ:
		return "contains a NUL byte";
	default:
		return strerror(-r);
	}
}

/*
 * A second pass over text that json-c already accepted, for what json-c lets
 * through even in strict mode. Its structure is known to be valid, which
 * keeps this short; the recursion is bounded by json-c's depth limit.
 */
typedef struct Scanner {
	const char *text, *p, *end;
	char **error;
} Scanner;

static void scan_position(const Scanner *s, const char *at, unsigned *ret_line, unsigned *ret_column)
{
	unsigned line = 1, column = 1;

	for (const char *c = s->text; c < at; c++) {
		if (*c == '\n') {
			line++;
			column = 1;
		} else
			column++;
	}
	*ret_line = line;
	*ret_column = column;
}

static int scan_fail(Scanner *s, const char *at, const char *what)
{
	unsigned line, column;

	scan_position(s, at, &line, &column);
	return policy_error(s->error, -EINVAL, NULL, "line %u, column %u: %s", line, column, what);
}

static void scan_ws(Scanner *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\r' || *s->p == '\n'))
		s->p++;
}

/* Skips whitespace, then c if it is next. */
static bool scan_skip(Scanner *s, char c)
{
	scan_ws(s);
	if (s->p >= s->end || *s->p != c)
		return false;
	s->p++;
	return true;
}

/* On success s->p is past the closing quote and [*ret_start, *ret_end) spans the quotes. */
static int scan_string(Scanner *s, const char **ret_start, const char **ret_end)
{
	const char *start = s->p;

	if (s->p >= s->end || *s->p != '"')
		return scan_fail(s, s->p, "strings must be in double quotes");
	for (s->p++; s->p < s->end && *s->p != '"'; s->p++) {
		if ((unsigned char)*s->p < 0x20)
			return scan_fail(s, s->p, "control character in a string (write it as an escape)");
		if (*s->p == '\\') {
			if (s->end - s->p >= 6 && strncmp(s->p, "\\u0000", 6) == 0)
				return scan_fail(s, s->p, "\\u0000 is not allowed in a string");
			s->p++; /* a backslash always escapes exactly the next character */
		}
	}
	if (s->p >= s->end)
		return scan_fail(s, s->p, "unterminated string");
	s->p++;
	*ret_start = start;
	*ret_end = s->p;
	return 0;
}

static int scan_key(Scanner *s, char **ret)
{
	const char *start, *end;
	json_object *o;
	char *k;
	int r;

	r = scan_string(s, &start, &end);
	if (r < 0)
		return r;
	if (!memchr(start, '\\', (size_t)(end - start))) {
		k = strndup(start + 1, (size_t)(end - start - 2));
		if (!k)
			return policy_oom(s->error);
		*ret = k;
		return 0;
	}

	/* Let json-c decode the escapes, so that "a" and "\u0061" compare equal. */
	_cleanup_free_ char *raw = strndup(start, (size_t)(end - start));
	if (!raw)
		return policy_oom(s->error);
	o = json_tokener_parse(raw);
	if (!o || !json_object_is_type(o, json_type_string)) {
		json_object_put(o);
		return scan_fail(s, start, "invalid object key");
	}
	k = strdup(json_object_get_string(o));
	json_object_put(o);
	if (!k)
		return policy_oom(s->error);
	*ret = k;
	return 0;
}

static int scan_value(Scanner *s, const char *path);

static int scan_object(Scanner *s, const char *path)
{
	_cleanup_(json_object_putp) json_object *seen = json_object_new_object();
	int r;

	if (!seen)
		return policy_oom(s->error);
	s->p++;
	if (scan_skip(s, '}'))
		return 0;
	do {
		_cleanup_free_ char *key = NULL, *keypath = NULL;
		unsigned line, column;
		const char *at;

		scan_ws(s);
		at = s->p;
		r = scan_key(s, &key);
		if (r < 0)
			return r;
		keypath = policy_path_key(path, key);
		if (!keypath)
			return policy_oom(s->error);
		if (json_object_object_get_ex(seen, key, NULL)) {
			scan_position(s, at, &line, &column);
			return policy_error(s->error, -EINVAL, keypath, "duplicate key (line %u)", line);
		}
		if (json_object_object_add(seen, key, NULL) < 0)
			return policy_oom(s->error);
		if (!scan_skip(s, ':'))
			return scan_fail(s, s->p, "expected ':'");
		r = scan_value(s, keypath);
		if (r < 0)
			return r;
	} while (scan_skip(s, ','));
	if (!scan_skip(s, '}'))
		return scan_fail(s, s->p, "expected ',' or '}'");
	return 0;
}

static int scan_array(Scanner *s, const char *path)
{
	size_t i = 0;
	int r;

	s->p++;
	if (scan_skip(s, ']'))
		return 0;
	do {
		_cleanup_free_ char *p = policy_path_index(path, i++);

		if (!p)
			return policy_oom(s->error);
		r = scan_value(s, p);
		if (r < 0)
			return r;
	} while (scan_skip(s, ','));
	if (!scan_skip(s, ']'))
		return scan_fail(s, s->p, "expected ',' or ']'");
	return 0;
}

static int scan_value(Scanner *s, const char *path)
{
	const char *start, *end;

	scan_ws(s);
	if (s->p >= s->end)
		return scan_fail(s, s->p, "unexpected end of data");
	switch (*s->p) {
	case '{':
		return scan_object(s, path);
	case '[':
		return scan_array(s, path);
	case '"':
	case '\'':
		return scan_string(s, &start, &end);
	case 't':
	case 'f':
	case 'n':
		/* json-c has checked these are true, false, null */
		while (s->p < s->end && isalpha((unsigned char)*s->p))
			s->p++;
		return 0;
	default:
		if (*s->p == '-')
			s->p++;
		if (s->p >= s->end || !isdigit((unsigned char)*s->p))
			return scan_fail(s, s->p, "not a JSON value (NaN and Infinity are not JSON)");
		while (s->p < s->end && *s->p && strchr("0123456789.eE+-", *s->p))
			s->p++;
		return 0;
	}
}

int policy_parse_json(const char *text, size_t len, json_object **ret, char **error)
{
	json_tokener *tok;
	json_object *o;
	Scanner s = {
		.text = text,
		.p = text,
		.end = text + len,
		.error = error,
	};
	int r;

	tok = json_tokener_new();
	if (!tok)
		return policy_oom(error);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	/* len + 1 hands json-c the terminating NUL, so a truncated text is an error, not "continue". */
	o = json_tokener_parse_ex(tok, text, (int)MIN(len + 1, (size_t)INT32_MAX));
	if (!o) {
		enum json_tokener_error e = json_tokener_get_error(tok);
		size_t at = MIN(json_tokener_get_parse_end(tok), len);

		json_tokener_free(tok);
		if (e == json_tokener_success) /* the text was "null" */
			return policy_error(error, -EINVAL, NULL, "expected a JSON object at the top level");
		return scan_fail(&s, text + at, json_tokener_error_desc(e));
	}
	json_tokener_free(tok);

	r = scan_value(&s, "");
	if (r < 0) {
		json_object_put(o);
		return r;
	}

	*ret = o;
	return 0;
}

/* "64M" where the value is a whole number of a unit, else plain bytes. */
static const char *format_size(char buf[static 32], uint64_t v)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (v != 0 && v % 1024 == 0 && u < 3) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, 32, "%" PRIu64, v);
	else
		snprintf(buf, 32, "%" PRIu64 "%c", v, units[u]);
	return buf;
}

int policy_get_int(json_object *v, const char *path, int64_t min, int64_t max, int64_t *ret, char **error)
{
	int64_t i;

	if (!json_object_is_type(v, json_type_int))
		return policy_error(error, -EINVAL, path, "expected an integer");
	/* json-c saturates what does not fit into an int64; the range check catches it. */
	i = json_object_get_int64(v);
	if (i < min || i > max) {
		if (max == INT64_MAX)
			return policy_error(error, -EINVAL, path, "must be at least %" PRIi64, min);
		return policy_error(error, -EINVAL, path, "must be between %" PRIi64 " and %" PRIi64, min,
				    max);
	}
	*ret = i;
	return 0;
}

int policy_get_size(json_object *v, const char *path, uint64_t min, uint64_t max, uint64_t *ret,
		    char **error)
{
	char a[32], b[32];
	uint64_t u;
	int r;

	if (json_object_is_type(v, json_type_int)) {
		if (json_object_get_int64(v) < 0)
			return policy_error(error, -EINVAL, path, "expected a size like \"256M\"");
		u = json_object_get_uint64(v);
	} else if (json_object_is_type(v, json_type_string)) {
		r = parse_size(json_object_get_string(v), &u);
		if (r == -ERANGE)
			u = UINT64_MAX; /* reported by the range check below */
		else if (r < 0)
			return policy_error(error, -EINVAL, path, "expected a size like \"256M\"");
	} else
		return policy_error(error, -EINVAL, path, "expected a size like \"256M\"");

	if (u < min || u > max) {
		if (max == UINT64_MAX)
			return policy_error(error, -EINVAL, path, "must be at least %s",
					    format_size(a, min));
		return policy_error(error, -EINVAL, path, "must be between %s and %s", format_size(a, min),
				    format_size(b, max));
	}
	*ret = u;
	return 0;
}

int policy_get_percent(json_object *v, const char *path, uint32_t min, uint32_t max, uint32_t *ret,
		       char **error)
{
	const char *s, *p;
	uint64_t u = 0;

	if (!json_object_is_type(v, json_type_string))
		return policy_error(error, -EINVAL, path, "expected a percentage like \"50%%\"");
	s = json_object_get_string(v);
	for (p = s; isdigit((unsigned char)*p); p++)
		if (u <= UINT32_MAX)
			u = u * 10 + (uint64_t)(*p - '0');
	if (p == s || strcmp(p, "%") != 0)
		return policy_error(error, -EINVAL, path, "expected a percentage like \"50%%\"");
	if (u < min || u > max)
		return policy_error(error, -EINVAL, path, "must be between %" PRIu32 "%% and %" PRIu32 "%%",
				    min, max);
	*ret = (uint32_t)u;
	return 0;
}

int policy_get_seconds(json_object *v, const char *path, double min_exclusive, double max, double *ret,
		       char **error)
{
	double d;

	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
		return policy_error(error, -EINVAL, path, "expected a number of seconds");
	d = json_object_get_double(v);
	if (!isfinite(d) || d <= min_exclusive || d > max)
		return policy_error(error, -EINVAL, path, "must be greater than %.10g and at most %.10g",
				    min_exclusive, max);
	*ret = d;
	return 0;
}

int policy_get_bool(json_object *v, const char *path, bool *ret, char **error)
{
	if (!json_object_is_type(v, json_type_boolean))
		return policy_error(error, -EINVAL, path, "expected true or false");
	*ret = json_object_get_boolean(v);
	return 0;
}

int policy_get_string(json_object *v, const char *path, const char **ret, char **error)
{
	const char *s;

	if (!json_object_is_type(v, json_type_string))
		return policy_error(error, -EINVAL, path, "expected a string");
	s = json_object_get_string(v);
	if (!*s || strlen(s) != (size_t)json_object_get_string_len(v))
		return policy_error(error, -EINVAL, path, "expected a non-empty string");
	*ret = s;
	return 0;
}

int policy_parse_object(json_object *o, const char *path, const PolicyField *fields, size_t n_fields,
			void *base, char **error)
{
	if (!json_object_is_type(o, json_type_object))
		return policy_error(error, -EINVAL, path, "expected an object");

	json_object_object_foreach(o, key, v)
	{
		_cleanup_free_ char *p = policy_path_key(path, key);
		const PolicyField *f = NULL;
		void *dst;
		int64_t i;
		int r;

		if (!p)
			return policy_oom(error);
		for (size_t k = 0; k < n_fields; k++)
			if (streq(fields[k].name, key)) {
				f = &fields[k];
				break;
			}
		if (!f)
			return policy_error(error, -EINVAL, p, "unknown key");

		dst = (char *)base + f->offset;
		switch (f->kind) {
		case POLICY_FIELD_INT:
			r = policy_get_int(v, p, f->min, f->max, dst, error);
			break;
		case POLICY_FIELD_COUNT:
			r = policy_get_int(v, p, f->min, f->max, &i, error);
			if (r >= 0)
				*(uint64_t *)dst = (uint64_t)i;
			break;
		case POLICY_FIELD_SIZE:
			r = policy_get_size(v, p, f->size_min, f->size_max, dst, error);
			break;
		case POLICY_FIELD_PERCENT:
			r = policy_get_percent(v, p, (uint32_t)f->min, (uint32_t)f->max, dst, error);
			break;
		case POLICY_FIELD_BOOL:
			r = policy_get_bool(v, p, dst, error);
			break;
		case POLICY_FIELD_CUSTOM:
			r = f->fn(base, v, p, error);
			break;
		default:
			abort();
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* A user (group) by name: 0 and its id, -ENOENT if there is none, another -errno on failure. */
static int lookup_name(bool group, const char *name, unsigned *ret_id)
{
	_cleanup_free_ char *buf = NULL;
	long hint = sysconf(group ? _SC_GETGR_R_SIZE_MAX : _SC_GETPW_R_SIZE_MAX);
	size_t size = hint > 0 ? (size_t)hint : 1024;

	for (;;) {
		struct passwd pw, *pwr = NULL;
		struct group gr, *grr = NULL;
		char *b;
		int r;

		b = realloc(buf, size);
		if (!b)
			return -ENOMEM;
		buf = b;
		r = group ? getgrnam_r(name, &gr, buf, size, &grr) : getpwnam_r(name, &pw, buf, size, &pwr);
		if (r == ERANGE && size < 64U * 1024U * 1024U) {
			size *= 2;
			continue;
		}
		/* "Not found" is 0 with no result, or one of these, depending on the NSS module. */
		if ((r == 0 && !grr && !pwr) || r == ENOENT || r == ESRCH)
			return -ENOENT;
		if (r != 0)
			return -r;
		*ret_id = group ? grr->gr_gid : pwr->pw_uid;
		return 0;
	}
}

int policy_lookup_group(const char *name, gid_t *ret)
{
	unsigned gid;
	int r = lookup_name(true, name, &gid);

	if (r >= 0)
		*ret = gid;
	return r;
}

int policy_get_groups(json_object *v, const char *path, PolicyGroups *ret, char **error)
{
	_cleanup_free_ gid_t *gids = NULL;
	size_t n;

	if (!json_object_is_type(v, json_type_array))
		return policy_error(error, -EINVAL, path, "expected an array of group names");
	n = json_object_array_length(v);
	gids = calloc(MAX(n, 1U), sizeof(gid_t));
	if (!gids)
		return policy_oom(error);

	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *p = policy_path_index(path, i);
		json_object *e = json_object_array_get_idx(v, i);
		const char *name;
		int r;

		if (!p)
			return policy_oom(error);
		if (!json_object_is_type(e, json_type_string) || policy_get_string(e, p, &name, NULL) < 0)
			return policy_error(error, -EINVAL, p, "expected a group name");
		r = policy_lookup_group(name, &gids[i]);
		if (r == -ENOENT)
			return policy_error(error, -EINVAL, p, "no such group \"%s\"", name);
		if (r == -ENOMEM)
			return policy_oom(error);
		if (r < 0)
			return policy_error(error, r, p, "cannot look up group \"%s\": %s", name,
					    strerror(-r));
	}

	policy_groups_done(ret);
	*ret = (PolicyGroups){
		.set = true,
		.gids = TAKE_PTR(gids),
		.n = n,
	};
	return 0;
}

void policy_groups_done(PolicyGroups *g)
{
	free(g->gids);
	*g = (PolicyGroups){};
}

int policy_get_user(json_object *v, const char *path, char **ret, char **error)
{
	const char *name;
	char *u = NULL;
	unsigned uid;
	int r;

	if (policy_get_string(v, path, &name, NULL) < 0)
		return policy_error(error, -EINVAL, path, "expected \"dynamic\" or a user name");
	if (!streq(name, "dynamic")) {
		r = lookup_name(false, name, &uid);
		if (r == -ENOENT)
			return policy_error(error, -EINVAL, path, "no such user \"%s\"", name);
		if (r == -ENOMEM)
			return policy_oom(error);
		if (r < 0)
			return policy_error(error, r, path, "cannot look up user \"%s\": %s", name,
					    strerror(-r));
		if (uid == 0)
			return policy_error(error, -EINVAL, path, "user \"%s\" is uid 0: daughters never run as root",
					    name);
		u = strdup(name);
		if (!u)
			return policy_oom(error);
	}
	free(*ret);
	*ret = u;
	return 0;
}

int policy_get_command(json_object *v, const char *path, char ***ret, char **error)
{
	char **argv = NULL;
	size_t n;

	if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) == 0)
		goto bad;
	n = json_object_array_length(v);
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(v, i);
		_cleanup_free_ char *p = NULL;

		if (!json_object_is_type(e, json_type_string) ||
		    strlen(json_object_get_string(e)) != (size_t)json_object_get_string_len(e)) {
			/* A bad first element gets the message that says what a command is. */
			if (i == 0)
				goto bad;
			p = policy_path_index(path, i);
			if (!p)
				return policy_oom(error);
			return policy_error(error, -EINVAL, p, "expected a string");
		}
		if (i == 0 && json_object_get_string(e)[0] != '/')
			goto bad;
	}

	argv = calloc(n + 1, sizeof(char *));
	if (!argv)
		return policy_oom(error);
	for (size_t i = 0; i < n; i++) {
		argv[i] = strdup(json_object_get_string(json_object_array_get_idx(v, i)));
		if (!argv[i]) {
			policy_strv_free(argv);
			return policy_oom(error);
		}
	}
	policy_strv_free(*ret);
	*ret = argv;
	return 0;

bad:
	return policy_error(error, -EINVAL, path,
			    "expected a non-empty array of strings whose first element is an absolute path");
}

/*
 * The first user (group) with an id in [first, last]: 1 with its id and name,
 * 0 if none. One pass, as a lookup per id of a range would be slow over NSS.
 */
static int find_id_in(bool group, unsigned first, unsigned last, unsigned *ret_id, char **ret_name)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = 4096;
	int r = -ENOMEM;

	group ? setgrent() : setpwent();
	while (buf || (buf = malloc(size))) {
		struct passwd pw, *pwr = NULL;
		struct group gr, *grr = NULL;
		int k = group ? getgrent_r(&gr, buf, size, &grr) : getpwent_r(&pw, buf, size, &pwr);
		unsigned id;
		char *name;

		if (k == ERANGE && size < 64U * 1024U * 1024U) {
			free(TAKE_PTR(buf)); /* glibc then gives the same entry again */
			size *= 2;
			continue;
		}
		/* The end is ENOENT, or 0 and no entry, depending on the NSS module. */
		if (k == ENOENT || (k == 0 && !grr && !pwr))
			r = 0;
		else if (k != 0)
			r = -k;
		else if ((id = group ? grr->gr_gid : pwr->pw_uid) < first || id > last)
			continue;
		else if ((name = strdup(group ? grr->gr_name : pwr->pw_name))) {
			*ret_id = id;
			*ret_name = name;
			r = 1;
		}
		break;
	}
	group ? endgrent() : endpwent();
	return r;
}

int policy_check_dynamic_ids(uid_t first, uid_t last, const char *path, char **error)
{
	/* A daughter sharing an id with a real user or group could use its files. */
	for (int group = 0; group <= 1; group++) {
		_cleanup_free_ char *name = NULL;
		unsigned id;
		int r = find_id_in(group, first, last, &id, &name);

		if (r > 0)
			return policy_error(error, -EINVAL, path,
					    "%u-%u holds %s %u of the existing %s \"%s\"", first, last,
					    group ? "gid" : "uid", id, group ? "group" : "user", name);
		if (r == -ENOMEM)
			return policy_oom(error);
		if (r < 0)
			return policy_error(error, r, path, "cannot read the %s database: %s",
					    group ? "group" : "passwd", strerror(-r));
	}
	return 0;
}
