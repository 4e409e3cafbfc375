/* SPDX-License-Identifier: MIT */
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>

#include "cgroup.h"
#include "util.h"

const char *cgroup_mode_to_string(CgroupMode m)
{
	static const char *const names[] = {
		[CGROUP_MODE_NONE] = "none",
		[CGROUP_MODE_LEGACY] = "legacy",
		[CGROUP_MODE_HYBRID] = "hybrid",
		[CGROUP_MODE_UNIFIED] = "unified",
	};
	return names[m];
}

static bool is_fs(const char *path, long magic)
{
	struct statfs sfs;
	return statfs(path, &sfs) == 0 && sfs.f_type == magic;
}

static void read_first_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	buf[0] = 0;
	if (!f)
		return;
	if (fgets(buf, (int)size, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

static char *own_cgroup2_path(void)
{
	_cleanup_free_ char *line = NULL;
	size_t n = 0;
	FILE *f = fopen("/proc/self/cgroup", "re");
	char *r = NULL;

	if (!f)
		return NULL;
	while (getline(&line, &n, f) > 0)
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = 0;
			r = strdup(line + 3);
			break;
		}
	fclose(f);
	return r;
}

int cgroup_detect(CgroupInfo *ret)
{
	CgroupInfo i = { .mode = CGROUP_MODE_NONE };

	if (is_fs("/sys/fs/cgroup", CGROUP2_SUPER_MAGIC)) {
		i.mode = CGROUP_MODE_UNIFIED;
		strcpy(i.unified_root, "/sys/fs/cgroup");
		read_first_line("/sys/fs/cgroup/cgroup.controllers", i.controllers, sizeof(i.controllers));
	} else if (is_fs("/sys/fs/cgroup", TMPFS_MAGIC)) {
		static const char *const v1[] = { "memory", "pids", "cpu", "cpuacct", "freezer" };
		size_t l = 0;

		if (is_fs("/sys/fs/cgroup/unified", CGROUP2_SUPER_MAGIC)) {
			i.mode = CGROUP_MODE_HYBRID;
			strcpy(i.unified_root, "/sys/fs/cgroup/unified");
		} else
			i.mode = CGROUP_MODE_LEGACY;
		for (size_t k = 0; k < ELEMENTSOF(v1); k++) {
			char p[64];
			snprintf(p, sizeof(p), "/sys/fs/cgroup/%s", v1[k]);
			if (is_fs(p, CGROUP_SUPER_MAGIC))
				l += (size_t)snprintf(i.controllers + l, sizeof(i.controllers) - l, "%s%s", l ? " " : "", v1[k]);
		}
	}
	if (i.mode == CGROUP_MODE_UNIFIED || i.mode == CGROUP_MODE_HYBRID)
		i.own_path = own_cgroup2_path();
	*ret = i;
	return 0;
}

void cgroup_info_done(CgroupInfo *i)
{
	free(i->own_path);
	i->own_path = NULL;
}
