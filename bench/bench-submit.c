/* SPDX-License-Identifier: MIT */
/*
 * bench-submit: intent.submit throughput and latency, next to floors
 * measured in the same run by the same client code.
 *
 * Cases, in this order:
 *   floor: echo           a single-threaded epoll line echo server forked by
 *                         this program: the IPC floor
 *   floor: echo+fdatasync the same server appending each wake-up's lines to a
 *                         file on the daemon's disk and syncing it before it
 *                         replies: the durable (group commit) floor
 *   daemon.status         a diagnostic: vx11d answering without its store
 *   fallback              intent.submit handled inline (an audit row, no fsync)
 *   QUEUED                intent.submit with require.spawner (a task row,
 *                         synced before the reply is released; the daemon
 *                         group-commits what one loop iteration read)
 *   planned               with --switch-socket: intent.submit with
 *                         require.switch on a daemon in mode "switch" whose
 *                         switch (vx11-switch) plans it: DONE, provider "switch"
 *   degraded              with --degraded-socket: the same on a daemon whose
 *                         switch is not there, its breaker open after the
 *                         warm-up: DONE, degraded, at once
 *   floor: SQLite         with --sync-dir, the rows of the QUEUED path
 *                         inserted by this process through the daemon's store
 *                         code in synced batches of 256 (bench-sqlite.c): the
 *                         store floor the pipelined QUEUED rows are held to
 * each one at a time (latency) and pipelined on one and on several
 * connections (throughput). The one-at-a-time rows run in interleaved
 * rounds so that their ratios to the floors survive a noisy machine.
 *
 * Then the scale case: the QUEUED pipelined run on a small store and on one
 * filled (through the daemon) with N tasks. With --scale-empty-socket the two
 * stores are two daemons measured alternately; else one daemon is measured,
 * filled and measured again.
 *
 * vx11d is not started here (bench/run.sh does that). Every reply is checked;
 * a run with errors says so and its figures are not valid.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "bench.h"

#define PARAMS_FALLBACK "{\"intent_type\":\"bench\"}"
#define PARAMS_QUEUED   "{\"intent_type\":\"noop\",\"require\":{\"spawner\":true}}"
#define PARAMS_PLANNED  "{\"intent_type\":\"bench\",\"require\":{\"switch\":true}}"
#define EXPECT_PLANNED  "\"provider\":\"switch\""
#define EXPECT_DEGRADED "\"degraded\":true"
#define EXPECT_ECHO     "\"method\":\"intent.submit\""
#define EXPECT_DONE     "\"status\":\"DONE\""
#define EXPECT_QUEUED   "\"status\":\"QUEUED\""
#define EXPECT_STATUS   "\"queue_depth\":"

/* Goals, printed next to the figures (issue 12's table): ratios to floors
 * measured in the same run, so that they hold on a slow day too. */
#define GOAL_QUEUED_RATE          100000.0
#define GOAL_QUEUED_SQLITE_X      0.80 /* pipelined QUEUED / the SQLite floor's rows/s */
#define GOAL_FALLBACK_P50_X       2.0  /* fallback p50 / echo p50 */
#define GOAL_QUEUED_P50_X         1.5  /* QUEUED one at a time p50 / echo+fdatasync p50 */
#define GOAL_QUEUED_P99_X         2.0  /* ... p99 / echo+fdatasync p99 */
#define GOAL_QUEUED_CPU_US        8.0  /* daemon CPU per durable submit, pipelined */
#define GOAL_SCALE_RATIO          0.90
#define GOAL_DEGRADED_X           1.2  /* degraded (breaker open) p50 / fallback p50, one at a time */
#define SQLITE_FLOOR_BATCH        256

/* Interleaved rounds of the one-at-a-time rows and of the scale case. */
#define ROUNDS 10

typedef enum Kind { ONE_AT_A_TIME, PIPELINED_1, PIPELINED_N, _KIND_MAX } Kind;
/* STATUS is a diagnostic: daemon.status touches no store, so it is the daemon's own I/O and JSON cost. */
typedef enum Target { FLOOR, FLOOR_SYNC, STATUS, FALLBACK, QUEUED, PLANNED, DEGRADED, _TARGET_MAX } Target;

typedef struct Options {
	const char *socket;
	const char *scale_socket;
	const char *scale_empty_socket;
	const char *sync_dir; /* where the durable floor writes; NULL: no durable floor */
	const char *switch_socket;   /* a daemon in mode switch with its switch running; NULL: no planned rows */
	const char *degraded_socket; /* a daemon in mode switch without its switch; NULL: no degraded rows */
	const char *echo_socket, *sync_echo_socket;
	double max_seconds;
	uint64_t roundtrips;
	uint64_t requests;
	uint64_t fill;
	unsigned window;
	unsigned conns;
	unsigned fill_conns;
	bool quick;
	bool skip_scale;
	unsigned only; /* 0: every case; STATUS, FALLBACK or QUEUED: that one besides the floors;
	                  _TARGET_MAX: scale */
} Options;

