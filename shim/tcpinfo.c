/*
 * TCP_INFO: the engine's struct tcp_conn_info laid out as Linux's struct
 * tcp_info (linux/tcp.h; glibc's netinet/tcp.h has an older, shorter copy,
 * so this file includes only the kernel's and nothing that clashes with it).
 */
#include "shim/internal.h"

#include <linux/tcp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "stack/core/tcp/tcp.h"

/*
 * What Linux 6.18 answers: the installed headers' struct tcp_info (up to
 * tcpi_snd_wnd, 232 bytes) and the fields added since (tcpi_rcv_wnd to the
 * AccECN counters): 280 bytes, measured on this machine's kernel.
 */
struct linux_tcp_info {
	struct tcp_info base;
	uint32_t rcv_wnd;
	uint32_t rehash;
	uint16_t total_rto;
	uint16_t total_rto_recoveries;
	uint32_t total_rto_time;
	uint32_t received_ce;
	uint32_t delivered_e1_bytes, delivered_e0_bytes, delivered_ce_bytes;
	uint32_t received_e1_bytes, received_e0_bytes, received_ce_bytes;
	uint16_t accecn_fail_mode;
	uint16_t accecn_opt_seen;
};

_Static_assert(offsetof(struct linux_tcp_info, rcv_wnd) == 232, "tcpi_rcv_wnd follows tcpi_snd_wnd");
_Static_assert(sizeof(struct linux_tcp_info) == 280, "Linux 6.18's struct tcp_info is 280 bytes");
_Static_assert(sizeof(struct linux_tcp_info) <= SHIM_TCP_INFO_MAX, "SHIM_TCP_INFO_MAX holds struct tcp_info");

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
	struct linux_tcp_info lt;
	struct tcp_info *ti = &lt.base;

	memset(&lt, 0, sizeof(lt));
	ti->tcpi_state = linux_state(ci->state);
	ti->tcpi_ca_state = ci->ca_state;
	ti->tcpi_retransmits = ci->retransmits;
	ti->tcpi_backoff = ci->backoff;
	ti->tcpi_probes = ci->probes;
	ti->tcpi_options = ci->options;
	ti->tcpi_snd_wscale = ci->snd_wscale & 15;
	ti->tcpi_delivery_rate_app_limited = ci->delivery_rate_app_limited;
	ti->tcpi_rcv_wscale = ci->rcv_wscale & 15;
	ti->tcpi_rto = ci->rto_us;
	ti->tcpi_ato = ci->ato_us;
	ti->tcpi_snd_mss = ci->snd_mss;
	ti->tcpi_rcv_mss = ci->rcv_mss;
	ti->tcpi_unacked = ci->unacked;
	ti->tcpi_sacked = ci->sacked;
	ti->tcpi_lost = ci->lost;
	ti->tcpi_retrans = ci->retrans;
	ti->tcpi_fackets = ci->fackets;
	ti->tcpi_last_data_sent = ci->last_data_sent_ms;
	ti->tcpi_last_ack_recv = ci->last_ack_recv_ms;
	ti->tcpi_last_data_recv = ci->last_data_recv_ms;
	ti->tcpi_pmtu = ci->pmtu;
	ti->tcpi_rcv_ssthresh = ci->rcv_ssthresh;
	ti->tcpi_rtt = ci->rtt_us;
	ti->tcpi_rttvar = ci->rttvar_us;
	ti->tcpi_snd_ssthresh = ci->snd_ssthresh;
	ti->tcpi_snd_cwnd = ci->snd_cwnd;
	ti->tcpi_advmss = ci->advmss;
	ti->tcpi_reordering = ci->reordering;
	ti->tcpi_rcv_rtt = ci->rcv_rtt_us;
	ti->tcpi_rcv_space = ci->rcv_space;
	ti->tcpi_total_retrans = ci->total_retrans;
	ti->tcpi_pacing_rate = ci->pacing_rate;
	ti->tcpi_max_pacing_rate = ci->max_pacing_rate;
	ti->tcpi_bytes_acked = ci->bytes_acked;
	ti->tcpi_bytes_received = ci->bytes_received;
	ti->tcpi_segs_out = ci->segs_out;
	ti->tcpi_segs_in = ci->segs_in;
	ti->tcpi_notsent_bytes = ci->notsent_bytes;
	ti->tcpi_min_rtt = ci->min_rtt_us;
	ti->tcpi_data_segs_in = ci->data_segs_in;
	ti->tcpi_data_segs_out = ci->data_segs_out;
	ti->tcpi_delivery_rate = ci->delivery_rate;
	ti->tcpi_bytes_sent = ci->bytes_sent;
	ti->tcpi_bytes_retrans = ci->bytes_retrans;
	ti->tcpi_dsack_dups = ci->dsack_dups;
	ti->tcpi_delivered = ci->delivered;
	ti->tcpi_delivered_ce = ci->delivered_ce;
	ti->tcpi_reord_seen = ci->reord_seen;
	ti->tcpi_busy_time = ci->busy_us;
	ti->tcpi_rwnd_limited = ci->rwnd_limited_us;
	ti->tcpi_sndbuf_limited = ci->sndbuf_limited_us;
	ti->tcpi_rcv_ooopack = ci->rcv_ooopack;
	ti->tcpi_snd_wnd = ci->snd_wnd;
	lt.rcv_wnd = ci->rcv_wnd;
	lt.rehash = ci->rehash;
	lt.received_ce = ci->received_ce;
	lt.received_e1_bytes = ci->received_e1_bytes;
	lt.received_e0_bytes = ci->received_e0_bytes;
	lt.received_ce_bytes = ci->received_ce_bytes;
	lt.total_rto = (uint16_t)(ci->total_rto > UINT16_MAX ? UINT16_MAX : ci->total_rto);
	lt.total_rto_recoveries = (uint16_t)(ci->total_rto_recoveries > UINT16_MAX ? UINT16_MAX :
					     ci->total_rto_recoveries);
	lt.total_rto_time = ci->total_rto_time_ms;
	if (len > sizeof(lt))
		len = sizeof(lt);
	memcpy(out, &lt, len);
	return len;
}
