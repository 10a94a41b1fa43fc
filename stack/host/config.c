/*
 * The host's settings and the protocol's configuration from the PSTACK_*
 * variables.
 *
 * Parsing is strict on purpose: a value with trailing junk, a 256 octet, a
 * sign or an out-of-range number is refused with one line that names the
 * variable, repeats its value and shows the expected form, rather than being
 * half-understood (atoi's "12abc" is 12; inet_aton's "1.2.3" is 1.2.0.3).
 */
#include "stack/host/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stack/core/log.h"
#include "stack/dev/sysc.h"
#include "stack/wire/wire.h"

#define HOST_LINGER_DEFAULT_US (10000ull * 1000u)

/*
 * PSTACK_TCP_MEM's default: the TCP budget Linux gives itself on a machine
 * with this much memory. Linux sizes tcp_mem at boot (tcp_init_mem) from a
 * sixteenth of the memory, tcp_mem[1]; tcp_mem[0] is three quarters of
 * that, and the hard limit tcp_mem[2], past which sockets' allocations
 * fail, twice tcp_mem[0]: 3/32 of the memory. The budget is that hard
 * limit, and half of it, where send buffers stop growing (tcp_ring.h), is
 * tcp_mem[0]. Computed, not read from /proc/sys/net/ipv4/tcp_mem: a network
 * namespace other than the first does not show that file.
 *
 * A fixed 256 MiB was the default before: at 10,000 bulk connections it
 * held each send buffer at its first 16 KiB, each connection's window at
 * about 10 segments, and the frames at 2.9 segments each; the receiving
 * kernel's cost is per frame, and the row ran at 0.23 of the kernel's.
 */
size_t config_tcp_mem_for(uint64_t ram)
{
	uint64_t b = ram / 32 * 3;

	if (b < CONFIG_TCP_MEM_MIN)
		b = CONFIG_TCP_MEM_MIN;
	if (b > CONFIG_TCP_MEM_MAX)
		b = CONFIG_TCP_MEM_MAX;
	return (size_t)b;
}

static uint64_t machine_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

	return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 0;
}

