/* SPDX-License-Identifier: MIT */
/*
 * The PostgreSQL backend of the store (issue 13, FLEET-DESIGN.md P6), built
 * where configure found libpq (HAVE_STORE_PG). This first cut is blocking:
 * every store_*() call runs its SQL on the caller's thread and waits for the
 * answer. Everything else is store.h's.
 */
#pragma once

#include "store.h"

/*
 * Connect to url (a libpq URI, "postgresql://..." or "postgres://..."),
 * create or migrate the schema of its search_path, and prepare the
 * statements. node names this vx11d in the rows it writes (--node); NULL:
 * the host name. On failure, store_last_error(NULL) says why.
 */
int store_pg_open(const char *url, const char *node, Store **ret);
