/* service_notify: tells the service manager how the mount is doing (sd_notify: READY=1 once the
 * mount answers, STATUS= lines on the way, STOPPING=1 when it goes), so that a Type=notify unit
 * (packaging/systemd/) starts the units ordered after it only when the files are there. Without
 * NOTIFY_SOCKET in the environment (not started by systemd) every call does nothing. */
#ifndef SEAFS_FS_SERVICE_NOTIFY_H
#define SEAFS_FS_SERVICE_NOTIFY_H

/* STATUS=<text>: what seafs is doing now (`systemctl status` shows it). */
void service_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* READY=1 with STATUS=<text>: the mount is live. */
void service_notify_ready(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* STOPPING=1 with STATUS=<text>: the mount is going away. */
void service_notify_stopping(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
