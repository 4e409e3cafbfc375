# sandbox/: one confined child (cgroups, namespaces, seccomp load); knows
# nothing of tasks, JSON-RPC or SQL.
daemon_libvx11d_a_SOURCES += \
	daemon/sandbox/cgroup.c daemon/sandbox/cgroup-job.c daemon/sandbox/cgroup-v1.c \
	daemon/sandbox/cgroup.h daemon/sandbox/cgroup-internal.h \
	daemon/sandbox/seccomp.c daemon/sandbox/seccomp.h \
	daemon/sandbox/spawn.c daemon/sandbox/spawn-child.c daemon/sandbox/spawn.h \
	daemon/sandbox/spawn-zygote.c daemon/sandbox/spawn-zygote.h \
	daemon/sandbox/netns.c daemon/sandbox/netns.h \
	daemon/sandbox/shm.c daemon/sandbox/shm.h \
	daemon/sandbox/uidlock.c daemon/sandbox/uidlock.h \
	daemon/sandbox/landlock.c daemon/sandbox/landlock.h
EXTRA_DIST += daemon/sandbox/README.md
