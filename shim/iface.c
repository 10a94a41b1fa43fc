/*
 * Interfaces as programs see them under the preload: the stack's interface
 * (the TAP's kernel name and index, with the stack's address, netmask, MAC
 * and MTU) in place of the TAP's kernel side, the loopback unchanged (its
 * sockets are the kernel's), and no other interface in the lists
 * (SIOCGIFCONF, getifaddrs, if_nameindex): a stack socket can use none (a
 * bind to its address answers EADDRNOTAVAIL). A program that picks the
 * addresses to bind from the list (dnsmasq --bind-interfaces, servers that
 * listen "on every interface") then binds what the stack has. Asked by
 * name or index, another interface is the kernel's answer: netlink's list
 * keeps them (below), and a program that read it asks about each one
 * (dnsmasq's interface scan, SIOCGIFNAME then SIOCGIFFLAGS, failed to
 * start with "failed to find list of interfaces: No such device" on a host
 * with one more interface than lo and the TAP).
 *
 * Served here: the interface ioctls on a stack socket (SIOCGIFCONF,
 * SIOCGIFADDR, SIOCGIFNETMASK, SIOCGIFBRDADDR, SIOCGIFHWADDR, SIOCGIFMTU,
 * SIOCGIFFLAGS, SIOCGIFINDEX, SIOCGIFNAME), and the lists getifaddrs() and
 * if_nameindex() return (the preload calls the real ones, then these). The
 * kernel answers first, with its own checks and errors; the answer is then
 * rewritten. Netlink (RTM_GETADDR, RTM_GETLINK: `ip addr`, dnsmasq, glibc's
 * own getifaddrs before the rewrite above) read through recvmsg/recvfrom on
 * a NETLINK_ROUTE socket the program made: the TAP's addresses, prefix, MAC
 * and MTU are the stack's, rewritten in place (same sizes; an attribute the
 * kernel did not send is not added); its other interfaces stay in those
 * answers (a message cannot be taken out of a stream the program may have
 * peeked at). glibc's getifaddrs() asks netlink with its internal calls: its
 * list is rewritten as a whole instead.
 */
#include "shim/internal.h"

#include <errno.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

static bool get_iface(struct shim_iface *ifc)
{
	return shim_host.iface && shim_host.iface(shim_host.ctx, ifc) == 0 && ifc->name[0];
}

static uint32_t netmask(uint8_t prefix_len)
{
	return prefix_len ? 0xffffffffu << (32 - prefix_len) : 0;
}

static void put_in(struct sockaddr *sa, uint32_t addr)
{
	struct sockaddr_in in;

	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	in.sin_addr.s_addr = htonl(addr);
	memcpy(sa, &in, sizeof(in));
}

static void set_name(char dst[IFNAMSIZ], const char *src)
{
	size_t n = strnlen(src, IFNAMSIZ - 1);

	memcpy(dst, src, n);
	dst[n] = 0;
}

static bool is_tap(const struct shim_iface *ifc, const char *name)
{
	return strncmp(name, ifc->name, IFNAMSIZ) == 0;
}

/* What the kernel says of an interface's flags (-1: no such interface). */
static int kernel_flags(int fd, const char *name)
{
	struct ifreq r;

	memset(&r, 0, sizeof(r));
	set_name(r.ifr_name, name);
	if (shim_libc.ioctl(fd, SIOCGIFFLAGS, &r) < 0)
		return -1;
	return (unsigned short)r.ifr_flags;
}

/* The interfaces a program sees: the stack's and the loopback. */
static bool visible(int fd, const struct shim_iface *ifc, const char *name)
{
	int f;

	if (is_tap(ifc, name))
		return true;
	f = kernel_flags(fd, name);
	return f >= 0 && (f & IFF_LOOPBACK);
}

/* SIOCGIFCONF: the kernel's list (one ifreq per IPv4 address), the stack's
 * address on the TAP's entry (added when the kernel side has none), the
 * entries of other interfaces left out. The program's struct ifconf (uc)
 * and buffer are read and written as Linux's dev_ifconf does: copied, EFAULT
 * when they cannot be. */
