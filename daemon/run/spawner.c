/* SPDX-License-Identifier: MIT */
/*
 * The spawner thread. spawn_daughter() blocks its caller until the child has
 * exec'd (a vfork-style child borrows the caller's thread; seccomp attach and
 * the child's setup take a few hundred microseconds), so it runs here, off the
 * request loop: the loop prepares each request (supervise.c), hands it over,
 * and gets it back through an eventfd. Requests are spawned in order.
 *
 * Only this thread touches a request and its result fields while
 * h->spawning is set; the loop touches nothing else of h that this thread
 * reads (h->req and what it points to are immutable until handed back).
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>

#include "runner-internal.h"

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
		h->spawn_rc = spawn_daughter_step(&h->req, &h->pid, &h->pidfd, &h->spawn_error, &h->spawn_step);
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
	sd_event_source_disable_unref(s->source);
	safe_close(s->efd);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->wake);
	pthread_cond_destroy(&s->idle);
	free(s);
	return NULL;
}
