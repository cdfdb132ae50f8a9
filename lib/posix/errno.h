/*
 * POSIX error numbers, with Linux's values (asm-generic/errno-base.h and
 * errno.h), so a Linux-ABI library OS can hand them through unchanged.
 *
 * Convention of the POSIX layer (lib/posix/posix.h): a call returns a value
 * >= 0 on success or the negated error number, as Linux's system calls do;
 * there is no global errno (threads need none, and nothing is lost between
 * the failure and the check). strerror() gives the message.
 *
 * The list is one X-macro, so names, numbers and messages stay together.
 */
#ifndef EXO_LIB_POSIX_ERRNO_H
#define EXO_LIB_POSIX_ERRNO_H

#define POSIX_ERRNOS(X)                                              \
	X(EPERM, 1, "Operation not permitted")                       \
	X(ENOENT, 2, "No such file or directory")                    \
	X(ESRCH, 3, "No such process")                               \
	X(EINTR, 4, "Interrupted system call")                       \
	X(EIO, 5, "Input/output error")                              \
	X(ENXIO, 6, "No such device or address")                     \
	X(E2BIG, 7, "Argument list too long")                        \
	X(ENOEXEC, 8, "Exec format error")                           \
	X(EBADF, 9, "Bad file descriptor")                           \
	X(ECHILD, 10, "No child processes")                          \
	X(EAGAIN, 11, "Resource temporarily unavailable")            \
	X(ENOMEM, 12, "Cannot allocate memory")                      \
	X(EACCES, 13, "Permission denied")                           \
	X(EFAULT, 14, "Bad address")                                 \
	X(EBUSY, 16, "Device or resource busy")                      \
	X(EEXIST, 17, "File exists")                                 \
	X(EXDEV, 18, "Invalid cross-device link")                    \
	X(ENODEV, 19, "No such device")                              \
	X(ENOTDIR, 20, "Not a directory")                            \
	X(EISDIR, 21, "Is a directory")                              \
	X(EINVAL, 22, "Invalid argument")                            \
	X(ENFILE, 23, "Too many open files in system")               \
	X(EMFILE, 24, "Too many open files")                         \
	X(ENOTTY, 25, "Inappropriate ioctl for device")              \
	X(EFBIG, 27, "File too large")                               \
	X(ENOSPC, 28, "No space left on device")                     \
	X(ESPIPE, 29, "Illegal seek")                                \
	X(EROFS, 30, "Read-only file system")                        \
	X(EMLINK, 31, "Too many links")                              \
	X(EPIPE, 32, "Broken pipe")                                  \
	X(ERANGE, 34, "Numerical result out of range")               \
	X(ENAMETOOLONG, 36, "File name too long")                    \
	X(ENOSYS, 38, "Function not implemented")                    \
	X(ENOTEMPTY, 39, "Directory not empty")                      \
	X(ELOOP, 40, "Too many levels of symbolic links")            \
	X(ENOTSOCK, 88, "Socket operation on non-socket")            \
	X(EMSGSIZE, 90, "Message too long")                          \
	X(EOPNOTSUPP, 95, "Operation not supported")                 \
	X(EAFNOSUPPORT, 97, "Address family not supported by protocol") \
	X(EADDRINUSE, 98, "Address already in use")                  \
	X(EADDRNOTAVAIL, 99, "Cannot assign requested address")      \
	X(ENETDOWN, 100, "Network is down")                          \
	X(ECONNABORTED, 103, "Software caused connection abort")     \
	X(ECONNRESET, 104, "Connection reset by peer")               \
	X(EISCONN, 106, "Transport endpoint is already connected")   \
	X(ENOTCONN, 107, "Transport endpoint is not connected")      \
	X(ETIMEDOUT, 110, "Connection timed out")                    \
	X(ECONNREFUSED, 111, "Connection refused")                   \
	X(EHOSTUNREACH, 113, "No route to host")                     \
	X(EALREADY, 114, "Operation already in progress")            \
	X(EINPROGRESS, 115, "Operation now in progress")             \
	X(ESTALE, 116, "Stale file handle")                          \
	X(EUCLEAN, 117, "Structure needs cleaning")

enum {
#define POSIX_ERRNO_ENUM(name, num, msg) name = num,
	POSIX_ERRNOS(POSIX_ERRNO_ENUM)
#undef POSIX_ERRNO_ENUM
};

#define EWOULDBLOCK EAGAIN

/* The message for error number e (positive or negated): "Unknown error" for
 * a number not in the list. */
const char *strerror(long e);
/* The POSIX error number (positive) closest to Exo's -E_* code e. */
int errno_from_exo(long e);

#endif
