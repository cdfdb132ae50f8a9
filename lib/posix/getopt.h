/*
 * Option parsing for the tools (getopt.c), and the conventions they share:
 * -h prints the usage on standard output and exits 0; a bad option prints
 * it on standard error and exits 2 (EXIT_USAGE); a failure exits 1.
 */
#ifndef EXO_LIB_POSIX_GETOPT_H
#define EXO_LIB_POSIX_GETOPT_H

extern int optind, optopt;
extern char *optarg;
int getopt(int argc, char *const argv[], const char *optstring);
/* head and tail's historical count form: a first argument -NUM (head -3)
 * becomes -nNUM, as GNU's and busybox's tools take it; call before getopt. */
void getopt_count_form(int argc, char **argv);

#define EXIT_USAGE 2

#endif
