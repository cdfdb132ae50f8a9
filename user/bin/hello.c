/* The smallest program: greets, shows its arguments, exits 0. */
#include <lib/base/libos.h>

int main(int argc, char **argv)
{
	printf("hello from env %08x (%s)", thisenv_id, argv[0]);
	for (int i = 1; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\n");
	return 0;
}
