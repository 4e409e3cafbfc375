# Benchmarks: built on demand by `make bench`, never by `make` or `make check`.
# `make bench BENCH_FLAGS=--quick` for a short smoke run; see bench/run.sh.
EXTRA_PROGRAMS += bench/bench-submit
bench_bench_submit_SOURCES = \
	bench/bench-submit.c bench/bench-client.c bench/bench-echo.c bench/bench-sqlite.c bench/bench-util.c \
	bench/bench.h
bench_bench_submit_LDADD = daemon/libvx11d.a common/libvx11common.a \
	$(SYSTEMD_LIBS) $(SECCOMP_LIBS) $(JSONC_LIBS) $(SQLITE_LIBS) $(LIBPQ_LIBS) -lpthread

# bench-spawn: spawn_daughter() and vx11d end to end beside fork+exec, bwrap
# and firejail, all running bench/true-static.
EXTRA_PROGRAMS += bench/bench-spawn
bench_bench_spawn_SOURCES = \
	bench/bench-spawn.c bench/bench-spawn-sandbox.c bench/bench-spawn-zygote.c bench/bench-spawn-daemon.c bench/bench-spawn.h \
	bench/bench-client.c bench/bench-util.c bench/bench.h
bench_bench_spawn_LDADD = daemon/libvx11d.a common/libvx11common.a \
	$(SYSTEMD_LIBS) $(SECCOMP_LIBS) $(JSONC_LIBS) $(SQLITE_LIBS) $(LIBPQ_LIBS) -lpthread

# bench-json: the request path's JSON work, json-c as vx11d uses it beside
# cJSON (a column of its own when configure found libcjson).
EXTRA_PROGRAMS += bench/bench-json
bench_bench_json_SOURCES = bench/bench-json.c bench/bench-util.c bench/bench.h
bench_bench_json_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS)
bench_bench_json_LDADD = daemon/libvx11d.a common/libvx11common.a \
	$(SYSTEMD_LIBS) $(SECCOMP_LIBS) $(JSONC_LIBS) $(SQLITE_LIBS) $(LIBPQ_LIBS) $(CJSON_LIBS) -lpthread

# bench-pg: durable submits on PostgreSQL (issue 13, P0) on a private cluster
# that bench/pg-cluster.sh starts; only where configure found libpq.
if HAVE_LIBPQ
EXTRA_PROGRAMS += bench/bench-pg
bench_bench_pg_SOURCES = bench/bench-pg.c bench/bench-pg-load.c bench/bench-pg.h bench/bench-sqlite.c bench/bench-util.c bench/bench.h
bench_bench_pg_CFLAGS = $(AM_CFLAGS) $(LIBPQ_CFLAGS)
bench_bench_pg_LDADD = daemon/libvx11d.a common/libvx11common.a \
	$(SYSTEMD_LIBS) $(SECCOMP_LIBS) $(JSONC_LIBS) $(SQLITE_LIBS) $(LIBPQ_LIBS) -lpthread
BENCH_PG = bench/bench-pg$(EXEEXT)
else
BENCH_PG =
endif
# Not built without libpq, yet part of every tarball.
EXTRA_DIST += bench/bench-pg.c bench/bench-pg-load.c bench/bench-pg.h

# The daughter of every row: static, so that no row pays for the dynamic
# loader. Built with $(CC) alone (no AM_CFLAGS: sanitizers cannot link
# -static); without glibc's libc.a, a -nostdlib _start instead, which
# bench-spawn names in its output.
bench/true-static: $(top_srcdir)/bench/true-static.c
	$(AM_V_CCLD)mkdir -p bench && \
	if $(CC) -O2 -static -o $@ $(top_srcdir)/bench/true-static.c 2>/dev/null; then :; else \
	  echo "bench/true-static: no static glibc (libc.a); building a -nostdlib _start instead" >&2; \
	  $(CC) -O2 -static -nostdlib -fno-stack-protector -DVX11_TRUE_NOSTDLIB \
	    -o $@ $(top_srcdir)/bench/true-static.c; \
	fi

EXTRA_DIST += bench/run.sh bench/pg-cluster.sh bench/fleet-claim-latency.sh bench/fleet.sh bench/true-static.c
CLEANFILES += bench/bench-submit$(EXEEXT) bench/bench-spawn$(EXEEXT) bench/bench-json$(EXEEXT) bench/true-static \
	$(BENCH_PG)

BENCH_FLAGS =
.PHONY: bench
bench: daemon/vx11d$(EXEEXT) switch/vx11-switch$(EXEEXT) client/vx11ctl$(EXEEXT) bench/bench-submit$(EXEEXT) \
	bench/bench-spawn$(EXEEXT) bench/bench-json$(EXEEXT) bench/true-static $(BENCH_PG)
	VX11_BUILDDIR='$(abs_top_builddir)' VX11_BENCH_BUILT=1 $(SHELL) $(top_srcdir)/bench/run.sh $(BENCH_FLAGS)
	@if test -n '$(BENCH_PG)'; then \
		VX11_BUILDDIR='$(abs_top_builddir)' VX11_BENCH_BUILT=1 $(SHELL) $(top_srcdir)/bench/fleet.sh $(BENCH_FLAGS); \
	else echo "bench: the fleet's rows need libpq (configure found none)"; fi

# The fleet's rows (issue 13), also the end of `make bench`: submits/s on
# sqlite-1 and pg-1, daughters/s on sqlite-1, pg-1 and pg-3, claim latency;
# a private PostgreSQL cluster, root. `make bench-fleet BENCH_FLAGS=--quick`
# for them alone (~1 minute).
.PHONY: bench-fleet
bench-fleet: daemon/vx11d$(EXEEXT) client/vx11ctl$(EXEEXT) bench/bench-submit$(EXEEXT) $(BENCH_PG)
	VX11_BUILDDIR='$(abs_top_builddir)' VX11_BENCH_BUILT=1 $(SHELL) $(top_srcdir)/bench/fleet.sh $(BENCH_FLAGS)
