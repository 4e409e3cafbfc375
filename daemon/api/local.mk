# api/: the socket, connections, JSON-RPC, parameters, the methods and the
# live notifications (events, result waiters).
daemon_libvx11d_a_SOURCES += \
	daemon/api/server.c daemon/api/server.h \
	daemon/api/conn.c daemon/api/conn.h \
	daemon/api/rpc.c daemon/api/rpc.h \
	daemon/api/params.c daemon/api/params.h \
	daemon/api/digest.c daemon/api/digest.h \
	daemon/api/caller.c daemon/api/caller.h \
	daemon/api/events.c daemon/api/events.h \
	daemon/api/metrics-http.c daemon/api/metrics-http.h \
	daemon/api/methods.c daemon/api/methods.h \
	daemon/api/method-intent.c daemon/api/intent-plan.c daemon/api/intent.h \
	daemon/api/method-task.c daemon/api/method-daemon.c daemon/api/method-daughter.c \
	daemon/api/task-types.c daemon/api/command.c daemon/api/command.h \
	daemon/api/method-queue.c daemon/api/method-rerun.c
EXTRA_DIST += daemon/api/README.md
