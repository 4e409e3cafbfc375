# libFuzzer targets: built on demand with clang (make fuzz).
#
# fuzz/fuzz-rpc.c drives everything a client's bytes reach before a method
# runs: line framing, JSON parsing, JSON-RPC validation, every method's
# parameter table, the reply builders and the serializer.
#
# make check replays the seed corpus and every saved crash through the same
# entry point, built with the normal compiler (fuzz/replay, TAP output).
check_PROGRAMS += fuzz/replay
fuzz_replay_SOURCES = fuzz/replay.c fuzz/fuzz-rpc.c
fuzz_replay_LDADD = $(UNIT_LDADD)
TESTS += fuzz/replay

# Directories are copied whole by make dist.
EXTRA_DIST += fuzz/corpus fuzz/regressions fuzz/fuzz-rpc.dict

# make fuzz [FUZZ_SECONDS=60] [FUZZ_CC=clang] [FUZZ_FLAGS='-fork=2 ...']
# Builds fuzz/fuzz-rpc from the sources themselves (the gcc-built libraries
# lack coverage instrumentation), then fuzzes a copy of the corpus kept in the
# build dir (fuzz/rpc-corpus, it grows across runs). A crash fails the target
# and leaves its input in fuzz/rpc-artifacts/; add it to fuzz/regressions/.
FUZZ_CC = clang
FUZZ_SECONDS = 60
FUZZ_MAX_LEN = 65536
FUZZ_FLAGS =
FUZZ_CFLAGS = -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

# The very files the daemon library is built from; headers only for rebuilds.
fuzz_rpc_deps = fuzz/fuzz-rpc.c $(common_libvx11common_a_SOURCES) $(daemon_libvx11d_a_SOURCES)
fuzz_rpc_sources = $(addprefix $(srcdir)/,$(filter %.c,$(fuzz_rpc_deps))) $(nodist_daemon_libvx11d_a_SOURCES)

fuzz/fuzz-rpc$(EXEEXT): $(addprefix $(srcdir)/,$(fuzz_rpc_deps)) $(nodist_daemon_libvx11d_a_SOURCES) config.h
	@$(MKDIR_P) fuzz
	$(AM_V_CCLD)$(FUZZ_CC) $(DEFS) $(AM_CPPFLAGS) $(CPPFLAGS) $(AM_CFLAGS) -Wno-error $(FUZZ_CFLAGS) \
		-o $@ $(fuzz_rpc_sources) \
		$(SYSTEMD_LIBS) $(SECCOMP_LIBS) $(JSONC_LIBS) $(SQLITE_LIBS) $(LIBPQ_LIBS) -lpthread

.PHONY: fuzz fuzz-clean
fuzz: fuzz/fuzz-rpc$(EXEEXT)
	@$(MKDIR_P) fuzz/rpc-corpus fuzz/rpc-artifacts
	@for f in $(srcdir)/fuzz/corpus/* $(srcdir)/fuzz/regressions/*; do \
	  case "$${f##*/}" in README*) continue;; esac; \
	  if test -f "$$f"; then cp -f "$$f" fuzz/rpc-corpus/ || exit 1; fi; \
	done; chmod -R u+w fuzz/rpc-corpus
	./fuzz/fuzz-rpc$(EXEEXT) -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAX_LEN) \
		-dict=$(srcdir)/fuzz/fuzz-rpc.dict -print_final_stats=1 -artifact_prefix=fuzz/rpc-artifacts/ \
		$(FUZZ_FLAGS) fuzz/rpc-corpus || { \
	  echo "fuzz-rpc failed: the input is in fuzz/rpc-artifacts/; a new one belongs in fuzz/regressions/" >&2; \
	  exit 1; }

fuzz-clean:
	-rm -rf fuzz/rpc-corpus fuzz/rpc-artifacts fuzz/fuzz-rpc$(EXEEXT)
clean-local: fuzz-clean
