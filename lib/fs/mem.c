/*
 * The file system's memory in the library OS: lib/base's allocator. (The
 * host tools and tests supply fs_alloc and fs_free over the C library.)
 */
#include <lib/fs/fsdev.h>
#include <lib/base/libos.h>

void *fs_alloc(size_t size)
{
	return calloc(1, size);
}

void fs_free(void *p)
{
	free(p);
}