static int ifconf(int fd, const struct shim_iface *ifc, struct ifconf *uc)
{
	enum { MAX = 128 };
	struct ifreq *all;
	struct ifconf kc = { .ifc_len = (int)(MAX * sizeof(struct ifreq)) }, pc;
	int n, kept = 0, r = 0;
	bool tap = false;

	if (shim_copy(&pc, uc, sizeof(pc)))
		return -EFAULT;
	all = calloc(MAX + 1, sizeof(*all));
	if (!all)
		return -ENOMEM;
	kc.ifc_req = all;
	if (shim_libc.ioctl(fd, SIOCGIFCONF, &kc) < 0) {
		r = -errno;
		goto out;
	}
	n = kc.ifc_len / (int)sizeof(*all);
	for (int i = 0; i < n; i++) {
		if (!visible(fd, ifc, all[i].ifr_name))
			continue;
		if (is_tap(ifc, all[i].ifr_name)) {
			if (tap)
				continue;       /* one address on the stack's interface */
			tap = true;
			put_in(&all[i].ifr_addr, ifc->addr);
		}
		all[kept++] = all[i];
	}
	if (!tap) {
		memset(&all[kept], 0, sizeof(all[kept]));
		set_name(all[kept].ifr_name, ifc->name);
		put_in(&all[kept].ifr_addr, ifc->addr);
		kept++;
	}
	if (!pc.ifc_buf) {
		/* Linux: a NULL buffer asks for the length needed. */
		pc.ifc_len = kept * (int)sizeof(*all);
	} else {
		int room = pc.ifc_len < 0 ? 0 : pc.ifc_len / (int)sizeof(*all);

		if (room > kept)
			room = kept;
		if (shim_copy(pc.ifc_req, all, (size_t)room * sizeof(*all)))
			r = -EFAULT;
		pc.ifc_len = room * (int)sizeof(*all);
	}
	if (r == 0 && shim_copy(uc, &pc, sizeof(pc)))
		r = -EFAULT;
out:
	free(all);
	return r;
}

bool shim_iface_ioctl_req(unsigned long req)
{
	switch (req) {
	case SIOCGIFCONF:
	case SIOCGIFADDR:
	case SIOCGIFNETMASK:
	case SIOCGIFBRDADDR:
	case SIOCGIFHWADDR:
	case SIOCGIFMTU:
	case SIOCGIFFLAGS:
	case SIOCGIFINDEX:
	case SIOCGIFNAME:
		return true;
	default:
		return false;
	}
}

int shim_iface_ioctl(int fd, unsigned long req, void *arg)
{
	struct shim_iface ifc;
	struct ifreq r;
	int kr, ke;

	if (!get_iface(&ifc) || !arg)
		return SHIM_PASS;
	if (req == SIOCGIFCONF)
		return ifconf(fd, &ifc, arg);
	/* The kernel first: its errors (ENODEV, EFAULT...) and the fields kept.
	 * The program's struct is then read and written through copies. */
	kr = shim_libc.ioctl(fd, req, arg);
	ke = errno;
	if ((kr < 0 && ke == EFAULT) || shim_copy(&r, arg, sizeof(r)))
		return -EFAULT;
	if (req == SIOCGIFNAME)
		return kr < 0 ? -ke : 0;    /* by index: the kernel's name */
	r.ifr_name[IFNAMSIZ - 1] = 0;
	if (kr < 0 && ke == ENODEV)
		return -ENODEV;     /* no such device, the TAP included */
	if (!is_tap(&ifc, r.ifr_name))
		return kr < 0 ? -ke : 0;
	switch (req) {
	case SIOCGIFADDR:
		put_in(&r.ifr_addr, ifc.addr);
		break;
	case SIOCGIFNETMASK:
		put_in(&r.ifr_netmask, netmask(ifc.prefix_len));
		break;
	case SIOCGIFBRDADDR:
		put_in(&r.ifr_broadaddr, ifc.addr | ~netmask(ifc.prefix_len));
		break;
	case SIOCGIFHWADDR:
		if (kr < 0)
			return -ke;
		r.ifr_hwaddr.sa_family = ARPHRD_ETHER;
		memcpy(r.ifr_hwaddr.sa_data, ifc.mac, 6);
		break;
	case SIOCGIFMTU:
		if (kr < 0)
			return -ke;
		if (ifc.mtu)
			r.ifr_mtu = (int)ifc.mtu;
		break;
	default:
		/* SIOCGIFFLAGS, SIOCGIFINDEX: the TAP's own. */
		return kr < 0 ? -ke : 0;
	}
	/* The addresses: the stack's, whether the kernel side has one or not. */
	return shim_copy(arg, &r, sizeof(r));
}