typedef struct Row {
	char name[64];
	Result res;
	bool measured;
} Row;

static Row rows[_TARGET_MAX][_KIND_MAX];

/* daemon.status.store around the QUEUED pipelined run on one connection. */
static struct {
	bool measured;
	double rows, btree, commits; /* per request */
} queued_writes;

/* The SQLite floor (bench-sqlite.c), when --sync-dir names the disk. */
static struct {
	bool measured;
	uint64_t rows;
	double rate, cpu_us;
} sqlite_fl;


static const char *target_name[_TARGET_MAX] = {"floor: echo",    "floor: echo+fdatasync", "vx11d daemon.status",
                                               "vx11d fallback", "vx11d QUEUED",          "vx11d planned (switch)",
                                               "vx11d degraded"};

static void help(void)
{
	printf(
	    "Usage: bench-submit --socket PATH [--scale-socket PATH [--scale-empty-socket PATH]] [OPTIONS]\n"
	    "\n"
	    "Measure intent.submit on a running vx11d next to an echo floor forked\n"
	    "by the bench itself. Normally started by bench/run.sh (make bench).\n"
	    "\n"
	    "      --socket PATH        the daemon for the floor/fallback/QUEUED cases\n"
	    "      --scale-socket PATH  a daemon with an empty store for the scale case:\n"
	    "                           measured, filled, measured again (default: the\n"
	    "                           first daemon)\n"
	    "      --scale-empty-socket PATH\n"
	    "                           a third daemon with an empty store: the scale case\n"
	    "                           fills --scale-socket only and then measures the two\n"
	    "                           alternately, so both share the machine's noise\n"
	    "      --switch-socket PATH a daemon in mode switch whose switch runs: the\n"
	    "                           planned rows\n"
	    "      --degraded-socket PATH\n"
	    "                           a daemon in mode switch whose switch is not there:\n"
	    "                           the degraded rows (breaker open)\n"
	    "      --sync-dir DIR       also measure a durable floor: the echo server\n"
	    "                           fdatasyncs a file in DIR (put it on the daemon's disk)\n"
	    "      --quick              a ~15 s smoke run (smaller counts)\n"
	    "      --fill N             tasks in the store for the scale case (1000000)\n"
	    "      --no-scale           skip the scale case\n"
	    "      --only CASE          the floors plus one case: fallback, queued, status\n"
	    "                           or scale\n"
	    "                           (for profiling the daemon one path at a time)\n"
	    "      --roundtrips N       one-at-a-time requests per case (20000)\n"
	    "      --max-seconds S      cap on each one-at-a-time case (30; 0: none)\n"
	    "      --requests N         pipelined requests per case (200000)\n"
	    "      --window W           outstanding requests per connection (512)\n"
	    "      --conns K            connections of the multi-connection case (8)\n"
	    "      --fill-conns K       connections used by the fill (4)\n"
	    "  -h, --help               show this help\n");
}

static int parse_count(const char *s, uint64_t min, uint64_t *ret)
{
	int64_t v;

	if (parse_int64(s, &v) < 0 || v < (int64_t)min)
		return -EINVAL;
	*ret = (uint64_t)v;
	return 0;
}