void host_config_defaults(struct host_config *cfg)
{
	uint64_t ram;

	memset(cfg, 0, sizeof(*cfg));
	config_defaults(&cfg->stack);
	if ((ram = machine_memory()))
		cfg->stack.tcp_mem = config_tcp_mem_for(ram);
	strcpy(cfg->tap, "tap0");
	cfg->log_level = LOG_WARN;
	cfg->offload = 1;
	cfg->linger_us = HOST_LINGER_DEFAULT_US;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/*
 * An unsigned decimal number of at most max_digits digits, no sign, no
 * leading zero unless the number is 0. Advances *p past it. 0 or -EINVAL.
 */
static int parse_dec(const char **p, int max_digits, uint64_t max, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	int n = 0;

	if (!is_digit(*s))
		return -EINVAL;
	if (s[0] == '0' && is_digit(s[1]))
		return -EINVAL;
	while (is_digit(*s)) {
		unsigned d = (unsigned)(*s - '0');

		if (++n > max_digits || v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
		s++;
	}
	if (v > max)
		return -EINVAL;
	*p = s;
	*out = v;
	return 0;
}

/* A dotted quad at *p, advancing past it (the caller checks what follows). */
static int parse_ip4_at(const char **p, uint32_t *addr)
{
	uint32_t a = 0;
	uint64_t v;

	for (int i = 0; i < 4; i++) {
		if (i > 0) {
			if (**p != '.')
				return -EINVAL;
			(*p)++;
		}
		if (parse_dec(p, 3, 255, &v))
			return -EINVAL;
		a = (a << 8) | (uint32_t)v;
	}
	*addr = a;
	return 0;
}

int config_parse_ip4(const char *text, uint32_t *addr)
{
	const char *p = text;
	uint32_t a;

	if (!text || parse_ip4_at(&p, &a) || *p)
		return -EINVAL;
	*addr = a;
	return 0;
}

int config_parse_ip4_prefix(const char *text, uint32_t *addr, uint8_t *prefix_len)
{
	const char *p = text;
	uint64_t n = 24;
	uint32_t a;

	if (!text || parse_ip4_at(&p, &a))
		return -EINVAL;
	if (*p == '/') {
		p++;
		/* /31 and /32 leave no room for a host side on the same link. */
		if (parse_dec(&p, 2, 30, &n) || n < 1)
			return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	*addr = a;
	*prefix_len = (uint8_t)n;
	return 0;
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int config_parse_mac(const char *text, uint8_t mac[6])
{
	uint8_t m[6];

	if (!text || strlen(text) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		int hi = hex_val(text[i * 3]), lo = hex_val(text[i * 3 + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && text[i * 3 + 2] != ':'))
			return -EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	/* IEEE 802: the I/G bit set means a group address; all zeros is no address. */
	if ((m[0] & 1) || !(m[0] | m[1] | m[2] | m[3] | m[4] | m[5]))
		return -EINVAL;
	memcpy(mac, m, 6);
	return 0;
}

/* An optional ".ddd" after a number: its digits as an integer in *frac and
 * their count in *digits (0 without a fraction), at most max_digits. */
static int parse_fraction(const char **p, int max_digits, uint64_t *frac, int *digits)
{
	const char *s = *p;

	*frac = 0;
	*digits = 0;
	if (*s != '.')
		return 0;
	s++;
	if (!is_digit(*s))
		return -EINVAL;
	while (is_digit(*s)) {
		if (++*digits > max_digits)
			return -EINVAL;
		*frac = *frac * 10 + (uint64_t)(*s - '0');
		s++;
	}
	*p = s;
	return 0;
}

/* "3", "3.25", "0.0001" followed by '%': parts per million, at most 100%. */
static int parse_percent(const char **p, uint32_t *ppm)
{
	const char *s = *p;
	uint64_t whole, frac;
	int digits;

	if (parse_dec(&s, 3, 100, &whole) || parse_fraction(&s, 4, &frac, &digits))
		return -EINVAL;
	for (int i = digits; i < 4; i++)
		frac *= 10;
	if (*s != '%')
		return -EINVAL;
	s++;
	whole = whole * 10000 + frac;	/* in units of 0.0001 % = 1 ppm */
	if (whole > 1000000)
		return -EINVAL;
	*ppm = (uint32_t)whole;
	*p = s;
	return 0;
}

/* "2ms", "500us", "1s", "1.5ms": microseconds, at most 60 s. */
static int parse_delay(const char **p, uint32_t *us)
{
	const char *s = *p;
	uint64_t whole, frac, scale;
	int digits;

	if (parse_dec(&s, 8, 60000000, &whole) || parse_fraction(&s, 6, &frac, &digits))
		return -EINVAL;
	if (strncmp(s, "us", 2) == 0) {
		scale = 1;
		s += 2;
	} else if (strncmp(s, "ms", 2) == 0) {
		scale = 1000;
		s += 2;
	} else if (*s == 's') {
		scale = 1000000;
		s += 1;
	} else {
		return -EINVAL;
	}
	/* The fraction must come out as whole microseconds. */
	{
		uint64_t div = 1;

		for (int i = 0; i < digits; i++)
			div *= 10;
		if ((frac * scale) % div)
			return -EINVAL;
		whole = whole * scale + frac * scale / div;
	}
	if (whole > 60000000)
		return -EINVAL;
	*us = (uint32_t)whole;
	*p = s;
	return 0;
}

/* Parses faults; on error *bad points at the item that failed. */
static int parse_faults(const char *text, struct fault_config *out, const char **bad)
{
	struct fault_config f;
	const char *p = text;
	unsigned seen = 0;

	memset(&f, 0, sizeof(f));
	f.seed = 1;	/* a fixed default: runs are reproducible unless a seed is given */
	*bad = text;
	if (!text || !*text)
		return -EINVAL;
	for (;;) {
		static const char *const keys[] = { "loss=", "dup=", "reorder=", "corrupt=", "delay=", "seed=" };
		int k;
		int rc;

		*bad = p;
		for (k = 0; k < 6; k++)
			if (strncmp(p, keys[k], strlen(keys[k])) == 0)
				break;
		if (k == 6 || (seen & (1u << k)))
			return -EINVAL;
		seen |= 1u << k;
		p += strlen(keys[k]);
		switch (k) {
		case 0: rc = parse_percent(&p, &f.loss_ppm); break;
		case 1: rc = parse_percent(&p, &f.dup_ppm); break;
		case 2: rc = parse_percent(&p, &f.reorder_ppm); break;
		case 3: rc = parse_percent(&p, &f.corrupt_ppm); break;
		case 4: rc = parse_delay(&p, &f.delay_us); break;
		default: rc = parse_dec(&p, 20, UINT64_MAX, &f.seed); break;
		}
		if (rc)
			return -EINVAL;
		if (*p == 0)
			break;
		if (*p != ',')
			return -EINVAL;
		p++;
	}
	f.enabled = f.loss_ppm || f.dup_ppm || f.reorder_ppm || f.corrupt_ppm || f.delay_us;
	*out = f;
	return 0;
}

int config_parse_faults(const char *text, struct fault_config *f)
{
	const char *bad;

	return parse_faults(text, f, &bad);
}

static bool valid_ifname(const char *t)
{
	size_t n = strlen(t);

	/* Linux dev_valid_name() refuses "", ".", "..", '/', ':' and spaces; stay narrower. */
	if (n == 0 || n > 15 || strcmp(t, ".") == 0 || strcmp(t, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
		      c == '.' || c == '-'))
			return false;
	}
	return true;
}

static bool valid_stack_name(const char *t)
{
	size_t n = strlen(t);

	/* Also a file name in the user's folder (NAME.stack): no '/', and
	 * not "." or "..". */
	if (n == 0 || n > HOST_STACK_NAME_MAX || strcmp(t, ".") == 0 || strcmp(t, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = t[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
		      c == '.' || c == '-'))
			return false;
	}
	return true;
}

/* Writes "NAME='value' is not valid: expected ..." as one line, the value made printable. */
static int bad_value(char *err, size_t errlen, const char *name, const char *value,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int bad_value(char *err, size_t errlen, const char *name, const char *value,
		     const char *fmt, ...)
{
	char shown[200];
	size_t n = 0;
	va_list ap;
	int len;

	if (!err || !errlen)
		return -EINVAL;
	for (const unsigned char *v = (const unsigned char *)value; *v && n < sizeof(shown) - 8; v++) {
		if (*v < 0x20 || *v >= 0x7f || *v == '\\' || *v == '\'')
			n += (size_t)snprintf(shown + n, sizeof(shown) - n, "\\x%02x", *v);
		else
			shown[n++] = (char)*v;
		if (v[1] && n >= sizeof(shown) - 8) {
			memcpy(shown + n, "...", 4);
			n += 3;
			break;
		}
	}
	shown[n] = 0;
	len = snprintf(err, errlen, "%s='%s' is not valid: ", name, shown);
	if (len >= 0 && (size_t)len < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + len, errlen - (size_t)len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int config_parse_stack_name(const char *value, char *out, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = 0;
	out[0] = 0;
	if (!value || !*value)
		return 0;
	if (!valid_stack_name(value))
		return bad_value(err, errlen, "PSTACK_STACK", value,
				 "expected a name of 1 to %d letters, digits, '-', '_' or '.', e.g. shared",
				 HOST_STACK_NAME_MAX);
	strcpy(out, value);
	return 0;
}

/* A variable's value, or NULL when unset or empty. */
static const char *get_var(const char *(*get)(const char *name), const char *name)
{
	const char *v = get(name);

	return v && *v ? v : NULL;
}

static uint32_t mask_of(uint8_t prefix_len)
{
	return prefix_len ? ~0u << (32 - prefix_len) : 0;
}

/* Unicast and usable as an interface address: not 0/8, loopback, multicast or class E. */
static bool usable_host(uint32_t a)
{
	uint8_t top = (uint8_t)(a >> 24);

	return top != 0 && top != 127 && top < 224;
}

static int parse_uint_var(const char *(*get)(const char *name), const char *name, uint64_t min,
			  uint64_t max, uint64_t *out, bool *set)
{
	const char *v = get_var(get, name);
	const char *p = v;

	*set = false;
	if (!v)
		return 0;
	if (parse_dec(&p, 20, max, out) || *p || *out < min)
		return -EINVAL;
	*set = true;
	return 0;
}

/* A byte count: decimal digits and an optional K, M or G suffix (powers of 1024). */
static int parse_size(const char *v, uint64_t *out)
{
	const char *p = v;
	unsigned shift = 0;

	if (parse_dec(&p, 12, UINT64_MAX >> 30, out))
		return -EINVAL;
	switch (*p) {
	case 'K': case 'k': shift = 10; p++; break;
	case 'M': case 'm': shift = 20; p++; break;
	case 'G': case 'g': shift = 30; p++; break;
	default: break;
	}
	if (*p)
		return -EINVAL;
	*out <<= shift;
	return 0;
}

/* "min default max" (PSTACK_TCP_RMEM, PSTACK_TCP_WMEM): three byte counts
 * separated by spaces or tabs, as sysctl prints net.ipv4.tcp_rmem, with
 * 4096 <= min <= default <= max <= 1 GiB (the largest window scale, 14,
 * reaches 1 GiB). */
#define TCP_BUF_MIN 4096u
#define TCP_BUF_MAX (1u << 30)
static int parse_tcp_buf(const char *v, uint32_t out[3])
{
	const char *p = v;
	uint64_t n[3];

	for (int i = 0; i < 3; i++) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (parse_dec(&p, 10, TCP_BUF_MAX, &n[i]))
			return -EINVAL;
		if (i < 2 && *p != ' ' && *p != '\t')
			return -EINVAL;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p || n[0] < TCP_BUF_MIN || n[0] > n[1] || n[1] > n[2])
		return -EINVAL;
	for (int i = 0; i < 3; i++)
		out[i] = (uint32_t)n[i];
	return 0;
}

/* The namespace's sysctl folders under root, each open once (O_PATH), so
 * that each file's open walks one name, not the five of
 * /proc/sys/net/ipv4/NAME: some 30 files are read at every start, and in
 * procfs each name walked costs (a set a quarter faster, measured). -1: a
 * folder that is not there, where every read finds nothing. */
struct sysctl_dirs {
	long ipv4, core;
};

static long sysctl_dir(const char *root, const char *sub)
{
	char name[512];

	if ((size_t)snprintf(name, sizeof(name), "%s/%s", root, sub) >= sizeof(name))
		return -1;
	return sys_openat(AT_FDCWD, name, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
}

static void sysctl_dirs_open(struct sysctl_dirs *d, const char *root)
{
	d->ipv4 = sysctl_dir(root, "net/ipv4");
	d->core = sysctl_dir(root, "net/core");
}

static void sysctl_dirs_close(struct sysctl_dirs *d)
{
	if (d->ipv4 >= 0)
		sys_close((int)d->ipv4);
	if (d->core >= 0)
		sys_close((int)d->core);
}

/* One line of the sysctl file path ("net/ipv4/NAME" or "net/core/NAME"),
 * into line (at most size - 1 bytes, without the newline, NUL-terminated;
 * empty when the file cannot be read). Three system calls, not stdio's
 * five (each open of a /proc/sys file costs several microseconds). */
static void read_line(const struct sysctl_dirs *d, const char *path, char *line, size_t size)
{
	long dir = -1, fd, n;

	line[0] = 0;
	if (!strncmp(path, "net/ipv4/", 9))
		dir = d->ipv4;
	else if (!strncmp(path, "net/core/", 9))
		dir = d->core;
	if (dir < 0)
		return;
	fd = sys_openat((int)dir, path + 9, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return;
	n = sys_read((int)fd, line, size - 1);
	sys_close((int)fd);
	line[n > 0 ? n : 0] = 0;
	line[strcspn(line, "\n")] = 0;
}

/* Up to n unsigned numbers from the file root/path (one line, as sysctl
 * files hold them); how many were read. */
static int read_sysctl(const struct sysctl_dirs *root, const char *path, uint64_t *v, int n)
{
	char line[128];
	const char *p = line;
	int got = 0;

	read_line(root, path, line, sizeof(line));
	while (got < n) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (parse_dec(&p, 10, UINT32_MAX, &v[got]) < 0)
			break;
		got++;
	}
	return got;
}

/* One key of net.ipv4.tcp_fastopen_key's text at *pp ("%08x-%08x-%08x-%08x")
 * into 16 bytes, each word little-endian (Linux's proc_tcp_fastopen_key);
 * 0, or -1 when it is not one. */
static int parse_fastopen_key(const char **pp, uint8_t key[16])
{
	const char *p = *pp;

	for (int w = 0; w < 4; w++) {
		uint32_t v = 0;
		int digits = 0;

		if (w && *p++ != '-')
			return -1;
		for (; digits < 8 && isxdigit((unsigned char)*p); digits++, p++)
			v = v << 4 | (uint32_t)(isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10));
		if (!digits || isxdigit((unsigned char)*p))
			return -1;
		for (int b = 0; b < 4; b++)
			key[4 * w + b] = (uint8_t)(v >> (8 * b));
	}
	*pp = p;
	return 0;
}

/* The namespace's fast open keys: a primary, then a backup after a comma.
 * A key of zeros is none (the file reads so before any key exists). */
static void read_fastopen_keys(struct stack_config *sc, const struct sysctl_dirs *root)
{
	char line[160];
	const char *p = line;
	uint8_t key[16], zero[16] = { 0 };

	read_line(root, "net/ipv4/tcp_fastopen_key", line, sizeof(line));
	for (int i = 0; i < 2; i++) {
		if ((i && *p++ != ',') || parse_fastopen_key(&p, key))
			break;
		if (!memcmp(key, zero, sizeof(key)))
			break;
		memcpy(sc->tcp_fastopen_key[i], key, sizeof(key));
		sc->tcp_fastopen_keys = (uint8_t)(i + 1);
	}
}

/* The namespace's TCP retry counts and timers, within the bounds Linux's
 * sysctl tables give them (a value outside is left at the default). */
static void read_tcp_timers(struct stack_config *sc, const struct sysctl_dirs *root)
{
	static const struct {
		const char *path;
		uint32_t lo, hi;
		size_t off, size;
	} tab[] = {
		{ "net/ipv4/tcp_syn_retries", 1, 127, offsetof(struct stack_config, tcp_syn_retries), 1 },
		{ "net/ipv4/tcp_syn_linear_timeouts", 0, 127, offsetof(struct stack_config, tcp_syn_linear_timeouts), 1 },
		{ "net/ipv4/tcp_synack_retries", 0, 255, offsetof(struct stack_config, tcp_synack_retries), 1 },
		{ "net/ipv4/tcp_rto_max_ms", 1000, 120000, offsetof(struct stack_config, tcp_rto_max_ms), 4 },
		{ "net/ipv4/tcp_invalid_ratelimit", 0, 0x7fffffff, offsetof(struct stack_config, tcp_invalid_ratelimit_ms), 4 },
		{ "net/ipv4/tcp_retries2", 0, 255, offsetof(struct stack_config, tcp_retries2), 1 },
		{ "net/ipv4/tcp_orphan_retries", 0, 255, offsetof(struct stack_config, tcp_orphan_retries), 1 },
		{ "net/ipv4/tcp_fin_timeout", 1, 1u << 20, offsetof(struct stack_config, tcp_fin_timeout_s), 4 },
		{ "net/ipv4/tcp_keepalive_time", 1, 32767, offsetof(struct stack_config, tcp_keepalive_time_s), 4 },
		{ "net/ipv4/tcp_keepalive_intvl", 1, 32767, offsetof(struct stack_config, tcp_keepalive_intvl_s), 4 },
		{ "net/ipv4/tcp_keepalive_probes", 1, 127, offsetof(struct stack_config, tcp_keepalive_probes), 1 },
		{ "net/ipv4/tcp_timestamps", 0, 2, offsetof(struct stack_config, tcp_timestamps), 1 },
		{ "net/ipv4/tcp_sack", 0, 1, offsetof(struct stack_config, tcp_sack), 1 },
		{ "net/ipv4/tcp_window_scaling", 0, 1, offsetof(struct stack_config, tcp_window_scaling), 1 },
		{ "net/ipv4/tcp_slow_start_after_idle", 0, 1, offsetof(struct stack_config, tcp_slow_start_after_idle), 1 },
	};
	uint64_t v;

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		uint8_t *field = (uint8_t *)sc + tab[i].off;

		if (read_sysctl(root, tab[i].path, &v, 1) != 1 || v < tab[i].lo || v > tab[i].hi)
			continue;
		if (tab[i].size == 1)
			*field = (uint8_t)v;
		else
			memcpy(field, &(uint32_t){ (uint32_t)v }, sizeof(uint32_t));
	}
}

void host_config_kernel(struct host_config *cfg, const char *root_path)
{
	uint64_t v[3], space = cfg->stack.tcp_rmem[2];
	struct sysctl_dirs dirs, *root = &dirs;

	sysctl_dirs_open(&dirs, root_path);

	if (!cfg->rmem_set && read_sysctl(root, "net/ipv4/tcp_rmem", v, 3) == 3 && v[2] > space)
		space = v[2];
	if (read_sysctl(root, "net/core/rmem_max", v, 1) == 1 && v[0] > space)
		space = v[0];
	cfg->stack.rmem_scale = (uint32_t)space;
	if (read_sysctl(root, "net/ipv4/ip_nonlocal_bind", v, 1) == 1)
		cfg->stack.ip_nonlocal_bind = v[0] != 0;
	if (read_sysctl(root, "net/core/txrehash", v, 1) == 1 && v[0] <= 1)
		cfg->stack.txrehash = (uint8_t)v[0];
	if (read_sysctl(root, "net/ipv4/tcp_fastopen", v, 1) == 1)
		cfg->stack.tcp_fastopen = (uint16_t)v[0];
	read_fastopen_keys(&cfg->stack, root);
	if (read_sysctl(root, "net/ipv4/tcp_tw_reuse", v, 1) == 1 && v[0] <= 2)
		cfg->stack.tcp_tw_reuse = (uint8_t)v[0];
	if (read_sysctl(root, "net/ipv4/tcp_tw_reuse_delay", v, 1) == 1)
		cfg->stack.tcp_tw_reuse_delay_ms = (uint32_t)v[0];
	read_tcp_timers(&cfg->stack, root);
	/* The switches PSTACK_TCP_* also set: the variable wins. */
	if (!cfg->ecn_set && read_sysctl(root, "net/ipv4/tcp_ecn", v, 1) == 1 && v[0] <= 2)
		cfg->stack.tcp_ecn = (uint8_t)v[0];
	if (!cfg->dsack_set && read_sysctl(root, "net/ipv4/tcp_dsack", v, 1) == 1 && v[0] <= 1)
		cfg->stack.tcp_dsack = (uint8_t)v[0];
	/* tcp_recovery is a mask: RACK's loss detection is its bit 1. */
	if (!cfg->recovery_set && read_sysctl(root, "net/ipv4/tcp_recovery", v, 1) == 1)
		cfg->stack.tcp_recovery = (uint8_t)(v[0] & 1);
	/* Linux tests tcp_frto as a boolean (tcp_enter_loss): kept as read,
	 * at most 255. */
	if (read_sysctl(root, "net/ipv4/tcp_frto", v, 1) == 1)
		cfg->stack.tcp_frto = (uint8_t)(v[0] > 255 ? 255 : v[0]);
	/* UINT_MAX, Linux's default, is no limit (0 here). */
	if (read_sysctl(root, "net/ipv4/tcp_notsent_lowat", v, 1) == 1)
		cfg->stack.tcp_notsent_lowat = v[0] >= UINT32_MAX || v[0] > INT32_MAX ? 0 : (uint32_t)v[0];
	/* Linux's ipv4_local_port_range takes 1..65535, low <= high. */
	if (read_sysctl(root, "net/ipv4/ip_local_port_range", v, 2) == 2 && v[0] >= 1 && v[0] <= v[1] &&
	    v[1] <= 65535) {
		cfg->stack.ip_local_port_lo = (uint16_t)v[0];
		cfg->stack.ip_local_port_hi = (uint16_t)v[1];
	}
	sysctl_dirs_close(&dirs);
}

int host_config_from_env(struct host_config *cfg, const char *(*get)(const char *name), char *err, size_t errlen)
{
	struct host_config hc;
	struct stack_config *sc = &hc.stack;
	const char *v;
	uint64_t n;
	bool set;

	if (err && errlen)
		err[0] = 0;
	host_config_defaults(&hc);

	if ((v = get_var(get, "PSTACK_TAP"))) {
		if (!valid_ifname(v))
			return bad_value(err, errlen, "PSTACK_TAP", v,
					 "expected an interface name of 1 to 15 letters, digits, '_', '.' or '-', e.g. tap0");
		strcpy(hc.tap, v);
	}

	if ((v = get_var(get, "PSTACK_ADDR"))) {
		uint32_t m, host;

		if (config_parse_ip4_prefix(v, &sc->addr, &sc->prefix_len))
			return bad_value(err, errlen, "PSTACK_ADDR", v,
					 "expected an IPv4 address with prefix length /1 to /30, e.g. 192.0.2.2/24");
		m = mask_of(sc->prefix_len);
		host = sc->addr & ~m;
		if (!usable_host(sc->addr) || host == 0 || host == ~m)
			return bad_value(err, errlen, "PSTACK_ADDR", v,
					 "expected a unicast host address (not the subnet's network or broadcast address), e.g. 192.0.2.2/24");
		/* The default gateway follows the subnet: its first host, or the second when the first is ours. */
		sc->gateway = (sc->addr & m) + 1;
		if (sc->gateway == sc->addr)
			sc->gateway++;
	}

	if ((v = get_var(get, "PSTACK_GATEWAY"))) {
		uint32_t m = mask_of(sc->prefix_len), gw;
		char net[16];

		if (strcmp(v, "none") == 0) {
			sc->gateway = 0;
		} else if (config_parse_ip4(v, &gw)) {
			return bad_value(err, errlen, "PSTACK_GATEWAY", v,
					 "expected an IPv4 address on the stack's subnet, or none, e.g. 192.0.2.1");
		} else {
			ip4_ntoa(sc->addr & m, net);
			if ((gw & m) != (sc->addr & m) || gw == sc->addr || (gw & ~m) == 0 ||
			    (gw & ~m) == ~m || !usable_host(gw))
				return bad_value(err, errlen, "PSTACK_GATEWAY", v,
						 "expected a host address on the subnet %s/%u other than the stack's own, or none",
						 net, sc->prefix_len);
			sc->gateway = gw;
		}
	}

	if ((v = get_var(get, "PSTACK_MAC")) && config_parse_mac(v, sc->mac))
		return bad_value(err, errlen, "PSTACK_MAC", v,
				 "expected a unicast MAC address xx:xx:xx:xx:xx:xx (hex, first octet even), e.g. 02:00:00:00:00:02");

	if (parse_uint_var(get, "PSTACK_MTU", 68, 65535, &n, &set))
		return bad_value(err, errlen, "PSTACK_MTU", get_var(get, "PSTACK_MTU"),
				 "expected a number from 68 to 65535, e.g. 1500");
	if (set)
		sc->mtu = (uint32_t)n;

	if ((v = get_var(get, "PSTACK_LOG"))) {
		int level = log_level_parse(v);

		if (level < 0)
			return bad_value(err, errlen, "PSTACK_LOG", v,
					 "expected one of error, warn, info, debug, trace");
		hc.log_level = level;
	}

	if ((v = get_var(get, "PSTACK_LOG_FILE"))) {
		if (strlen(v) >= sizeof(hc.log_file))
			return bad_value(err, errlen, "PSTACK_LOG_FILE", v,
					 "expected a file path shorter than %zu bytes", sizeof(hc.log_file));
		strcpy(hc.log_file, v);
	}

	if ((v = get_var(get, "PSTACK_PCAP"))) {
		if (strlen(v) >= sizeof(hc.pcap))
			return bad_value(err, errlen, "PSTACK_PCAP", v,
					 "expected a file path shorter than %zu bytes", sizeof(hc.pcap));
		strcpy(hc.pcap, v);
	}

	if ((v = get_var(get, "PSTACK_FAULTS"))) {
		const char *bad;

		if (parse_faults(v, &hc.faults, &bad)) {
			char item[40];
			size_t k = strcspn(bad, ",");

			if (k >= sizeof(item))
				k = sizeof(item) - 1;
			memcpy(item, bad, k);
			item[k] = 0;
			for (size_t i = 0; i < k; i++)
				if ((unsigned char)item[i] < 0x20 || (unsigned char)item[i] >= 0x7f)
					item[i] = '?';
			return bad_value(err, errlen, "PSTACK_FAULTS", v,
					 "expected comma-separated loss=, dup=, reorder=, corrupt= (percent, e.g. 0.5%%), "
					 "delay= (us, ms or s) and seed= (a number), each at most once, "
					 "e.g. loss=3%%,delay=2ms,seed=42 (problem at '%s')", item);
		}
	}

	if (parse_uint_var(get, "PSTACK_TCP_MSL_MS", 1, 600000, &n, &set))
		return bad_value(err, errlen, "PSTACK_TCP_MSL_MS", get_var(get, "PSTACK_TCP_MSL_MS"),
				 "expected milliseconds from 1 to 600000, e.g. 30000");
	if (set)
		sc->tcp_msl_ms = (uint32_t)n;

	if (parse_uint_var(get, "PSTACK_TCP_RECOVERY", 0, 1, &n, &set))
		return bad_value(err, errlen, "PSTACK_TCP_RECOVERY", get_var(get, "PSTACK_TCP_RECOVERY"),
				 "expected 1 (RACK-TLP loss detection, the default) or 0 (RFC 6675 DupThresh)");
	if (set)
		sc->tcp_recovery = (uint8_t)n;
	hc.recovery_set = set;

	if (parse_uint_var(get, "PSTACK_TCP_DSACK", 0, 1, &n, &set))
		return bad_value(err, errlen, "PSTACK_TCP_DSACK", get_var(get, "PSTACK_TCP_DSACK"),
				 "expected 1 (send D-SACK blocks, the default) or 0");
	if (set)
		sc->tcp_dsack = (uint8_t)n;
	hc.dsack_set = set;

	if ((v = get_var(get, "PSTACK_TCP_RMEM")) && parse_tcp_buf(v, sc->tcp_rmem))
		return bad_value(err, errlen, "PSTACK_TCP_RMEM", v,
				 "expected three byte counts \"min default max\" like net.ipv4.tcp_rmem, "
				 "4096 <= min <= default <= max <= 1073741824, e.g. '4096 131072 6291456'");
	hc.rmem_set = v != NULL;

	if ((v = get_var(get, "PSTACK_TCP_WMEM")) && parse_tcp_buf(v, sc->tcp_wmem))
		return bad_value(err, errlen, "PSTACK_TCP_WMEM", v,
				 "expected three byte counts \"min default max\" like net.ipv4.tcp_wmem, "
				 "4096 <= min <= default <= max <= 1073741824, e.g. '4096 16384 4194304'");

	if (parse_uint_var(get, "PSTACK_TCP_ECN", 0, 2, &n, &set))
		return bad_value(err, errlen, "PSTACK_TCP_ECN", get_var(get, "PSTACK_TCP_ECN"),
				 "expected 0 (no ECN), 1 (ask for ECN on connections we open, accept it on the others) "
				 "or 2 (accept it when the peer asks, the default)");
	if (set)
		sc->tcp_ecn = (uint8_t)n;
	hc.ecn_set = set;

	if ((v = get_var(get, "PSTACK_TCP_MEM"))) {
		if (parse_size(v, &n) || n < CONFIG_TCP_MEM_MIN || n > CONFIG_TCP_MEM_MAX)
			return bad_value(err, errlen, "PSTACK_TCP_MEM", v,
					 "expected bytes from 1M to 64G with an optional K, M or G suffix, e.g. 256M");
		sc->tcp_mem = (size_t)n;
	}

	if (parse_uint_var(get, "PSTACK_OFFLOAD", 0, 1, &n, &set))
		return bad_value(err, errlen, "PSTACK_OFFLOAD", get_var(get, "PSTACK_OFFLOAD"),
				 "expected 1 (use the TAP's offloads, the default) or 0 (plain frames)");
	if (set)
		hc.offload = (uint8_t)n;

	if (parse_uint_var(get, "PSTACK_SPIN_US", 0, 1000000, &n, &set))
		return bad_value(err, errlen, "PSTACK_SPIN_US", get_var(get, "PSTACK_SPIN_US"),
				 "expected microseconds from 0 (off, the default) to 1000000, e.g. 50");
	if (set)
		hc.spin_us = (uint32_t)n;

	if (parse_uint_var(get, "PSTACK_LINGER_MS", 0, 3600000, &n, &set))
		return bad_value(err, errlen, "PSTACK_LINGER_MS", get_var(get, "PSTACK_LINGER_MS"),
				 "expected milliseconds from 0 to 3600000, e.g. 10000");
	if (set)
		hc.linger_us = n * 1000u;

	if (config_parse_stack_name(get_var(get, "PSTACK_STACK"), hc.stack_name, err, errlen))
		return -EINVAL;
	if (parse_uint_var(get, "PSTACK_QUEUES", 1, HOST_QUEUES_MAX, &n, &set))
		return bad_value(err, errlen, "PSTACK_QUEUES", get_var(get, "PSTACK_QUEUES"),
				 "expected a number of TAP queues from 1 to %d (default: one per CPU, at most %d), e.g. 2",
				 HOST_QUEUES_MAX, HOST_QUEUES_DEFAULT_MAX);
	if (set)
		hc.queues = (uint8_t)n;

	*cfg = hc;
	return 0;
}
