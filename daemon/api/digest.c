/* SPDX-License-Identifier: MIT */
/* The canonical form of a JSON value and its SHA-256 (see digest.h). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "sha256.h"
#include "util.h"

/* ---- The canonical form ---- */

/* Only what JSON requires is escaped: one string, one spelling. */
static void put_string(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int put_value(FILE *f, json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		fputs("null", f);
		return 0;
	case json_type_boolean:
		fputs(json_object_get_boolean(v) ? "true" : "false", f);
		return 0;
	case json_type_int: {
		int64_t i = json_object_get_int64(v);
		if (i == INT64_MAX) /* maybe more: json-c keeps big ones unsigned */
			fprintf(f, "%" PRIu64, json_object_get_uint64(v));
		else
			fprintf(f, "%" PRId64, i);
		return 0;
	}
	case json_type_double: {
		double d = json_object_get_double(v);
		/* 1.0 is the number 1, as a reader of the payload sees it. */
		if (d == trunc(d) && fabs(d) < 9007199254740992.0)
			fprintf(f, "%" PRId64, (int64_t)d);
		else
			fprintf(f, "%.17g", d);
		return 0;
	}
	case json_type_string:
		put_string(f, json_object_get_string(v), (size_t)json_object_get_string_len(v));
		return 0;
	case json_type_array: {
		size_t n = json_object_array_length(v);
		fputc('[', f);
		for (size_t i = 0; i < n; i++) {
			if (i > 0)
				fputc(',', f);
			if (put_value(f, json_object_array_get_idx(v, i)) < 0)
				return -ENOMEM;
		}
		fputc(']', f);
		return 0;
	}
	case json_type_object: {
		size_t n = (size_t)json_object_object_length(v), i = 0;
		_cleanup_free_ const char **keys = calloc(n ? n : 1, sizeof(char *));

		if (!keys)
			return -ENOMEM;
		json_object_object_foreach(v, key, val) {
			(void)val;
			if (i < n)
				keys[i++] = key;
		}
		qsort(keys, i, sizeof(char *), cmp_keys);
		fputc('{', f);
		for (size_t k = 0; k < i; k++) {
			if (k > 0)
				fputc(',', f);
			put_string(f, keys[k], strlen(keys[k]));
			fputc(':', f);
			if (put_value(f, json_object_object_get(v, keys[k])) < 0)
				return -ENOMEM;
		}
		fputc('}', f);
		return 0;
	}
	}
	return -EINVAL;
}

char *json_digest(json_object *v)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	char *hex;
	FILE *f;
	int r;

	f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	r = put_value(f, v);
	if (fclose(f) != 0 || r < 0)
		return NULL;
	hex = malloc(SHA256_HEX_SIZE);
	if (!hex)
		return NULL;
	sha256_hex(text, len, hex);
	return hex;
}