static int parse_options(int argc, char *argv[], Options *o)
{
	enum {
		ARG_SCALE_SOCKET = 0x100,
		ARG_QUICK,
		ARG_FILL,
		ARG_NO_SCALE,
		ARG_ROUNDTRIPS,
		ARG_REQUESTS,
		ARG_WINDOW,
		ARG_CONNS,
		ARG_FILL_CONNS,
		ARG_ONLY,
		ARG_SYNC_DIR,
		ARG_MAX_SECONDS,
		ARG_SCALE_EMPTY_SOCKET,
		ARG_SWITCH_SOCKET,
		ARG_DEGRADED_SOCKET,
	};
	static const struct option options[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"scale-socket", required_argument, NULL, ARG_SCALE_SOCKET},
	    {"scale-empty-socket", required_argument, NULL, ARG_SCALE_EMPTY_SOCKET},
	    {"switch-socket", required_argument, NULL, ARG_SWITCH_SOCKET},
	    {"degraded-socket", required_argument, NULL, ARG_DEGRADED_SOCKET},
	    {"quick", no_argument, NULL, ARG_QUICK},
	    {"fill", required_argument, NULL, ARG_FILL},
	    {"no-scale", no_argument, NULL, ARG_NO_SCALE},
	    {"roundtrips", required_argument, NULL, ARG_ROUNDTRIPS},
	    {"requests", required_argument, NULL, ARG_REQUESTS},
	    {"window", required_argument, NULL, ARG_WINDOW},
	    {"conns", required_argument, NULL, ARG_CONNS},
	    {"fill-conns", required_argument, NULL, ARG_FILL_CONNS},
	    {"only", required_argument, NULL, ARG_ONLY},
	    {"sync-dir", required_argument, NULL, ARG_SYNC_DIR},
	    {"max-seconds", required_argument, NULL, ARG_MAX_SECONDS},
	    {"help", no_argument, NULL, 'h'},
	    {}};
	uint64_t roundtrips = 0, requests = 0, fill = UINT64_MAX, max_seconds = UINT64_MAX, v;
	int c;

	*o = (Options){.window = 512, .conns = 8, .fill_conns = 4};
	while ((c = getopt_long(argc, argv, "s:h", options, NULL)) >= 0) {
		const char *name = NULL;
		switch (c) {
		case 's':
			o->socket = optarg;
			break;
		case ARG_SCALE_SOCKET:
			o->scale_socket = optarg;
			break;
		case ARG_SWITCH_SOCKET:
			o->switch_socket = optarg;
			break;
		case ARG_DEGRADED_SOCKET:
			o->degraded_socket = optarg;
			break;
		case ARG_SCALE_EMPTY_SOCKET:
			o->scale_empty_socket = optarg;
			break;
		case ARG_SYNC_DIR:
			o->sync_dir = optarg;
			break;
		case ARG_MAX_SECONDS:
			if (parse_count(optarg, 0, &max_seconds) < 0)
				name = "--max-seconds";
			break;
		case ARG_QUICK:
			o->quick = true;
			break;
		case ARG_NO_SCALE:
			o->skip_scale = true;
			break;
		case ARG_ONLY:
			if (streq(optarg, "fallback") || streq(optarg, "queued") || streq(optarg, "status"))
				o->only = streq(optarg, "fallback") ? FALLBACK
				          : streq(optarg, "queued") ? QUEUED
				                                    : STATUS,
				o->skip_scale = true;
			else if (streq(optarg, "scale"))
				o->only = _TARGET_MAX;
			else {
				fprintf(
				    stderr,
				    "bench-submit: --only: expected fallback, queued, status or scale\n");
				return -EINVAL;
			}
			break;
		case ARG_FILL:
			if (parse_count(optarg, 0, &fill) < 0)
				name = "--fill";
			break;
		case ARG_ROUNDTRIPS:
			if (parse_count(optarg, 1, &roundtrips) < 0)
				name = "--roundtrips";
			break;
		case ARG_REQUESTS:
			if (parse_count(optarg, 64, &requests) < 0)
				name = "--requests";
			break;
		case ARG_WINDOW:
		case ARG_CONNS:
		case ARG_FILL_CONNS:
			if (parse_count(optarg, 1, &v) < 0 || v > 65536) {
				name = c == ARG_WINDOW  ? "--window"
				       : c == ARG_CONNS ? "--conns"
				                        : "--fill-conns";
				break;
			}
			*(c == ARG_WINDOW  ? &o->window
			  : c == ARG_CONNS ? &o->conns
			                   : &o->fill_conns) = (unsigned)v;
			break;
		case 'h':
			help();
			exit(0);
		default:
			return -EINVAL;
		}
		if (name) {
			fprintf(stderr, "bench-submit: %s: expected a number, not \"%s\"\n", name, optarg);
			return -EINVAL;
		}
	}
	if (optind < argc || !o->socket) {
		fprintf(stderr, "bench-submit: %s; see --help\n",
		        optind < argc ? "unexpected argument" : "--socket PATH is required");
		return -EINVAL;
	}
	o->roundtrips = roundtrips ? roundtrips : o->quick ? 3000 : 20000;
	o->requests = requests ? requests : o->quick ? 50000 : 200000;
	o->fill = fill != UINT64_MAX ? fill : o->quick ? 100000 : 1000000;
	o->max_seconds = max_seconds != UINT64_MAX ? (double)max_seconds : o->quick ? 4 : 30;
	if (o->requests < o->conns) {
		fprintf(stderr, "bench-submit: --requests must be at least --conns\n");
		return -EINVAL;
	}
	return 0;
}

/* Add one run to a row; a run that cannot even start counts all its requests as errors. */
static void run_into(const Load *l, Result *acc)
{
	int r;

	/* The echo servers ("@...") leave no work behind; a daemon may (checkpoints). */
	if (l->socket[0] != '@')
		(void)bench_wait_idle(l->socket, 5 * USEC_PER_SEC);
	r = bench_run(l, acc);

	if (r >= 0)
		return;
	acc->requests += l->total;
	acc->errors += l->total;
	acc->server_cpu_unknown = true;
	if (!acc->first_error[0])
		snprintf(acc->first_error, sizeof(acc->first_error), "could not run: %s", strerror(-r));
}

static void progress(const char *label, const Result *r)
{
	fprintf(stderr, "  %-46s %9.0f req/s, %5.1f s%s\n", label, r->rate, r->seconds,
	        r->errors ? ", ERRORS" : "");
}

