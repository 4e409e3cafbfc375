/* SPDX-License-Identifier: MIT */
/* The methods: switch.plan, switch.subtask, switch.health. */
#pragma once

#include "conn.h"

/* Handle one request object of a line (or of a batch), answering into slot
 * unless it is a notification. */
void methods_handle(Conn *c, Slot *slot, json_object *msg);

/* c is going away: its sub-tasks are killed and their answers dropped. */
void methods_conn_closed(Conn *c);
