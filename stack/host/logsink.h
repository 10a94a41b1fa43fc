/*
 * Where the core's log lines go (log_set_sink): stderr, or PSTACK_LOG_FILE.
 * Each line is one write(2) (raw: inside libpstack.so, write() is the shim's),
 * so lines from several threads, or processes sharing the file, stay whole.
 */
#ifndef PSTACK_HOST_LOGSINK_H
#define PSTACK_HOST_LOGSINK_H

/* Lines to stderr (fd 2). Idempotent. */
void logsink_stderr(void);
/* Lines appended to path from now on (shared by processes: O_APPEND). When
 * it cannot be opened: a warning, and lines go on to stderr. */
void logsink_file(const char *path);

#endif