/* One load into a fresh result. */
static void measure(const char *label, const Load *l, Result *ret)
{
	*ret = (Result){};
	run_into(l, ret);
	result_finish(ret);
	progress(label, ret);
}

static Load make_load(const Options *o, const char *socket, Target t, Kind k)
{
	return (Load){
	    .socket = socket,
	    /* The durable floor writes what a QUEUED request is. */
	    .method = t == STATUS ? "daemon.status" : NULL,
	    .params = t == STATUS                      ? NULL
	              : t == QUEUED || t == FLOOR_SYNC ? PARAMS_QUEUED
	              : t == PLANNED || t == DEGRADED  ? PARAMS_PLANNED
	                                               : PARAMS_FALLBACK,
	    .expect = t == FLOOR || t == FLOOR_SYNC ? EXPECT_ECHO
	              : t == STATUS                 ? EXPECT_STATUS
	              : t == QUEUED                 ? EXPECT_QUEUED
	              : t == PLANNED                ? EXPECT_PLANNED
	              : t == DEGRADED               ? EXPECT_DEGRADED
	                                            : EXPECT_DONE,
	    .max_seconds = k == ONE_AT_A_TIME ? o->max_seconds : 0,
	    .conns = k == PIPELINED_N ? o->conns : 1,
	    .total = k == ONE_AT_A_TIME ? o->roundtrips : o->requests,
	    .window = k == ONE_AT_A_TIME ? 1 : o->window,
	    .keep_latency = true,
	};
}

/* Not measured: settle page cache, WAL and CPU frequency before the first row. */
static void warm_up(const Options *o, const char *socket, Target t)
{
	Load l = make_load(o, socket, t, PIPELINED_1);
	Result res = {};

	l.total = MIN(o->requests / 4, (uint64_t)20000);
	l.keep_latency = false;
	(void)bench_run(&l, &res);
	l = make_load(o, socket, t, ONE_AT_A_TIME);
	l.total = MIN(o->roundtrips / 4, (uint64_t)200);
	l.keep_latency = false;
	(void)bench_run(&l, &res);
	result_finish(&res);
}

static const char *target_socket(const Options *o, Target t)
{
	return t == FLOOR      ? o->echo_socket
	       : t == FLOOR_SYNC ? o->sync_echo_socket
	       : t == PLANNED    ? o->switch_socket
	       : t == DEGRADED   ? o->degraded_socket
	                         : o->socket;
}

static bool target_wanted(const Options *o, Target t)
{
	if ((t == FLOOR_SYNC && !o->sync_echo_socket) || (t == PLANNED && !o->switch_socket) ||
	    (t == DEGRADED && !o->degraded_socket))
		return false;
	/* --only fallback: the switch's rows compare with it. */
	if ((t == PLANNED || t == DEGRADED) && o->only == FALLBACK)
		return true;
	return t == FLOOR || t == FLOOR_SYNC || !o->only || o->only == t;
}

/* Take `round` of `rounds` equal slices of n (the first ones take the remainder). */
static uint64_t slice(uint64_t n, unsigned rounds, unsigned round)
{
	return n / rounds + (round < n % rounds);
}

static void run_cases(const Options *o)
{
	const char *kind_name[_KIND_MAX] = {"one at a time", "pipelined, 1 conn", NULL};
	char many[32];

	snprintf(many, sizeof(many), "pipelined, %u conns", o->conns);
	kind_name[PIPELINED_N] = many;
	for (Target t = 0; t < _TARGET_MAX; t++)
		for (Kind k = 0; k < _KIND_MAX; k++)
			snprintf(rows[t][k].name, sizeof(rows[t][k].name), "%s, %s", target_name[t],
			         kind_name[k]);

	/* The daemon is warmed without creating tasks. */
	for (Target t = 0; t < _TARGET_MAX; t++)
		if (target_wanted(o, t) && t != STATUS && t != QUEUED)
			warm_up(o, target_socket(o, t), t);

	/*
	 * One at a time, interleaved: each round runs a slice of every case, so
	 * a disturbance (another process, a slow disk moment, the scheduler
	 * placing client and server differently) lands on all of them alike and
	 * the ratios to the floors hold even when absolute figures move.
	 */
	fprintf(stderr, "  one at a time: %u interleaved rounds\n", ROUNDS);
	for (unsigned round = 0; round < ROUNDS; round++)
		for (Target t = 0; t < _TARGET_MAX; t++) {
			Load l = make_load(o, target_socket(o, t), t, ONE_AT_A_TIME);

			if (!target_wanted(o, t))
				continue;
			l.total = slice(o->roundtrips, ROUNDS, round);
			l.max_seconds = o->max_seconds / ROUNDS;
			run_into(&l, &rows[t][ONE_AT_A_TIME].res);
			rows[t][ONE_AT_A_TIME].measured = true;
		}
	for (Target t = 0; t < _TARGET_MAX; t++)
		if (rows[t][ONE_AT_A_TIME].measured) {
			result_finish(&rows[t][ONE_AT_A_TIME].res);
			progress(rows[t][ONE_AT_A_TIME].name, &rows[t][ONE_AT_A_TIME].res);
		}

	/* The diagnostic row only needs the latency. */
	for (Target t = 0; t < _TARGET_MAX; t++)
		for (Kind k = PIPELINED_1; k < _KIND_MAX && t != STATUS && target_wanted(o, t); k++) {
			Load l = make_load(o, target_socket(o, t), t, k);
			StoreCounts a, b;
			bool count = t == QUEUED && k == PIPELINED_1 && bench_store_counts(l.socket, &a) >= 0;

			measure(rows[t][k].name, &l, &rows[t][k].res);
			rows[t][k].measured = true;
			if (count && bench_store_counts(l.socket, &b) >= 0 && rows[t][k].res.replies > 0) {
				double n = (double)rows[t][k].res.replies;
				queued_writes.rows = (double)(b.rows_written - a.rows_written) / n;
				queued_writes.btree = (double)(b.btree_writes - a.btree_writes) / n;
				queued_writes.commits = (double)(b.commits - a.commits) / n;
				queued_writes.measured = true;
			}
		}
}

