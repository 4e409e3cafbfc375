/* SPDX-License-Identifier: MIT */
/*
 * Human output of vx11ctl: values as text, "key: value" blocks and aligned
 * tables. Everything printed from a reply goes through text_escape(), since a
 * task's text comes from another user and must not drive the terminal.
 * No colours, ever: the output is read by scripts as often as by people.
 */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util.h"

/* Reading replies. NULL when obj is not an object or has no such member
 * (json_get_string: or the member is not a string). */
json_object *json_get(json_object *obj, const char *key);
const char *json_get_string(json_object *obj, const char *key);
/* The length of an array, 0 for anything else (json-c asserts on a non-array). */
size_t json_array_length(json_object *v);

/* s with control characters (C0, DEL, C1) written as \n, \t, \xNN or \uNNNN. New string. */
char *text_escape(const char *s);

/*
 * A JSON value as text: null "-", booleans "yes"/"no", numbers as in JSON,
 * strings escaped, arrays of scalars joined by ", " (empty "-"), anything
 * else as compact JSON. New string.
 */
char *value_to_text(json_object *v);

/*
 * Times: the daemon's are UTC ("2026-11-22T01:41:49.123456Z"); vx11ctl shows
 * them in the local zone unless --utc (output_set_utc()). Other text is
 * escaped and left as it is. New strings.
 */
void output_set_utc(bool utc);
/* Whole: "2026-11-22T02:41:49.123456+01:00", or as it is with --utc. */
char *timestamp_to_text(const char *timestamp);
/* For tables, to the second: "2026-11-22 02:41:49", or "2026-11-22T01:41:49Z" with --utc. */
char *timestamp_to_short_text(const char *timestamp);
/* Does the member `key` hold a time ("created_at", "at", "timestamp")? */
bool is_time_key(const char *key);
/* A daemon timestamp as realtime usec: 0, or -EINVAL for anything else. */
int timestamp_parse(json_object *v, uint64_t *ret);

/* A task's priority as vx11ctl shows it everywhere: 1 -> "P1"; anything
 * other than an integer as value_to_text() has it. New string. */
char *priority_to_text(json_object *v);

/* 2345 -> "2,345". */
#define COUNT_MAX 32
char *format_count(char buf[static COUNT_MAX], uint64_t n);

/*
 * After a page of a list method's result (its `items` and "total"), say on
 * stderr, when it is not all there is, how to see more: "100 of 2,345 tasks
 * shown, newest first; --limit N or --all for more", or after an --after
 * page as full as `limit`, which --after gives the next.
 */
void print_more_hint(json_object *result, const char *items, const char *noun, const char *after,
		     const char *id_key, int64_t limit);

/* 3725 -> "1h 2m 5s". */
#define DURATION_MAX 64
char *format_duration(char buf[static DURATION_MAX], uint64_t seconds);
/* For tables, two units at most, no blank: 850 ms "0.8s", "42s", "5m03s", "2h05m", "3d04h". */
char *format_duration_short(char buf[static DURATION_MAX], uint64_t usec);

/* print_members() flags */
enum {
	MEMBERS_SKIP_NULL = 1 << 0, /* leave out members whose value is null */
};

/*
 * Print each member of obj as "key: value" (one space, no alignment, so that
 * scripts can grep), `indent` spaces in. A non-empty object value becomes
 * "key:" and its members two spaces further in; an array of objects lists
 * each as "[N]" with its members below; a string of several lines (a task's
 * output) becomes "key:" and its lines, each escaped, two spaces further in.
 * `skip` is a NULL-terminated list of keys to leave out, or NULL.
 */
void print_members(FILE *f, json_object *obj, unsigned indent, unsigned flags, const char *const *skip);
/* One member, the way print_members() prints it. */
void print_member(FILE *f, const char *key, json_object *v, unsigned indent, unsigned flags);

/* Print v as JSON, pretty (indented, for --json) or compact (one line), and a newline. */
void print_json(FILE *f, json_object *v, bool pretty);

/* A table whose columns are as wide as their widest cell, two spaces apart. */
typedef struct Table {
	size_t n_columns;
	char **cells; /* row after row, the header row first */
	size_t n_cells;
	size_t cap;
} Table;

void table_init(Table *t, size_t n_columns);
void table_done(Table *t);
/* Add the next cell, left to right and row after row; the text is copied. */
void table_add(Table *t, const char *text);
void table_addf(Table *t, const char *format, ...) _printf_(2, 3);
/* A JSON value as a cell: value_to_text(), and timestamps shortened. */
void table_add_value(Table *t, json_object *v);
void table_print(const Table *t, FILE *f);
