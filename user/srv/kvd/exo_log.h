/*
 * Where kvd on Exo keeps its append-only log (exo.c --aof-dev): a backend
 * is the engine's log hooks (kvd.h) plus what the runner does around them.
 *
 *   fs  exo_log_fs.c: a file of lib/fs on XN, /kvd/appendonly.aof
 *   xn  exo_log_xn.c: XN blocks kvd owns directly, records with a CRC
 *
 * Every call is synchronous (the disk's work holds the event loop, as a
 * single-threaded Redis's fsync would). append only buffers; flush, called
 * at the runner's tick, may write the buffer out without making it durable
 * (the backend chooses when); sync makes everything appended durable. A negative return is an error the engine
 * handles (with appendfsync always it stops the server).
 */
#ifndef EXO_USER_SRV_KVD_EXO_LOG_H
#define EXO_USER_SRV_KVD_EXO_LOG_H

#include <user/srv/kvd/kvd.h>

struct exo_log {
	const char *name;
	/* Find the log's home on the disk (format: lay XN, and a file system
	 * for fs, on a disk without them, erasing it); 0 or -1 with a message. */
	int (*open)(bool format);
	/* Replay the log into kv; 0, or -1 when it is damaged (a message said
	 * why) and the server must not start. */
	int (*recover)(struct kvd *kv);
	int (*append)(void *ctx, const void *buf, size_t n);
	int (*flush)(void);
	int (*sync)(void *ctx);
	int (*rewrite_begin)(void *ctx);
	int (*rewrite_append)(void *ctx, const void *buf, size_t n);
	int (*rewrite_commit)(void *ctx);
	void (*rewrite_abort)(void *ctx);
	/* At shutdown: sync and let go of the disk, saying how it went. */
	void (*close)(void);
};

extern const struct exo_log exo_log_fs, exo_log_xn;

#endif
