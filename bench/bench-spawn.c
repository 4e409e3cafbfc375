/* SPDX-License-Identifier: MIT */
/*
 * bench-spawn: what it costs to start one confined daughter, beside the
 * floor measured in the same run, for the same static "true":
 *
 *   1  fork + execve + waitpid                          the floor
 *   2  spawn_daughter() without the daemon: a job cgroup from the warm pool
 *      (memory.max, pids.max), the default seccomp filter compiled once, a
 *      dynamic-style uid, the shared loopback netns, rlimits; the end
 *      awaited as the daemon will, through the pidfd and then the job
 *      cgroup's "populated 0", and the cgroup given back
 *   2z the same through a zygote prototype that holds the filter already
 *      and spawns with CLONE_PARENT (bench-spawn-zygote.c); 2z's daughters
 *      share one IPC namespace, 2zi's get one each as row 2's do (under the
 *      default profile minus its rule against clone(CLONE_NEWIPC))
 *   3  bwrap --unshare-all --ro-bind / /, firejail --noprofile --quiet
 *      (each skipped when not installed)
 *   4  vx11d end to end: 1,000 QUEUED intents at once, timed until every
 *      task is completed (bench-spawn-daemon.c); its daughters go through
 *      the daemon's zygote (sandbox/spawn-zygote.c)
 *   4n the same with vx11d --no-zygote, right after: spawn_daughter() in the
 *      daemon, for the side by side
 *
 * Rows 1-3 give the time of one spawn alone (start to reap, p50 and p99)
 * and the rate with 2 at once (two threads spawning back to back), as
 * perf/FLOORS.md measures them; they run in interleaved rounds so that the
 * machine's noise lands on all of them alike. Row 4 is a rate with the
 * policy's max_running at 2. Every ratio is to row 1.
 *
 * Bounded: every loop has a count, every child a deadline (row 1's static
 * true excepted: it cannot block), the daemon has timeouts and dies with us
 * (PR_SET_PDEATHSIG), and the whole run has an alarm.
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>

#include "bench.h"
#include "bench-spawn.h"
#include "sandbox/spawn.h"
#include "util.h"

#define CHILD_TIMEOUT_MS 10000
#define GOAL_RATE        1700.0
#define GOAL_RATIO       0.78
/* Per daughter, from issue 12: the daemon's CPU (all threads) and what it
 * writes to its disk for the store (speed does not change the latter). */
#define GOAL_CPU_US      400.0
#define GOAL_WRITE_KIB   16.0
#define GOAL_BTREE_WRITES 12.0

typedef enum RowId { ROW_FORK, ROW_SPAWN, ROW_ZYGOTE, ROW_ZYGOTE_IPC, ROW_BWRAP, ROW_FIREJAIL, _ROW_MAX } RowId;

typedef struct Row Row;
/* One spawn to its reap by worker k: 0, or -errno with *ret_error (optional, malloc'd). */
typedef int (*SpawnFn)(Row *row, unsigned k, char **ret_error);

struct Row {
	const char *label;
	SpawnFn fn;
	char *const *argv;
	unsigned seq, burst; /* per round: spawns timed one at a time; spawns per worker at once */
	char skip[160];      /* why the row is not measured; "" when it is */
	uint64_t *samples;   /* ns, one per timed spawn */
	size_t n_samples;
	uint64_t burst_spawns;
	double burst_seconds;
	uint64_t failures;
	char first_failure[200];
	double p50_us, p99_us, rate;
};

typedef struct Options {
	const char *true_path, *vx11d, *seccomp_dir, *state_base;
	unsigned rounds, daughters;
	double timeout;
	bool quick, no_daemon, keep;
	const char *no_daemon_why; /* why row 4 is not run */
} Options;

static char *const daughter_env[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", NULL};
static char *true_argv[2], *bwrap_argv[7], *firejail_argv[5];
static pthread_mutex_t failure_lock = PTHREAD_MUTEX_INITIALIZER;

/* How a child ended, as one error. */
static int exit_error(int status, char **ret_error)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (ret_error)
		*ret_error = WIFEXITED(status) ? bench_strdupf("exit status %d", WEXITSTATUS(status))
		                               : bench_strdupf("killed by signal %d", WTERMSIG(status));
	return -ECHILD;
}

/* ---- rows 1 and 3: a program and its reap ----------------------------------------------------- */

static int fork_exec_wait(Row *row, unsigned k, char **ret_error)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execve(row->argv[0], row->argv, daughter_env);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	return exit_error(status, ret_error);
}