/* The entry of getifaddrs()'s list rewritten, or false when it goes. */
static bool fix_ifaddr(const struct shim_iface *ifc, struct ifaddrs *a)
{
	if (!a->ifa_name)
		return false;
	if (!is_tap(ifc, a->ifa_name))
		return (a->ifa_flags & IFF_LOOPBACK) != 0;
	if (a->ifa_addr && a->ifa_addr->sa_family == AF_INET) {
		put_in(a->ifa_addr, ifc->addr);
		if (a->ifa_netmask)
			put_in(a->ifa_netmask, netmask(ifc->prefix_len));
		if ((a->ifa_flags & IFF_BROADCAST) && a->ifa_broadaddr)
			put_in(a->ifa_broadaddr, ifc->addr | ~netmask(ifc->prefix_len));
	} else if (a->ifa_addr && a->ifa_addr->sa_family == AF_PACKET) {
		struct sockaddr_ll ll;

		memcpy(&ll, a->ifa_addr, sizeof(ll));
		if (ll.sll_halen == 6) {
			memcpy(ll.sll_addr, ifc->mac, 6);
			memcpy(a->ifa_addr, &ll, sizeof(ll));
		}
	}
	return true;
}

void shim_iface_fix_ifaddrs(struct ifaddrs **list)
{
	static struct ifaddrs *const none;
	struct shim_iface ifc;
	struct ifaddrs *head, *prev = NULL, *first = NULL;

	/* list is the program's (glibc's getifaddrs wrote it already); the
	 * list it points to is glibc's. */
	if (shim_copy(&head, list, sizeof(head)) || !head || !get_iface(&ifc))
		return;
	/* glibc's list is one allocation whose first entry is the head that
	 * freeifaddrs() frees: entries are unlinked, never freed, and the head
	 * stays the first (a copy of the first entry kept). */
	for (struct ifaddrs *a = head; a; a = a->ifa_next) {
		if (!fix_ifaddr(&ifc, a))
			continue;
		if (!first)
			first = a;
		else
			prev->ifa_next = a;
		prev = a;
	}
	if (!first) {
		if (shim_copy(list, &none, sizeof(none)) == 0)
			freeifaddrs(head);
		return;
	}
	prev->ifa_next = NULL;
	if (first != head)
		*head = *first;     /* first's links and pointers, at the head's place */
}

void shim_iface_fix_nameindex(struct if_nameindex *v)
{
	struct shim_iface ifc;
	size_t k = 0;

	if (!v || !get_iface(&ifc))
		return;
	for (size_t i = 0; v[i].if_index || v[i].if_name; i++) {
		/* The loopback by name: if_nameindex tells no flags. */
		if (is_tap(&ifc, v[i].if_name) || strcmp(v[i].if_name, "lo") == 0)
			v[k++] = v[i];
		else
			free(v[i].if_name);
	}
	v[k].if_index = 0;
	v[k].if_name = NULL;
}

/* ---- netlink ---- */

static void netlink_last_close(struct shim_obj *o) { (void)o; }
static void netlink_free(struct shim_obj *o) { free(o); }

static const struct shim_obj_ops netlink_ops = {
	.last_close = netlink_last_close,
	.free = netlink_free,
};

int shim_netlink_socket(int domain, int type, int protocol)
{
	struct shim_iface ifc;
	struct shim_obj *o;
	int fd;

	if (protocol != NETLINK_ROUTE || shim_proc_state() != SHIM_PROC_OWNER || !get_iface(&ifc))
		return SHIM_PASS;
	fd = shim_libc.socket(domain, type, protocol);
	if (fd < 0)
		return -errno;
	o = calloc(1, sizeof(*o));
	if (o) {
		o->kind = SHIM_OBJ_NETLINK;
		o->ops = &netlink_ops;
		if (shim_install(fd, o) < 0)
			free(o);    /* beyond the table: the kernel's, unchanged */
	}
	return fd;
}

/* The attributes of one message (from off to end): where type's value is,
 * when it is size bytes long. */
static uint8_t *rta_find(uint8_t *p, size_t off, size_t end, unsigned short type, size_t size, size_t *next)
{
	while (off + sizeof(struct rtattr) <= end) {
		struct rtattr a;

		memcpy(&a, p + off, sizeof(a));
		if (a.rta_len < sizeof(a) || a.rta_len > end - off)
			return NULL;
		if (a.rta_type == type && a.rta_len == RTA_LENGTH(size)) {
			*next = off + RTA_ALIGN(a.rta_len);
			return p + off + RTA_LENGTH(0);
		}
		off += RTA_ALIGN(a.rta_len);
	}
	return NULL;
}

static void rta_put32(uint8_t *p, size_t off, size_t end, unsigned short type, uint32_t be)
{
	uint8_t *v;
	size_t next;

	while ((v = rta_find(p, off, end, type, 4, &next))) {
		memcpy(v, &be, 4);
		off = next;
	}
}

