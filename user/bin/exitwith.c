/* exitwith N: exit with status N; checks it received exactly one argument. */
#include <lib/base/libos.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 99;
	return (int)strtol(argv[1], NULL, 0);
}
