/* SPDX-License-Identifier: MIT */
/*
 * The spawner thread. spawn_daughter() blocks its caller until the child has
 * exec'd (a vfork-style child borrows the caller's thread; seccomp attach and
 * the child's setup take a few hundred microseconds), so it runs here, off the
 * request loop: the loop prepares each request (supervise.c), hands it over,
 * and gets it back through an eventfd. Requests are spawned in order.
 *
 * Daughters go through a zygote (sandbox/spawn-zygote.h) where one can serve
 * them: one per (seccomp filter, network namespace) in use, started here when
 * a daughter first needs that pair, so that they inherit the filter rather
 * than attach it. A zygote that died is noticed (its pidfd, or EOF on its
 * socket) and replaced at the next spawn; the request it failed is spawned
 * directly. One that cannot start, or cannot clone, is not tried again for
 * that pair for a while: its daughters are spawned directly meanwhile.
 * --no-zygote spawns every daughter directly.
 *
 * Only this thread touches a request and its result fields while
 * h->spawning is set; the loop touches nothing else of h that this thread
 * reads (h->req and what it points to are immutable until handed back).
 * The zygote table is this thread's alone; the counters are atomics.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>

#include "runner-internal.h"
#include "sandbox/spawn-zygote.h"

#define ZYGOTES_MAX        8
#define ZYGOTE_RETRY_USEC  (60 * USEC_PER_SEC) /* after one failed to start or to clone */

typedef struct ZygoteSlot {
	Zygote *z;               /* NULL: free, or failed (retry_after) */
	char sha256[65];         /* the filter it is for */
	int netns_fd;
	uint64_t retry_after;    /* monotonic usec: until then, this pair is spawned directly */
	uint64_t last_used;
} ZygoteSlot;

struct Spawner {
	Runner *runner;
	pthread_t thread;
	bool thread_running;
	pthread_mutex_t lock;
	pthread_cond_t wake;  /* work for the thread, or stop */
	pthread_cond_t idle;  /* the thread finished a request */
	Hija *todo, *todo_tail;
	Hija *done, *done_tail;
	size_t busy;          /* requests submitted and not yet done */
	bool stop;
	int efd;
	sd_event_source *source;
	bool zygote_on;
	ZygoteSlot slots[ZYGOTES_MAX];
	uint64_t n_zygotes, zygote_spawns, direct_spawns, zygote_starts; /* __atomic */
};

static void push(Hija **head, Hija **tail, Hija *h)
{
	h->spawn_next = NULL;
	if (*tail)
		(*tail)->spawn_next = h;
	else
		*head = h;
	*tail = h;
}

static void count(uint64_t *counter, int64_t by)
{
	__atomic_add_fetch(counter, (uint64_t)by, __ATOMIC_RELAXED);
}

static void slot_drop(Spawner *s, ZygoteSlot *slot, uint64_t retry_after)
{
	if (slot->z) {
		slot->z = zygote_free(slot->z);
		count(&s->n_zygotes, -1);
	}
	slot->retry_after = retry_after;
}

/* The live zygote for r, started if needed; NULL: spawn it directly. */
static Zygote *zygote_for(Spawner *s, const SpawnRequest *r)
{
	uint64_t now = now_monotonic_usec();
	ZygoteSlot *slot = NULL, *lru = NULL;
	_cleanup_free_ char *error = NULL;
	int k;

	for (size_t i = 0; i < ZYGOTES_MAX; i++) {
		ZygoteSlot *x = &s->slots[i];
		if (x->sha256[0] && streq(x->sha256, r->seccomp->sha256) && x->netns_fd == r->netns_fd)
			slot = x;
		else if (!lru || x->last_used < lru->last_used)
			lru = x;
	}
	if (slot && slot->z && !zygote_alive(slot->z)) {
		log_warning("zygote %d (seccomp %s) died; starting another", (int)zygote_pid(slot->z), r->seccomp->origin);
		slot_drop(s, slot, 0);
	}
	if (slot && slot->z) {
		slot->last_used = now;
		return slot->z;
	}
	if (slot && now < slot->retry_after)
		return NULL;
	if (!slot) {
		/* The least recently used pair gives its place (its zygote ends; its daughters,
		 * which are ours, go on). */
		slot = lru;
		slot_drop(s, slot, 0);
		memcpy(slot->sha256, r->seccomp->sha256, sizeof(slot->sha256));
		slot->netns_fd = r->netns_fd;
	}
	slot->last_used = now;
	k = zygote_start(r, &slot->z, &error);
	if (k < 0) {
		log_warning("%s; daughters with seccomp %s are spawned directly for %d s", error ?: strerror(-k),
			    r->seccomp->origin, (int)(ZYGOTE_RETRY_USEC / USEC_PER_SEC));
		slot->retry_after = now + ZYGOTE_RETRY_USEC;
		return NULL;
	}
	count(&s->n_zygotes, 1);
	count(&s->zygote_starts, 1);
	return slot->z;
}

