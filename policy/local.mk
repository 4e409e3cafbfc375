EXTRA_DIST += policy/default.json

# The shipped seccomp profiles are compiled into vx11d, so "default" and
# "strict" resolve with nothing installed and always match the binary; the
# installed copies are there to be read, or copied as a start for a profile of
# one's own (named in the policy by absolute path).
seccompdir = $(pkgdatadir)/seccomp
dist_seccomp_DATA = policy/seccomp/default.json policy/seccomp/strict.json
