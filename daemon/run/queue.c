/* SPDX-License-Identifier: MIT */
/*
 * Three parts, all owned by the Queue:
 *   - entries live in fixed-size chunks with a free list, so a million queued
 *     tasks cost a few hundred allocations, and an entry never moves (the heap
 *     and the index hold pointers to it);
 *   - a binary min-heap ordered by (priority, seq); each node carries a copy
 *     of the key next to the entry pointer, so sifting compares without
 *     chasing pointers, and each entry records its slot in heap_index so
 *     removal by id needs no search;
 *   - an open-addressing index id -> entry (linear probing, deletion by
 *     backward shift, so there are no tombstones to clean up).
 *
 * not_before is carried for the scheduler but does not take part in the
 * ordering: the scheduler arms a timer for backoff and only pushes, or only
 * starts, a task whose time has come. Ordering on it here would make the
 * head of the queue depend on the clock.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"

#define CHUNK_ENTRIES 4096
#define INDEX_MIN_SLOTS 64

typedef struct HeapNode {
	uint64_t seq;
	int priority;
	QueueEntry *entry;
} HeapNode;

typedef union Slot {
	QueueEntry entry;
	union Slot *next_free;
} Slot;

struct Queue {
	HeapNode *heap;    /* heap[0] is the first entry */
	size_t n;          /* entries queued */
	size_t heap_cap;

	QueueEntry **index; /* NULL = empty slot; size is a power of two */
	size_t index_mask;  /* slots - 1, or 0 before the first push */

	Slot **chunks; /* each CHUNK_ENTRIES slots; never moved or freed before queue_free */
	size_t n_chunks, chunks_cap;
	Slot *free_list;
};

Queue *queue_new(void)
{
	return calloc(1, sizeof(Queue));
}

Queue *queue_free(Queue *q)
{
	if (!q)
		return NULL;
	for (size_t i = 0; i < q->n_chunks; i++)
		free(q->chunks[i]);
	free(q->chunks);
	free(q->index);
	free(q->heap);
	free(q);
	return NULL;
}

/* ---- entry allocation ---- */

static QueueEntry *entry_alloc(Queue *q)
{
	Slot *s, *chunk;

	if (!q->free_list) {
		if (q->n_chunks == q->chunks_cap) {
			size_t cap = q->chunks_cap ? q->chunks_cap * 2 : 16;
			Slot **p = realloc(q->chunks, cap * sizeof(*p));
			if (!p)
				return NULL;
			q->chunks = p;
			q->chunks_cap = cap;
		}
		chunk = malloc(CHUNK_ENTRIES * sizeof(Slot));
		if (!chunk)
			return NULL;
		q->chunks[q->n_chunks++] = chunk;
		/* Thread back to front so entries are handed out in address order. */
		for (size_t i = CHUNK_ENTRIES; i > 0; i--) {
			chunk[i - 1].next_free = q->free_list;
			q->free_list = &chunk[i - 1];
		}
	}
	s = q->free_list;
	q->free_list = s->next_free;
	return &s->entry;
}

static void entry_release(Queue *q, QueueEntry *e)
{
	Slot *s = (Slot *)e;

	s->next_free = q->free_list;
	q->free_list = s;
}

/* ---- id index ---- */

static size_t id_hash(const Id *id)
{
	uint64_t h;

	/* Bytes 8..15 are mostly random (counter low bits, then random); mix anyway. */
	memcpy(&h, id->bytes + 8, sizeof(h));
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	return (size_t)h;
}

