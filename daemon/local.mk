# vx11d: everything but main() lives in a convenience library so the unit
# tests and the fuzzer link the very code the daemon runs.
noinst_LIBRARIES += daemon/libvx11d.a
daemon_libvx11d_a_SOURCES = \
	daemon/log.c daemon/log.h \
	daemon/store.c daemon/store-sqlite.c daemon/store-sqlite-schema.c daemon/store-sqlite-internal.h daemon/store.h \
	daemon/policy.c daemon/policy-validate.c daemon/policy-seccomp.c daemon/policy.h daemon/policy-internal.h \
	daemon/queue.c daemon/queue.h \
	daemon/rpc.c daemon/rpc.h \
	daemon/params.c daemon/params.h \
	daemon/caller.c daemon/caller.h \
	daemon/conn.c daemon/conn.h \
	daemon/server.c daemon/server.h \
	daemon/events.c daemon/events.h \
	daemon/cgroup.c daemon/cgroup-job.c daemon/cgroup-v1.c daemon/cgroup.h daemon/cgroup-internal.h \
	daemon/seccomp-profile.c daemon/seccomp-oci.c daemon/seccomp-profile.h \
	daemon/spawn.c daemon/spawn-child.c daemon/spawn.h \
	daemon/netns.c daemon/netns.h \
	daemon/runner.c daemon/runner-life.c daemon/supervise.c daemon/spawner.c daemon/runner.h daemon/runner-internal.h \
	daemon/method-intent.c daemon/method-task.c daemon/method-daemon.c daemon/method-daughter.c \
	daemon/methods.c daemon/methods.h \
	daemon/manager.c daemon/manager.h
nodist_daemon_libvx11d_a_SOURCES = daemon/default-policy.c

sbin_PROGRAMS += daemon/vx11d
daemon_vx11d_SOURCES = daemon/main.c
daemon_vx11d_LDADD = daemon/libvx11d.a common/libvx11common.a \
	$(SYSTEMD_LIBS) $(SECCOMP_LIBS) $(JSONC_LIBS) $(SQLITE_LIBS) -lpthread

# The bundled policy is compiled in, so vx11d runs with no file installed.
daemon/default-policy.c: $(top_srcdir)/policy/default.json
	$(AM_V_GEN)mkdir -p daemon && { \
	  echo '/* Generated from policy/default.json. */'; \
	  echo 'const char vx11_default_policy_json[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $(top_srcdir)/policy/default.json; \
	  echo ';'; } > $@.tmp && mv $@.tmp $@
BUILT_SOURCES = daemon/default-policy.c
CLEANFILES += daemon/default-policy.c
