# make check: C unit tests per module, then bats suites through the real
# daemon and client. Everything speaks TAP so each case is counted.
UNIT_LDADD = daemon/libvx11d.a common/libvx11common.a \
	$(SYSTEMD_LIBS) $(SECCOMP_LIBS) $(JSONC_LIBS) $(SQLITE_LIBS) $(LIBPQ_LIBS) -lpthread

unit_tests = \
	tests/unit/test-util \
	tests/unit/test-metrics \
	tests/unit/test-netns \
	tests/unit/test-shm \
	tests/unit/test-uidlock \
	tests/unit/test-instance \
	tests/unit/test-landlock \
	tests/unit/test-frame \
	tests/unit/test-queue \
	tests/unit/test-store \
	tests/unit/test-store-list \
	tests/unit/test-store-txn \
	tests/unit/test-store-migrate \
	tests/unit/test-store-step10 \
	tests/unit/test-store-step11 \
	tests/unit/test-store-command \
	tests/unit/test-store-runner \
	tests/unit/test-store-plan \
	tests/unit/test-store-hold \
	tests/unit/test-store-url \
	tests/unit/test-policy \
	tests/unit/test-policy-seccomp \
	tests/unit/test-policy-types \
	tests/unit/test-policy-retention \
	tests/unit/test-rpc \
	tests/unit/test-params \
	tests/unit/test-command \
	tests/unit/test-seccomp \
	tests/unit/test-seccomp-shipped \
	tests/unit/test-seccomp-filter \
	tests/unit/test-seccomp-split \
	tests/unit/test-cgroup \
	tests/unit/test-cgroup-job \
	tests/unit/test-spawn \
	tests/unit/test-spawn-confine \
	tests/unit/test-spawn-zygote \
	tests/unit/test-switch-config \
	tests/unit/test-switch-route \
	tests/unit/test-switch-client \
	tests/unit/test-subtask \
	tests/unit/test-plan-answer
check_PROGRAMS += $(unit_tests)
tests_unit_test_landlock_SOURCES = tests/unit/test-landlock.c tests/unit/tap.h
tests_unit_test_landlock_LDADD = $(UNIT_LDADD)
tests_unit_test_shm_SOURCES = tests/unit/test-shm.c tests/unit/tap.h
tests_unit_test_shm_LDADD = $(UNIT_LDADD)
tests_unit_test_uidlock_SOURCES = tests/unit/test-uidlock.c tests/unit/tap.h
tests_unit_test_uidlock_LDADD = $(UNIT_LDADD)
tests_unit_test_instance_SOURCES = tests/unit/test-instance.c tests/unit/tap.h
tests_unit_test_instance_LDADD = $(UNIT_LDADD)
tests_unit_test_netns_SOURCES = tests/unit/test-netns.c tests/unit/tap.h
tests_unit_test_netns_LDADD = $(UNIT_LDADD)
tests_unit_test_metrics_SOURCES = tests/unit/test-metrics.c tests/unit/tap.h
tests_unit_test_metrics_LDADD = $(UNIT_LDADD)
tests_unit_test_util_SOURCES = tests/unit/test-util.c tests/unit/tap.h
tests_unit_test_util_LDADD = $(UNIT_LDADD)
tests_unit_test_frame_SOURCES = tests/unit/test-frame.c tests/unit/tap.h
tests_unit_test_frame_LDADD = $(UNIT_LDADD)
tests_unit_test_queue_SOURCES = tests/unit/test-queue.c tests/unit/tap.h
tests_unit_test_queue_LDADD = $(UNIT_LDADD)
tests_unit_test_store_SOURCES = tests/unit/test-store.c tests/unit/store-core-test.h tests/unit/store-test.h tests/unit/tap.h
tests_unit_test_store_LDADD = $(UNIT_LDADD)
tests_unit_test_store_list_SOURCES = tests/unit/test-store-list.c tests/unit/store-core-test.h tests/unit/store-test.h tests/unit/tap.h
tests_unit_test_store_list_LDADD = $(UNIT_LDADD)
tests_unit_test_store_txn_SOURCES = tests/unit/test-store-txn.c tests/unit/store-core-test.h tests/unit/store-test.h tests/unit/tap.h
tests_unit_test_store_txn_LDADD = $(UNIT_LDADD)
tests_unit_test_store_migrate_SOURCES = tests/unit/test-store-migrate.c tests/unit/store-test.h tests/unit/tap.h
tests_unit_test_store_migrate_LDADD = $(UNIT_LDADD)
tests_unit_test_store_step10_SOURCES = tests/unit/test-store-step10.c tests/unit/store-test.h tests/unit/tap.h
tests_unit_test_store_step10_LDADD = $(UNIT_LDADD)
tests_unit_test_store_step11_SOURCES = tests/unit/test-store-step11.c tests/unit/store-test.h tests/unit/tap.h
tests_unit_test_store_step11_LDADD = $(UNIT_LDADD)
tests_unit_test_store_command_SOURCES = tests/unit/test-store-command.c tests/unit/store-test.h tests/unit/tap.h
tests_unit_test_store_command_LDADD = $(UNIT_LDADD)
tests_unit_test_store_runner_SOURCES = tests/unit/test-store-runner.c tests/unit/store-test.h tests/unit/tap.h
tests_unit_test_store_runner_LDADD = $(UNIT_LDADD)
tests_unit_test_store_plan_SOURCES = tests/unit/test-store-plan.c tests/unit/store-test.h tests/unit/tap.h
tests_unit_test_store_plan_LDADD = $(UNIT_LDADD)
tests_unit_test_plan_answer_SOURCES = tests/unit/test-plan-answer.c tests/unit/policy-test.h tests/unit/tap.h
tests_unit_test_plan_answer_LDADD = $(UNIT_LDADD)
tests_unit_test_policy_SOURCES = tests/unit/test-policy.c tests/unit/policy-test.h tests/unit/tap.h
tests_unit_test_policy_LDADD = $(UNIT_LDADD)
tests_unit_test_policy_types_SOURCES = tests/unit/test-policy-types.c tests/unit/policy-test.h tests/unit/tap.h
tests_unit_test_policy_types_LDADD = $(UNIT_LDADD)
tests_unit_test_store_hold_SOURCES = tests/unit/test-store-hold.c tests/unit/store-test.h tests/unit/tap.h
tests_unit_test_store_hold_LDADD = $(UNIT_LDADD)
tests_unit_test_store_url_SOURCES = tests/unit/test-store-url.c tests/unit/store-test.h tests/unit/tap.h
tests_unit_test_store_url_LDADD = $(UNIT_LDADD)
tests_unit_test_policy_retention_SOURCES = tests/unit/test-policy-retention.c tests/unit/policy-test.h tests/unit/tap.h
tests_unit_test_policy_retention_LDADD = $(UNIT_LDADD)
tests_unit_test_policy_seccomp_SOURCES = tests/unit/test-policy-seccomp.c tests/unit/policy-test.h tests/unit/tap.h
tests_unit_test_policy_seccomp_LDADD = $(UNIT_LDADD)
tests_unit_test_policy_seccomp_CPPFLAGS = $(AM_CPPFLAGS) \
	-DVX11_SECCOMP_TEST_DIR='"$(abs_top_srcdir)/policy/seccomp"'
