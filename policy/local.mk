EXTRA_DIST += policy/default.json

# The shipped seccomp profiles are compiled into vx11d, so "default" and
# "strict" resolve with nothing installed and always match the binary; the
# installed copies are there to be read, or copied as a start for a profile of
# one's own (named in the policy by absolute path).
seccompdir = $(pkgdatadir)/seccomp
dist_seccomp_DATA = policy/seccomp/default.json policy/seccomp/strict.json

daemon/default-seccomp.c: $(top_srcdir)/policy/seccomp/default.json $(top_srcdir)/policy/seccomp/strict.json
	$(AM_V_GEN)mkdir -p daemon && { \
	  echo '/* Generated from policy/seccomp/default.json and policy/seccomp/strict.json. */'; \
	  echo 'const char vx11_seccomp_default_json[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $(top_srcdir)/policy/seccomp/default.json; \
	  echo ';'; \
	  echo 'const char vx11_seccomp_strict_json[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $(top_srcdir)/policy/seccomp/strict.json; \
	  echo ';'; } > $@.tmp && mv $@.tmp $@
nodist_daemon_libvx11d_a_SOURCES += daemon/default-seccomp.c
BUILT_SOURCES += daemon/default-seccomp.c
CLEANFILES += daemon/default-seccomp.c
