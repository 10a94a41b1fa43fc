/* The core log's sink (logsink.h). */
#include "stack/host/logsink.h"

#include <fcntl.h>
#include <string.h>

#include "stack/core/log.h"
#include "stack/dev/sysc.h"

static int logsink_fd = 2;

static void logsink_write(const char *line, size_t len)
{
	int fd = __atomic_load_n(&logsink_fd, __ATOMIC_RELAXED);

	while (len > 0) {
		long rc = sys_write(fd, line, len);

		if (rc == -EINTR)
			continue;
		if (rc <= 0)
			return;
		line += rc;
		len -= (size_t)rc;
	}
}

void logsink_stderr(void)
{
	__atomic_store_n(&logsink_fd, 2, __ATOMIC_RELAXED);
	log_set_sink(logsink_write);
}

void logsink_file(const char *path)
{
	long fd = sys_openat(AT_FDCWD, path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0) {
		log_warn("cannot open PSTACK_LOG_FILE '%s': %s; logging to stderr", path, strerror((int)-fd));
		return;
	}
	/* Deviation from tidiness: the file stays open until exit, since other
	 * threads may be logging to it at any time. */
	__atomic_store_n(&logsink_fd, sys_fd_hide((int)fd), __ATOMIC_RELAXED);
	log_set_sink(logsink_write);
}