tests_unit_test_rpc_SOURCES = tests/unit/test-rpc.c tests/unit/tap.h
tests_unit_test_rpc_LDADD = $(UNIT_LDADD)
tests_unit_test_command_SOURCES = tests/unit/test-command.c tests/unit/tap.h
tests_unit_test_command_LDADD = $(UNIT_LDADD)
tests_unit_test_params_SOURCES = tests/unit/test-params.c tests/unit/tap.h
tests_unit_test_params_LDADD = $(UNIT_LDADD)
SECCOMP_TEST_CPPFLAGS = $(AM_CPPFLAGS) \
	-DVX11_SECCOMP_TEST_DIR='"$(abs_top_srcdir)/policy/seccomp"' \
	-DVX11_SECCOMP_TEST_PROBE='"$(abs_top_builddir)/tests/seccomp-probe"'
tests_unit_test_seccomp_SOURCES = tests/unit/test-seccomp.c tests/unit/seccomp-test.h tests/unit/tap.h
tests_unit_test_seccomp_LDADD = $(UNIT_LDADD)
tests_unit_test_seccomp_CPPFLAGS = $(SECCOMP_TEST_CPPFLAGS)
tests_unit_test_seccomp_shipped_SOURCES = tests/unit/test-seccomp-shipped.c tests/unit/seccomp-test.h tests/unit/tap.h
tests_unit_test_seccomp_shipped_LDADD = $(UNIT_LDADD)
tests_unit_test_seccomp_shipped_CPPFLAGS = $(SECCOMP_TEST_CPPFLAGS)
tests_unit_test_seccomp_filter_SOURCES = tests/unit/test-seccomp-filter.c tests/unit/seccomp-test.h tests/unit/tap.h
tests_unit_test_seccomp_filter_LDADD = $(UNIT_LDADD)
tests_unit_test_seccomp_filter_CPPFLAGS = $(SECCOMP_TEST_CPPFLAGS)
tests_unit_test_seccomp_split_SOURCES = tests/unit/test-seccomp-split.c tests/unit/seccomp-test.h tests/unit/tap.h
tests_unit_test_seccomp_split_LDADD = $(UNIT_LDADD)
tests_unit_test_seccomp_split_CPPFLAGS = $(SECCOMP_TEST_CPPFLAGS)
tests_unit_test_cgroup_SOURCES = tests/unit/test-cgroup.c tests/unit/cgroup-test.h tests/unit/tap.h
tests_unit_test_cgroup_LDADD = $(UNIT_LDADD)
tests_unit_test_cgroup_job_SOURCES = tests/unit/test-cgroup-job.c tests/unit/cgroup-test.h tests/unit/tap.h
tests_unit_test_cgroup_job_LDADD = $(UNIT_LDADD)
SPAWN_TEST_CPPFLAGS = $(AM_CPPFLAGS) \
	-DVX11_SECCOMP_TEST_DIR='"$(abs_top_srcdir)/policy/seccomp"' \
	-DVX11_SPAWN_TEST_PROBE='"$(abs_top_builddir)/tests/hostile-probe"'
