/*
 * TCP_INFO: the engine's struct tcp_conn_info laid out as Linux's struct
 * tcp_info (linux/tcp.h; glibc's netinet/tcp.h has an older, shorter copy,
 * so this file includes only the kernel's and nothing that clashes with it).
 */
#include "shim/internal.h"

#include <linux/tcp.h>
#include <string.h>

#include "stack/core/tcp/tcp.h"

_Static_assert(sizeof(struct tcp_info) <= SHIM_TCP_INFO_MAX, "SHIM_TCP_INFO_MAX holds struct tcp_info");

/* enum tcp_state to Linux's TCP_* numbering (include/net/tcp_states.h), as
 * the program's socket shows it: TIME_WAIT is CLOSE there (Linux's
 * tcp_time_wait hands the wait to a timewait sock and the socket the
 * program holds is done). */
static uint8_t linux_state(uint8_t st)
{
	static const uint8_t map[] = {
		[TCP_STATE_CLOSED] = 7, [TCP_STATE_LISTEN] = 10, [TCP_STATE_SYN_SENT] = 2,
		[TCP_STATE_SYN_RECEIVED] = 3, [TCP_STATE_ESTABLISHED] = 1, [TCP_STATE_FIN_WAIT_1] = 4,
		[TCP_STATE_FIN_WAIT_2] = 5, [TCP_STATE_CLOSE_WAIT] = 8, [TCP_STATE_CLOSING] = 11,
		[TCP_STATE_LAST_ACK] = 9, [TCP_STATE_TIME_WAIT] = 7,
	};

	return st < sizeof(map) ? map[st] : 7;
}

socklen_t shim_fill_tcp_info(void *out, socklen_t len, const struct tcp_conn_info *ci)
{
	struct tcp_info ti;

	memset(&ti, 0, sizeof(ti));
	ti.tcpi_state = linux_state(ci->state);
	ti.tcpi_ca_state = ci->ca_state;
	ti.tcpi_retransmits = ci->retransmits;
	ti.tcpi_backoff = ci->backoff;
	ti.tcpi_options = ci->options;
	ti.tcpi_snd_wscale = ci->snd_wscale & 15;
	ti.tcpi_rcv_wscale = ci->rcv_wscale & 15;
	ti.tcpi_rto = ci->rto_us;
	ti.tcpi_ato = ci->ato_us;
	ti.tcpi_snd_mss = ci->snd_mss;
	ti.tcpi_rcv_mss = ci->rcv_mss;
	ti.tcpi_unacked = ci->unacked;
	ti.tcpi_sacked = ci->sacked;
	ti.tcpi_lost = ci->lost;
	ti.tcpi_retrans = ci->retrans;
	ti.tcpi_fackets = ci->fackets;
	ti.tcpi_last_data_sent = ci->last_data_sent_ms;
	ti.tcpi_last_ack_recv = ci->last_ack_recv_ms;
	ti.tcpi_last_data_recv = ci->last_data_recv_ms;
	ti.tcpi_pmtu = ci->pmtu;
	ti.tcpi_rcv_ssthresh = ci->rcv_ssthresh;
	ti.tcpi_rtt = ci->rtt_us;
	ti.tcpi_rttvar = ci->rttvar_us;
	ti.tcpi_snd_ssthresh = ci->snd_ssthresh;
	ti.tcpi_snd_cwnd = ci->snd_cwnd;
	ti.tcpi_advmss = ci->advmss;
	ti.tcpi_reordering = ci->reordering;
	ti.tcpi_rcv_rtt = ci->rcv_rtt_us;
	ti.tcpi_rcv_space = ci->rcv_space;
	ti.tcpi_total_retrans = ci->total_retrans;
	ti.tcpi_bytes_acked = ci->bytes_acked;
	ti.tcpi_bytes_received = ci->bytes_received;
	ti.tcpi_segs_out = ci->segs_out;
	ti.tcpi_segs_in = ci->segs_in;
	ti.tcpi_delivery_rate = ci->delivery_rate;
	ti.tcpi_min_rtt = ci->min_rtt_us;
	ti.tcpi_snd_wnd = ci->snd_wnd;
	if (len > sizeof(ti))
		len = sizeof(ti);
	memcpy(out, &ti, len);
	return len;
}
