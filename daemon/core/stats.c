/* SPDX-License-Identifier: MIT */
/* The daemon's counters (stats.h) and daemon.metrics' text (manager_metrics_text). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "manager.h"
#include "stats.h"

void stats_init(Stats *s)
{
	static const char *const request_labels[] = { "method", "error_code" };
	static const char *const attempt_labels[] = { "reason" };
	static const char *const token_labels[] = { "gen_ai_provider_name", "gen_ai_request_model", "token_origin" };

	*s = (Stats){};
	metrics_vec_init(&s->requests, 2, request_labels);
	metrics_vec_init(&s->attempts, 1, attempt_labels);
	metrics_vec_init(&s->tokens, 3, token_labels);
	metrics_histogram_init(&s->attempt_duration, metrics_latency_bounds, metrics_latency_n_bounds);
	for (size_t i = 0; i < ELEMENTSOF(s->commit_latency); i++)
		metrics_histogram_init(&s->commit_latency[i], metrics_latency_bounds, metrics_latency_n_bounds);
}

void stats_done(Stats *s)
{
	metrics_vec_done(&s->requests);
	metrics_vec_done(&s->attempts);
	metrics_vec_done(&s->tokens);
}

void stats_request(Stats *s, const char *method, int error_code)
{
	char code[16];

	snprintf(code, sizeof code, "%d", error_code);
	(void)metrics_vec_add(&s->requests, (const char *const[]){ method, code }, 1);
}

void stats_attempt_ended(Stats *s, const Attempt *a)
{
	(void)metrics_vec_add(&s->attempts, (const char *const[]){ a->reason }, 1);
	/* An attempt that never started (spawn_failed) has no duration. */
	if (a->started_at && a->finished_at >= a->started_at)
		metrics_histogram_observe(&s->attempt_duration, (double)(a->finished_at - a->started_at) / USEC_PER_SEC);
	/* The model and provider are the last the attempt reported: an attempt
	 * whose sub-tasks used several counts all its tokens under the last. */
	const char *provider = a->cli_provider_used && *a->cli_provider_used ? a->cli_provider_used : "unknown";
	const char *model = a->switch_model_used && *a->switch_model_used ? a->switch_model_used : "unknown";
	if (a->tokens_used_cli > 0)
		(void)metrics_vec_add(&s->tokens, (const char *const[]){ provider, model, "cli" },
				      (double)a->tokens_used_cli);
	if (a->tokens_used_local > 0)
		(void)metrics_vec_add(&s->tokens, (const char *const[]){ provider, model, "local" },
				      (double)a->tokens_used_local);
}

void stats_commit(Stats *s, uint64_t start, uint64_t ticket)
{
	uint64_t now = now_monotonic_usec();

	if (ticket == 0) {
		metrics_histogram_observe(&s->commit_latency[0], (double)(now - start) / USEC_PER_SEC);
		return;
	}
	/* More than 64 in flight: the oldest is not measured (never happens
	 * with one sync thread that takes every ticket due at once). */
	s->inflight[ticket % ELEMENTSOF(s->inflight)].ticket = ticket;
	s->inflight[ticket % ELEMENTSOF(s->inflight)].start = start;
}

void stats_synced(Stats *s, uint64_t done)
{
	uint64_t now = now_monotonic_usec();

	for (size_t i = 0; i < ELEMENTSOF(s->inflight); i++)
		if (s->inflight[i].ticket && s->inflight[i].ticket <= done) {
			metrics_histogram_observe(&s->commit_latency[1],
						  (double)(now - s->inflight[i].start) / USEC_PER_SEC);
			s->inflight[i].ticket = 0;
		}
}

void stats_switch_plan(Stats *s, bool degraded)
{
	s->switch_plans++;
	if (degraded)
		s->switch_degraded++;
}

typedef struct TypeCounts {
	MetricsVec vec; /* task_type, status */
	int r;
} TypeCounts;

static int add_type_count(const char *type, TaskStatus st, uint64_t n, void *userdata)
{
	TypeCounts *c = userdata;

	c->r = metrics_vec_add(&c->vec, (const char *const[]){ type, task_status_to_string(st) }, (double)n);
	return c->r < 0;
}

