EXTRA_DIST += policy/default.json policy/seccomp/default.json policy/seccomp/strict.json