static bool id_equal(const Id *a, const Id *b)
{
	return memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

/* The slot holding id, or the empty slot where it would go. */
static size_t index_find_slot(const Queue *q, const Id *id)
{
	size_t i = id_hash(id) & q->index_mask;

	while (q->index[i] && !id_equal(&q->index[i]->id, id))
		i = (i + 1) & q->index_mask;
	return i;
}

static QueueEntry *index_lookup(const Queue *q, const Id *id)
{
	if (!q->index)
		return NULL;
	return q->index[index_find_slot(q, id)];
}

/* Keep the load factor at or below one half so probe runs stay short. */
static int index_reserve(Queue *q, size_t n)
{
	size_t slots = q->index ? q->index_mask + 1 : 0, new_slots;
	QueueEntry **old = q->index;

	if (n <= slots / 2)
		return 0;

	new_slots = slots ? slots * 2 : INDEX_MIN_SLOTS;
	while (n > new_slots / 2)
		new_slots *= 2;
	q->index = calloc(new_slots, sizeof(*q->index));
	if (!q->index) {
		q->index = old;
		return -ENOMEM;
	}
	q->index_mask = new_slots - 1;
	for (size_t i = 0; i < slots; i++)
		if (old[i])
			q->index[index_find_slot(q, &old[i]->id)] = old[i];
	free(old);
	return 0;
}

static void index_delete(Queue *q, const Id *id)
{
	size_t i = index_find_slot(q, id), j = i;

	assert(q->index[i]);
	/*
	 * Backward shift: walk the run after the hole and move back every entry
	 * whose home slot is not cyclically within (hole, j], so each entry stays
	 * reachable from its home slot without tombstones.
	 */
	for (;;) {
		size_t home;

		j = (j + 1) & q->index_mask;
		if (!q->index[j])
			break;
		home = id_hash(&q->index[j]->id) & q->index_mask;
		if (((j - home) & q->index_mask) >= ((j - i) & q->index_mask)) {
			q->index[i] = q->index[j];
			i = j;
		}
	}
	q->index[i] = NULL;
}

/* ---- heap ---- */

static bool node_before(const HeapNode *a, const HeapNode *b)
{
	if (a->priority != b->priority)
		return a->priority < b->priority;
	return a->seq < b->seq;
}

static void heap_set(Queue *q, size_t i, const HeapNode *node)
{
	q->heap[i] = *node;
	node->entry->heap_index = i;
}

static void sift_up(Queue *q, size_t i)
{
	HeapNode node = q->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!node_before(&node, &q->heap[parent]))
			break;
		heap_set(q, i, &q->heap[parent]);
		i = parent;
	}
	heap_set(q, i, &node);
}

static void sift_down(Queue *q, size_t i)
{
	HeapNode node = q->heap[i];

	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= q->n)
			break;
		if (child + 1 < q->n && node_before(&q->heap[child + 1], &q->heap[child]))
			child++;
		if (!node_before(&q->heap[child], &node))
			break;
		heap_set(q, i, &q->heap[child]);
		i = child;
	}
	heap_set(q, i, &node);
}

static void heap_remove_at(Queue *q, size_t i)
{
	HeapNode last = q->heap[--q->n];

	if (i == q->n)
		return;
	heap_set(q, i, &last);
	if (i > 0 && node_before(&last, &q->heap[(i - 1) / 2]))
		sift_up(q, i);
	else
		sift_down(q, i);
}

/* ---- public ---- */

int queue_push(Queue *q, const Id *id, int priority, uint64_t seq, uint64_t not_before)
{
	QueueEntry *e;
	int r;

	if (index_lookup(q, id))
		return -EEXIST;

	/* Reserve everything first so a failure leaves the queue as it was. */
	r = index_reserve(q, q->n + 1);
	if (r < 0)
		return r;
	if (q->n == q->heap_cap) {
		size_t cap = q->heap_cap ? q->heap_cap * 2 : 64;
		HeapNode *p = realloc(q->heap, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		q->heap = p;
		q->heap_cap = cap;
	}
	e = entry_alloc(q);
	if (!e)
		return -ENOMEM;

	*e = (QueueEntry){ .id = *id, .priority = priority, .seq = seq, .not_before = not_before };
	q->index[index_find_slot(q, id)] = e;
	q->heap[q->n] = (HeapNode){ .seq = seq, .priority = priority, .entry = e };
	sift_up(q, q->n++);
	return 0;
}

const QueueEntry *queue_peek(const Queue *q)
{
	return q->n > 0 ? q->heap[0].entry : NULL;
}

static void queue_remove_entry(Queue *q, QueueEntry *e)
{
	heap_remove_at(q, e->heap_index);
	index_delete(q, &e->id);
	entry_release(q, e);
}

bool queue_pop(Queue *q, QueueEntry *ret)
{
	QueueEntry *e;

	if (q->n == 0)
		return false;
	e = q->heap[0].entry;
	if (ret)
		*ret = *e;
	queue_remove_entry(q, e);
	return true;
}

bool queue_remove(Queue *q, const Id *id)
{
	QueueEntry *e = index_lookup(q, id);

	if (!e)
		return false;
	queue_remove_entry(q, e);
	return true;
}

bool queue_contains(const Queue *q, const Id *id)
{
	return index_lookup(q, id) != NULL;
}

size_t queue_size(const Queue *q)
{
	return q->n;
}
