/* Exits at once: what env create+destroy benchmarks start. */
int main(void)
{
	return 0;
}
