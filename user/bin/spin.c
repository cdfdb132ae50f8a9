/* Spins forever: a victim for destroy tests and a load for scheduler tests. */
int main(void)
{
	for (;;)
		__asm__ volatile("pause");
}
