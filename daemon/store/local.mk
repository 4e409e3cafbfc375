# store/: the store interface and its SQLite backend: the only SQL in the tree.
daemon_libvx11d_a_SOURCES += \
	daemon/store/store.c daemon/store/store.h daemon/store/store-ops.h daemon/store/store-url.c \
	daemon/store/store-sqlite.c daemon/store/store-sqlite-sync.c daemon/store/store-sqlite-query.c \
	daemon/store/store-sqlite-schema.c daemon/store/store-sqlite-hold.c daemon/store/store-sqlite-internal.h
EXTRA_DIST += daemon/store/README.md