static ZygoteSlot *slot_of(Spawner *s, const Zygote *z)
{
	for (size_t i = 0; i < ZYGOTES_MAX; i++)
		if (s->slots[i].z == z)
			return &s->slots[i];
	return NULL;
}

static void spawn_one(Spawner *s, Hija *h)
{
	const SpawnRequest *r = &h->req;
	Zygote *z = s->zygote_on && zygote_can_serve(r) ? zygote_for(s, r) : NULL;

	if (z) {
		bool lost = false;
		h->spawn_rc = zygote_spawn(z, r, &h->pid, &h->pidfd, &h->spawn_error, &h->spawn_step, &lost);
		if (!lost) {
			count(&s->zygote_spawns, 1);
			return;
		}
		/* Nothing of this request ran: it goes the direct way, the zygote is replaced (or, if it
		 * could not clone, its pair is spawned directly for a while). */
		log_warning("%s; spawning directly", h->spawn_error ?: strerror(-h->spawn_rc));
		free(h->spawn_error);
		h->spawn_error = NULL;
		slot_drop(s, slot_of(s, z), zygote_alive(z) ? now_monotonic_usec() + ZYGOTE_RETRY_USEC : 0);
	}
	h->spawn_rc = spawn_daughter_step(r, &h->pid, &h->pidfd, &h->spawn_error, &h->spawn_step);
	count(&s->direct_spawns, 1);
}

static void *spawner_thread(void *userdata)
{
	Spawner *s = userdata;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		Hija *h = s->todo;
		if (!h) {
			if (s->stop)
				break;
			pthread_cond_wait(&s->wake, &s->lock);
			continue;
		}
		s->todo = h->spawn_next;
		if (!s->todo)
			s->todo_tail = NULL;
		pthread_mutex_unlock(&s->lock);

		uint64_t begin = now_monotonic_usec();
		spawn_one(s, h);
		h->spawn_usec = now_monotonic_usec() - begin;
		/* The moment it runs (exec'd), not when the loop gets to hear of it. */
		h->spawned_at = now_realtime_usec();

		pthread_mutex_lock(&s->lock);
		push(&s->done, &s->done_tail, h);
		s->busy--;
		pthread_cond_broadcast(&s->idle);
		(void)eventfd_write(s->efd, 1);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static void hand_back(Spawner *s)
{
	Hija *h;

	pthread_mutex_lock(&s->lock);
	h = s->done;
	s->done = s->done_tail = NULL;
	pthread_mutex_unlock(&s->lock);
	while (h) {
		Hija *next = h->spawn_next;
		h->spawning = false;
		runner_spawned(h);
		h = next;
	}
}

static int on_done(sd_event_source *es, int fd, uint32_t revents, void *userdata)
{
	eventfd_t v;

	(void)eventfd_read(fd, &v);
	hand_back(userdata);
	return 0;
}

int spawner_new(Runner *r, Spawner **ret)
{
	Spawner *s = calloc(1, sizeof(*s));
	int k;

	if (!s)
		return -ENOMEM;
	s->runner = r;
	s->zygote_on = !r->env.no_zygote;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	pthread_cond_init(&s->idle, NULL);
	s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->efd < 0) {
		k = -errno;
		goto fail;
	}
	k = sd_event_add_io(r->env.event, &s->source, s->efd, EPOLLIN, on_done, s);
	if (k < 0)
		goto fail;
	k = -pthread_create(&s->thread, NULL, spawner_thread, s);
	if (k < 0)
		goto fail;
	s->thread_running = true;
	*ret = s;
	return 0;
fail:
	spawner_free(s);
	return k;
}

void spawner_submit(Spawner *s, Hija *h)
{
	h->spawning = true;
	pthread_mutex_lock(&s->lock);
	push(&s->todo, &s->todo_tail, h);
	s->busy++;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

void spawner_drain(Spawner *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	while (s->busy > 0 && s->thread_running)
		pthread_cond_wait(&s->idle, &s->lock);
	pthread_mutex_unlock(&s->lock);
	hand_back(s);
}

Spawner *spawner_free(Spawner *s)
{
	if (!s)
		return NULL;
	spawner_drain(s);
	if (s->thread_running) {
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_cond_signal(&s->wake);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
	}
	for (size_t i = 0; i < ZYGOTES_MAX; i++)
		slot_drop(s, &s->slots[i], 0);
	sd_event_source_disable_unref(s->source);
	safe_close(s->efd);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->wake);
	pthread_cond_destroy(&s->idle);
	free(s);
	return NULL;
}

void spawner_stats(const Spawner *s, SpawnerStats *ret)
{
	*ret = (SpawnerStats){ 0 };
	if (!s)
		return;
	ret->zygote = s->zygote_on;
	ret->zygotes = __atomic_load_n(&s->n_zygotes, __ATOMIC_RELAXED);
	ret->zygote_starts = __atomic_load_n(&s->zygote_starts, __ATOMIC_RELAXED);
	ret->zygote_spawns = __atomic_load_n(&s->zygote_spawns, __ATOMIC_RELAXED);
	ret->direct_spawns = __atomic_load_n(&s->direct_spawns, __ATOMIC_RELAXED);
}