int manager_metrics_text(Manager *m, char **ret, size_t *ret_len)
{
	static const char *const type_labels[] = { "task_type", "status" };
	Stats *s = &m->stats;
	TypeCounts tc = {};
	char *text = NULL, labels[64];
	size_t len = 0;
	FILE *f;
	int r;

	metrics_vec_init(&tc.vec, 2, type_labels);
	r = store_task_count_by_type(m->store, add_type_count, &tc);
	if (r >= 0 && tc.r < 0)
		r = tc.r;
	if (r < 0) {
		metrics_vec_done(&tc.vec);
		return r;
	}
	f = open_memstream(&text, &len);
	if (!f) {
		metrics_vec_done(&tc.vec);
		return -ENOMEM;
	}

	metrics_family(f, "vx11_tasks", "gauge", NULL, "Tasks in the store by task type and status.");
	metrics_write_vec(f, "vx11_tasks", &tc.vec);
	metrics_vec_done(&tc.vec);
	metrics_family(f, "vx11_queue_depth", "gauge", NULL, "Tasks queued to run now (pending), not counting retries.");
	metrics_sample(f, "vx11_queue_depth", NULL, (double)queue_size(m->queue));
	metrics_family(f, "vx11_retry_depth", "gauge", NULL, "Tasks waiting for their next attempt (retrying).");
	metrics_sample(f, "vx11_retry_depth", NULL, (double)queue_size(m->retry_queue));
	metrics_family(f, "vx11_daughters_running", "gauge", NULL, "Daughters alive now.");
	metrics_sample(f, "vx11_daughters_running", NULL, (double)runner_running(m->runner));
	metrics_family(f, "vx11_intents", "counter", NULL, "Intents submitted since the daemon started.");
	metrics_sample(f, "vx11_intents_total", NULL, (double)m->intents_total);

	metrics_family(f, "vx11_attempts", "counter", NULL, "Attempts ended since the daemon started, by end reason.");
	metrics_write_vec(f, "vx11_attempts_total", &s->attempts);
	metrics_family(f, "vx11_spawn_latency_seconds", "histogram", "seconds",
		       "Time the spawner took from clone to exec, per daughter that started.");
	metrics_write_histogram(f, "vx11_spawn_latency_seconds", NULL, runner_spawn_latency(m->runner));
	metrics_family(f, "vx11_attempt_duration_seconds", "histogram", "seconds",
		       "Attempts that ran, from exec to their end.");
	metrics_write_histogram(f, "vx11_attempt_duration_seconds", NULL, &s->attempt_duration);

	metrics_family(f, "vx11_requests", "counter", NULL,
		       "JSON-RPC requests answered since the daemon started, by method and error code (0: a result).");
	metrics_write_vec(f, "vx11_requests_total", &s->requests);

	metrics_family(f, "vx11_store_commit_seconds", "histogram", "seconds",
		       "Store commits: durable=\"true\" until the sync is on the disk, else the commit itself.");
	for (int d = 0; d < 2; d++) {
		labels[0] = 0;
		metrics_write_histogram(f, "vx11_store_commit_seconds",
					metrics_label(labels, sizeof labels, "durable", d ? "true" : "false"),
					&s->commit_latency[d]);
	}

	/* The planner counts its plans through stats_switch_plan(). */
	metrics_family(f, "vx11_switch_plans", "counter", NULL, "Plans asked of the switch.");
	metrics_sample(f, "vx11_switch_plans_total", NULL, (double)s->switch_plans);
	metrics_family(f, "vx11_switch_degraded", "counter", NULL, "Plans that fell back to a degraded plan.");
	metrics_sample(f, "vx11_switch_degraded_total", NULL, (double)s->switch_degraded);
	metrics_family(f, "vx11_switch_subtasks", "counter", NULL, "Daughters' sub-tasks forwarded to the switch.");
	metrics_sample(f, "vx11_switch_subtasks_total", NULL, (double)subtasks_count(m->subtasks));

	metrics_family(f, "vx11_gen_ai_usage_tokens", "counter", NULL,
		       "Tokens the daughters reported, by provider and model (OpenTelemetry GenAI attribute names); "
		       "token_origin cli: tokens_used_cli, local: tokens_used_local. Counted when an attempt ends.");
	metrics_write_vec(f, "vx11_gen_ai_usage_tokens_total", &s->tokens);

	metrics_eof(f);
	if (fclose(f) != 0 || !text) {
		free(text);
		return -ENOMEM;
	}
	*ret = text;
	*ret_len = len;
	return 0;
}
