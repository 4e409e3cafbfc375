# policy/: the policy file's model and validation, seccomp profiles compiled.
daemon_libvx11d_a_SOURCES += \
	daemon/policy/policy.c daemon/policy/policy-task.c daemon/policy/policy-validate.c daemon/policy/policy-seccomp.c \
	daemon/policy/policy-retention.c \
	daemon/policy/policy.h daemon/policy/policy-internal.h \
	daemon/policy/seccomp-profile.c daemon/policy/seccomp-oci.c daemon/policy/seccomp-profile.h \
	daemon/policy/seccomp-oci-internal.h daemon/policy/seccomp-split.c
nodist_daemon_libvx11d_a_SOURCES += daemon/policy/default-policy.c

# The bundled policy is compiled in, so vx11d runs with no file installed.
daemon/policy/default-policy.c: $(top_srcdir)/policy/default.json
	$(AM_V_GEN)mkdir -p daemon/policy && { \
	  echo '/* Generated from policy/default.json. */'; \
	  echo 'const char vx11_default_policy_json[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $(top_srcdir)/policy/default.json; \
	  echo ';'; } > $@.tmp && mv $@.tmp $@
BUILT_SOURCES = daemon/policy/default-policy.c
CLEANFILES += daemon/policy/default-policy.c

# The shipped seccomp profiles too (policy/local.mk installs the files).
daemon/policy/default-seccomp.c: $(top_srcdir)/policy/seccomp/default.json $(top_srcdir)/policy/seccomp/strict.json
	$(AM_V_GEN)mkdir -p daemon/policy && { \
	  echo '/* Generated from policy/seccomp/default.json and policy/seccomp/strict.json. */'; \
	  echo 'const char vx11_seccomp_default_json[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $(top_srcdir)/policy/seccomp/default.json; \
	  echo ';'; \
	  echo 'const char vx11_seccomp_strict_json[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $(top_srcdir)/policy/seccomp/strict.json; \
	  echo ';'; } > $@.tmp && mv $@.tmp $@
nodist_daemon_libvx11d_a_SOURCES += daemon/policy/default-seccomp.c
BUILT_SOURCES += daemon/policy/default-seccomp.c
CLEANFILES += daemon/policy/default-seccomp.c
EXTRA_DIST += daemon/policy/README.md
