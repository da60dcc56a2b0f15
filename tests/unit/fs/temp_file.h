/* temp_file: a file of the unit tests' own under /tmp with given text and mode (include after
 * cmocka.h). The caller unlinks and frees the returned path. */
#ifndef SEAFS_TESTS_TEMP_FILE_H
#define SEAFS_TESTS_TEMP_FILE_H

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static inline char *temp_file_write(const char *text, mode_t mode)
{
    char *path = strdup("/tmp/seafs-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
    return path;
}

#endif
