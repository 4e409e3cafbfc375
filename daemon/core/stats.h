/* SPDX-License-Identifier: MIT */
/*
 * What daemon.metrics reports beyond the state the Manager already keeps:
 * counters and histograms since the daemon started, all on the loop.
 */
#pragma once

#include "metrics.h"
#include "store/store.h"

/* Until the switch planning (plans and degraded plans) is merged, its two
 * counters stay 0: stats_switch_plan() is the hook it will call. */
typedef struct Stats {
	MetricsVec requests;                /* method, error_code */
	MetricsVec attempts;                /* reason */
	MetricsVec tokens;                  /* gen_ai_provider_name, gen_ai_request_model, token_origin */
	MetricsHistogram attempt_duration;  /* seconds, from exec to the end */
	MetricsHistogram commit_latency[2]; /* seconds; [1]: durable, until on the disk */
	uint64_t switch_plans, switch_degraded;
	/* Durable commits in flight: their ticket and start (monotonic usec). */
	struct {
		uint64_t ticket, start;
	} inflight[64];
} Stats;

void stats_init(Stats *s);
void stats_done(Stats *s);
/* One request answered (error_code 0: a result). */
void stats_request(Stats *s, const char *method, int error_code);
/* An attempt ended (a->reason set): its reason, duration and tokens. */
void stats_attempt_ended(Stats *s, const Attempt *a);
/* A commit: durable ones finish in stats_synced(). */
void stats_commit(Stats *s, uint64_t start, uint64_t ticket);
void stats_synced(Stats *s, uint64_t done);
/* The hook for the switch planning: a plan made, and whether it degraded. */
void stats_switch_plan(Stats *s, bool degraded);
