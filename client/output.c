/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "output.h"
#include "vx11ctl.h"

json_object *json_get(json_object *obj, const char *key)
{
	json_object *v;

	if (!json_object_is_type(obj, json_type_object) || !json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

const char *json_get_string(json_object *obj, const char *key)
{
	json_object *v = json_get(obj, key);

	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

size_t json_array_length(json_object *v)
{
	return json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		oom();
	return p;
}

char *text_escape(const char *s)
{
	/* The longest expansion is one byte to "\xNN": four times. */
	char *out = malloc(strlen(s) * 4 + 1), *o = out;
	const unsigned char *p = (const unsigned char *)s;

	if (!out)
		oom();
	for (; *p; p++) {
		if (*p == '\n') {
			o = stpcpy(o, "\\n");
		} else if (*p == '\t') {
			o = stpcpy(o, "\\t");
		} else if (*p < 0x20 || *p == 0x7f) {
			o += sprintf(o, "\\x%02x", *p);
		} else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			/* C1 controls in UTF-8: U+0080..U+009F (0x9b is a CSI to some terminals). */
			o += sprintf(o, "\\u%04x", p[1]);
			p++;
		} else {
			*o++ = (char)*p;
		}
	}
	*o = '\0';
	return out;
}

static bool is_scalar(json_object *v)
{
	return !json_object_is_type(v, json_type_object) && !json_object_is_type(v, json_type_array);
}

static char *json_to_compact_text(json_object *v)
{
	int flags = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
	const char *s = json_object_to_json_string_ext(v, flags);

	if (!s)
		oom();
	return text_escape(s);
}

static char *array_to_text(json_object *v)
{
	size_t n = json_object_array_length(v), len = 0;
	char *out = NULL;
	FILE *f;

	if (n == 0)
		return xstrdup("-");
	for (size_t i = 0; i < n; i++)
		if (!is_scalar(json_object_array_get_idx(v, i)))
			return json_to_compact_text(v);

	f = open_memstream(&out, &len);
	if (!f)
		oom();
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *t = value_to_text(json_object_array_get_idx(v, i));
		fprintf(f, "%s%s", i > 0 ? ", " : "", t);
	}
	if (fclose(f) != 0)
		oom();
	return out;
}

char *value_to_text(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return xstrdup("-");
	case json_type_boolean:
		return xstrdup(json_object_get_boolean(v) ? "yes" : "no");
	case json_type_string:
		return text_escape(json_object_get_string(v));
	case json_type_array:
		return array_to_text(v);
	case json_type_int:
	case json_type_double:
	case json_type_object:
	default:
		return json_to_compact_text(v);
	}
}

char *priority_to_text(json_object *v)
{
	char *s;

	if (!json_object_is_type(v, json_type_int))
		return value_to_text(v);
	if (asprintf(&s, "P%" PRId64, json_object_get_int64(v)) < 0)
		oom();
	return s;
}

/* Local time unless --utc: set once by main(). */
static bool show_utc;

void output_set_utc(bool utc)
{
	show_utc = utc;
}

/* The daemon's timestamps: RFC 3339 UTC with a fraction, "2026-11-22T01:41:49.123456Z". */
static bool is_fractional_timestamp(const char *s)
{
	size_t n = strlen(s);

	return n > 21 && n < 40 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' &&
	       s[16] == ':' && s[19] == '.' && s[n - 1] == 'Z';
}

int timestamp_parse(json_object *v, uint64_t *ret)
{
	if (!json_object_is_type(v, json_type_string))
		return -EINVAL;
	return parse_timestamp(json_object_get_string(v), ret);
}

/* The local time of a daemon timestamp: its struct tm and microseconds; false if it is not one. */
static bool to_local(const char *timestamp, struct tm *ret_tm, unsigned *ret_usec)
{
	uint64_t usec;
	time_t t;

	if (!is_fractional_timestamp(timestamp) || parse_timestamp(timestamp, &usec) < 0)
		return false;
	t = (time_t)(usec / USEC_PER_SEC);
	*ret_usec = (unsigned)(usec % USEC_PER_SEC);
	return localtime_r(&t, ret_tm) != NULL;
}

char *timestamp_to_text(const char *timestamp)
{
	struct tm tm;
	unsigned usec;
	char buf[64];
	long off;
	size_t n;

	if (show_utc || !to_local(timestamp, &tm, &usec))
		return text_escape(timestamp);
	n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
	off = tm.tm_gmtoff / 60;
	snprintf(buf + n, sizeof buf - n, ".%06u%c%02ld:%02ld", usec, off < 0 ? '-' : '+', labs(off) / 60,
		 labs(off) % 60);
	return xstrdup(buf);
}

