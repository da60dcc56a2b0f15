/* seaf_parse_msg: recording why a parser refused its input. */
#include "seaf_parse_msg.h"

#include <stdarg.h>
#include <stdio.h>

seaf_err seaf_parse_fail(struct seaf_parse_msg *msg, seaf_err err, const char *fmt, ...)
{
    if (msg != NULL) {
        va_list args;
        va_start(args, fmt);
        vsnprintf(msg->text, sizeof(msg->text), fmt, args);
        va_end(args);
    }
    return err;
}
