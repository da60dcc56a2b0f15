/* service_notify: sd_notify(3) messages of libsystemd, one datagram per call: the state change
 * (READY=1, STOPPING=1) and its STATUS= line arrive together. sd_notify keeps NOTIFY_SOCKET in
 * the environment, so later calls reach the manager too. Failures are only logged (debug): a
 * manager that cannot be told must not stop the mount. */
#include "service_notify.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "log.h"

/* Sends "<state>STATUS=<formatted text>" (state: "" or "READY=1\n" and the like). */
static void send_with_status(const char *state, const char *fmt, va_list ap)
{
    char message[600];
    int n = snprintf(message, sizeof(message), "%sSTATUS=", state);
    if (n < 0 || (size_t)n >= sizeof(message))
        return;
    vsnprintf(message + n, sizeof(message) - (size_t)n, fmt, ap);
    /* STATUS is one line: a newline in the text would start another assignment. */
    for (char *nl = strchr(message + n, '\n'); nl; nl = strchr(nl, '\n'))
        *nl = ' ';
    int rc = sd_notify(0, message);
    if (rc < 0)
        log_msg(LOG_DEBUG, "sd_notify: %s", strerror(-rc));
}

void service_notify_status(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    send_with_status("", fmt, ap);
    va_end(ap);
}

void service_notify_ready(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    send_with_status("READY=1\n", fmt, ap);
    va_end(ap);
}

void service_notify_stopping(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    send_with_status("STOPPING=1\n", fmt, ap);
    va_end(ap);
}