char *timestamp_to_short_text(const char *timestamp)
{
	struct tm tm;
	unsigned usec;
	char buf[64], *s;

	if (!is_fractional_timestamp(timestamp))
		return text_escape(timestamp);
	if (show_utc || !to_local(timestamp, &tm, &usec)) {
		s = strndup(timestamp, 20);
		if (!s)
			oom();
		s[19] = 'Z';
		return s;
	}
	strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
	return xstrdup(buf);
}

bool is_time_key(const char *key)
{
	size_t n = strlen(key);

	return streq(key, "at") || streq(key, "timestamp") || (n > 3 && streq(key + n - 3, "_at"));
}

char *format_duration(char buf[static DURATION_MAX], uint64_t seconds)
{
	static const struct {
		const char *suffix;
		uint64_t seconds;
	} units[] = { { "d", 86400 }, { "h", 3600 }, { "m", 60 }, { "s", 1 } };
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ELEMENTSOF(units); i++) {
		uint64_t k = seconds / units[i].seconds;

		/* Leading zero units are left out, later ones kept: "1h 0m 5s". */
		if (k == 0 && n == 0 && units[i].seconds > 1)
			continue;
		seconds -= k * units[i].seconds;
		n += (size_t)snprintf(buf + n, DURATION_MAX - n, "%s%" PRIu64 "%s", n > 0 ? " " : "", k,
				      units[i].suffix);
	}
	return buf;
}

char *format_count(char buf[static COUNT_MAX], uint64_t n)
{
	char digits[COUNT_MAX];
	size_t len = (size_t)snprintf(digits, sizeof digits, "%" PRIu64, n), k = 0;

	for (size_t i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			buf[k++] = ',';
		buf[k++] = digits[i];
	}
	buf[k] = '\0';
	return buf;
}

void print_more_hint(json_object *result, const char *items, const char *noun, const char *after,
		     const char *id_key, int64_t limit)
{
	json_object *list = json_get(result, items), *total = json_get(result, "total");
	size_t shown = json_array_length(list);
	char a[COUNT_MAX], b[COUNT_MAX];

	if (!json_object_is_type(total, json_type_int) || (uint64_t)json_object_get_int64(total) <= shown)
		return;
	format_count(a, shown);
	format_count(b, (uint64_t)json_object_get_int64(total));
	if (!after) {
		fprintf(stderr, "vx11ctl: %s of %s %s shown, newest first; --limit N or --all for more\n", a, b, noun);
		return;
	}
	if (shown > 0 && (int64_t)shown >= limit) {
		const char *last = json_get_string(json_object_array_get_idx(list, shown - 1), id_key);
		_cleanup_free_ char *l = text_escape(last ?: "?");

		fprintf(stderr, "vx11ctl: %s %s shown of %s in all; --after %s for the next page\n", a, noun, b, l);
	}
}

char *format_duration_short(char buf[static DURATION_MAX], uint64_t usec)
{
	uint64_t sec = usec / USEC_PER_SEC;

	if (sec < 10)
		snprintf(buf, DURATION_MAX, "%" PRIu64 ".%" PRIu64 "s", sec, usec / (USEC_PER_SEC / 10) % 10);
	else if (sec < 60)
		snprintf(buf, DURATION_MAX, "%" PRIu64 "s", sec);
	else if (sec < 3600)
		snprintf(buf, DURATION_MAX, "%" PRIu64 "m%02" PRIu64 "s", sec / 60, sec % 60);
	else if (sec < 86400)
		snprintf(buf, DURATION_MAX, "%" PRIu64 "h%02" PRIu64 "m", sec / 3600, sec / 60 % 60);
	else
		snprintf(buf, DURATION_MAX, "%" PRIu64 "d%02" PRIu64 "h", sec / 86400, sec / 3600 % 24);
	return buf;
}

static bool strv_contains(const char *const *l, const char *s)
{
	for (; l && *l; l++)
		if (streq(*l, s))
			return true;
	return false;
}

static bool array_has_objects(json_object *v)
{
	size_t n = json_array_length(v);

	for (size_t i = 0; i < n; i++)
		if (json_object_is_type(json_object_array_get_idx(v, i), json_type_object))
			return true;
	return false;
}

/* Each line of s (a final newline ends the last line, it starts no empty one)
 * on a line of its own, `indent` spaces in, escaped. */
