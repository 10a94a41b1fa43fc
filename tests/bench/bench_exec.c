/*
 * bench_exec: the benchmark's process-start timer. It runs a program many
 * times in a row and measures, for each run, the time from just before the
 * program is started (posix_spawn: clone + execve) to the first byte the
 * program writes on its stdout, and to its exit.
 *
 *   bench_exec [-n RUNS] [-t SECONDS] [-T TIMEOUT] [-P LIBRARY] -- PROGRAM [ARG...]
 *
 *   -n RUNS     how many runs, one after the other (default 100)
 *   -t SECONDS  stop starting new runs after this long (default 120)
 *   -T TIMEOUT  a run that has not ended after TIMEOUT seconds is killed and
 *               counts as an error (default 10)
 *   -P LIBRARY  sets LD_PRELOAD=LIBRARY in the program's environment only,
 *               so that the timer itself runs on the kernel's stack
 *
 * With `curl -s -N URL` as the program (-N: curl writes what it receives at
 * once), "first byte" is the first byte of the HTTP answer's body reaching
 * the user: process start, the library's start (under the preload), the
 * connection, the request and the answer. The program's stdout is a pipe
 * read by this process; its stdin is /dev/null; its stderr is ours.
 *
 * Prints one line of key=value results on stdout (times in microseconds,
 * rate in runs per second over the whole series); exit 0 when at least one
 * run succeeded, 1 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static char last_err[200];

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* The p-th percentile (nearest rank) of n sorted values, in microseconds. */
static double pct_us(const uint64_t *v, size_t n, double p)
{
	if (!n)
		return 0;
	size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return (double)v[i] / 1000.0;
}

/* environ with LD_PRELOAD replaced by (or set to) lib; environ itself when lib is NULL. */
static char **child_env(const char *lib)
{
	if (!lib)
		return environ;
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 2, sizeof(*env));
	char *pre = malloc(strlen(lib) + sizeof("LD_PRELOAD="));
	if (!env || !pre) {
		fprintf(stderr, "bench_exec: out of memory\n");
		exit(1);
	}
	sprintf(pre, "LD_PRELOAD=%s", lib);
	size_t j = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11))
			env[j++] = environ[i];
	env[j++] = pre;
	env[j] = NULL;
	return env;
}

/*
 * One run: returns 0 and the times (ns) to the first output byte and to the
 * exit, or -1 with last_err set.
 */
static int run_once(char **argv, char **env, uint64_t timeout_ns, uint64_t *first, uint64_t *end)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0) {
		snprintf(last_err, sizeof(last_err), "pipe: %s", strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	pid_t pid;
	uint64_t t0 = now_ns();
	int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc) {
		close(p[0]);
		snprintf(last_err, sizeof(last_err), "spawn %s: %s", argv[0], strerror(rc));
		return -1;
	}
	uint64_t t_first = 0, deadline = t0 + timeout_ns;
	size_t got = 0;
	int timed_out = 0;
	char buf[65536];
	for (;;) {
		uint64_t t = now_ns();
		if (t >= deadline) {
			timed_out = 1;
			break;
		}
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		int n = poll(&pfd, 1, (int)((deadline - t) / 1000000u) + 1);
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		ssize_t r = read(p[0], buf, sizeof(buf));
		if (r > 0 && !got)
			t_first = now_ns();
		if (r > 0)
			got += (size_t)r;
		else if (r == 0 || errno != EINTR)
			break;
	}
	close(p[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	uint64_t t_end = now_ns();
	if (timed_out) {
		snprintf(last_err, sizeof(last_err), "%s did not end within %.0f s", argv[0], timeout_ns / 1e9);
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		if (WIFSIGNALED(status))
			snprintf(last_err, sizeof(last_err), "%s: killed by signal %d", argv[0], WTERMSIG(status));
		else
			snprintf(last_err, sizeof(last_err), "%s: exit status %d", argv[0], WEXITSTATUS(status));
		return -1;
	}
	if (!got) {
		snprintf(last_err, sizeof(last_err), "%s wrote nothing on stdout", argv[0]);
		return -1;
	}
	*first = t_first - t0;
	*end = t_end - t0;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_exec [-n RUNS] [-t SECONDS] [-T TIMEOUT] [-P LIBRARY] -- PROGRAM [ARG...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long runs = 100;
	double seconds = 120, timeout = 10;
	const char *lib = NULL;
	int c;
	while ((c = getopt(argc, argv, "+n:t:T:P:")) != -1) {
		switch (c) {
		case 'n': runs = atol(optarg); break;
		case 't': seconds = atof(optarg); break;
		case 'T': timeout = atof(optarg); break;
		case 'P': lib = optarg; break;
		default: usage();
		}
	}
	if (optind >= argc || runs < 1 || seconds <= 0 || timeout <= 0)
		usage();
	char **prog = argv + optind;
	char **env = child_env(lib);
	/* A program killed by SIGPIPE or a write to a closed pipe must not take us along. */
	signal(SIGPIPE, SIG_IGN);

	uint64_t *firsts = calloc((size_t)runs, sizeof(*firsts));
	uint64_t *ends = calloc((size_t)runs, sizeof(*ends));
	if (!firsts || !ends) {
		fprintf(stderr, "bench_exec: out of memory\n");
		return 1;
	}
	size_t ok = 0;
	long done = 0, errors = 0;
	uint64_t t0 = now_ns(), stop = t0 + (uint64_t)(seconds * 1e9);
	for (; done < runs && now_ns() < stop; done++) {
		if (run_once(prog, env, (uint64_t)(timeout * 1e9), &firsts[ok], &ends[ok]) == 0)
			ok++;
		else
			errors++;
	}
	double total = (now_ns() - t0) / 1e9;
	qsort(firsts, ok, sizeof(*firsts), cmp_u64);
	qsort(ends, ok, sizeof(*ends), cmp_u64);
	if (errors)
		fprintf(stderr, "bench_exec: %ld of %ld runs failed (last: %s)\n", errors, done, last_err);
	printf("runs=%ld ok=%zu errors=%ld first_med_us=%.1f first_p10_us=%.1f first_p90_us=%.1f "
	       "first_p99_us=%.1f run_med_us=%.1f run_p99_us=%.1f seconds=%.3f rate=%.2f last_error=\"%s\"\n",
	       done, ok, errors, pct_us(firsts, ok, 50), pct_us(firsts, ok, 10), pct_us(firsts, ok, 90),
	       pct_us(firsts, ok, 99), pct_us(ends, ok, 50), pct_us(ends, ok, 99), total,
	       total > 0 ? done / total : 0.0, last_err);
	return ok ? 0 : 1;
}
