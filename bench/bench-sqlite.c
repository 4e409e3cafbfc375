/* SPDX-License-Identifier: MIT */
/*
 * The store floor of bench-submit: what the QUEUED path writes per request
 * (an intents_log row and a task row; a keyless intent with a task keeps no
 * copy of its reply, method-intent.c intent_record()), inserted by
 * this process through the daemon's own store code into a fresh database on
 * the daemon's disk, in transactions of `batch` requests, each synced as a
 * durable commit is (the WAL synced at the commit, what synchronous=FULL
 * does). No socket, no JSON, no event loop: the rate a daemon that batched
 * perfectly could reach on this disk with this schema. store_floor() is the
 * same through any open store (bench-pg: the PostgreSQL backend's).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "store/store.h"

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* n submits into s, durable batches of `batch`: what both floors measure. */
int store_floor(Store *s, uint64_t n, unsigned batch, double *ret_rate, double *ret_cpu_us)
{
	uint64_t t0, c0;
	int r = 0;

	t0 = bench_now_ns();
	c0 = cpu_ns();
	for (uint64_t i = 0; i < n && r >= 0; i++) {
		uint64_t now = now_realtime_usec();
		IntentRecord in = {
			.created_at = now,
			.uid = 0,
			.source = (char *)"operator",
			.intent_type = (char *)"noop",
			.require_spawner = true,
			.priority = 1,
			.status = (char *)"QUEUED",
			.mode = (char *)"SPAWNER",
			.provider = (char *)"spawner",
		};
		Task t = {
			.source = (char *)"operator",
			.priority = 1,
			.status = TASK_PENDING,
			.task_type = (char *)"noop",
			.created_at = now,
			.updated_at = now,
			.max_retries = 1,
			.ttl_seconds = -1,
		};

		id_new_string(in.correlation_id);
		id_new_string(t.id);
		memcpy(t.intent_id, in.correlation_id, ID_STRING_MAX);
		in.task_id = t.id;
		r = store_intent_insert(s, &in);
		if (r >= 0)
			r = store_task_insert(s, &t);
		if (r >= 0 && ((i + 1) % batch == 0 || i + 1 == n)) {
			store_want_durable(s);
			r = store_commit(s);
		}
	}
	*ret_cpu_us = (double)(cpu_ns() - c0) / 1000.0 / (double)n;
	*ret_rate = (double)n / ((double)(bench_now_ns() - t0) / 1e9);
	if (r < 0)
		fprintf(stderr, "bench: the store floor (%s) failed: %s\n", store_backend_name(s), store_last_error(s));
	return r;
}

int sqlite_floor(const char *dir, uint64_t n, unsigned batch, double *ret_rate, double *ret_cpu_us)
{
	char path[4096], side[4200];
	Store *s = NULL;
	int r;

	snprintf(path, sizeof(path), "%s/bench-floor-%d.db", dir, (int)getpid());
	r = store_open(path, &s);
	if (r < 0) {
		fprintf(stderr, "bench-submit: the SQLite floor cannot open %s: %s\n", path, store_last_error(NULL));
		return r;
	}
	r = store_floor(s, n, batch, ret_rate, ret_cpu_us);
	store_free(s);
	(void)unlink(path);
	for (const char *suffix = "-wal"; suffix; suffix = strcmp(suffix, "-wal") == 0 ? "-shm" : NULL) {
		snprintf(side, sizeof(side), "%s%s", path, suffix);
		(void)unlink(side);
	}
	return r < 0 ? r : 0;
}
