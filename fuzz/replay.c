/* SPDX-License-Identifier: MIT */
/*
 * Runs the fuzz target's LLVMFuzzerTestOneInput() over saved inputs with the
 * normal build, no libFuzzer needed: the seed corpus and every crash ever
 * found stay checked by make check. Output is TAP, one line per input.
 *
 *   replay [FILE|DIR]...   with no argument: $VX11_SRCDIR/fuzz/corpus and
 *                          $VX11_SRCDIR/fuzz/regressions
 *
 * Each input runs in a child process, so a crash is reported against its
 * file and the rest still run; under --enable-sanitizers the child's exit
 * also runs LeakSanitizer on that one input.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int n_tests, n_failed;
static const char *name_prefix; /* left out of test names */

static int read_file(const char *path, uint8_t **ret, size_t *ret_size)
{
	FILE *f = fopen(path, "re");
	uint8_t *buf = NULL;
	size_t size = 0, cap = 0;

	if (!f)
		return -errno;
	for (;;) {
		if (cap - size < 4096) {
			uint8_t *p = realloc(buf, cap + 65536);
			if (!p) {
				free(buf);
				fclose(f);
				return -ENOMEM;
			}
			buf = p;
			cap += 65536;
		}
		size_t k = fread(buf + size, 1, cap - size, f);
		size += k;
		if (k == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return -EIO;
	}
	fclose(f);
	*ret = buf;
	*ret_size = size;
	return 0;
}

static void report(bool ok, const char *path, const char *why)
{
	size_t k = name_prefix ? strlen(name_prefix) : 0;

	if (k > 0 && strncmp(path, name_prefix, k) == 0 && path[k] == '/')
		path += k + 1;
	n_tests++;
	if (!ok)
		n_failed++;
	printf("%sok %d - %s%s%s\n", ok ? "" : "not ", n_tests, path, why ? " # " : "", why ? why : "");
	fflush(stdout);
}

static void replay_file(const char *path)
{
	uint8_t *data = NULL;
	size_t size = 0;
	char why[128];
	int r, status;
	pid_t pid;

	r = read_file(path, &data, &size);
	if (r < 0) {
		snprintf(why, sizeof(why), "cannot read: %s", strerror(-r));
		report(false, path, why);
		return;
	}

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		free(data);
		report(false, path, "fork failed");
		return;
	}
	if (pid == 0) {
		LLVMFuzzerTestOneInput(data, size);
		free(data);
		/* exit(), not _exit(): LeakSanitizer runs at exit. */
		exit(EXIT_SUCCESS);
	}
	free(data);

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			report(false, path, "waitpid failed");
			return;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		report(true, path, NULL);
	else {
		if (WIFSIGNALED(status))
			snprintf(why, sizeof(why), "killed by signal %d", WTERMSIG(status));
		else
			snprintf(why, sizeof(why), "exit status %d", WEXITSTATUS(status));
		report(false, path, why);
	}
}

static int skip_entry(const struct dirent *d)
{
	/* Dot files and the README that keeps an empty directory in git. */
	return d->d_name[0] != '.' && strncmp(d->d_name, "README", 6) != 0;
}

static int replay_path(const char *path)
{
	struct dirent **names;
	struct stat st;
	int n;

	if (stat(path, &st) < 0) {
		printf("Bail out! %s: %s\n", path, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		replay_file(path);
		return 0;
	}

	n = scandir(path, &names, skip_entry, alphasort);
	if (n < 0) {
		printf("Bail out! %s: %s\n", path, strerror(errno));
		return -errno;
	}
	for (int i = 0; i < n; i++) {
		char *p;
		if (asprintf(&p, "%s/%s", path, names[i]->d_name) < 0) {
			printf("Bail out! out of memory\n");
			return -ENOMEM;
		}
		replay_file(p);
		free(p);
		free(names[i]);
	}
	free(names);
	return 0;
}

int main(int argc, char *argv[])
{
	const char *srcdir = getenv("VX11_SRCDIR");
	char *dirs[2] = {};

	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			if (replay_path(argv[i]) < 0)
				return EXIT_FAILURE;
	} else {
		if (!srcdir) {
			printf("Bail out! no inputs named and VX11_SRCDIR is not set\n");
			return EXIT_FAILURE;
		}
		name_prefix = srcdir;
		if (asprintf(&dirs[0], "%s/fuzz/corpus", srcdir) < 0 ||
		    asprintf(&dirs[1], "%s/fuzz/regressions", srcdir) < 0) {
			printf("Bail out! out of memory\n");
			return EXIT_FAILURE;
		}
		for (size_t i = 0; i < 2; i++)
			if (replay_path(dirs[i]) < 0)
				return EXIT_FAILURE;
		free(dirs[0]);
		free(dirs[1]);
	}

	if (n_tests == 0) {
		printf("Bail out! no inputs found\n");
		return EXIT_FAILURE;
	}
	printf("1..%d\n", n_tests);
	return n_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
