/* SPDX-License-Identifier: MIT */
/* What every benchmark here reports with: clocks, CPU use, percentiles, the machine. */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "bench.h"

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int bench_proc_cpu_ns(pid_t pid, uint64_t *ret)
{
	char path[64];
	struct dirent *de;
	uint64_t total = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char stat_path[sizeof(path) + sizeof(de->d_name) + 16];
		unsigned long long ns;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(stat_path, sizeof(stat_path), "%s/%s/schedstat", path, de->d_name);
		f = fopen(stat_path, "re");
		if (!f)
			continue; /* the thread just ended */
		if (fscanf(f, "%llu", &ns) == 1)
			total += ns;
		fclose(f);
	}
	closedir(d);
	*ret = total;
	return 0;
}

uint64_t bench_children_cpu_ns(pid_t parent, const char *comm)
{
	struct dirent *de;
	uint64_t total = 0;
	DIR *d = opendir("/proc");

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char path[300], buf[512], *p;
		int ppid;
		uint64_t ns;
		FILE *f;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		p = fgets(buf, sizeof(buf), f);
		fclose(f);
		/* "pid (comm) state ppid ...": comm may hold spaces, the last ')' ends it. */
		if (!p || !(p = strrchr(buf, ')')) || sscanf(p + 1, " %*c %d", &ppid) != 1 || ppid != (int)parent)
			continue;
		*p = 0;
		if (!strstr(buf, "(") || strcmp(strchr(buf, '(') + 1, comm) != 0)
			continue;
		if (bench_proc_cpu_ns((pid_t)atoi(de->d_name), &ns) >= 0)
			total += ns;
	}
	closedir(d);
	return total;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

void bench_sort_u64(uint64_t *v, size_t n)
{
	if (n > 0)
		qsort(v, n, sizeof(uint64_t), cmp_u64);
}

double bench_percentile(const uint64_t *sorted, size_t n, double p)
{
	size_t rank = (size_t)(p * (double)n + 0.999999);

	return n == 0 ? 0 : (double)sorted[MIN(MAX(rank, (size_t)1), n) - 1];
}

const char *bench_group(char buf[static 32], double value)
{
	char digits[32];
	int n = snprintf(digits, sizeof(digits), "%.0f", value < 0 ? 0 : value), j = 0;

	for (int i = 0; i < n; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[j++] = ',';
		buf[j++] = digits[i];
	}
	buf[j] = 0;
	return buf;
}

void bench_print_machine(const char *title)
{
	char date[64], model[256] = "unknown";
	struct utsname u;
	time_t t = time(NULL);
	FILE *f = fopen("/proc/cpuinfo", "re");

	if (f) {
		char line[256];
		while (fgets(line, sizeof(line), f))
			if (strncmp(line, "model name", 10) == 0) {
				const char *p = strchr(line, ':');
				snprintf(model, sizeof(model), "%s", p ? p + 2 : line);
				model[strcspn(model, "\n")] = 0;
				break;
			}
		fclose(f);
	}
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S %Z", localtime(&t));
	uname(&u);
	printf("%s, %s\n", title, date);
	printf("machine: %ld CPUs (%s), %s %s %s\n", sysconf(_SC_NPROCESSORS_ONLN), model, u.sysname, u.release,
	       u.machine);
}

void bench_print_load(const char *when)
{
	char buf[128] = "unknown";
	FILE *f = fopen("/proc/loadavg", "re");

	if (f) {
		if (fgets(buf, sizeof(buf), f))
			buf[strcspn(buf, "\n")] = 0;
		fclose(f);
	}
	printf("load average %s: %s\n", when, buf);
}

char *bench_strdupf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}