/* Rewrites the route messages in p (len bytes) about the TAP. */
static void netlink_fix(const struct shim_iface *ifc, uint8_t *p, size_t len)
{
	size_t off = 0;

	while (off + NLMSG_HDRLEN <= len) {
		struct nlmsghdr h;
		size_t end;

		memcpy(&h, p + off, sizeof(h));
		if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > len - off)
			break;
		end = off + h.nlmsg_len;
		if (h.nlmsg_type == RTM_NEWADDR && h.nlmsg_len >= NLMSG_LENGTH(sizeof(struct ifaddrmsg))) {
			struct ifaddrmsg a;
			size_t at = off + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(a));

			memcpy(&a, p + off + NLMSG_HDRLEN, sizeof(a));
			if (a.ifa_family == AF_INET && a.ifa_index == ifc->index) {
				a.ifa_prefixlen = ifc->prefix_len;
				memcpy(p + off + NLMSG_HDRLEN, &a, sizeof(a));
				rta_put32(p, at, end, IFA_ADDRESS, htonl(ifc->addr));
				rta_put32(p, at, end, IFA_LOCAL, htonl(ifc->addr));
				rta_put32(p, at, end, IFA_BROADCAST, htonl(ifc->addr | ~netmask(ifc->prefix_len)));
			}
		} else if (h.nlmsg_type == RTM_NEWLINK && h.nlmsg_len >= NLMSG_LENGTH(sizeof(struct ifinfomsg))) {
			struct ifinfomsg i;
			size_t at = off + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(i)), next;
			uint8_t *v;

			memcpy(&i, p + off + NLMSG_HDRLEN, sizeof(i));
			if (i.ifi_index > 0 && (unsigned)i.ifi_index == ifc->index) {
				if ((v = rta_find(p, at, end, IFLA_ADDRESS, 6, &next)))
					memcpy(v, ifc->mac, 6);
				if (ifc->mtu && (v = rta_find(p, at, end, IFLA_MTU, 4, &next)))
					memcpy(v, &ifc->mtu, 4);
			}
		}
		off += NLMSG_ALIGN(h.nlmsg_len);
	}
}

/* fd is one of ours: a reference to it, or NULL (then SHIM_PASS). */
static struct shim_obj *netlink_get(int fd)
{
	struct shim_obj *o;

	if (!shim_owns(fd) || !(o = shim_get(fd)))
		return NULL;
	if (o->kind != SHIM_OBJ_NETLINK) {
		shim_put(o);
		return NULL;
	}
	return o;
}

/* What netlink_fix needs, for shim_user_do. */
struct netlink_fix_arg {
	struct shim_iface ifc;
	uint8_t *p;
	size_t len;
};

static void netlink_fix_user(void *arg)
{
	struct netlink_fix_arg *a = arg;

	netlink_fix(&a->ifc, a->p, a->len);
}

/* The kernel's answer in the program's buffer p (len bytes of it), rewritten
 * there: n, or EFAULT when the buffer stopped being the program's since the
 * kernel wrote it (another thread unmapped it). */
static ssize_t netlink_fix_buf(void *p, size_t len, ssize_t n)
{
	struct netlink_fix_arg a = { .p = p, .len = len };

	if (n <= 0 || !p || !len || !get_iface(&a.ifc))
		return n;
	return shim_user_do(netlink_fix_user, &a, p, len) ? -EFAULT : n;
}

ssize_t shim_netlink_recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct shim_obj *o = netlink_get(fd);
	struct msghdr m;
	struct iovec iov;
	ssize_t n;
	int e;

	if (!o)
		return SHIM_PASS;
	n = SHIM_SAFE_CALL(shim_libc.recvmsg(fd, msg, flags));
	e = errno;
	shim_put(o);
	if (n < 0)
		return -e;
	/* One buffer (what every netlink reader passes); MSG_TRUNC may say more
	 * than it holds. The kernel read the msghdr and its iovec already: they
	 * are copied all the same, as is all the program's memory. */
	if (n <= 0)
		return n;
	if (shim_copy(&m, msg, sizeof(m)) || (m.msg_iovlen >= 1 && shim_copy(&iov, m.msg_iov, sizeof(iov))))
		return -EFAULT;
	if (m.msg_iovlen < 1)
		return n;
	return netlink_fix_buf(iov.iov_base, (size_t)n < iov.iov_len ? (size_t)n : iov.iov_len, n);
}

ssize_t shim_netlink_recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *sa, socklen_t *salen)
{
	struct shim_obj *o = netlink_get(fd);
	ssize_t n;
	int e;

	if (!o)
		return SHIM_PASS;
	n = SHIM_SAFE_CALL(shim_libc.recvfrom(fd, buf, len, flags, sa, salen));
	e = errno;
	shim_put(o);
	if (n < 0)
		return -e;
	return netlink_fix_buf(buf, (size_t)n < len ? (size_t)n : len, n);
}
