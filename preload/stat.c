/*
 * pstack-stat: `pstack stat [PID] [--watch N]`, the client of the stacks'
 * control sockets (stack/host/ctl.h). A program of its own (built as
 * build/pstack-stat, run by the pstack launcher), never part of
 * libpstack.so: it runs without the preload, in any network namespace.
 *
 * Where the sockets are: each stack's PID.sock in its user's folder,
 * $XDG_RUNTIME_DIR/pstack (when that folder is the user's) or
 * /tmp/pstack-UID. A user looks in their own folders; root in everyone's
 * (/tmp/pstack-*, /run/user/<uid>/pstack). A socket whose process is gone
 * (connect: ECONNREFUSED, after a SIGKILL) is removed. The stack itself
 * answers only its own user and root.
 *
 * Exit status: 0; 1 when there is no such stack, it is another user's, or
 * it did not answer (one line on stderr); 2 for a usage error. Without a
 * PID, 0 when at least one stack was shown (the others' lines on stderr).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define REQUEST "stat\n"        /* CTL_REQUEST (stack/host/ctl.h) */
#define ANSWER_TIMEOUT_S 5
#define MAX_DIRS 256

enum query { Q_OK, Q_STALE, Q_GONE, Q_DENIED, Q_FAILED };

struct dir {
	char path[256];
	dev_t dev;
	ino_t ino;
};

static struct dir dirs[MAX_DIRS];
static unsigned ndirs;
static uid_t me;

static void usage(FILE *f)
{
	fprintf(f, "usage: pstack stat [PID] [--watch N]\n"
		   "\n"
		   "Shows a running stack (every stack of yours without PID; root: of every user):\n"
		   "its TAP, address and uptime, its sockets like `ss -tni` and its counters like\n"
		   "`nstat -a`. --watch N shows them again every N seconds until interrupted.\n");
}

/*
 * A folder of control sockets, kept when it is a real folder (not a
 * symlink) that belongs to owner (the user whose name it carries) with
 * mode 0700, as the stack made it: anything else is not a stack's.
 */
static void add_dir(const char *path, uid_t owner)
{
	struct stat st;

	if (ndirs >= MAX_DIRS || lstat(path, &st) || !S_ISDIR(st.st_mode) || st.st_uid != owner ||
	    (st.st_mode & 07777) != 0700)
		return;
	for (unsigned i = 0; i < ndirs; i++)
		if (dirs[i].dev == st.st_dev && dirs[i].ino == st.st_ino)
			return;
	snprintf(dirs[ndirs].path, sizeof(dirs[ndirs].path), "%s", path);
	dirs[ndirs].dev = st.st_dev;
	dirs[ndirs].ino = st.st_ino;
	ndirs++;
}

/* A decimal number that fits in an unsigned int, nothing else. */
static bool parse_uint(const char *s, const char *end, unsigned *out)
{
	unsigned long v = 0;

	if (s == end || (end - s) > 9)
		return false;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned)(*s - '0');
	}
	*out = (unsigned)v;
	return true;
}

/* Folders named PREFIX<uid>SUFFIX under parent: everyone's (root's walk). */
static void add_users_dirs(const char *parent, const char *prefix, const char *suffix)
{
	DIR *d = opendir(parent);
	struct dirent *e;
	size_t pl = strlen(prefix);

	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[sizeof(dirs[0].path)];
		unsigned uid;
		int n;

		if (strncmp(e->d_name, prefix, pl) || !parse_uint(e->d_name + pl, e->d_name + strlen(e->d_name), &uid))
			continue;
		n = snprintf(path, sizeof(path), "%s/%s%s", parent, e->d_name, suffix);
		if (n > 0 && (size_t)n < sizeof(path))
			add_dir(path, (uid_t)uid);
	}
	closedir(d);
}

static void find_dirs(void)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char path[256];

	ndirs = 0;
	if (xdg && xdg[0] == '/' && strlen(xdg) < 200) {
		snprintf(path, sizeof(path), "%s/pstack", xdg);
		add_dir(path, me);
	}
	snprintf(path, sizeof(path), "/run/user/%u/pstack", (unsigned)me);
	add_dir(path, me);
	snprintf(path, sizeof(path), "/tmp/pstack-%u", (unsigned)me);
	add_dir(path, me);
	if (me == 0) {
		add_users_dirs("/tmp", "pstack-", "");
		add_users_dirs("/run/user", "", "/pstack");
	}
}

/* What the stack wrote, with control characters other than tab and newline
 * shown as '?': a root reading every user's stacks prints only text. */
static void print_text(const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)buf[i];

		putchar(ch == '\n' || ch == '\t' || (ch >= 0x20 && ch < 0x7f) ? ch : '?');
	}
	fflush(stdout);
}

/* Asks the stack at path for its snapshot and prints it (after a blank
 * line when sep: it follows another stack's). */
static enum query query(const char *path, bool sep, const char **why)
{
	struct sockaddr_un sa;
	struct timeval tv = { ANSWER_TIMEOUT_S, 0 };
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int fd;

	*why = "";
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		*why = "the socket's path is too long";
		return Q_FAILED;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*why = strerror(errno);
		return Q_FAILED;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;

