# run/: the run queue, the runner (scheduling, settling), supervision of live
# daughters and the spawner thread.
daemon_libvx11d_a_SOURCES += \
	daemon/run/queue.c daemon/run/queue.h \
	daemon/run/runner.c daemon/run/outcome.c daemon/run/runner-spawn.c daemon/run/source-claim.c daemon/run/source-control.c daemon/run/runner-life.c daemon/run/lease.c daemon/run/fence-guard.c daemon/run/supervise.c daemon/run/spawner.c \
	daemon/run/notify.c \
	daemon/run/attest.c daemon/run/trace.c daemon/run/command.c daemon/run/gate.c daemon/run/prune.c \
	daemon/run/runner.h daemon/run/runner-internal.h
EXTRA_DIST += daemon/run/README.md
