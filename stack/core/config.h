/*
 * The protocol's configuration: the interface's address, the link's limits
 * and the protocol's own settings. The host fills it (stack/host/config.c
 * reads it from the PSTACK_* variables, with the host's own settings); the
 * core only reads it.
 */
#ifndef PSTACK_CONFIG_H
#define PSTACK_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct stack_config {
	uint32_t addr;          /* PSTACK_ADDR, default 192.0.2.2 */
	uint8_t prefix_len;     /* from PSTACK_ADDR, default 24 */
	uint32_t gateway;       /* PSTACK_GATEWAY, default 192.0.2.1, or with PSTACK_ADDR the
				 * subnet's first host (second when the first is ours); 0: none */
	uint8_t mac[6];         /* PSTACK_MAC, default 00:00:5e:00:53:01 */
	uint32_t mtu;           /* PSTACK_MTU, 0: the link's */
	uint32_t tcp_msl_ms;    /* PSTACK_TCP_MSL_MS, default 30000 (TIME_WAIT is 2*MSL = 60 s) */
	size_t tcp_mem;         /* PSTACK_TCP_MEM: all TCP buffers of the stack together; 256 MiB here,
				 * the host's default is 3/32 of the machine's memory (stack/host/config.c) */
	uint8_t tcp_recovery;   /* PSTACK_TCP_RECOVERY, default 1: RACK-TLP loss detection (RFC 8985);
				 * 0: RFC 6675's DupThresh (Linux's net.ipv4.tcp_recovery) */
	uint8_t tcp_dsack;      /* PSTACK_TCP_DSACK, default 1: send D-SACK (RFC 2883; Linux's tcp_dsack) */
	uint32_t tcp_challenge_ack_limit;  /* like Linux's tcp_challenge_ack_limit: the stack-wide
				 * budget of RFC 5961 challenge ACKs a second (drawn at random
				 * around it); INT32_MAX (Linux 6.0's default, and ours): none */
	/* PSTACK_TCP_RMEM / PSTACK_TCP_WMEM, like Linux's tcp_rmem / tcp_wmem:
	 * [0] what a connection's buffer may always hold whatever the
	 * stack-wide budget says, [1] its size at first, [2] where autotuning
	 * stops (the receive side's also sets the window scale, RFC 7323 §2.3,
	 * as Linux's tcp_select_initial_window does). Payload bytes. */
	uint32_t tcp_rmem[3];   /* default 4096 65536 6291456 */
	/* The receive space the window scale covers (Linux's
	 * tcp_select_initial_window: the larger of tcp_rmem[2] and
	 * net.core.rmem_max); 0: tcp_rmem[2]. The host takes the namespace's
	 * sysctls (stack/host/config.c, host_config_kernel). */
	uint32_t rmem_scale;
	/* The namespace's net.ipv4.ip_nonlocal_bind: a bind to an address not
	 * the stack's is taken from every socket, as IP_FREEBIND takes it from
	 * one (Linux's inet_can_nonlocal_bind). Read by the host. */
	uint8_t ip_nonlocal_bind;
	/* The namespace's net.core.txrehash (1 by default): what a socket
	 * without SO_TXREHASH does on a retransmission timeout, rethink its
	 * path or not (counted in TCP_INFO's tcpi_rehash). Read by the host. */
	uint8_t txrehash;
	/* The namespace's net.ipv4.tcp_fastopen (RFC 7413), read by the host:
	 * TFO_SERVER_ENABLE (2) lets a listener given TCP_FASTOPEN take data
	 * in a SYN with a valid cookie, _NO_COOKIE (0x200) without one,
	 * _NO_SOCKOPT (0x400) without the option; TFO_CLIENT_ENABLE (1)
	 * lets sendto(MSG_FASTOPEN) and TCP_FASTOPEN_CONNECT ask for cookies
	 * and send data in a SYN with one, _NO_COOKIE (4) without; default 1
	 * (the client bit, Linux's default: the server side off). */
	uint16_t tcp_fastopen;
	/* Its net.ipv4.tcp_fastopen_key: the cookies' keys, [0] the primary
	 * (the one given out), [1] a backup also accepted; 16 bytes each, the
	 * four 32-bit words of the sysctl's text little-endian, as Linux keeps
	 * them. fastopen_keys: how many are set (0: the host derives one). */
	uint8_t tcp_fastopen_key[2][16];
	uint8_t tcp_fastopen_keys;
	uint32_t tcp_wmem[3];   /* default 4096 1048576 4194304 */
	/* The namespace's net.ipv4.tcp_tw_reuse and tcp_tw_reuse_delay, read
	 * by the host: may connect() take, for a port it picks itself, the
	 * 4-tuple of a connection waiting out TIME_WAIT, when the peer used
	 * timestamps and the wait began more than tcp_tw_reuse_delay_ms ago?
	 * 0 never, 1 always, 2 (default) with a loopback address only. A port
	 * bind() named is taken whatever this says (Linux's tcp_twsk_unique). */
	uint8_t tcp_tw_reuse;
	uint32_t tcp_tw_reuse_delay_ms;  /* default 1000 */
	/* The namespace's net.ipv4.ip_local_port_range, read by the host: the
	 * ports connect(), bind() to port 0 and UDP's first send pick from
	 * (a socket's IP_LOCAL_PORT_RANGE narrows it). Default 32768 60999. */
	uint16_t ip_local_port_lo, ip_local_port_hi;
	uint8_t tcp_ecn;        /* PSTACK_TCP_ECN (RFC 3168), like Linux's tcp_ecn: 0 off, 1 ask on the
				 * SYNs we send and accept, 2 (default) accept when the peer asks */
	/* The namespace's TCP timers and retry counts, read by the host, with
	 * Linux's defaults: net.ipv4.tcp_syn_retries (6: SYNs resent before
	 * connect() gives up; TCP_SYNCNT overrides), tcp_synack_retries (5),
	 * tcp_retries2 (15: retransmissions of data before the connection
	 * ends), tcp_orphan_retries (0: 8 while the backed-off timer is below
	 * TCP_RTO_MAX), tcp_fin_timeout (60 s: an orphan's FIN_WAIT_2;
	 * TCP_LINGER2 overrides) and tcp_keepalive_time, _intvl, _probes
	 * (7200 s, 75 s, 9: what a socket without TCP_KEEPIDLE, TCP_KEEPINTVL,
	 * TCP_KEEPCNT uses, and what getsockopt() reads for them). */
	uint8_t tcp_syn_retries, tcp_synack_retries, tcp_retries2, tcp_orphan_retries;
	/* ... and net.ipv4.tcp_syn_linear_timeouts (Linux 6.5, default 4): an
	 * active open's first SYN timeouts that keep the SYN's RTO of 1 s,
	 * resent that many times more than tcp_syn_retries says. */
	uint8_t tcp_syn_linear_timeouts;
	/* ... and net.ipv4.tcp_rto_max_ms (Linux 6.15, 1000..120000, default
	 * 120000): the most the retransmission timer backs off to (Linux's
	 * tcp_rto_max, a socket's own with TCP_RTO_MAX_MS), the SYN-ACK's
	 * too. */
	uint32_t tcp_rto_max_ms;
	/* ... and net.ipv4.tcp_invalid_ratelimit (ms, default 500): at most one
	 * ACK per that time answers a connection's invalid segments (out of
	 * window, challenge ACKs: Linux's __tcp_oow_rate_limited); 0: no limit. */
	uint32_t tcp_invalid_ratelimit_ms;
	/* ... and net.ipv4.tcp_frto (default 2): F-RTO, RFC 5682 §3.1 with
	 * SACK's enhancement, as Linux has it (tcp_enter_loss, tcp_process_loss):
	 * after a timeout, the first ACK that moves SND.UNA past the
	 * retransmission lets new data go instead of more retransmissions, and
	 * an ACK of data sent once shows the timeout spurious (undone). 0: off,
	 * anything else on (Linux reads the sysctl as a boolean). */
	uint8_t tcp_frto;
	/* ... and its option switches, Linux's defaults: net.ipv4.tcp_timestamps
	 * (1: RFC 7323 timestamps with a TS offset per address pair, 2: without
	 * the offset, 0: none offered, none taken from a SYN), tcp_sack and
	 * tcp_window_scaling (1; 0: not offered, not taken from a SYN, as
	 * Linux's tcp_parse_options), tcp_slow_start_after_idle (1: cwnd
	 * restarts after an idle RTO, RFC 2861) and tcp_notsent_lowat (what a
	 * socket without TCP_NOTSENT_LOWAT holds unsent at most; 0: no limit,
	 * Linux's UINT_MAX). tcp_ecn, tcp_dsack and tcp_recovery too, unless
	 * PSTACK_TCP_ECN, _DSACK, _RECOVERY set them. */
	uint8_t tcp_timestamps, tcp_sack, tcp_window_scaling, tcp_slow_start_after_idle;
	uint32_t tcp_notsent_lowat;
	uint32_t tcp_fin_timeout_s;
	uint32_t tcp_keepalive_time_s, tcp_keepalive_intvl_s;
	uint8_t tcp_keepalive_probes;
	uint8_t secret[16];     /* key for ISNs, TS offsets, SYN cookies, ephemeral ports; filled by
				 * the host, the same for all of a user's stacks (ctl_user_secret) */
	uint8_t seed[16];       /* this stack's own randomness (the generator behind the first
				 * ephemeral port, IP IDs); filled by the host, zero in tests */
};

#define TFO_CLIENT_ENABLE 0x1
#define TFO_SERVER_ENABLE 0x2
#define TFO_CLIENT_NO_COOKIE 0x4        /* data in the SYN without a cookie, no option */
#define TFO_SERVER_COOKIE_NOT_REQD 0x200
#define TFO_SERVER_WO_SOCKOPT 0x400

/* The documented defaults (secret all zero). */
void config_defaults(struct stack_config *cfg);

#endif