/* The same with a deadline, for programs that could hang (the sandboxes). stderr_fd: -1 keeps ours. */
static int run_bounded(char *const argv[], int stderr_fd, char **ret_error)
{
	struct pollfd p = {.events = POLLIN};
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (stderr_fd >= 0 && dup2(stderr_fd, 2) < 0)
			_exit(127);
		execve(argv[0], argv, environ);
		_exit(127);
	}
	p.fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (p.fd >= 0 && poll(&p, 1, CHILD_TIMEOUT_MS) != 1) {
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, &status, 0);
		close(p.fd);
		if (ret_error)
			*ret_error =
			    bench_strdupf("%s: no exit within %d s: killed", argv[0], CHILD_TIMEOUT_MS / 1000);
		return -ETIMEDOUT;
	}
	if (p.fd >= 0)
		close(p.fd);
	if (waitpid(pid, &status, 0) != pid)
		return -errno;
	return exit_error(status, ret_error);
}

static int sandbox_tool(Row *row, unsigned k, char **ret_error)
{
	return run_bounded(row->argv, -1, ret_error);
}

static char *find_program(const char *name)
{
	static const char *const dirs[] = {"/usr/bin", "/bin", "/usr/local/bin", "/usr/sbin", "/sbin"};

	for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
		char *p = bench_strdupf("%s/%s", dirs[i], name);
		if (p && access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

/* Does it work here at all? One run with its stderr kept: "" or the reason. */
static void probe_tool(Row *row)
{
	_cleanup_free_ char *error = NULL;
	char out[4096] = "";
	int pipefd[2], r;
	ssize_t n;

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		snprintf(row->skip, sizeof(row->skip), "skipped (pipe: %m)");
		return;
	}
	r = run_bounded(row->argv, pipefd[1], &error);
	close(pipefd[1]);
	n = read(pipefd[0], out, sizeof(out) - 1);
	close(pipefd[0]);
	out[MAX(n, (ssize_t)0)] = 0;
	out[strcspn(out, "\n")] = 0;
	if (r < 0)
		snprintf(row->skip, sizeof(row->skip), "skipped (fails here: %s%s%.100s)",
		         error ?: strerror(-r), out[0] ? ": " : "", out);
}

static int sandbox_spawn(Row *row, unsigned k, char **ret_error)
{
	return sandbox_run(row->argv, daughter_env, k, ret_error);
}

/* ---- measuring -------------------------------------------------------------------------------- */

static int zygote_spawn_row(Row *row, unsigned k, char **ret_error)
{
	return sandbox_zygote_run(false, row->argv, daughter_env, k, ret_error);
}

static int zygote_ipc_spawn_row(Row *row, unsigned k, char **ret_error)
{
	return sandbox_zygote_run(true, row->argv, daughter_env, k, ret_error);
}

static bool spawn_one(Row *row, unsigned k)
{
	_cleanup_free_ char *error = NULL;
	int r = row->fn(row, k, &error);

	if (r >= 0)
		return true;
	pthread_mutex_lock(&failure_lock);
	row->failures++;
	if (!row->first_failure[0])
		snprintf(row->first_failure, sizeof(row->first_failure), "%s", error ?: strerror(-r));
	pthread_mutex_unlock(&failure_lock);
	return false;
}

typedef struct Worker {
	Row *row;
	unsigned k, n, ok;
	pthread_barrier_t *start;
} Worker;

static void *worker_main(void *arg)
{
	Worker *w = arg;

	pthread_barrier_wait(w->start);
	for (unsigned i = 0; i < w->n; i++)
		w->ok += spawn_one(w->row, w->k);
	return NULL;
}

/* Two threads spawning back to back, n each: the wall time from their common start to the last
 * reap, and how many succeeded. */
static int two_at_once(Row *row, unsigned n, double *ret_seconds, unsigned *ret_ok)
{
	pthread_barrier_t start;
	Worker w[2];
	pthread_t t[2];
	uint64_t t0;
	int r;

	r = -pthread_barrier_init(&start, NULL, 3);
	if (r < 0)
		return r;
	for (unsigned k = 0; k < 2; k++) {
		w[k] = (Worker){.row = row, .k = k, .n = n, .start = &start};
		r = -pthread_create(&t[k], NULL, worker_main, &w[k]);
		if (r < 0) {
			/* Release the one already waiting, with nothing to do. */
			w[0].n = 0;
			if (k == 1) {
				pthread_barrier_wait(&start);
				pthread_join(t[0], NULL);
			}
			pthread_barrier_destroy(&start);
			return r;
		}
	}
	pthread_barrier_wait(&start);
	t0 = bench_now_ns();
	for (unsigned k = 0; k < 2; k++)
		pthread_join(t[k], NULL);
	*ret_seconds = (double)(bench_now_ns() - t0) / 1e9;
	*ret_ok = w[0].ok + w[1].ok;
	pthread_barrier_destroy(&start);
	return 0;
}

static void measure_round(Row *row)
{
	unsigned ok;
	double s;

	for (unsigned i = 0; i < row->seq; i++) {
		uint64_t t0 = bench_now_ns();
		if (spawn_one(row, 0))
			row->samples[row->n_samples++] = bench_now_ns() - t0;
	}
	if (two_at_once(row, row->burst, &s, &ok) >= 0) {
		row->burst_spawns += ok;
		row->burst_seconds += s;
	}
}

static void row_finish(Row *row)
{
	bench_sort_u64(row->samples, row->n_samples);
	row->p50_us = bench_percentile(row->samples, row->n_samples, 0.50) / 1000.0;
	row->p99_us = bench_percentile(row->samples, row->n_samples, 0.99) / 1000.0;
	row->rate = row->burst_seconds > 0 ? (double)row->burst_spawns / row->burst_seconds : 0;
}

/* ---- the report ------------------------------------------------------------------------------- */

static Row rows[_ROW_MAX] = {
    [ROW_FORK] = {.label = "1  fork+exec+wait (the floor)", .fn = fork_exec_wait, .argv = true_argv},
    [ROW_SPAWN] = {.label = "2  spawn_daughter, no daemon", .fn = sandbox_spawn, .argv = true_argv},
    [ROW_ZYGOTE] = {.label = "2z zygote under the filter (prototype)", .fn = zygote_spawn_row, .argv = true_argv},
    [ROW_ZYGOTE_IPC] = {.label = "2zi zygote, an IPC namespace each", .fn = zygote_ipc_spawn_row, .argv = true_argv},
    [ROW_BWRAP] = {.label = "3a bwrap --unshare-all --ro-bind / /", .fn = sandbox_tool, .argv = bwrap_argv},
    [ROW_FIREJAIL] = {.label = "3b firejail --noprofile --quiet", .fn = sandbox_tool, .argv = firejail_argv},
};

/* Which build of true-static.c this is: its marker says. */
static const char *true_kind(const char *path)
{
	static const char marker[] = "vx11-true-static:";
	const char *kind = "not built from bench/true-static.c";
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *m, *p;

	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size == 0)
		return kind;
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED)
		return kind;
	p = memmem(m, (size_t)st.st_size, marker, sizeof(marker) - 1);
	if (p && (size_t)(p - m) + sizeof(marker) + 16 <= (size_t)st.st_size) {
		p += sizeof(marker) - 1;
		if (strncmp(p, "glibc-static", 12) == 0)
			kind = "linked -static with glibc";
		else if (strncmp(p, "nostdlib", 8) == 0)
			kind = "-nostdlib _start calling exit_group (glibc's libc.a was missing: no libc "
			       "start-up, "
			       "so the floor is lower than with a real program)";
	}
	munmap(m, (size_t)st.st_size);
	return kind;
}

