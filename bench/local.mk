# Benchmarks: built on demand by `make bench`, never by `make` or `make check`.
# `make bench BENCH_FLAGS=--quick` for a short smoke run; see bench/run.sh.
EXTRA_PROGRAMS += bench/bench-submit
bench_bench_submit_SOURCES = \
	bench/bench-submit.c bench/bench-client.c bench/bench-echo.c bench/bench.h
bench_bench_submit_LDADD = common/libvx11common.a $(JSONC_LIBS)
EXTRA_DIST += bench/run.sh
CLEANFILES += bench/bench-submit$(EXEEXT)

BENCH_FLAGS =
.PHONY: bench
bench: daemon/vx11d$(EXEEXT) bench/bench-submit$(EXEEXT)
	VX11_BUILDDIR='$(abs_top_builddir)' VX11_BENCH_BUILT=1 $(SHELL) $(top_srcdir)/bench/run.sh $(BENCH_FLAGS)