typedef struct Scale {
	bool measured, interleaved;
	const char *where;
	/* small: the store that stays small (the same daemon before its fill,
	 * or a second daemon); big: the store after the fill */
	uint64_t small_before, small_after, big_before, big_after;
	Result small, fill, big;
	uint64_t fill_target;
	unsigned fill_conns;
} Scale;

static int task_count(const char *socket, uint64_t *ret)
{
	int r = bench_task_count(socket, ret);
	if (r < 0)
		fprintf(stderr, "bench-submit: daemon.status on %s failed: %s\n", socket, strerror(-r));
	return r;
}

static int fill_store(const Options *o, const char *socket, Scale *sc)
{
	uint64_t have;
	int r;

	r = task_count(socket, &have);
	if (r < 0)
		return r;
	if (o->fill > have) {
		Load f = make_load(o, socket, QUEUED, PIPELINED_N);
		char label[64];

		f.total = o->fill - have;
		f.conns = (unsigned)MIN((uint64_t)o->fill_conns, f.total);
		f.keep_latency = false;
		snprintf(label, sizeof(label), "scale: fill +%" PRIu64 " tasks, %u conns", f.total, f.conns);
		measure(label, &f, &sc->fill);
	}
	return task_count(socket, &sc->big_before);
}

/*
 * With a second daemon: fill one store, then run the QUEUED pipelined load
 * on the small and the big store alternately, in slices, so that both see
 * the same moments of the machine. The small store grows by the same
 * requests as in the plain before/after order, so the store sizes measured
 * are the same; only the noise is shared.
 */
static int run_scale_interleaved(const Options *o, Scale *sc)
{
	const char *sockets[2] = {o->scale_empty_socket, o->scale_socket};
	Result *results[2] = {&sc->small, &sc->big};
	int r;

	sc->interleaved = true;
	sc->where = "two daemons, interleaved";
	warm_up(o, sockets[0], FALLBACK);
	warm_up(o, sockets[1], FALLBACK);
	r = task_count(sockets[0], &sc->small_before);
	if (r < 0)
		return r;
	r = fill_store(o, sockets[1], sc);
	if (r < 0)
		return r;
	/* Let the filled daemon's checkpoint catch up, as it would between bursts. */
	sleep(3);

	fprintf(stderr, "  scale: small and big store, %u interleaved rounds\n", ROUNDS);
	for (unsigned round = 0; round < ROUNDS; round++)
		for (unsigned i = 0; i < 2; i++) {
			unsigned which = (round + i) % 2; /* alternate who goes first */
			Load l = make_load(o, sockets[which], QUEUED, PIPELINED_1);

			l.total = slice(o->requests, ROUNDS, round);
			run_into(&l, results[which]);
		}
	result_finish(&sc->small);
	result_finish(&sc->big);
	progress("scale: QUEUED pipelined, small store", &sc->small);
	progress("scale: QUEUED pipelined, big store", &sc->big);
	r = task_count(sockets[0], &sc->small_after);
	if (r >= 0)
		r = task_count(sockets[1], &sc->big_after);
	return r;
}

