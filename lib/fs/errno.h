/*
 * POSIX error numbers for the file system and its callers (lib/posix), with
 * Linux's values, so a program's errno means what it would on Linux. lib/fs
 * returns them negated (-ENOENT); nothing else in Exo uses these numbers: the
 * kernel's own codes are inc/error.h's.
 */
#ifndef EXO_LIB_FS_ERRNO_H
#define EXO_LIB_FS_ERRNO_H

#define EPERM 1
#define ENOENT 2
#define EIO 5
#define EBADF 9
#define EAGAIN 11
#define ENOMEM 12
#define EACCES 13
#define EBUSY 16
#define EEXIST 17
#define EXDEV 18
#define ENODEV 19
#define ENOTDIR 20
#define EISDIR 21
#define EINVAL 22
#define EMFILE 24
#define EFBIG 27
#define ENOSPC 28
#define ESPIPE 29
#define EROFS 30
#define EMLINK 31
#define ERANGE 34
#define ENAMETOOLONG 36
#define ENOSYS 38
#define ENOTEMPTY 39
#define ELOOP 40
#define ESTALE 116 /* a file another instance named is no longer there */
#define EUCLEAN 117 /* the on-disk structure is damaged (fsck's finding) */

#endif
