/* SPDX-License-Identifier: MIT */
/* Live events for events.subscribe: a notification per task status change,
 * to every subscriber allowed to see the task. */
#pragma once

#include "store.h"

typedef struct Manager Manager;

void events_task_status(Manager *m, const Task *t);
