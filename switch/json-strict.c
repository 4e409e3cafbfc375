/* SPDX-License-Identifier: MIT */
/*
 * json-c parses first (it knows the grammar and builds the objects); then
 * one recursive pass over the same text, whose structure is now known to be
 * sound, looks only for what json-c lets through. Its depth is bounded by
 * the depth json-c was given.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json-strict.h"

typedef struct Scan {
	const char *text, *p, *end;
	bool unique_keys;
	JsonProblem *problem;
	char path[512]; /* key path of the value being scanned, for duplicate keys */
	size_t path_len;
} Scan;

_printf_(3, 4) static int fail(Scan *s, const char *at, const char *fmt, ...)
{
	va_list ap;

	s->problem->offset = (size_t)(at - s->text);
	va_start(ap, fmt);
	vsnprintf(s->problem->message, sizeof(s->problem->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static void skip_ws(Scan *s)
{
	while (s->p < s->end && strchr(" \t\r\n", *s->p) && *s->p)
		s->p++;
}

/* The value of 4 hex digits at p, or 0 (no surrogate) when they are not. */
static unsigned hex4(const char *p, const char *end)
{
	unsigned v = 0;

	if (end - p < 4)
		return 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (d < 0)
			return 0;
		v = v * 16 + (unsigned)d;
	}
	return v;
}

/* A string at s->p; on success s->p is past its closing quote. */
static int scan_string(Scan *s)
{
	if (*s->p != '"')
		return fail(s, s->p, "strings and keys must be in double quotes");
	for (s->p++; s->p < s->end && *s->p != '"'; s->p++) {
		if ((unsigned char)*s->p < 0x20)
			return fail(s, s->p, "control character in a string (write it as an escape)");
		if (*s->p != '\\')
			continue;
		s->p++;
		if (s->p >= s->end)
			break;
		if (*s->p != 'u')
			continue;
		unsigned hi = hex4(s->p + 1, s->end);
		if (hi == 0 && strncmp(s->p, "u0000", 5) == 0)
			return fail(s, s->p - 1, "\\u0000 is not allowed in a string");
		if (hi >= 0xdc00 && hi <= 0xdfff)
			return fail(s, s->p - 1, "a lone low surrogate escape is not a character");
		if (hi >= 0xd800 && hi <= 0xdbff) {
			const char *q = s->p + 5;
			unsigned lo = s->end - q >= 6 && q[0] == '\\' && q[1] == 'u' ? hex4(q + 2, s->end) : 0;
			if (lo < 0xdc00 || lo > 0xdfff)
				return fail(s, s->p - 1, "a lone high surrogate escape is not a character");
			s->p += 6;
		}
		s->p += 4;
	}
	if (s->p >= s->end)
		return fail(s, s->p, "unterminated string");
	s->p++;
	return 0;
}

/* The key [start, end) as decoded text (escapes resolved by json-c, so that
 * "a" and "\u0061" are the same key). */
static char *decode_key(const char *start, const char *end)
{
	_cleanup_free_ char *raw = strndup(start, (size_t)(end - start));
	json_object *o;
	char *k;

	if (!raw)
		return NULL;
	if (!strchr(raw, '\\')) {
		raw[end - start - 1] = 0;
		return strdup(raw + 1);
	}
	o = json_tokener_parse(raw);
	k = json_object_is_type(o, json_type_string) ? strdup(json_object_get_string(o)) : strdup("?");
	json_object_put(o);
	return k;
}

static void path_add(Scan *s, const char *key, size_t index)
{
	size_t room = sizeof(s->path) - s->path_len;

	if (key)
		snprintf(s->path + s->path_len, room, "%s%s", s->path_len ? "." : "", key);
	else
		snprintf(s->path + s->path_len, room, "[%zu]", index);
	s->path_len += strlen(s->path + s->path_len);
}

static int scan_value(Scan *s);

static int scan_object(Scan *s)
{
	_cleanup_json_ json_object *seen = s->unique_keys ? json_object_new_object() : NULL;
	size_t saved = s->path_len;
	int r;

	if (s->unique_keys && !seen)
		return -ENOMEM;
	s->p++;
	skip_ws(s);
	if (*s->p == '}') {
		s->p++;
		return 0;
	}
	for (;;) {
		const char *start = s->p;

		r = scan_string(s);
		if (r < 0)
			return r;
		if (s->unique_keys) {
			_cleanup_free_ char *key = decode_key(start, s->p);
			if (!key)
				return -ENOMEM;
			path_add(s, key, 0);
			if (json_object_object_get_ex(seen, key, NULL))
				return fail(s, start, "duplicate key %s", s->path);
			if (json_object_object_add(seen, key, NULL) < 0)
				return -ENOMEM;
		}
		skip_ws(s);
		s->p++; /* ':' */
		r = scan_value(s);
		if (r < 0)
			return r;
		s->path[s->path_len = saved] = 0;
		skip_ws(s);
		if (*s->p++ == '}')
			return 0;
		skip_ws(s); /* past ',' */
	}
}

static int scan_array(Scan *s)
{
	size_t saved = s->path_len, i = 0;
	int r;

	s->p++;
	skip_ws(s);
	if (*s->p == ']') {
		s->p++;
		return 0;
	}
	for (;; i++) {
		if (s->unique_keys)
			path_add(s, NULL, i);
		r = scan_value(s);
		if (r < 0)
			return r;
		s->path[s->path_len = saved] = 0;
		skip_ws(s);
		if (*s->p++ == ']')
			return 0;
	}
}

static int scan_value(Scan *s)
{
	skip_ws(s);
	if (s->p >= s->end)
		return fail(s, s->p, "unexpected end of the text");
	switch (*s->p) {
	case '{':
		return scan_object(s);
	case '[':
		return scan_array(s);
	case '"':
		return scan_string(s);
	case 't':
	case 'f':
	case 'n': {
		/* json-c reads "nan" here too, whatever its case. */
		static const char *const literals[] = { "true", "false", "null" };
		for (size_t i = 0; i < ELEMENTSOF(literals); i++) {
			size_t n = strlen(literals[i]);
			if ((size_t)(s->end - s->p) >= n && strncmp(s->p, literals[i], n) == 0) {
				s->p += n;
				return 0;
			}
		}
		return fail(s, s->p, "not a JSON value (NaN and Infinity are not JSON)");
	}
	default:
		if (*s->p == '-')
			s->p++;
		if (s->p >= s->end || *s->p < '0' || *s->p > '9')
			return fail(s, s->p, "not a JSON value (NaN and Infinity are not JSON)");
		while (s->p < s->end && *s->p && strchr("0123456789.eE+-", *s->p))
			s->p++;
		return 0;
	}
}

int json_parse_strict(const char *text, size_t len, int max_depth, bool unique_keys, json_object **ret,
		      JsonProblem *problem)
{
	_cleanup_json_ json_object *o = NULL;
	enum json_tokener_error e;
	json_tokener *tok;
	const char *nul;
	size_t end;
	ssize_t bad;
	Scan s = {
		.text = text,
		.p = text,
		.end = text + len,
		.unique_keys = unique_keys,
		.problem = problem,
	};
	int r;

	/* json-c would stop at a NUL and call the rest trailing garbage. */
	nul = memchr(text, '\0', len);
	if (nul)
		return fail(&s, nul, "NUL byte");
	/* json-c's own check lets overlong forms and encoded surrogates through. */
	bad = utf8_invalid_at(text, len);
	if (bad >= 0)
		return fail(&s, text + bad, "invalid UTF-8");

	tok = json_tokener_new_ex(max_depth);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	/* len + 1 hands json-c the NUL too, so a number at the very end is
	 * complete rather than "to be continued". */
	o = json_tokener_parse_ex(tok, text, (int)MIN(len + 1, (size_t)INT32_MAX));
	e = json_tokener_get_error(tok);
	end = MIN(json_tokener_get_parse_end(tok), len);
	json_tokener_free(tok);
	if (e == json_tokener_continue)
		return fail(&s, text + len, "incomplete JSON value");
	if (e != json_tokener_success)
		return fail(&s, text + end, "%s", json_tokener_error_desc(e));

	r = scan_value(&s);
	if (r < 0)
		return r;
	skip_ws(&s);
	if (s.p < s.end)
		return fail(&s, s.p, "trailing data after the JSON value");

	*ret = TAKE_PTR(o);
	return 0;
}

void json_offset_position(const char *text, size_t offset, unsigned *ret_line, unsigned *ret_column)
{
	unsigned line = 1, column = 1;

	for (size_t i = 0; i < offset && text[i]; i++) {
		if (text[i] == '\n') {
			line++;
			column = 1;
		} else
			column++;
	}
	*ret_line = line;
	*ret_column = column;
}
