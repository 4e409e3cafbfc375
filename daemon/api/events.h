/* SPDX-License-Identifier: MIT */
/* Live events for events.subscribe: a notification per task status change and
 * per daughter start and end,
 * to every subscriber allowed to see the task. */
#pragma once

#include "store/store.h"

typedef struct Manager Manager;

void events_task_status(Manager *m, const Task *t);
/* A daughter started or ended (a.reason is NULL while it runs). */
void events_daughter_status(Manager *m, const char *task_id, const Daughter *d, const Attempt *a);
