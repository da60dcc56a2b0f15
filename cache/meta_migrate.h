/* meta_migrate: moves the metadata objects of a cache written by an earlier version (a block file
 * each, under "commits", "fs" and "block-maps") into the metadata database, pins included, and
 * removes the old files and directories. Runs at start-up, before recovery reads the database.
 *
 * Crash-safe: a batch of objects is committed to the database before its files and pin markers
 * are deleted, so an interrupted migration loses nothing and the next start-up finishes it. A
 * file that fails its checks (damaged, or not hashing to its id) is deleted, as recovery would. */
#ifndef SEAFS_META_MIGRATE_H
#define SEAFS_META_MIGRATE_H

#include "meta_db.h"
#include "seaf_error.h"
#include "store.h"

/* Migrates every old metadata file of s into db; *migrated counts the objects moved. SEAF_OK
 * also when there was nothing to do; SEAF_ERR_IO / SEAF_ERR_NOSPACE / SEAF_ERR_NOMEM when a batch
 * could not be stored (its files are then kept for the next start-up). */
seaf_err meta_migrate_files(const struct store *s, struct meta_db *db, unsigned *migrated);

#endif