/* With one daemon: the literal order, before the fill and after it. */
static int run_scale_sequential(const Options *o, Scale *sc)
{
	const char *socket = o->scale_socket ? o->scale_socket : o->socket;
	Load l = make_load(o, socket, QUEUED, PIPELINED_1);
	int r;

	sc->where = o->scale_socket ? "one daemon, before and after its fill" : "the same daemon as above";
	/* Warm with fallback requests: they add audit rows but no task. */
	warm_up(o, socket, FALLBACK);
	r = task_count(socket, &sc->small_before);
	if (r < 0)
		return r;
	measure("scale: QUEUED pipelined, store before fill", &l, &sc->small);
	r = task_count(socket, &sc->small_after);
	if (r < 0)
		return r;
	r = fill_store(o, socket, sc);
	if (r < 0)
		return r;
	measure("scale: QUEUED pipelined, store after fill", &l, &sc->big);
	return task_count(socket, &sc->big_after);
}

static int run_scale(const Options *o, Scale *sc)
{
	int r;

	sc->fill_target = o->fill;
	sc->fill_conns = o->fill_conns;
	if (o->scale_socket && o->scale_empty_socket)
		r = run_scale_interleaved(o, sc);
	else
		r = run_scale_sequential(o, sc);
	if (r >= 0)
		sc->measured = true;
	return r;
}

static const char *cpu_text_buf(char buf[static 32], const Result *r)
{
	if (r->server_cpu_us < 0)
		return "?";
	snprintf(buf, 32, "%.1f", r->server_cpu_us);
	return buf;
}
#define cpu_text(r) cpu_text_buf((char[32]){}, (r))

/* Latency rows compare the p50, throughput rows the rate; > 1 is slower than the floor. */
static double cost_ratio(Kind k, Target floor, const Result *r)
{
	const Row *f = &rows[floor][k];

	if (!f->measured)
		return 0;
	if (k == ONE_AT_A_TIME)
		return f->res.p50_us > 0 ? r->p50_us / f->res.p50_us : 0;
	return r->rate > 0 ? f->res.rate / r->rate : 0;
}

static uint64_t print_table(const Options *o)
{
	uint64_t errors = 0;

	/* "µs" is two bytes and one column: the header is spelled out. */
	printf("\n%-40s %9s    p50 µs    p99 µs %11s %8s %10s  srv cpu µs/req\n", "case", "requests",
	       "req/s", "x floor", "x fsync fl");
	for (Target t = 0; t < _TARGET_MAX; t++)
		for (Kind k = 0; k < _KIND_MAX; k++) {
			const Result *r = &rows[t][k].res;
			char sync_ratio[16] = "";

			if (!rows[t][k].measured)
				continue;
			if (t == QUEUED && rows[FLOOR_SYNC][k].measured)
				snprintf(sync_ratio, sizeof(sync_ratio), "%.2fx",
				         cost_ratio(k, FLOOR_SYNC, r));
			printf("%-40s %9s %9.1f %9.1f %11s %7.2fx %10s %15s %s\n", rows[t][k].name,
			       GROUP(r->replies + r->errors), r->p50_us, r->p99_us, GROUP(r->rate),
			       cost_ratio(k, FLOOR, r), sync_ratio, cpu_text(r), r->errors ? "ERRORS" : "");
			errors += r->errors;
		}
	printf("x floor: one at a time, p50 / the echo floor's p50; pipelined, the echo floor's req/s / "
	       "req/s.\n"
	       "x fsync fl: the same against the echo+fdatasync floor (group commit of the bare request "
	       "lines).\n"
	       "srv cpu µs/req: CPU time of the server process (all threads) per request, from /proc.\n"
	       "Pipelined p50/p99 include queueing behind up to %u outstanding requests per connection.\n",
	       o->window);
	for (Target t = 0; t < _TARGET_MAX; t++)
		for (Kind k = 0; k < _KIND_MAX; k++)
			if (rows[t][k].res.errors)
				printf("  %s: %" PRIu64 " errors; first: %s\n", rows[t][k].name,
				       rows[t][k].res.errors, rows[t][k].res.first_error);
	if (queued_writes.measured)
		printf("\nstore writes per QUEUED request (pipelined, 1 conn): %.2f rows, %.2f b-tree entries, "
		       "%.4f commits\n",
		       queued_writes.rows, queued_writes.btree, queued_writes.commits);
	if (sqlite_fl.measured)
		printf("\nfloor: SQLite, the QUEUED rows in synced batches of %u, no daemon: %s rows/s, "
		       "%.1f µs CPU per row (%s rows)\n",
		       SQLITE_FLOOR_BATCH, GROUP(sqlite_fl.rate), sqlite_fl.cpu_us, GROUP(sqlite_fl.rows));
	return errors;
}

