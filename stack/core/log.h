/*
 * Logging: one process-wide level and sink (a process has one stack).
 * PSTACK_LOG=error|warn|info|debug|trace, PSTACK_LOG_FILE=path.
 *
 * The core formats lines and makes no I/O: each finished line goes to the
 * sink the host installs (stack/host/logsink.c writes it to stderr or to
 * PSTACK_LOG_FILE). Without a sink, lines are dropped.
 */
#ifndef PSTACK_LOG_H
#define PSTACK_LOG_H

#include <stddef.h>

enum log_level { LOG_NONE = -1, LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };

/* Read on every packet by every thread, set once at start: accessed atomically. */
extern int log_level;
void log_set_level(int level);

/* Parses "error".."trace"; -1 when the text is none of them. */
int log_level_parse(const char *text);
/*
 * Where lines go: sink(line, len) gets one whole line ("pstack LEVEL: ...",
 * ending in '\n', len bytes, NUL-terminated) per message, from any thread;
 * it must not log. NULL: lines are dropped.
 */
void log_set_sink(void (*sink)(const char *line, size_t len));
void log_printf(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG_ON(lvl) ((int)(lvl) <= __atomic_load_n(&log_level, __ATOMIC_RELAXED))
#define pst_log(lvl, ...) do { if (LOG_ON(lvl)) log_printf((lvl), __VA_ARGS__); } while (0)
#define log_error(...) pst_log(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  pst_log(LOG_WARN, __VA_ARGS__)
#define log_info(...)  pst_log(LOG_INFO, __VA_ARGS__)
#define log_debug(...) pst_log(LOG_DEBUG, __VA_ARGS__)
#define log_trace(...) pst_log(LOG_TRACE, __VA_ARGS__)

#endif
