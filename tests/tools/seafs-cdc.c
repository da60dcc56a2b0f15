/* seafs-cdc: prints the Seafile content-defined chunks of a file, one "offset length" line per
 * chunk, for the Python library builder (tests/server/seafserver/cdc.py). "-" reads stdin. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "seaf_cdc.h"

static seaf_err print_chunk(void *ctx, uint64_t offset, const unsigned char *data, size_t len)
{
    (void)data;
    FILE *out = ctx;
    if (fprintf(out, "%" PRIu64 " %zu\n", offset, len) < 0)
        return SEAF_ERR_IO;
    return SEAF_OK;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE   (prints one \"offset length\" line per chunk)\n",
                argv[0]);
        return 2;
    }
    int fd = strcmp(argv[1], "-") == 0 ? STDIN_FILENO : open(argv[1], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "seafs-cdc: cannot open %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    seaf_err err = seaf_cdc_chunk_fd(fd, print_chunk, stdout);
    if (fd != STDIN_FILENO)
        close(fd);
    if (err == SEAF_OK && fflush(stdout) != 0)
        err = SEAF_ERR_IO;
    if (err != SEAF_OK) {
        fprintf(stderr, "seafs-cdc: %s: %s\n", argv[1], seaf_strerror(err));
        return 1;
    }
    return 0;
}