static uint64_t print_scale(const Scale *sc)
{
	if (!sc->measured)
		return 0;
	printf("\nscale (QUEUED, pipelined, 1 conn; %s):\n", sc->where);
	printf(
	    "  store of %9s -> %9s tasks: %9s req/s  (p50 %.0f µs, p99 %.0f µs, daemon cpu %s µs/req)%s\n",
	    GROUP(sc->small_before), GROUP(sc->small_after), GROUP(sc->small.rate), sc->small.p50_us,
	    sc->small.p99_us, cpu_text(&sc->small), sc->small.errors ? "  ERRORS" : "");
	printf(
	    "  store of %9s -> %9s tasks: %9s req/s  (p50 %.0f µs, p99 %.0f µs, daemon cpu %s µs/req)%s\n",
	    GROUP(sc->big_before), GROUP(sc->big_after), GROUP(sc->big.rate), sc->big.p50_us, sc->big.p99_us,
	    cpu_text(&sc->big), sc->big.errors ? "  ERRORS" : "");
	if (sc->fill.requests > 0)
		printf("  fill: %s tasks in %.1f s over %u conns: %s req/s (daemon cpu %s µs/req)%s\n",
		       GROUP(sc->fill.requests), sc->fill.seconds, sc->fill_conns, GROUP(sc->fill.rate),
		       cpu_text(&sc->fill), sc->fill.errors ? "  ERRORS" : "");
	printf("  ratio big/small: %.3f req/s, %.3f daemon cpu per request\n",
	       sc->small.rate > 0 ? sc->big.rate / sc->small.rate : 0,
	       sc->small.server_cpu_us > 0 && sc->big.server_cpu_us > 0
	           ? sc->big.server_cpu_us / sc->small.server_cpu_us
	           : 0);
	if (sc->big_before < sc->fill_target)
		printf("  NOTE: the store held fewer tasks than --fill asked for\n");
	if (sc->interleaved)
		printf("  (%u rounds alternating the two daemons; both stores grow by the same requests)\n",
		       ROUNDS);
	return sc->small.errors + sc->fill.errors + sc->big.errors;
}

static void goal(const char *what, double value, const char *unit, const char *cmp, double limit, bool ok,
                 bool valid)
{
	char line[160];

	/* Enough digits that a miss never prints as equal to its goal. */
	snprintf(line, sizeof(line), "%s: %.*f%s (goal %s %.*f%s)", what, value >= 100 ? 0 : 3, value, unit,
	         cmp, limit >= 100 ? 0 : 2, limit, unit);
	/* printf pads bytes, not columns: "µ" is two bytes in one column. */
	int width = 72 + (strstr(line, "µ") ? 2 : 0);
	printf("  %-*s %s\n", width, line, !valid ? "INVALID (errors)" : ok ? "PASS" : "MISS");
}

static void print_goals(const Options *o, const Scale *sc)
{
	const Result *q1 = &rows[QUEUED][PIPELINED_1].res, *qn = &rows[QUEUED][PIPELINED_N].res;
	const Result *fb = &rows[FALLBACK][ONE_AT_A_TIME].res, *fl = &rows[FLOOR][ONE_AT_A_TIME].res;
	const Result *qr = &rows[QUEUED][ONE_AT_A_TIME].res;
	char what[80];
	double x;

	printf("\ngoals%s:\n", o->quick ? " (--quick: indicative only)" : "");
	const Result *fs = &rows[FLOOR_SYNC][ONE_AT_A_TIME].res;
	bool sync_floor = rows[FLOOR_SYNC][ONE_AT_A_TIME].measured;

	if (rows[QUEUED][ONE_AT_A_TIME].measured) {
		goal("QUEUED pipelined, 1 conn, req/s", q1->rate, "", ">=", GOAL_QUEUED_RATE,
		     q1->rate >= GOAL_QUEUED_RATE, !q1->errors);
		snprintf(what, sizeof(what), "QUEUED pipelined, %u conns, req/s", o->conns);
		goal(what, qn->rate, "", ">=", GOAL_QUEUED_RATE, qn->rate >= GOAL_QUEUED_RATE, !qn->errors);
		if (sqlite_fl.measured) {
			x = sqlite_fl.rate > 0 ? MAX(q1->rate, qn->rate) / sqlite_fl.rate : 0;
			goal("QUEUED pipelined (best) / SQLite floor, rows/s", x, "x", ">=", GOAL_QUEUED_SQLITE_X,
			     x >= GOAL_QUEUED_SQLITE_X, !q1->errors && !qn->errors);
		}
		x = MAX(q1->server_cpu_us, qn->server_cpu_us);
		goal("daemon CPU per durable submit (pipelined, worst)", x, " µs", "<=", GOAL_QUEUED_CPU_US,
		     x >= 0 && x <= GOAL_QUEUED_CPU_US, !q1->errors && !qn->errors && x >= 0);
	}
	if (rows[FALLBACK][ONE_AT_A_TIME].measured) {
		x = fl->p50_us > 0 ? fb->p50_us / fl->p50_us : 0;
		goal("fallback one at a time, p50 / echo p50", x, "x", "<=", GOAL_FALLBACK_P50_X,
		     x > 0 && x <= GOAL_FALLBACK_P50_X, !fb->errors && !fl->errors);
	}
	if (rows[QUEUED][ONE_AT_A_TIME].measured && sync_floor) {
		x = fs->p50_us > 0 ? qr->p50_us / fs->p50_us : 0;
		goal("QUEUED one at a time, p50 / echo+fdatasync p50", x, "x", "<=", GOAL_QUEUED_P50_X,
		     x > 0 && x <= GOAL_QUEUED_P50_X, !qr->errors && !fs->errors);
		x = fs->p99_us > 0 ? qr->p99_us / fs->p99_us : 0;
		goal("QUEUED one at a time, p99 / echo+fdatasync p99", x, "x", "<=", GOAL_QUEUED_P99_X,
		     x > 0 && x <= GOAL_QUEUED_P99_X, !qr->errors && !fs->errors);
	} else if (rows[QUEUED][ONE_AT_A_TIME].measured)
		printf("  (QUEUED latency goals need the echo+fdatasync floor: --sync-dir)\n");
	if (rows[DEGRADED][ONE_AT_A_TIME].measured && rows[FALLBACK][ONE_AT_A_TIME].measured) {
		const Result *dg = &rows[DEGRADED][ONE_AT_A_TIME].res;
		x = fb->p50_us > 0 ? dg->p50_us / fb->p50_us : 0;
		goal("degraded (breaker open) one at a time, p50 / fallback p50", x, "x", "<=", GOAL_DEGRADED_X,
		     x > 0 && x <= GOAL_DEGRADED_X, !dg->errors && !fb->errors);
	}
	if (!rows[QUEUED][ONE_AT_A_TIME].measured && !rows[FALLBACK][ONE_AT_A_TIME].measured &&
	    !sc->measured)
		printf("  (none applies to the cases run)\n");
	if (sc->measured) {
		x = sc->small.rate > 0 ? sc->big.rate / sc->small.rate : 0;
		snprintf(what, sizeof(what), "scale: req/s with %s tasks / with %s", GROUP(sc->big_before),
		         GROUP(sc->small_before));
		goal(what, x, "", ">=", GOAL_SCALE_RATIO, x >= GOAL_SCALE_RATIO,
		     !sc->small.errors && !sc->big.errors);
	}
}