/* Row 4's rate over row 1's: the "x of bare fork+exec". */
static double ratio_to_floor(double rate)
{
	return rows[ROW_FORK].rate > 0 ? rate / rows[ROW_FORK].rate : 0;
}

static void print_row(const Row *row)
{
	const Row *floor_row = &rows[ROW_FORK];

	if (row->skip[0]) {
		printf("%-44s %s\n", row->label, row->skip);
		return;
	}
	printf("%-44s %8.0f %8.0f %7.2fx %10s %7.2fx  %s\n", row->label, row->p50_us, row->p99_us,
	       floor_row->p50_us > 0 ? row->p50_us / floor_row->p50_us : 0, GROUP(row->rate),
	       ratio_to_floor(row->rate), row->failures ? "ERRORS" : "");
}

static void print_daemon(const Options *o, const char *label, const DaemonBench *d, bool measured)
{
	if (o->no_daemon) {
		printf("%-44s skipped (%s)\n", label, o->no_daemon_why);
		return;
	}
	if (!measured) {
		printf("%-44s %s\n", label, "FAILED (below)");
		return;
	}
	printf("%-44s %8s %8s %8s %10s %7.2fx\n", label, "-", "-", "", GROUP(d->rate), ratio_to_floor(d->rate));
}

static double mean2(double a, double b)
{
	return a >= 0 && b >= 0 ? (a + b) / 2 : -1;
}

