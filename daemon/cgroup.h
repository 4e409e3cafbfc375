/* SPDX-License-Identifier: MIT */
/*
 * cgroup hierarchy detection. Real hosts are mostly pure cgroup v2; hybrid
 * hosts (like CI's) have v1 controllers plus a cgroup2 tree at
 * /sys/fs/cgroup/unified used only for membership and cgroup.kill.
 */
#pragma once

#include <stdbool.h>

typedef enum CgroupMode {
	CGROUP_MODE_NONE,
	CGROUP_MODE_LEGACY,  /* v1 only */
	CGROUP_MODE_HYBRID,  /* v1 controllers + a cgroup2 tree for membership */
	CGROUP_MODE_UNIFIED, /* pure v2 */
} CgroupMode;

typedef struct CgroupInfo {
	CgroupMode mode;
	char unified_root[64];  /* mount point of the cgroup2 tree, "" if none */
	char *own_path;         /* our cgroup2 path, from /proc/self/cgroup ("0::") */
	char controllers[256];  /* v2: cgroup.controllers of the root; v1: mounted controllers */
} CgroupInfo;

const char *cgroup_mode_to_string(CgroupMode m);
int cgroup_detect(CgroupInfo *ret);
void cgroup_info_done(CgroupInfo *i);