tests_unit_test_spawn_SOURCES = tests/unit/test-spawn.c tests/unit/spawn-test.h tests/unit/tap.h
tests_unit_test_spawn_LDADD = $(UNIT_LDADD)
tests_unit_test_spawn_CPPFLAGS = $(SPAWN_TEST_CPPFLAGS)
tests_unit_test_spawn_confine_SOURCES = tests/unit/test-spawn-confine.c tests/unit/spawn-test.h tests/unit/tap.h
tests_unit_test_spawn_confine_LDADD = $(UNIT_LDADD)
tests_unit_test_spawn_confine_CPPFLAGS = $(SPAWN_TEST_CPPFLAGS)
tests_unit_test_spawn_zygote_SOURCES = tests/unit/test-spawn-zygote.c tests/unit/spawn-test.h tests/unit/tap.h
tests_unit_test_spawn_zygote_LDADD = $(UNIT_LDADD)
tests_unit_test_spawn_zygote_CPPFLAGS = $(SPAWN_TEST_CPPFLAGS)
# vx11-switch's configuration and routing (switch/): its own library, no daemon.
SWITCH_UNIT_LDADD = switch/libvx11switch.a common/libvx11common.a $(SYSTEMD_LIBS) $(JSONC_LIBS)
tests_unit_test_switch_config_SOURCES = tests/unit/test-switch-config.c tests/unit/tap.h
tests_unit_test_switch_config_LDADD = $(SWITCH_UNIT_LDADD)
tests_unit_test_switch_route_SOURCES = tests/unit/test-switch-route.c tests/unit/tap.h
tests_unit_test_switch_route_LDADD = $(SWITCH_UNIT_LDADD)
# vx11d's client of the switch (daemon/plan/), against the real vx11-switch too.
tests_unit_test_switch_client_SOURCES = tests/unit/test-switch-client.c tests/unit/switch-fake.h tests/unit/tap.h
tests_unit_test_switch_client_LDADD = $(UNIT_LDADD)
tests_unit_test_switch_client_CPPFLAGS = $(AM_CPPFLAGS) \
	-DVX11_SWITCH_BIN='"$(abs_top_builddir)/switch/vx11-switch"'
# daughter.subtask's forwarding and accounting (daemon/core/subtask.c).
tests_unit_test_subtask_SOURCES = tests/unit/test-subtask.c tests/unit/switch-fake.h tests/unit/tap.h
tests_unit_test_subtask_LDADD = $(UNIT_LDADD)
tests_unit_test_subtask_CPPFLAGS = $(AM_CPPFLAGS) \
	-DVX11_SWITCH_BIN='"$(abs_top_builddir)/switch/vx11-switch"'
# What a daughter runs to try to get out, one check per line.
check_PROGRAMS += tests/hostile-probe
tests_hostile_probe_SOURCES = tests/hostile-probe.c
tests_hostile_probe_LDADD = -lpthread
# An LD_PRELOAD shim that holds the daemon's WAL syncs while a file exists.
check_PROGRAMS += tests/sync-gate.so
tests_sync_gate_so_SOURCES = tests/sync-gate.c
tests_sync_gate_so_CFLAGS = -fPIC
tests_sync_gate_so_LDFLAGS = -shared
# The program a confined child runs to try one forbidden thing.
check_PROGRAMS += tests/seccomp-probe
tests_seccomp_probe_SOURCES = tests/seccomp-probe.c
tests_seccomp_probe_LDADD = -lpthread