static void compare_line(const char *what, double a, double b)
{
	printf("  %-46s %10s %10s", what, a >= 0 ? GROUP(a) : "?", b >= 0 ? GROUP(b) : "?");
	if (a > 0 && b > 0)
		printf(" %7.2fx", a / b);
	printf("\n");
}

/* Row 4 with its zygotes (the default) against 4n, --no-zygote: two runs of each, 4 4n 4n 4. */
static void print_zygote_compare(const DaemonBench *d, const DaemonBench *d2, bool measured, const DaemonBench *dn,
				 const DaemonBench *dn2, bool measured_n)
{
	printf("\nvx11d with zygotes (row 4) against --no-zygote (row 4n), the same burst, run 4 4n 4n 4; "
	       "means of two:\n");
	if (!measured || !measured_n) {
		printf("  NOT MEASURED: %s%s%s%s\n", d->error, d2->error, dn->error, dn2->error);
		return;
	}
	printf("  %-46s %10s %10s %8s\n", "", "4 zygote", "4n direct", "4 / 4n");
	compare_line("daughters/s, 2 at once", mean2(d->rate, d2->rate), mean2(dn->rate, dn2->rate));
	printf("  %-46s %9.2fx %9.2fx\n", "x row 1 (2 at once)", ratio_to_floor(mean2(d->rate, d2->rate)),
	       ratio_to_floor(mean2(dn->rate, dn2->rate)));
	compare_line("spawn µs, mean on the spawner thread", mean2(d->spawn_us, d2->spawn_us),
		     mean2(dn->spawn_us, dn2->spawn_us));
	compare_line("running to completed p50 µs", mean2(d->run_p50_us, d2->run_p50_us),
		     mean2(dn->run_p50_us, dn2->run_p50_us));
	compare_line("daemon CPU per daughter µs (zygotes included)", mean2(d->cpu_us, d2->cpu_us),
		     mean2(dn->cpu_us, dn2->cpu_us));
	printf("  %-46s %s/s, %s/s   %s/s, %s/s\n", "each run's daughters/s", GROUP(d->rate), GROUP(d2->rate),
	       GROUP(dn->rate), GROUP(dn2->rate));
	printf("  %-46s %" PRIu64 "/%" PRIu64 ", %" PRIu64 "/%" PRIu64 "\n",
	       "spawned through a zygote/directly, 4 and 4n", d->zygote_spawns + d2->zygote_spawns,
	       d->direct_spawns + d2->direct_spawns, dn->zygote_spawns + dn2->zygote_spawns,
	       dn->direct_spawns + dn2->direct_spawns);
}

