/* SPDX-License-Identifier: MIT */
/*
 * Ids on the command line and in tables. Wherever a command takes a task it
 * takes either id of its intent, the task's or the correlation id, or any
 * unique start of one (at least 4 characters, git-style); the daemon says
 * which intent that is (task.resolve), among those the caller may see.
 * Tables show ids cut short, as long as they need to be told apart.
 */
#pragma once

#include <json-c/json.h>
#include <stddef.h>

#include "util.h"
#include "vx11ctl.h"

/* The shortest start of an id a table shows: the millisecond of a UUIDv7. */
#define SHORT_ID_MIN 13

typedef struct ResolvedId {
	char correlation_id[ID_STRING_MAX];
	char task_id[ID_STRING_MAX]; /* "" when the intent has no task */
} ResolvedId;

/*
 * The intent `arg` names. Returns 0, or an exit status having said why: 2
 * for an id too short or ambiguous (the candidates listed on stderr), 1 for
 * one the daemon does not know (or that is not the caller's), 3 for no daemon.
 */
int resolve_id(const Cmd *cmd, const char *arg, ResolvedId *ret);
/* The same, for a command that acts on a task: an intent the daemon answered
 * at once has none, which is an error (exit 1) saying to look at its result. */
int resolve_task(const Cmd *cmd, const char *arg, char ret_task_id[static ID_STRING_MAX]);

/* How many characters of the `key` ids of the objects in `items` a table
 * shows so that no two look the same: SHORT_ID_MIN or more; every character
 * (SIZE_MAX) with --full-ids (`full`). */
size_t short_id_width(json_object *items, const char *key, bool full);
