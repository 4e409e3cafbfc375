/* SPDX-License-Identifier: MIT */
/* intent.submit's parts shared by method-intent.c and intent-plan.c. */
#pragma once

#include <json-c/json.h>

#include "core/manager.h"
#include "methods.h"

/* The intent.submit envelope (response taken; NULL: {}), degraded false. */
json_object *intent_envelope(const char *correlation_id, const char *status, const char *mode, const char *provider,
			     json_object *response, const char *error, uint64_t at);
/*
 * Record the intent (audit log row + journal); the envelope, if any, is what
 * was replied. Its text, serialized for the row, stays on it and is what the
 * reply's serialization writes for it: the envelope is most of the reply.
 * Whoever changes the envelope after this calls intent_envelope_changed().
 */
int intent_record(Manager *m, IntentRecord *rec, json_object *envelope);
/* Serialize the envelope from its members again (after intent_record). */
void intent_envelope_changed(json_object *envelope);
/*
 * An intent with require.switch in policy mode "switch": planned by the
 * switch, answered once planned. t NULL: an intent without a task, recorded
 * once planned. t: its task, just written in state `planning` (rec is
 * recorded now). Returns METHOD_DEFERRED (the connection parks), 0 with
 * *ret NULL (a notification: nobody waits) or an RPC error.
 */
int intent_plan(Call *call, IntentRecord *rec, json_object *payload, const Task *t, json_object **ret, RpcError *err);
