#include "stack/core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int log_level = LOG_WARN;
static void (*log_sink)(const char *line, size_t len);

int log_level_parse(const char *text)
{
	static const char *const names[] = { "error", "warn", "info", "debug", "trace" };

	for (int i = 0; i < 5; i++)
		if (strcmp(text, names[i]) == 0)
			return i;
	return -1;
}

void log_set_level(int level) { __atomic_store_n(&log_level, level, __ATOMIC_RELAXED); }
void log_set_sink(void (*sink)(const char *line, size_t len)) { __atomic_store_n(&log_sink, sink, __ATOMIC_RELEASE); }

void log_printf(enum log_level level, const char *fmt, ...)
{
	static const char *const tags[] = { "error", "warn", "info", "debug", "trace" };
	void (*sink)(const char *line, size_t len) = __atomic_load_n(&log_sink, __ATOMIC_ACQUIRE);
	char line[2048];
	va_list ap;
	int n;

	if (!sink)
		return;
	n = snprintf(line, sizeof(line), "pstack %s: ", tags[level < 0 ? 0 : level]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One sink call per message keeps lines whole when threads log at once. */
	n = (int)strlen(line);
	if (n > 0 && line[n - 1] != '\n' && n < (int)sizeof(line) - 1) {
		line[n] = '\n';
		line[n + 1] = '\0';
		n++;
	}
	sink(line, (size_t)n);
}
