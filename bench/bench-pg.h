/* SPDX-License-Identifier: MIT */
/*
 * bench-pg's load engine (bench-pg-load.c): the tables of FLEET-DESIGN.md
 * 2.1, pipelined durable submits on libpq connections, a row's figures.
 * bench-pg.c holds the options, the floors and the report.
 */
#pragma once

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#define GOAL_RATE     30000.0 /* issue 13: durable submits/s, pipelined */
#define INFLIGHT_MAX  64
#define MAX_CONNS     16
#define INTENT_PARAMS 15
#define TASK_PARAMS   14

typedef enum Mode { MODE_ROWS, MODE_UNNEST } Mode;

/* What a row reports. */
typedef struct Row {
	const char *name;
	bool measured, durable;
	uint64_t submits, errors, commits;
	double rate, p50_us, p99_us, wal_bytes, backend_cpu_us, client_cpu_us;
	char first_error[200];
} Row;

/* The tables and indexes (dropped and made again by each row). */
extern const char *schema_sql;

/* Run sql on pg; 0 or -1 (the error printed). */
int exec_sql(PGconn *pg, const char *sql);
/* The one value sql returns, into buf; NULL on error (printed). */
const char *query_text(PGconn *pg, const char *sql, char *buf, size_t size);
/* The server's WAL insert position, in bytes. */
int64_t wal_position(PGconn *pg);
/* A connection, its statements prepared if asked; *ret_pid its backend. */
PGconn *open_conn(const char *conninfo, bool prepare, int *ret_pid);
/* One row: empty tables, a checkpoint, then `conns` connections at once. */
void run_row(PGconn *ctl, PGconn **pgs, const int *pids, Row *row, unsigned conns, Mode mode, unsigned batch,
             unsigned inflight, bool sync_off, uint64_t total, double max_seconds);
