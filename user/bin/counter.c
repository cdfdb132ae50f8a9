/* counter N: yield N times, then exit 0; the well-behaved neighbour that must
 * keep running while hostile envs misbehave. */
#include <lib/base/libos.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 0) : 100;
	for (long i = 0; i < n; i++)
		sys_yield();
	return 0;
}
