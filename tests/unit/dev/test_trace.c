/* trace_frame: the wire printer's text to the log at trace level. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stack/core/log.h"
#include "stack/dev/trace.h"
#include "stack/wire/eth.h"

static const struct eth_hdr frame_eth = {
	.dst = { 0x00, 0x00, 0x5e, 0x00, 0x53, 0x01 },
	.src = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 },
	.type = ETH_TYPE_ARP,
};

/* The log's lines, as the host's sink would get them. */
static char logged[8192];
static size_t logged_len;

static void capture(const char *line, size_t len)
{
	if (len > sizeof(logged) - 1 - logged_len)
		len = sizeof(logged) - 1 - logged_len;
	memcpy(logged + logged_len, line, len);
	logged_len += len;
	logged[logged_len] = 0;
}

/* trace_frame writes one message at trace level, and nothing below it. */
static void test_trace_frame_logs_once(void **state)
{
	uint8_t f[60] = { 0 };
	char *buf = logged;
	int saved = log_level;

	(void)state;
	logged_len = 0;
	logged[0] = 0;
	eth_hdr_emit(f, &frame_eth);
	log_set_sink(capture);
	log_level = LOG_TRACE;
	trace_frame(FRAME_OUT, f, 60);
	assert_non_null(strstr(buf, "pstack trace: out 60 bytes\n  eth "));
	assert_null(strstr(buf + 1, "pstack "));   /* one message, one prefix */
	log_level = LOG_DEBUG;
	trace_frame(FRAME_OUT, f, 60);           /* below trace level: nothing */
	assert_null(strstr(buf + 1, "pstack "));
	log_level = saved;
	log_set_sink(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trace_frame_logs_once),
	};
	return cmocka_run_group_tests_name("trace", tests, NULL, NULL);
}