static void print_details(const Options *o, const DaemonBench *d, bool ran, bool measured, double refloor)
{
	printf(
	    "per spawn: one at a time, start to reap (row 2: acquire, spawn, reap, cgroup empty, release).\n"
	    "2 at once: spawns per second by two threads spawning back to back; x row 1 is rate / row "
	    "1's.\n");
	if (rows[ROW_SPAWN].skip[0] == 0)
		printf("row 2: job cgroup from the warm pool (memory.max %s, pids.max %d), default seccomp "
		       "filter "
		       "compiled once, uid/gid %d+worker, loopback netns, nofile %d, fsize %s, stdio "
		       "/dev/null, "
		       "%s-style, cgroups %s%s%s\n",
		       BENCH_MEMORY_MAX, BENCH_PIDS_MAX, BENCH_UID, BENCH_NOFILE, BENCH_FSIZE,
		       spawn_method_to_string(spawn_method_default()), sandbox_cgroup_mode(),
		       sandbox_unapplied()[0] ? "; not applied: " : "", sandbox_unapplied());
	if (rows[ROW_ZYGOTE].skip[0] == 0)
		printf("row 2z: as row 2, spawned by a zygote per worker already under the filter "
		       "(clone CLONE_VM|CLONE_VFORK|CLONE_PARENT|CLONE_PIDFD, pidfd back by SCM_RIGHTS), "
		       "moved into the job cgroups by writes; its daughters share the zygote's IPC and "
		       "network namespaces (row 2: an IPC namespace each)\n");
	if (rows[ROW_ZYGOTE_IPC].skip[0] == 0)
		printf("row 2zi: as row 2z, each daughter cloned with CLONE_NEWIPC, under the default profile "
		       "without its rule that denies clone(CLONE_NEWIPC): the same confinement as row 2\n");
	for (RowId i = 0; i < _ROW_MAX; i++)
		if (rows[i].failures)
			printf("  %s: %" PRIu64 " failed spawns; first: %s\n", rows[i].label,
			       rows[i].failures, rows[i].first_failure);
	if (!ran)
		return;
	printf("\nvx11d end to end: %u intents submitted at once on one connection, limits.max_running %u, "
	       "after a warm-up of %u\n",
	       o->daughters, d->max_running, d->warm_up);
	if (!measured) {
		printf("  NOT MEASURED: %s\n", d->error);
		return;
	}
	printf("  all %" PRIu64 " completed %.3f s after the first was sent: %s daughters/s\n", d->completed,
	       d->seconds, GROUP(d->rate));
	printf("  per daughter, submitted to completed: p50 %s µs, p99 %s µs (mostly waiting behind the "
	       "rest of the burst)\n",
	       GROUP(d->submit_p50_us), GROUP(d->submit_p99_us));
	if (d->n_run > 0)
		printf("  per daughter, running to completed (the daemon's timestamps, %" PRIu64
		       " tasks): p50 %s "
		       "µs, p99 %s µs\n",
		       d->n_run, GROUP(d->run_p50_us), GROUP(d->run_p99_us));
	else
		printf("  per daughter, running to completed: no \"running\" events with timestamps\n");
	printf("  database work per daughter: daemon CPU %s µs (all threads), storage writes ",
	       d->cpu_us >= 0 ? GROUP(d->cpu_us) : "?");
	if (d->write_kib >= 0)
		printf("%.1f KiB (WAL, checkpoints; its log excluded)", d->write_kib);
	else
		printf("?");
	printf(", rows:");
	for (size_t i = 0; i < ELEMENTSOF(d->rows); i++)
		if (d->rows[i] >= 0)
			printf(" %s %.2f", daemon_bench_tables[i], d->rows[i]);
		else
			printf(" %s ?", daemon_bench_tables[i]);
	printf("\n");
	if (d->btree_writes >= 0)
		printf("  store writes per daughter (its submission included): %.1f rows, %.1f b-tree entries, "
		       "%.2f commits\n",
		       d->rows_written, d->btree_writes, d->commits);
	if (refloor > 0)
		printf("  row 1 again right after row 4, 2 at once: %s/s (row 4 / that: %.2fx)\n",
		       GROUP(refloor), d->rate / refloor);
}

static void goal(const char *what, double value, int decimals, const char *cmp, double limit, bool ok,
                 const char *invalid)
{
	char line[160];

	snprintf(line, sizeof(line), "%s: %.*f (goal %s %.*f)", what, decimals, value, cmp, decimals, limit);
	printf("  %-74s %s\n", line, invalid ? invalid : ok ? "PASS" : "MISS");
}

static void print_goals(const Options *o, const DaemonBench *d, bool measured)
{
	const char *invalid = !measured                 ? "MISS (not measured)"
	                      : rows[ROW_FORK].failures ? "INVALID (row 1 errors)"
	                                                : NULL;
	double x = ratio_to_floor(d->rate);

	printf("\ngoals%s:\n", o->quick ? " (--quick: indicative only)" : "");
	if (o->no_daemon) {
		printf("  (none: row 4 was not run)\n");
		return;
	}
	goal("vx11d end to end, daughters/s with 2 at once", d->rate, 0, ">=", GOAL_RATE,
	     d->rate >= GOAL_RATE, measured ? NULL : invalid);
	goal("vx11d end to end / fork+exec+wait, rate with 2 at once", x, 2, ">=", GOAL_RATIO,
	     x >= GOAL_RATIO, invalid);
	goal("vx11d CPU per daughter, all threads, µs", d->cpu_us, 0, "<=", GOAL_CPU_US,
	     d->cpu_us >= 0 && d->cpu_us <= GOAL_CPU_US, d->cpu_us < 0 ? "MISS (not measured)" : invalid);
	goal("vx11d storage written per daughter, KiB", d->write_kib, 1, "<=", GOAL_WRITE_KIB,
	     d->write_kib >= 0 && d->write_kib <= GOAL_WRITE_KIB, d->write_kib < 0 ? "MISS (not measured)" : invalid);
	goal("vx11d b-tree entries written per daughter", d->btree_writes, 1, "<=", GOAL_BTREE_WRITES,
	     d->btree_writes >= 0 && d->btree_writes <= GOAL_BTREE_WRITES,
	     d->btree_writes < 0 ? "MISS (not measured)" : invalid);
}

