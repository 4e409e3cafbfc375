/* SPDX-License-Identifier: MIT */
/*
 * The run queue: runnable tasks ordered by (priority, seq), lowest first, so
 * that P0 runs before P3 and first-come first-served holds within one
 * priority. A binary heap whose entries know their own index, so removing a
 * cancelled task is O(log n) after an O(1) lookup by id.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

typedef struct Queue Queue;

typedef struct QueueEntry {
	Id id;            /* task id */
	int priority;     /* 0 (first) .. 3 */
	uint64_t seq;     /* submission order */
	uint64_t not_before; /* realtime usec; 0 = now (retry backoff) */
	size_t heap_index; /* maintained by the queue */
} QueueEntry;

Queue *queue_new(void);
Queue *queue_free(Queue *q);

/* -EEXIST if the id is already queued, -ENOMEM. */
int queue_push(Queue *q, const Id *id, int priority, uint64_t seq, uint64_t not_before);
/* The first entry, or NULL when empty. Stays queued. */
const QueueEntry *queue_peek(const Queue *q);
/* Remove and return the first entry; false when empty. */
bool queue_pop(Queue *q, QueueEntry *ret);
/* Remove by id; false if it was not queued. */
bool queue_remove(Queue *q, const Id *id);
bool queue_contains(const Queue *q, const Id *id);
size_t queue_size(const Queue *q);
