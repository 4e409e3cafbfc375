# core/: the manager: the loop, group commit, task state changes.
daemon_libvx11d_a_SOURCES += \
	daemon/core/manager.c daemon/core/manager.h \
	daemon/core/instance.c daemon/core/instance.h \
	daemon/core/subtask.c daemon/core/subtask.h \
	daemon/core/stats.c daemon/core/stats.h \
	daemon/core/planner.c daemon/core/planner.h \
	daemon/core/plan-answer.c daemon/core/plan-answer.h
EXTRA_DIST += daemon/core/README.md
