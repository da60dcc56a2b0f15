/* index_writer: the one thread that writes the sqlite index, in batches, off the read path.
 *
 * Readers and fills post small commands (put a row, delete a row) that only take a short queue
 * lock; the thread swaps the queue out and applies it in one transaction. A command that cannot
 * be queued (no memory) or applied (disk error) is counted and forgotten: the index is advisory
 * and recovery repairs it from the files. */
#ifndef SEAFS_INDEX_WRITER_H
#define SEAFS_INDEX_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "seaf_error.h"

struct index_db;
struct index_writer;

/* Starts the thread; it uses db exclusively until index_writer_stop. SEAF_ERR_NOMEM. */
seaf_err index_writer_start(struct index_db *db, struct index_writer **out);
/* Queues "the row of (kind, id) is now (size, seq, pinned)". Never blocks on sqlite. */
void index_writer_put(struct index_writer *w, int kind, const char *id, uint64_t size, uint64_t seq,
                      bool pinned);
/* Queues "(kind, id) is no longer cached". Never blocks on sqlite. */
void index_writer_delete(struct index_writer *w, int kind, const char *id);
/* Waits until every command queued before the call is committed. */
void index_writer_flush(struct index_writer *w);
/* Commands lost so far (not queued or not applied). */
uint64_t index_writer_errors(struct index_writer *w);
/* Applies what is queued, stops the thread and frees w (the db stays open). Returns the
 * commands lost over the writer's life (0: the index holds every change). NULL is allowed. */
uint64_t index_writer_stop(struct index_writer *w);

#endif
