/* parallel: run a loop's iterations on a few threads (block uploads through the connection
 * pool). */
#ifndef SEAFS_FS_PARALLEL_H
#define SEAFS_FS_PARALLEL_H

#include <stddef.h>

/* Calls fn(ctx, i) for every i in [0, n) on up to `threads` threads (the caller's one of them).
 * After the first failure no new iteration starts; that failure's result is returned, 0 when
 * all succeeded. fn must be thread-safe. */
int parallel_for(size_t n, unsigned threads, int (*fn)(void *ctx, size_t i), void *ctx);

#endif
