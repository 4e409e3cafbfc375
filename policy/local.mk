EXTRA_DIST += policy/default.json
