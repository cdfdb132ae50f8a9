/*
 * lib/posix's turns at the family's file tree (fsturn.c), for file.c: each
 * file operation runs between fs_turn_begin and fs_turn_end.
 */
#ifndef EXO_LIB_POSIX_FSTURN_H
#define EXO_LIB_POSIX_FSTURN_H

#include <lib/posix/posix.h>
#include <lib/fs/fs.h>

/* Start a turn at the tree, mounting it if need be: 0 and *out, or -errno
 * (-ENOSYS: no disk). */
int fs_turn_begin(struct fs **out);
/* End it; r is the operation's result (returned, or the commit's error);
 * commit: the operation asked for its changes to be durable (fsync, sync). */
long fs_turn_end(long r);
long fs_turn_end_as(long r, bool commit);
/* Is the tree mounted (an open file's calls answer -EIO once it is not)? */
bool fs_turn_mounted(void);

#endif
