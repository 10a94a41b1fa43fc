/* The pcap writer: the file reads back with the right global header and records. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include "stack/dev/pcap.h"

static char path[64];

static int setup(void **state)
{
	int fd;

	(void)state;
	strcpy(path, "/tmp/pstack-pcap-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static uint8_t *slurp(size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }

static void test_header_and_records(void **state)
{
	uint8_t f1[60], f2[1514];
	struct timeval before, after;
	struct pcap_writer *w;
	uint8_t *d;
	size_t len;
	uint64_t t1, t2;

	(void)state;
	for (size_t i = 0; i < sizeof(f1); i++)
		f1[i] = (uint8_t)i;
	for (size_t i = 0; i < sizeof(f2); i++)
		f2[i] = (uint8_t)(i * 7);
	gettimeofday(&before, NULL);
	w = pcap_open(path);
	gettimeofday(&after, NULL);
	assert_non_null(w);
	pcap_write(w, f1, sizeof(f1), 5000000);           /* the stack's clock: 5 s */
	pcap_write(w, f2, sizeof(f2), 5000000 + 1250000); /* 1.25 s later */

	/* Before close: every record is already in the file (no buffering to lose on a kill). */
	d = slurp(&len);
	assert_int_equal(len, 24 + 16 + 60 + 16 + 1514);
	free(d);
	pcap_close(w);

	d = slurp(&len);
	assert_int_equal(len, 24 + 16 + 60 + 16 + 1514);
	assert_int_equal(get32(d), 0xa1b2c3d4u);
	assert_int_equal(get16(d + 4), 2);
	assert_int_equal(get16(d + 6), 4);
	assert_int_equal(get32(d + 8), 0);
	assert_int_equal(get32(d + 12), 0);
	assert_int_equal(get32(d + 16), 262144);
	assert_int_equal(get32(d + 20), 1);           /* LINKTYPE_ETHERNET */

	/* Record 1: wall clock at open, the frame's bytes. */
	t1 = (uint64_t)get32(d + 24) * 1000000 + get32(d + 28);
	assert_true(t1 >= (uint64_t)before.tv_sec * 1000000 + (uint64_t)before.tv_usec);
	assert_true(t1 <= (uint64_t)after.tv_sec * 1000000 + (uint64_t)after.tv_usec);
	assert_true(get32(d + 28) < 1000000);
	assert_int_equal(get32(d + 32), 60);
	assert_int_equal(get32(d + 36), 60);
	assert_memory_equal(d + 40, f1, 60);

	/* Record 2: 1.25 s after the first, exactly. */
	t2 = (uint64_t)get32(d + 100) * 1000000 + get32(d + 104);
	assert_int_equal(t2 - t1, 1250000);
	assert_true(get32(d + 104) < 1000000);
	assert_int_equal(get32(d + 108), 1514);
	assert_int_equal(get32(d + 112), 1514);
	assert_memory_equal(d + 116, f2, 1514);
	free(d);
}

/* Reopening truncates; a frame over the snap length is cut with its original length kept. */
static void test_truncate_and_snaplen(void **state)
{
	struct pcap_writer *w;
	uint8_t *big = calloc(1, 300000);
	uint8_t *d;
	size_t len;

	(void)state;
	assert_non_null(big);
	w = pcap_open(path);
	assert_non_null(w);
	pcap_write(w, big, 100, 1);
	pcap_close(w);
	w = pcap_open(path);
	assert_non_null(w);
	pcap_write(w, big, 300000, 1);
	pcap_close(w);
	d = slurp(&len);
	assert_int_equal(len, 24 + 16 + 262144);
	assert_int_equal(get32(d + 32), 262144);
	assert_int_equal(get32(d + 36), 300000);
	free(d);
	free(big);
}

static void test_open_failure(void **state)
{
	(void)state;
	errno = 0;
	assert_null(pcap_open("/nonexistent-dir-pstack/x.pcap"));
	assert_int_equal(errno, ENOENT);
	/* NULL writer: writes and close are no-ops. */
	pcap_write(NULL, (const uint8_t *)"x", 1, 1);
	pcap_close(NULL);
}

/* tcpdump, the reader users have, agrees (when installed). */
static void test_tcpdump_reads_it(void **state)
{
	uint8_t f[42] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06,
			  0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 192, 0, 2, 1,
			  0, 0, 0, 0, 0, 0, 192, 0, 2, 2 };
	struct pcap_writer *w;
	char cmd[200], out[512] = "";
	FILE *p;
	size_t n;

	(void)state;
	if (access("/usr/bin/tcpdump", X_OK) != 0 && access("/usr/sbin/tcpdump", X_OK) != 0)
		skip();
	w = pcap_open(path);
	assert_non_null(w);
	pcap_write(w, f, sizeof(f), 10);
	pcap_write(w, f, sizeof(f), 20);
	/* Not closed: a killed process leaves the file in exactly this state. */
	snprintf(cmd, sizeof(cmd), "PATH=/usr/sbin:/usr/bin:$PATH tcpdump -nn -r %s 2>/dev/null", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = 0;
	assert_int_equal(pclose(p), 0);
	pcap_close(w);
	assert_non_null(strstr(out, "ARP, Request who-has 192.0.2.2 tell 192.0.2.1"));
	assert_non_null(strstr(strstr(out, "\n") + 1, "ARP, Request who-has 192.0.2.2"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_header_and_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncate_and_snaplen, setup, teardown),
		cmocka_unit_test(test_open_failure),
		cmocka_unit_test_setup_teardown(test_tcpdump_reads_it, setup, teardown),
	};
	return cmocka_run_group_tests_name("pcap", tests, NULL, NULL);
}
