/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "log.h"

#define PROGRAM "vx11-switch"
#define LOG_TIMESTAMP_MAX 64
#define EVENT_FIELDS_MAX 16

static LogTarget log_target = LOG_TARGET_STDERR;
static int log_max_level = LOG_INFO;

int log_target_from_string(const char *s, LogTarget *ret)
{
	static const char *const names[] = {
		[LOG_TARGET_AUTO] = "auto",
		[LOG_TARGET_JOURNAL] = "journal",
		[LOG_TARGET_STDERR] = "stderr",
	};

	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (streq(s, names[i])) {
			*ret = (LogTarget)i;
			return 0;
		}
	return -EINVAL;
}

int log_level_from_string(const char *s, int *ret)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
		{ "err", LOG_ERR },	  { "warning", LOG_WARNING }, { "notice", LOG_NOTICE },
		{ "info", LOG_INFO }, { "debug", LOG_DEBUG },
	};

	for (size_t i = 0; i < ELEMENTSOF(levels); i++)
		if (streq(s, levels[i].name)) {
			*ret = levels[i].level;
			return 0;
		}
	return -EINVAL;
}

/* systemd sets $JOURNAL_STREAM to "DEV:INO" of the stream it connected to
 * stdout/stderr; when stderr is that stream, structured entries are better. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_setup(LogTarget target, int max_level)
{
	if (target == LOG_TARGET_AUTO)
		target = stderr_is_journal() ? LOG_TARGET_JOURNAL : LOG_TARGET_STDERR;
	log_target = target;
	log_max_level = max_level;
}

static const char *log_timestamp(char buf[static LOG_TIMESTAMP_MAX])
{
	struct timespec ts;
	struct tm tm;
	char zone[8];
	size_t n;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0 || !localtime_r(&ts.tv_sec, &tm))
		return "-";
	n = strftime(buf, LOG_TIMESTAMP_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
	/* %z is "+0000"; RFC 3339 wants "+00:00". */
	if (n == 0 || strftime(zone, sizeof(zone), "%z", &tm) != 5)
		return "-";
	snprintf(buf + n, LOG_TIMESTAMP_MAX - n, ".%03ld%.3s:%.2s", ts.tv_nsec / 1000000, zone, zone + 3);
	return buf;
}

/* Client text ends up in messages: a newline in it must not forge a line. */
static void scrub(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* One write per line, so lines of concurrent writers never interleave. */
static void write_line(const char *text)
{
	char line[4096], ts[LOG_TIMESTAMP_MAX];
	int n;

	n = snprintf(line, sizeof(line) - 1, "%s " PROGRAM ": %s", log_timestamp(ts), text);
	if (n < 0)
		return;
	n = MIN(n, (int)sizeof(line) - 2);
	line[n] = 0;
	scrub(line);
	line[n++] = '\n';
	fwrite(line, 1, (size_t)n, stderr);
}

int log_internal(int level, int error, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (error < 0)
		error = -error;
	if (level > log_max_level)
		return -error;

	/* %m in fmt refers to `error`, not to whatever errno is now. */
	errno = error;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (log_target == LOG_TARGET_JOURNAL) {
		if (error)
			sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%i", level, "ERRNO=%i", error, NULL);
		else
			sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%i", level, NULL);
	} else
		write_line(msg);
	return -error;
}

void log_event(int level, const char *message, ...)
{
	const char *keys[EVENT_FIELDS_MAX], *values[EVENT_FIELDS_MAX];
	size_t n = 0;
	va_list ap;

	if (level > log_max_level)
		return;
	va_start(ap, message);
	for (const char *k; (k = va_arg(ap, const char *));) {
		const char *v = va_arg(ap, const char *);
		if (v && n < EVENT_FIELDS_MAX) {
			keys[n] = k;
			values[n++] = v;
		}
	}
	va_end(ap);

	if (log_target == LOG_TARGET_JOURNAL) {
		struct iovec iov[EVENT_FIELDS_MAX + 2];
		_cleanup_free_ char *m = NULL;
		char *f[EVENT_FIELDS_MAX] = { 0 };
		char prio[16];
		size_t k = 0;

		if (asprintf(&m, "MESSAGE=%s", message) < 0)
			return;
		iov[k++] = (struct iovec){ m, strlen(m) };
		snprintf(prio, sizeof(prio), "PRIORITY=%d", level);
		iov[k++] = (struct iovec){ prio, strlen(prio) };
		for (size_t i = 0; i < n; i++) {
			if (asprintf(&f[i], "VX11_%s=%s", keys[i], values[i]) < 0)
				break;
			iov[k++] = (struct iovec){ f[i], strlen(f[i]) };
		}
		sd_journal_sendv(iov, (int)k);
		for (size_t i = 0; i < n; i++)
			free(f[i]);
		return;
	}

	if (log_max_level < LOG_DEBUG) {
		write_line(message);
		return;
	}
	char line[3072];
	size_t l = (size_t)snprintf(line, sizeof(line), "%s", message);
	for (size_t i = 0; i < n && l < sizeof(line); i++)
		l += (size_t)snprintf(line + l, sizeof(line) - l, " VX11_%s=%s", keys[i], values[i]);
	write_line(line);
}
