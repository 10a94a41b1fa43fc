/*
 * Views of regular files for sendfile: a mapping of the file (MAP_SHARED,
 * read-only: the page cache itself), so that the send copies each byte once,
 * from the page cache into the connection's send ring, as the stack's
 * tcp_sendv copies a send()'s buffer. The kernel's sendfile copies nothing
 * (the page goes into the skb); the ring is pstack's send queue, so one copy
 * stays. Before: a pread into a bounce buffer and a copy of that into the ring.
 *
 * A mapping is made with MAP_POPULATE, with no lock held, so that the copy
 * under the stack lock takes no page fault (no disk read, no page-table
 * work under it). Views are at most FMAP_WINDOW long, aligned on it: a large
 * file is mapped a window at a time, never whole.
 *
 * A send of less than SHIM_FMAP_MIN bytes from a file without a view is
 * read into a buffer instead (NULL): for a small file a mapping costs more
 * than the copy it saves. A sendfile() asked for less than that is read
 * without looking for a view (shim_sendfile).
 *
 * Views are kept (FMAP_SLOTS of them, least recently used out first),
 * because a server sends one file again and again (nginx's 1 MiB file, each
 * request a few calls as the send buffer makes room): a mapping per call
 * costs the mmap and populate of its pages, and its munmap a TLB shootdown
 * on every CPU that runs one of the process's threads (the stack process
 * shares the memory). A view is the file's as its device, inode, size and
 * modification time say (fstat on every call, by the caller): a file that
 * changed gets a new view, the old one is unmapped once no send uses it.
 * Its contents are the page cache's, current whatever the key says; only
 * the size matters to the mapping, whose pages past a new end fault.
 *
 * Concurrency: one mutex over the table, held for lookups only (no system
 * call under it: mmap and munmap run outside). It is taken with trylock:
 * a thread that finds it held (another thread, or the call a signal
 * handler interrupted) maps for its own call only, so there is no wait and
 * no deadlock. Leaf lock: never held with the stack lock (the caller takes
 * that only in the send, between get and put).
 *
 * A fork child never sends on a stack socket (shim/core.c,
 * shim_fork_child), so the table is the parent's only.
 */
#include "shim/sendfile.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

enum {
	FMAP_SLOTS = 4,
	FMAP_WINDOW = 4 << 20,      /* a multiple of every page size */
};

struct shim_fmap {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	off_t moff;                 /* the window: [moff, moff + mlen) of the file */
	size_t mlen;
	char *addr;                 /* NULL: a free slot */
	unsigned refs;              /* sends using it */
	uint64_t used;              /* fmap_clock at its last get */
	bool stale;                 /* unmapped when refs drops to 0 */
	bool kept;                  /* a slot of the table, else this call's own */
};

static pthread_mutex_t fmap_mu = PTHREAD_MUTEX_INITIALIZER;
static struct shim_fmap fmap_tab[FMAP_SLOTS];      /* under fmap_mu */
static uint64_t fmap_clock;                         /* under fmap_mu */

static bool same_file(const struct shim_fmap *e, const struct stat *st)
{
	return e->dev == st->st_dev && e->ino == st->st_ino;
}

static bool same_version(const struct shim_fmap *e, const struct stat *st)
{
	return e->size == st->st_size && e->mtime.tv_sec == st->st_mtim.tv_sec &&
	       e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* Under fmap_mu: takes e's mapping out of the table into *gone (to be
 * unmapped after the unlock). */
static void fmap_evict(struct shim_fmap *e, struct shim_fmap *gone)
{
	*gone = *e;
	e->addr = NULL;
}

static void fmap_unmap(const struct shim_fmap *gone, int n)
{
	for (int i = 0; i < n; i++)
		munmap(gone[i].addr, gone[i].mlen);
}

static const char *fmap_view(struct shim_fmap *e, off_t off, size_t want, size_t *len)
{
	size_t left = (size_t)(e->moff + (off_t)e->mlen - off);

	*len = want < left ? want : left;
	return e->addr + (off - e->moff);
}

const char *shim_fmap_get(int fd, const struct stat *st, off_t off, size_t want, size_t *len,
			  struct shim_fmap **m)
{
	struct shim_fmap gone[FMAP_SLOTS], *e, *slot = NULL;
	off_t moff = off - off % FMAP_WINDOW;
	size_t mlen = st->st_size - moff < FMAP_WINDOW ? (size_t)(st->st_size - moff) : FMAP_WINDOW;
	int ngone = 0;
	bool locked;
	void *p;

	locked = pthread_mutex_trylock(&fmap_mu) == 0;
	if (locked) {
		for (int i = 0; i < FMAP_SLOTS; i++) {
			e = &fmap_tab[i];
			if (!e->addr || !same_file(e, st))
				continue;
			if (!e->stale && same_version(e, st) && e->moff == moff) {
				e->refs++;
				e->used = ++fmap_clock;
				pthread_mutex_unlock(&fmap_mu);
				*m = e;
				return fmap_view(e, off, want, len);
			}
			/* Another version of this file: not to be used again. */
			if (!same_version(e, st)) {
				e->stale = true;
				if (!e->refs)
					fmap_evict(e, &gone[ngone++]);
			}
		}
		pthread_mutex_unlock(&fmap_mu);
		fmap_unmap(gone, ngone);
		ngone = 0;
	}
	/* A short send from a file not mapped yet (a small file, the tail of
	 * one): a pread and a copy cost less than a mapping's mmap, populate and
	 * later munmap. */
	if (want < SHIM_FMAP_MIN)
		return NULL;
	p = mmap(NULL, mlen, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, moff);
	if (p == MAP_FAILED)
		return NULL;
	if (locked && pthread_mutex_trylock(&fmap_mu) == 0) {
		/* A free slot, else the least recently used one nobody uses. */
		for (int i = 0; i < FMAP_SLOTS; i++) {
			e = &fmap_tab[i];
			if (!e->addr) {
				slot = e;
				break;
			}
			if (!e->refs && (!slot || e->used < slot->used))
				slot = e;
		}
		if (slot) {
			if (slot->addr)
				fmap_evict(slot, &gone[ngone++]);
			*slot = (struct shim_fmap){ .dev = st->st_dev, .ino = st->st_ino,
						    .size = st->st_size, .mtime = st->st_mtim,
						    .moff = moff, .mlen = mlen, .addr = p, .refs = 1,
						    .used = ++fmap_clock, .kept = true };
		}
		pthread_mutex_unlock(&fmap_mu);
		fmap_unmap(gone, ngone);
	}
	if (!slot) {
		/* No room (every view in use) or the table busy: this call's own. */
		slot = malloc(sizeof(*slot));
		if (!slot) {
			munmap(p, mlen);
			return NULL;
		}
		*slot = (struct shim_fmap){ .moff = moff, .mlen = mlen, .addr = p, .refs = 1 };
	}
	*m = slot;
	return fmap_view(slot, off, want, len);
}

void shim_fmap_put(struct shim_fmap *m, bool stale)
{
	struct shim_fmap gone;
	bool unmap = false;

	if (!m->kept) {
		munmap(m->addr, m->mlen);
		free(m);
		return;
	}
	pthread_mutex_lock(&fmap_mu);
	m->refs--;
	if (stale)
		m->stale = true;
	if (m->stale && !m->refs) {
		fmap_evict(m, &gone);
		unmap = true;
	}
	pthread_mutex_unlock(&fmap_mu);
	if (unmap)
		fmap_unmap(&gone, 1);
}