/* ---- main ------------------------------------------------------------------------------------- */

static void help(void)
{
	printf("Usage: bench-spawn [OPTIONS]\n"
	       "\n"
	       "Measure the cost of starting a confined daughter: fork+exec (the floor),\n"
	       "spawn_daughter() without the daemon, bwrap, firejail, and vx11d end to end,\n"
	       "side by side in one run. Needs root for rows 2 and 4. Normally started by\n"
	       "bench/run.sh (make bench).\n"
	       "\n"
	       "      --true PATH          the static true every row runs (bench/true-static)\n"
	       "      --vx11d PATH         the daemon for row 4 (daemon/vx11d)\n"
	       "      --seccomp-dir DIR    where default.json is, for row 2 (policy/seccomp)\n"
	       "      --state-base DIR     row 4's state directory goes under DIR (/var/tmp):\n"
	       "                           a real disk, as the store's fsyncs are part of the cost\n"
	       "      --daughters N        intents submitted at once in row 4 (1000)\n"
	       "      --rounds N           interleaved rounds of rows 1-3 (10; --quick 3)\n"
	       "      --timeout S          row 4 gives up after S seconds per burst (60; --quick 20)\n"
	       "      --quick              a short smoke run\n"
	       "      --no-daemon          rows 1-3 only\n"
	       "      --keep               keep row 4's state directory (policy, database, log)\n"
	       "  -h, --help               show this help\n");
}

/* Make *path absolute (in buf) if it is not. */
static int absolute(const char **path, char buf[static PATH_MAX])
{
	if ((*path)[0] == '/')
		return 0;
	if (!realpath(*path, buf)) {
		fprintf(stderr, "bench-spawn: %s: %m\n", *path);
		return -errno;
	}
	*path = buf;
	return 0;
}

static int parse_options(int argc, char *argv[], Options *o)
{
	static char true_abs[PATH_MAX], vx11d_abs[PATH_MAX];
	enum {
		ARG_TRUE = 0x100,
		ARG_VX11D,
		ARG_SECCOMP_DIR,
		ARG_STATE_BASE,
		ARG_DAUGHTERS,
		ARG_ROUNDS,
		ARG_TIMEOUT,
		ARG_QUICK,
		ARG_NO_DAEMON,
		ARG_KEEP
	};
	static const struct option options[] = {{"true", required_argument, NULL, ARG_TRUE},
	                                        {"vx11d", required_argument, NULL, ARG_VX11D},
	                                        {"seccomp-dir", required_argument, NULL, ARG_SECCOMP_DIR},
	                                        {"state-base", required_argument, NULL, ARG_STATE_BASE},
	                                        {"daughters", required_argument, NULL, ARG_DAUGHTERS},
	                                        {"rounds", required_argument, NULL, ARG_ROUNDS},
	                                        {"timeout", required_argument, NULL, ARG_TIMEOUT},
	                                        {"quick", no_argument, NULL, ARG_QUICK},
	                                        {"no-daemon", no_argument, NULL, ARG_NO_DAEMON},
	                                        {"keep", no_argument, NULL, ARG_KEEP},
	                                        {"help", no_argument, NULL, 'h'},
	                                        {}};
	int64_t daughters = 0, rounds = 0, timeout = 0, v;
	int c;

	*o = (Options){.true_path = "bench/true-static",
	               .vx11d = "daemon/vx11d",
	               .seccomp_dir = "policy/seccomp",
	               .state_base = "/var/tmp"};
	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
		switch (c) {
		case ARG_TRUE:
			o->true_path = optarg;
			break;
		case ARG_VX11D:
			o->vx11d = optarg;
			break;
		case ARG_SECCOMP_DIR:
			o->seccomp_dir = optarg;
			break;
		case ARG_STATE_BASE:
			o->state_base = optarg;
			break;
		case ARG_DAUGHTERS:
		case ARG_ROUNDS:
		case ARG_TIMEOUT:
			if (parse_int64(optarg, &v) < 0 || v < 1 || v > 1000000) {
				fprintf(stderr,
				        "bench-spawn: %s: expected a number from 1 to 1000000, not \"%s\"\n",
				        c == ARG_DAUGHTERS ? "--daughters"
				        : c == ARG_ROUNDS  ? "--rounds"
				                           : "--timeout",
				        optarg);
				return -EINVAL;
			}
			*(c == ARG_DAUGHTERS ? &daughters : c == ARG_ROUNDS ? &rounds : &timeout) = v;
			break;
		case ARG_QUICK:
			o->quick = true;
			break;
		case ARG_NO_DAEMON:
			o->no_daemon = true;
			o->no_daemon_why = "--no-daemon";
			break;
		case ARG_KEEP:
			o->keep = true;
			break;
		case 'h':
			help();
			exit(0);
		default:
			return -EINVAL;
		}
	if (optind < argc) {
		fprintf(stderr, "bench-spawn: unexpected argument \"%s\"; see --help\n", argv[optind]);
		return -EINVAL;
	}
	/* Daughters exec argv[0] as is, and the policy's command must be absolute. */
	if (absolute(&o->true_path, true_abs) < 0 || (!o->no_daemon && absolute(&o->vx11d, vx11d_abs) < 0))
		return -ENOENT;
	o->daughters = daughters ? (unsigned)daughters : 1000;
	o->rounds = rounds ? (unsigned)rounds : o->quick ? 3 : 10;
	o->timeout = timeout ? (double)timeout : o->quick ? 20 : 60;
	return 0;
}

