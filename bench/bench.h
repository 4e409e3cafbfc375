/* SPDX-License-Identifier: MIT */
/*
 * bench-submit: the load generator (bench-client.c), the echo floor
 * (bench-echo.c) and the cases and report (bench-submit.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

/* bench-util.c: what every benchmark reports with. */
uint64_t bench_now_ns(void); /* CLOCK_MONOTONIC */
/* CPU time consumed so far by every thread of pid, in ns. */
int bench_proc_cpu_ns(pid_t pid, uint64_t *ret);
/* The same summed over parent's children named comm (vx11d's zygotes); 0 if none. */
uint64_t bench_children_cpu_ns(pid_t parent, const char *comm);
void bench_sort_u64(uint64_t *v, size_t n);
/* Nearest-rank percentile (p in 0..1) of a sorted array, in its unit; 0 when empty. */
double bench_percentile(const uint64_t *sorted, size_t n, double p);
/* 1234567 -> "1,234,567", for tables people read. */
const char *bench_group(char buf[static 32], double value);
#define GROUP(v) bench_group((char[32]){}, (double)(v))
/* "<title>, <date>" and a line on the CPUs and the kernel. */
void bench_print_machine(const char *title);
/* asprintf() that returns the string (NULL when out of memory). */
char *bench_strdupf(const char *fmt, ...) _printf_(1, 2);
/* Other work on the machine shows up in every figure: say how much there was. */
void bench_print_load(const char *when);

/* One measured run: `total` requests spread over `conns` connections. */
typedef struct Load {
	const char *socket; /* a path, or "@name" for an abstract socket */
	const char *method; /* NULL: intent.submit */
	const char *params; /* the JSON params object of every request, or NULL */
	const char *expect; /* a reply without this substring is an error */
	unsigned conns;
	uint64_t total;
	unsigned window;    /* requests outstanding per connection; 1 = one at a time */
	bool keep_latency;  /* record every request's latency (else p50/p99 stay 0) */
	double max_seconds; /* one at a time: stop early after this long (0: never) */
} Load;

/*
 * What runs measured. bench_run() adds to a Result, so one row can pool the
 * samples of several runs (interleaved rounds); result_finish() then turns
 * the sums into the figures below the line.
 */
typedef struct Result {
	uint64_t requests; /* sent */
	uint64_t replies;  /* received and verified */
	uint64_t errors;   /* replies that failed verification, plus replies never received */
	double seconds;    /* first send to last reply, summed over runs */
	uint64_t server_cpu_ns;
	bool server_cpu_unknown;
	uint64_t *latency_ns; /* one per verified reply, when the Load keeps them */
	uint64_t n_latency, latency_cap;
	char first_error[200]; /* what the first bad reply said, for the report */

	double rate; /* verified replies per second */
	double p50_us, p99_us;
	double server_cpu_us; /* the server's CPU time (all its threads) per request; < 0: unknown */
} Result;

/* Compute rate, percentiles and CPU per request; frees the samples. */
void result_finish(Result *r);

/* Connect, retrying for up to timeout_usec while the socket is not there yet. */
int bench_connect(const char *address, uint64_t timeout_usec, int *ret_fd);

/*
 * Run a load to completion and add what it measured to *acc. Returns 0 when
 * the run happened (its errors are counted in *acc) or a negative errno when
 * it could not start at all (then *acc is unchanged).
 */
int bench_run(const Load *load, Result *acc);

/*
 * Wait (at most timeout_usec) until the server behind the socket has used
 * less than 2% of a CPU for 100 ms, so that background work left by one case
 * (a WAL checkpoint) is not billed to the next.
 */
int bench_wait_idle(const char *address, uint64_t timeout_usec);

/* daemon.status over a fresh connection: the number of tasks in the store. */
int bench_task_count(const char *address, uint64_t *ret_count);
/* daemon.status's store counts (speed does not change them). */
typedef struct StoreCounts {
	uint64_t commits, durable_commits, rows_written, btree_writes;
	/* daemon.status.spawner: daughters spawned through a zygote, and directly */
	uint64_t zygote_spawns, direct_spawns;
	/* daemon.metrics vx11_spawn_latency_seconds: sum and count (clone to exec, spawner thread) */
	double spawn_seconds;
	uint64_t spawns;
} StoreCounts;
int bench_store_counts(const char *address, StoreCounts *ret);

/*
 * The echo floor: a forked single-threaded epoll server on an abstract socket
 * ("@name"). With sync_path, each wake-up's lines are appended to that file
 * and fdatasync()ed before they are echoed: the durable floor.
 */
int echo_start(const char *name, const char *sync_path, pid_t *ret_pid);
/* bench-sqlite.c: n QUEUED-path row pairs through the store, synced every
 * batch; rows per second and process CPU per row. */
int sqlite_floor(const char *dir, uint64_t n, unsigned batch, double *ret_rate, double *ret_cpu_us);
/* The same rows through any open store (bench-pg: the PostgreSQL backend). */
struct Store;
int store_floor(struct Store *s, uint64_t n, unsigned batch, double *ret_rate, double *ret_cpu_us);
void echo_stop(pid_t pid);