static void print_lines(FILE *f, const char *s, unsigned indent)
{
	while (*s) {
		size_t n = strcspn(s, "\n");
		_cleanup_free_ char *line = strndup(s, n), *t = NULL;

		if (!line)
			oom();
		t = text_escape(line);
		if (*t)
			fprintf(f, "%*s%s\n", (int)indent, "", t);
		else
			fputc('\n', f);
		s += n + (s[n] == '\n');
	}
}

void print_member(FILE *f, const char *key, json_object *v, unsigned indent, unsigned flags)
{
	_cleanup_free_ char *k = text_escape(key);

	if (json_object_is_type(v, json_type_string) && strchr(json_object_get_string(v), '\n')) {
		fprintf(f, "%*s%s:\n", (int)indent, "", k);
		print_lines(f, json_object_get_string(v), indent + 2);
	} else if (json_object_is_type(v, json_type_object) && json_object_object_length(v) > 0) {
		fprintf(f, "%*s%s:\n", (int)indent, "", k);
		print_members(f, v, indent + 2, flags, NULL);
	} else if (array_has_objects(v)) {
		size_t n = json_object_array_length(v);

		fprintf(f, "%*s%s:\n", (int)indent, "", k);
		for (size_t i = 0; i < n; i++) {
			fprintf(f, "%*s[%zu]\n", (int)indent + 2, "", i);
			print_members(f, json_object_array_get_idx(v, i), indent + 4, flags, NULL);
		}
	} else {
		_cleanup_free_ char *t = json_object_is_type(v, json_type_string) && is_time_key(key)
						 ? timestamp_to_text(json_object_get_string(v))
						 : value_to_text(v);
		fprintf(f, "%*s%s: %s\n", (int)indent, "", k, t);
	}
}

void print_members(FILE *f, json_object *obj, unsigned indent, unsigned flags, const char *const *skip)
{
	if (!json_object_is_type(obj, json_type_object))
		return;

	json_object_object_foreach(obj, key, v) {
		if (strv_contains(skip, key) || (!v && (flags & MEMBERS_SKIP_NULL)))
			continue;
		print_member(f, key, v, indent, flags);
	}
}

void print_json(FILE *f, json_object *v, bool pretty)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE;
	const char *s;

	flags |= pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN;
	s = json_object_to_json_string_ext(v, flags);

	if (!s)
		oom();
	fprintf(f, "%s\n", s);
}

void table_init(Table *t, size_t n_columns)
{
	*t = (Table){ .n_columns = n_columns };
}

void table_done(Table *t)
{
	for (size_t i = 0; i < t->n_cells; i++)
		free(t->cells[i]);
	free(t->cells);
	table_init(t, t->n_columns);
}

static void table_add_take(Table *t, char *text)
{
	if (t->n_cells == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		char **c = reallocarray(t->cells, cap, sizeof(char *));

		if (!c)
			oom();
		t->cells = c;
		t->cap = cap;
	}
	t->cells[t->n_cells++] = text;
}

void table_add(Table *t, const char *text)
{
	table_add_take(t, text_escape(text));
}

void table_addf(Table *t, const char *format, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, format);
	r = vasprintf(&s, format, ap);
	va_end(ap);
	if (r < 0)
		oom();
	table_add_take(t, text_escape(s));
	free(s);
}

void table_add_value(Table *t, json_object *v)
{
	if (json_object_is_type(v, json_type_string))
		table_add_take(t, timestamp_to_short_text(json_object_get_string(v)));
	else
		table_add_take(t, value_to_text(v));
}

/* Columns on a terminal, roughly: UTF-8 continuation bytes take none. */
static size_t text_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

void table_print(const Table *t, FILE *f)
{
	_cleanup_free_ size_t *widths = calloc(t->n_columns, sizeof(size_t));

	if (!widths)
		oom();
	for (size_t i = 0; i < t->n_cells; i++)
		widths[i % t->n_columns] = MAX(widths[i % t->n_columns], text_width(t->cells[i]));

	for (size_t row = 0; row * t->n_columns < t->n_cells; row++) {
		size_t pad = 0; /* spaces owed, written only before a non-empty cell: no trailing blanks */

		for (size_t col = 0; col < t->n_columns; col++) {
			size_t i = row * t->n_columns + col;
			const char *cell = i < t->n_cells ? t->cells[i] : "";

			if (*cell) {
				fprintf(f, "%*s%s", (int)pad, "", cell);
				pad = 0;
			}
			pad += widths[col] - text_width(cell) + 2;
		}
		fputc('\n', f);
	}
}