static void setup_rows(const Options *o)
{
	/* per round: timed one at a time, then per worker with 2 at once */
	static const unsigned full[_ROW_MAX][2] = {{60, 100}, {60, 100}, {60, 100}, {60, 100}, {10, 10}, {3, 3}};
	static const unsigned quick[_ROW_MAX][2] = {{30, 50}, {30, 50}, {30, 50}, {30, 50}, {5, 5}, {2, 2}};
	_cleanup_free_ char *bwrap = find_program("bwrap"), *firejail = find_program("firejail");

	true_argv[0] = (char *)o->true_path;
	for (RowId i = 0; i < _ROW_MAX; i++) {
		rows[i].seq = (o->quick ? quick : full)[i][0];
		rows[i].burst = (o->quick ? quick : full)[i][1];
		rows[i].samples = calloc((size_t)rows[i].seq * o->rounds, sizeof(uint64_t));
		if (!rows[i].samples)
			snprintf(rows[i].skip, sizeof(rows[i].skip), "skipped (out of memory)");
	}
	if (sandbox_setup(o->seccomp_dir, rows[ROW_SPAWN].skip, sizeof(rows[ROW_SPAWN].skip)) < 0) {
		snprintf(rows[ROW_ZYGOTE].skip, sizeof(rows[ROW_ZYGOTE].skip), "%s", rows[ROW_SPAWN].skip);
		snprintf(rows[ROW_ZYGOTE_IPC].skip, sizeof(rows[ROW_ZYGOTE_IPC].skip), "%s", rows[ROW_SPAWN].skip);
	} else {
		(void)sandbox_zygote_setup(false, rows[ROW_ZYGOTE].skip, sizeof(rows[ROW_ZYGOTE].skip));
		(void)sandbox_zygote_setup(true, rows[ROW_ZYGOTE_IPC].skip, sizeof(rows[ROW_ZYGOTE_IPC].skip));
	}
	if (!bwrap)
		snprintf(rows[ROW_BWRAP].skip, sizeof(rows[ROW_BWRAP].skip), "skipped (not installed)");
	else {
		char *argv[] = {strdup(bwrap), "--unshare-all", "--ro-bind", "/", "/", true_argv[0], NULL};
		memcpy(bwrap_argv, argv, sizeof(argv));
		probe_tool(&rows[ROW_BWRAP]);
	}
	if (!firejail)
		snprintf(rows[ROW_FIREJAIL].skip, sizeof(rows[ROW_FIREJAIL].skip),
		         "skipped (not installed)");
	else {
		char *argv[] = {strdup(firejail), "--noprofile", "--quiet", true_argv[0], NULL};
		memcpy(firejail_argv, argv, sizeof(argv));
		probe_tool(&rows[ROW_FIREJAIL]);
	}
}

