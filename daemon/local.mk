# vx11d: everything but main() lives in a convenience library so the unit
# tests and the fuzzer link the very code the daemon runs. Each layer's
# folder adds its files (daemon/README.md: the layers and what may call what).
noinst_LIBRARIES += daemon/libvx11d.a
daemon_libvx11d_a_SOURCES =
nodist_daemon_libvx11d_a_SOURCES =
include daemon/sandbox/local.mk
include daemon/store/local.mk
include daemon/policy/local.mk
include daemon/plan/local.mk
include daemon/run/local.mk
include daemon/core/local.mk
include daemon/api/local.mk

sbin_PROGRAMS += daemon/vx11d
daemon_vx11d_SOURCES = daemon/main.c
daemon_vx11d_LDADD = daemon/libvx11d.a common/libvx11common.a \
	$(SYSTEMD_LIBS) $(SECCOMP_LIBS) $(JSONC_LIBS) $(SQLITE_LIBS) $(LIBPQ_LIBS) -lpthread

EXTRA_DIST += daemon/README.md

# The layers' one rule, checked on every `make check` (and alone with
# `make check-layout`): includes run downward only, no cycle between folders.
TESTS += tests/check-layout.sh
EXTRA_DIST += tests/check-layout.sh
check-layout:
	$(top_srcdir)/tests/check-layout.sh $(abs_top_srcdir)
.PHONY: check-layout
