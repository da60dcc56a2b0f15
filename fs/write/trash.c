/* trash: the refused trash folder names (see trash.h). */
#include "trash.h"

#include <string.h>

bool trash_folder_name(const char *name)
{
    static const char prefix[] = ".Trash-";
    if (strncmp(name, prefix, sizeof(prefix) - 1) != 0)
        return false;
    const char *uid = name + sizeof(prefix) - 1;
    return uid[0] && strspn(uid, "0123456789") == strlen(uid);
}
