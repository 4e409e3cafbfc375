/* SPDX-License-Identifier: MIT */
/*
 * Sub-tasks run by providers: one child process per sub-task, in a process
 * group of its own, fed the request on stdin, read on stdout, killed (the
 * whole group) at its timeout. The event loop never waits on one: a run
 * reports through a callback when it is over.
 */
#pragma once

#include <systemd/sd-event.h>

#include "config.h"

typedef struct ProviderPool ProviderPool;
typedef struct ProviderRun ProviderRun;

/*
 * The end of a run: result is the switch.subtask result, {"status": "ok",
 * "result", "tokens_used_cli", "tokens_used_local", "model", "provider"} or
 * {"status": "error", "error", "provider"}, owned by the callee; NULL when
 * the pool is freed under a running one. Called exactly once per run; the
 * run is gone afterwards.
 */
typedef void (*ProviderDone)(json_object *result, void *userdata);

int provider_pool_new(sd_event *e, ProviderPool **ret);
/* Kills and reaps every run still going, telling each with a NULL result. */
ProviderPool *provider_pool_free(ProviderPool *p);
unsigned provider_pool_running(const ProviderPool *p);

/*
 * Start p on input (the switch.subtask params as one JSON line). Returns 0
 * and the run, whose end comes through done; or a negative errno when it
 * could not start, with *ret_error the error result to answer with.
 * max_output bounds what it may write on stdout.
 */
int provider_run(ProviderPool *pool, const Provider *p, size_t max_output, const char *input, size_t input_len,
		 ProviderDone done, void *userdata, ProviderRun **ret_run, json_object **ret_error);

/* Kill the run's process group now (its client went away); done still comes, with an error. */
void provider_run_cancel(ProviderRun *r);

/* An error result: {"status": "error", "error": MESSAGE, "provider": NAME (when not NULL)}. */
json_object *subtask_error(const char *provider, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
