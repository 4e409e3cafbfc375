/* SPDX-License-Identifier: MIT */
/*
 * Live notifications, the one place that answers connections because a task
 * changed: events.subscribe subscribers get a notification per task status
 * change and per daughter start and end (each only for tasks it may see), and
 * connections parked in result.get (wait_seconds) get their answer when the
 * task ends. The server feeds it the core's task changes (ManagerListener);
 * nothing below api/ calls it.
 */
#pragma once

#include "store/store.h"

typedef struct Server Server;
typedef struct Conn Conn;

void events_task_status(Server *s, const Task *t);
/* The task status changes other nodes of a fleet committed (store_event_next()),
 * sent as events_task_status() sends a local one; an awaited end answers its waiters. */
void events_fleet(Server *s);
/* A daughter started or ended (a->reason is NULL while it runs). */
void events_daughter_status(Server *s, const char *task_id, const Daughter *d, const Attempt *a);

/* result.get with wait_seconds: park c (request id) until the task ends or
 * usec pass, then answer with the intent's result. 0, or -errno (answer now). */
int events_wait_result(Conn *c, json_object *id, const char *correlation_id, const char *task_id, uint64_t usec);
/* The task ended: its waiters get their answer now. */
void events_wake_waiters(Server *s, const Task *t);
/* A fleet: answer the waiters whose task another node ended, in one read,
 * after `usec` (0: at once; a later call than one pending keeps the
 * earlier); then again about once a second while any waits, for a wake-up
 * lost with its connection. Nothing on a store one daemon has alone. */
void events_check_waiters(Server *s, uint64_t usec);
