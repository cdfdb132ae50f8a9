/*
 * Wakeup predicate of a pipe reader (lib/posix/pipe.c): wake when the ring has
 * bytes to read or the writer closed it. Region 0 is the pipe's header.
 * Built with clang -O2 -target bpf; loaded by lib/posix/pipe.c.
 */
#include <lib/base/bpfprog.h>

struct pipe_header {
	uint64_t head, tail;   /* bytes read, bytes written */
	int32_t reader, writer;
	uint32_t reader_waits, writer_waits;
	uint32_t closed;
};
extern struct pipe_header region0;

SEC("wakeup") uint64_t pipe_ready(struct bpf_wakeup_ctx *c)
{
	return region0.head != region0.tail || region0.closed;
}
