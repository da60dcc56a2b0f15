/* ignore: the never-uploaded names (see ignore.h), matched with fnmatch(3) patterns. */
#include "ignore.h"

#include <fnmatch.h>
#include <stddef.h>

static const char *const patterns[] = {
    "*~",  "*.sbak", "#*#", "Thumbs.db", ".DS_Store", "._*", ".fuse_hidden*",
    "~$*", "*.tmp",  ".~*", NULL,
}; /* ".~lock*#" is one of ".~*" */

bool ignore_name(const char *name)
{
    for (size_t i = 0; patterns[i]; i++)
        if (fnmatch(patterns[i], name, 0) == 0)
            return true;
    return false;
}