bats_tests = \
	tests/bats/protocol.bats \
	tests/bats/badinput.bats \
	tests/bats/intent.bats \
	tests/bats/tasks.bats \
	tests/bats/events.bats \
	tests/bats/audit.bats \
	tests/bats/policy.bats \
	tests/bats/persistence.bats \
	tests/bats/database.bats \
	tests/bats/permissions.bats \
	tests/bats/client.bats \
	tests/bats/everyday.bats \
	tests/bats/housekeeping.bats \
	tests/bats/daemon.bats \
	tests/bats/daughters.bats \
	tests/bats/deadlines.bats \
	tests/bats/recovery.bats \
	tests/bats/sandbox.bats \
	tests/bats/zygote.bats \
	tests/bats/journal.bats \
	tests/bats/completion.bats \
	tests/bats/install.bats \
	tests/bats/systemd.bats \
	tests/bats/switch.bats \
	tests/bats/subtask.bats \
	tests/bats/metrics.bats \
	tests/bats/planning.bats \
	tests/bats/types.bats \
	tests/bats/instances.bats \
	tests/bats/node.bats \
	tests/bats/postgres.bats \
	tests/bats/fleet.bats

TESTS += $(unit_tests)
if HAVE_BATS
TESTS += $(bats_tests)
endif
# The host-dependent suites again as on a fresh and on a used host.
if HAVE_BATS
TESTS += tests/host-fresh.sh tests/host-used.sh
endif
# The cgroup and sandbox suites again in a pure cgroup v2 VM (tests/run-v2.sh).
TESTS += tests/v2-suite.sh
# The store's unit tests again on the PostgreSQL backend, on a private
# cluster (tests/unit/with-pg.sh; skipped without PostgreSQL's server), and
# what only PostgreSQL shows (test-store-pg: two nodes on one database;
# test-store-fleet: their claims and fences).
if HAVE_LIBPQ
check_PROGRAMS += tests/unit/test-store-pg
tests_unit_test_store_pg_SOURCES = tests/unit/test-store-pg.c tests/unit/store-core-test.h tests/unit/store-test.h tests/unit/tap.h
tests_unit_test_store_pg_LDADD = $(UNIT_LDADD)
check_PROGRAMS += tests/unit/test-store-fleet
tests_unit_test_store_fleet_SOURCES = tests/unit/test-store-fleet.c tests/unit/store-core-test.h tests/unit/store-test.h tests/unit/tap.h
tests_unit_test_store_fleet_LDADD = $(UNIT_LDADD)
# Its SQLite case (no fleet) on its own; its PostgreSQL cases in pg-store.sh.
TESTS += tests/unit/test-store-fleet
TESTS += tests/unit/pg-store.sh
endif
EXTRA_DIST += tests/unit/with-pg.sh tests/unit/pg-store.sh

TEST_EXTENSIONS = .bats
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
BATS_LOG_DRIVER = $(LOG_DRIVER)
BATS_LOG_COMPILER = $(BATS) --tap
AM_TESTS_ENVIRONMENT = \
	VX11D='$(abs_top_builddir)/daemon/vx11d'; \
	VX11CTL='$(abs_top_builddir)/client/vx11ctl'; \
	VX11_SWITCH='$(abs_top_builddir)/switch/vx11-switch'; \
	VX11_SRCDIR='$(abs_top_srcdir)'; \
	VX11_BUILDDIR='$(abs_top_builddir)'; \
	VX11_PREFIX='$(prefix)'; \
	VX11_CONFDIR='$(vx11_sysconfdir)'; \
	VX11_TASKDIR='$(vx11_taskdir)'; \
	BATS='$(BATS)'; \
	VX11_INSTALL_DIRS='bindir=$(bindir) sbindir=$(sbindir) mandir=$(mandir) pkgdatadir=$(pkgdatadir) systemdsystemunitdir=$(systemdsystemunitdir) sysusersdir=$(sysusersdir) tmpfilesdir=$(tmpfilesdir) catalogdir=$(catalogdir) bashcompletiondir=$(bashcompletiondir)'; \
	export BATS VX11D VX11CTL VX11_SWITCH VX11_SRCDIR VX11_BUILDDIR VX11_PREFIX VX11_CONFDIR VX11_TASKDIR \
		VX11_INSTALL_DIRS;

# The cgroup suite again on a pure cgroup v2 kernel, in a small VM.
check-v2: $(check_PROGRAMS) daemon/vx11d$(EXEEXT) client/vx11ctl$(EXEEXT)
	VX11_BUILDDIR='$(abs_top_builddir)' VX11_SRCDIR='$(abs_top_srcdir)' $(top_srcdir)/tests/v2-suite.sh
.PHONY: check-v2

EXTRA_DIST += tests/v2vm tests/run-v2.sh tests/v2-suite.sh \
	tests/host-state tests/host-suite.sh tests/host-fresh.sh tests/host-used.sh $(bats_tests) tests/bats/helpers.bash tests/bats/pg.bash tests/unit/tap.h
