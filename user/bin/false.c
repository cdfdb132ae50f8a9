/* false: do nothing, unsuccessfully. */
#include <lib/base/libos.h>
#include <lib/posix/stdio.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "-h") == 0) {
		fdprintf(1, "usage: false\n  exit with status 1\n");
		return 0;
	}
	return 1;
}
