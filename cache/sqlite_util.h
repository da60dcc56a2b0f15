/* sqlite_util: the small sqlite3 queries the cache's databases (index, metadata, journal) share
 * when they open and check a file. */
#ifndef SEAFS_SQLITE_UTIL_H
#define SEAFS_SQLITE_UTIL_H

#include <sqlite3.h>
#include <stdbool.h>

/* The value of a one-row, one-column query, or -1 on error. */
long long sqlite_query_int(sqlite3 *db, const char *sql);
/* True when PRAGMA quick_check answers a single "ok". */
bool sqlite_quick_check_ok(sqlite3 *db);

#endif
