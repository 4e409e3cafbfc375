# store/: the store interface and its SQLite backend: the only SQL in the tree.
daemon_libvx11d_a_SOURCES += \
	daemon/store/store.c daemon/store/store.h daemon/store/store-ops.h daemon/store/store-url.c \
	daemon/store/store-sqlite.c daemon/store/store-sqlite-sync.c daemon/store/store-sqlite-query.c \
	daemon/store/store-sqlite-schema.c daemon/store/store-sqlite-hold.c daemon/store/store-sqlite-internal.h
EXTRA_DIST += daemon/store/README.md daemon/store/FLEET-DESIGN.md
# The PostgreSQL backend (issue 13, FLEET-DESIGN.md P6), where configure found
# libpq (HAVE_STORE_PG); automake puts these in every tarball either way.
if HAVE_LIBPQ
daemon_libvx11d_a_SOURCES += \
	daemon/store/store-pg.c daemon/store/store-pg.h daemon/store/store-pg-internal.h \
	daemon/store/store-pg-schema.c daemon/store/store-pg-query.c daemon/store/store-pg-write.c \
	daemon/store/store-pg-fleet.c daemon/store/store-pg-control.c daemon/store/store-pg-lease.c
endif