int main(int argc, char *argv[])
{
	Options o;
	Scale sc = {};
	char echo_socket[64], sync_socket[64], sync_path[4096];
	pid_t echo = 0, sync_echo = 0;
	uint64_t errors;
	int r;

	if (parse_options(argc, argv, &o) < 0)
		return 2;

	bench_print_machine("vx11d intent.submit benchmark");
	bench_print_load("at the start");
	printf("settings: %" PRIu64 " one-at-a-time requests (at most %.0f s per case), %" PRIu64
	       " pipelined requests (window %u per connection, %u conns for the multi-connection rows), "
	       "fill to %" PRIu64 " tasks%s\n",
	       o.roundtrips, o.max_seconds, o.requests, o.window, o.conns, o.fill,
	       o.quick ? " (--quick)" : "");
	fflush(stdout);

	snprintf(echo_socket, sizeof(echo_socket), "@vx11-bench-echo-%d", (int)getpid());
	r = echo_start(echo_socket, NULL, &echo);
	if (r >= 0 && o.sync_dir) {
		snprintf(sync_socket, sizeof(sync_socket), "@vx11-bench-echo-sync-%d", (int)getpid());
		snprintf(sync_path, sizeof(sync_path), "%s/bench-floor.sync", o.sync_dir);
		r = echo_start(sync_socket, sync_path, &sync_echo);
		o.sync_echo_socket = sync_socket;
	}
	if (r < 0) {
		fprintf(stderr, "bench-submit: cannot start the echo server: %s\n", strerror(-r));
		echo_stop(echo);
		return 1;
	}
	o.echo_socket = echo_socket;

	fprintf(stderr, "measuring:\n");
	run_cases(&o);
	if (o.sync_dir && (o.only == 0 || o.only == QUEUED)) {
		fprintf(stderr, "  floor: SQLite, %" PRIu64 " rows in synced batches of %u\n", o.requests,
		        SQLITE_FLOOR_BATCH);
		sqlite_fl.rows = o.requests;
		sqlite_fl.measured = sqlite_floor(o.sync_dir, o.requests, SQLITE_FLOOR_BATCH, &sqlite_fl.rate,
		                                  &sqlite_fl.cpu_us) >= 0;
	}
	echo_stop(echo);
	echo_stop(sync_echo);
	if (!o.skip_scale && run_scale(&o, &sc) < 0)
		fprintf(stderr, "bench-submit: the scale case could not complete\n");

	errors = print_table(&o);
	errors += print_scale(&sc);
	print_goals(&o, &sc);
	printf("\n");
	bench_print_load("at the end");
	if (errors) {
		printf("\nTHIS RUN HAD %" PRIu64 " ERRORS: its figures are not valid.\n", errors);
		return 1;
	}
	return 0;
}