		close(fd);
		if (e == ECONNREFUSED)
			return Q_STALE;
		if (e == ENOENT)
			return Q_GONE;
		if (e == EACCES || e == EPERM)
			return Q_DENIED;
		*why = strerror(e);
		return Q_FAILED;
	}
	if (send(fd, REQUEST, sizeof(REQUEST) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(REQUEST) - 1) {
		/* Closed at once: the stack refused us. */
		close(fd);
		return errno == EPIPE || errno == ECONNRESET ? Q_DENIED : Q_FAILED;
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *p = realloc(buf, cap ? cap * 2 : 65536);

			if (!p) {
				*why = "out of memory";
				free(buf);
				close(fd);
				return Q_FAILED;
			}
			buf = p;
			cap = cap ? cap * 2 : 65536;
		}
		n = read(fd, buf + len, cap - len);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*why = errno == EAGAIN ? "the stack did not answer in time" : strerror(errno);
			free(buf);
			close(fd);
			return errno == ECONNRESET && !len ? Q_DENIED : Q_FAILED;
		}
		len += (size_t)n;
	}
	close(fd);
	if (!len) {
		/* The stack closes a stranger's connection without a word. */
		free(buf);
		return Q_DENIED;
	}
	if (sep)
		putchar('\n');
	print_text(buf, len);
	free(buf);
	return Q_OK;
}

static void removed_stale(const char *path)
{
	if (unlink(path) == 0)
		fprintf(stderr, "pstack stat: removed %s: its process is gone\n", path);
}

/* The owner of process pid, or -1 when there is no such process. */
static long proc_owner(unsigned pid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%u", pid);
	return stat(path, &st) ? -1 : (long)st.st_uid;
}

static int stat_pid(unsigned pid)
{
	bool stale = false;
	long owner;

	for (unsigned i = 0; i < ndirs; i++) {
		char path[300];
		const char *why;
		struct stat st;

		snprintf(path, sizeof(path), "%s/%u.sock", dirs[i].path, pid);
		if (lstat(path, &st) || !S_ISSOCK(st.st_mode))
			continue;
		switch (query(path, false, &why)) {
		case Q_OK:
			return 0;
		case Q_STALE:
			removed_stale(path);
			stale = true;
			break;
		case Q_GONE:
			break;
		case Q_DENIED:
			fprintf(stderr, "pstack stat: %u: permission denied (the stack answers only its own user and root)\n",
				pid);
			return 1;
		case Q_FAILED:
			fprintf(stderr, "pstack stat: %u: %s\n", pid, why);
			return 1;
		}
	}
	owner = proc_owner(pid);
	if (!stale && owner >= 0 && me != 0 && (uid_t)owner != me) {
		fprintf(stderr, "pstack stat: %u: permission denied (the process belongs to another user; "
				"pstack stat reads only your own stacks)\n", pid);
		return 1;
	}
	if (owner < 0)
		fprintf(stderr, "pstack stat: %u: no such process\n", pid);
	else
		fprintf(stderr, "pstack stat: %u: no stack runs in this process\n", pid);
	return 1;
}

static int stat_all(void)
{
	unsigned shown = 0;
	int rc = 0;

	for (unsigned i = 0; i < ndirs; i++) {
		DIR *d = opendir(dirs[i].path);
		struct dirent *e;

		if (!d)
			continue;
		while ((e = readdir(d))) {
			char path[300];
			const char *dot = strrchr(e->d_name, '.'), *why;
			struct stat st;
			unsigned pid;

			if (!dot || strcmp(dot, ".sock") || !parse_uint(e->d_name, dot, &pid))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dirs[i].path, e->d_name);
			if (lstat(path, &st) || !S_ISSOCK(st.st_mode))
				continue;
			switch (query(path, shown > 0, &why)) {
			case Q_OK:
				shown++;
				break;
			case Q_STALE:
				removed_stale(path);
				break;
			case Q_GONE:
				break;
			case Q_DENIED:
				fprintf(stderr, "pstack stat: %u: permission denied\n", pid);
				rc = 1;
				break;
			case Q_FAILED:
				fprintf(stderr, "pstack stat: %u: %s\n", pid, why);
				rc = 1;
				break;
			}
		}
		closedir(d);
	}
	if (!shown && !rc) {
		fprintf(stderr, "pstack stat: no stack is running%s\n", me == 0 ? "" : " (of yours)");
		return 1;
	}
	/* A listing: the stacks that answered are shown, the others said on
	 * stderr; a failure only when none could be shown. */
	return shown ? 0 : rc;
}

int main(int argc, char **argv)
{
	unsigned pid = 0, watch = 0;
	bool have_pid = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(a, "--watch")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "pstack stat: --watch needs a number of seconds\n");
				return 2;
			}
			v = argv[++i];
		} else if (!strncmp(a, "--watch=", 8)) {
			v = a + 8;
		}
		if (v) {
			if (!parse_uint(v, v + strlen(v), &watch) || !watch || watch > 86400) {
				fprintf(stderr, "pstack stat: --watch '%s' is not valid: expected seconds, 1 to 86400\n", v);
				return 2;
			}
			continue;
		}
		if (!have_pid && parse_uint(a, a + strlen(a), &pid) && pid) {
			have_pid = true;
			continue;
		}
		fprintf(stderr, "pstack stat: unexpected argument '%s'\n", a);
		usage(stderr);
		return 2;
	}
	me = geteuid();
	for (;;) {
		int rc;

		if (watch) {
			time_t t = time(NULL);
			char when[32];

			strftime(when, sizeof(when), "%H:%M:%S", localtime(&t));
			printf("---- %s ----\n", when);
			fflush(stdout);
		}
		find_dirs();
		rc = have_pid ? stat_pid(pid) : stat_all();
		if (!watch || (rc && have_pid))
			return rc;
		struct timespec ts = { (time_t)watch, 0 };

		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
	}
}