int main(int argc, char *argv[])
{
	DaemonBench d = {0}, dn = {0}, d2 = {0}, dn2 = {0};
	Options o;
	bool ran = false, measured = false, measured_n = false;
	double refloor = 0;
	uint64_t errors = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (parse_options(argc, argv, &o) < 0)
		return 2;
	if (access(o.true_path, X_OK) < 0) {
		fprintf(stderr, "bench-spawn: %s: %m (build it: make bench/true-static)\n", o.true_path);
		return 2;
	}
	/* The last guard: every loop below is counted and every child has a deadline. */
	alarm(600 + 3 * (unsigned)o.timeout);
	signal(SIGPIPE, SIG_IGN);

	bench_print_machine("vx11d spawn benchmark");
	bench_print_load("at the start");
	printf("daughter: %s, %s\n", o.true_path, true_kind(o.true_path));
#if defined(__SANITIZE_ADDRESS__)
	/* fork() copies the page tables of ASan's shadow memory: row 1 and 3 slow down, vfork-style not. */
	printf("WARNING: built with AddressSanitizer: fork is much slower, the ratios to row 1 mean "
	       "nothing.\n");
#endif
	setup_rows(&o);

	fprintf(stderr, "measuring rows 1-3: %u interleaved rounds\n", o.rounds);
	for (RowId i = 0; i < _ROW_MAX; i++) /* warm: page cache, the cgroup pool, the tools' files */
		for (unsigned k = 0; k < 3 && !rows[i].skip[0]; k++)
			(void)rows[i].fn(&rows[i], 0, NULL);
	for (unsigned round = 0; round < o.rounds; round++)
		for (RowId i = 0; i < _ROW_MAX; i++)
			if (!rows[i].skip[0])
				measure_round(&rows[i]);
	for (RowId i = 0; i < _ROW_MAX; i++) {
		row_finish(&rows[i]);
		errors += rows[i].failures;
	}

	if (!o.no_daemon && geteuid() != 0) {
		o.no_daemon = true;
		o.no_daemon_why = "needs root: vx11d gives daughters their own uids";
	}
	if (!o.no_daemon) {
		double s;
		unsigned ok;

		d = (DaemonBench){.vx11d = o.vx11d,
		                  .true_path = o.true_path,
		                  .state_base = o.state_base,
		                  .daughters = o.daughters,
		                  .warm_up = o.quick ? 20 : 100,
		                  .max_running = 2,
		                  .timeout = o.timeout,
		                  .stall = o.quick ? 5 : 10,
		                  .keep = o.keep};
		ran = true;
		dn = d2 = dn2 = d;
		dn.no_zygote = dn2.no_zygote = true;
		/* 4, 4n, 4n, 4: a drift of the machine's load over the run lands on both alike. */
		measured = daemon_bench_run(&d) >= 0;
		if (o.keep)
			fprintf(stderr, "  row 4's policy, database and log are kept in %s\n", d.dir);
		fprintf(stderr, "  again with --no-zygote (row 4n), twice, then row 4 again\n");
		measured_n = daemon_bench_run(&dn) >= 0 && daemon_bench_run(&dn2) >= 0;
		measured = daemon_bench_run(&d2) >= 0 && measured;
		if (two_at_once(&rows[ROW_FORK], o.daughters / 2, &s, &ok) >= 0 && s > 0)
			refloor = ok / s;
	}

	/* "µ" is two bytes in one column: those headers get one more byte of width. */
	printf("\n%-44s %9s %9s %8s %10s %8s\n", "row (per spawn: one at a time)", "p50 µs", "p99 µs",
	       "x row 1", "2 at once/s", "x row 1");
	for (RowId i = 0; i < _ROW_MAX; i++)
		print_row(&rows[i]);
	print_daemon(&o, "4  vx11d end to end", &d, measured);
	print_daemon(&o, "4n vx11d end to end, --no-zygote", &dn, measured_n);
	print_details(&o, &d, ran, measured, refloor);
	if (ran)
		print_zygote_compare(&d, &d2, measured, &dn, &dn2, measured_n);
	print_goals(&o, &d, measured);
	printf("\n");
	bench_print_load("at the end");

	sandbox_done();
	for (RowId i = 0; i < _ROW_MAX; i++)
		free(rows[i].samples);
	free(bwrap_argv[0]);
	free(firejail_argv[0]);
	if (errors || (ran && (!measured || !measured_n))) {
		printf("\nTHIS RUN HAD ERRORS: %s\n",
		       errors ? "failed spawns (above)" : "row 4 or 4n was not measured");
		return 1;
	}
	return 0;
}
