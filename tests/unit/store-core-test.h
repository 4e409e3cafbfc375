/* SPDX-License-Identifier: MIT */
/*
 * What the store's core test programs share (test-store.c: records, opening
 * and migrating; test-store-list.c: lists, filters and paging;
 * test-store-txn.c: transactions, durability and checkpoints): the records
 * they write, with the fixed values their checks expect, and collecting the
 * ids a walk produced. On top of store-test.h, which every store test program
 * includes. test-store-runner.c and test-store-migrate.c make their records
 * their own way (with owners) and do not include this file. Included by one
 * .c file each; every helper is static inline so a program that does not use
 * one is not warned about it.
 */
#pragma once

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "store-test.h"

/* ---- records ---- */

static inline void make_intent(IntentRecord *r, uid_t uid, const char *key)
{
	*r = (IntentRecord){
		.created_at = 1700000000123456ULL,
		.uid = uid,
		.gid = 4242,
		.pid = 31337,
		.source = (char *)"operator",
		.intent_type = (char *)"build",
		.priority = 1,
		.status = (char *)"QUEUED",
		.mode = (char *)"SPAWNER",
		.idempotency_key = (char *)key,
		.envelope_json = (char *)"{\"status\":\"QUEUED\"}",
	};
	id_new_string(r->correlation_id);
}

static inline void make_task(Task *t, TaskStatus st, uid_t uid, const char *source)
{
	*t = (Task){
		.source = (char *)source,
		.priority = 2,
		.status = st,
		.task_type = (char *)"echo",
		.uid = uid,
		.created_at = 1700000000000001ULL,
		.updated_at = 1700000000000002ULL,
		.max_retries = 3,
		.ttl_seconds = -1,
	};
	id_new_string(t->id);
	id_new_string(t->intent_id);
}

static inline void make_daughter(Daughter *d, const char *task_id, const char *status)
{
	*d = (Daughter){
		.name = (char *)"worker",
		.status = (char *)status,
		.mutation_level = 1,
		.started_at = 1700000000000100ULL,
	};
	id_new_string(d->id);
	snprintf(d->task_id, sizeof d->task_id, "%s", task_id);
}

static inline void make_attempt(Attempt *a, const Daughter *d, int number)
{
	*a = (Attempt){
		.number = number,
		.status = (char *)"running",
		.started_at = 1700000000000200ULL,
		.exit_code = -1,
	};
	id_new_string(a->id);
	snprintf(a->daughter_id, sizeof a->daughter_id, "%s", d->id);
	snprintf(a->task_id, sizeof a->task_id, "%s", d->task_id);
}

/* ---- ids a walk produced ---- */

/* Remember the ids a walk produced, in order. */
typedef struct Ids {
	char ids[64][ID_STRING_MAX];
	size_t n;
} Ids;

static inline int collect_task_id(const Task *t, void *userdata)
{
	Ids *ids = userdata;

	if (ids->n < ELEMENTSOF(ids->ids))
		memcpy(ids->ids[ids->n], t->id, ID_STRING_MAX);
	ids->n++;
	return 0;
}

static inline int collect_daughter_id(const Daughter *d, void *userdata)
{
	Ids *ids = userdata;

	if (ids->n < ELEMENTSOF(ids->ids))
		memcpy(ids->ids[ids->n], d->id, ID_STRING_MAX);
	ids->n++;
	return 0;
}

static inline int collect_attempt_number(const Attempt *a, void *userdata)
{
	Ids *ids = userdata;

	if (ids->n < ELEMENTSOF(ids->ids))
		snprintf(ids->ids[ids->n], ID_STRING_MAX, "%d", a->number);
	ids->n++;
	return 0;
}

static inline int collect_intent_id(const IntentRecord *r, void *userdata)
{
	Ids *ids = userdata;

	if (ids->n < ELEMENTSOF(ids->ids))
		memcpy(ids->ids[ids->n], r->correlation_id, ID_STRING_MAX);
	ids->n++;
	return 0;
}
