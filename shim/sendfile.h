/*
 * Views of regular files for sendfile (shim/sendfile.c): the bytes go from
 * the page cache into the connection's send ring in one copy, instead of a
 * pread into a buffer of ours and a second copy into the ring.
 */
#ifndef PSTACK_SHIM_SENDFILE_H
#define PSTACK_SHIM_SENDFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

struct shim_fmap;

/* A new mapping is made for a send of at least this many bytes. */
#define SHIM_FMAP_MIN (64 << 10)

/*
 * A read-only view of regular file fd (st: its fstat, now) from offset off
 * (0 <= off < st->st_size): the bytes at the address returned, *len of them
 * (at least 1, at most want and what is left of the file as st says), to be
 * handed back with shim_fmap_put(*m). NULL when the file cannot be mapped
 * (its file system does not map, the fd is not readable, no memory), or
 * when want is small and no view is kept: the caller reads it instead. Views are kept for the next call on the same file
 * (its device, inode, size and modification time). The memory is the file's
 * page cache: a file cut shorter meanwhile faults (SIGBUS) past its new end,
 * so it is read only through shim_copy (the stack's copy), which gives
 * EFAULT then. No lock held (it makes system calls).
 */
const char *shim_fmap_get(int fd, const struct stat *st, off_t off, size_t want, size_t *len,
			  struct shim_fmap **m);
/* Hands a view back; stale: a copy from it faulted (the file changed), so
 * that it is not used again. No lock held. */
void shim_fmap_put(struct shim_fmap *m, bool stale);

#endif
