/*
 * date [-u] [+FORMAT]: the wall-clock time, UTC, without a system call.
 * The kernel reads the CMOS clock once at boot and exposes that moment in
 * kern_info (ki_boot_unix, ki_boot_tsc); now is that plus the TSC's count
 * since, at ki_tsc_hz. -u is accepted (Exo keeps no time zone: always UTC).
 * FORMAT takes %Y %m %d %H %M %S %s (seconds since 1970) %a %b %e %j %F %T
 * %n %t and %%; any other conversion is printed as written, as GNU date
 * does. Fails (1) when the kernel found no valid clock.
 */
#include <common/civil.h>
#include <lib/base/libos.h>
#include <lib/posix/stdio.h>

static const char usage[] = "usage: date [-u] [+FORMAT]\n"
			    "  the wall-clock time (UTC) from the clock read at boot\n";

static const char *const wdays[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const months[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static void put_format(struct outbuf *o, const char *f, int64_t t, const struct civil *c)
{
	for (; *f; f++) {
		if (*f != '%' || !f[1]) {
			out_write(o, f, 1);
			continue;
		}
		switch (*++f) {
		case 'Y': out_printf(o, "%d", c->c_year); break;
		case 'm': out_printf(o, "%02u", c->c_month); break;
		case 'd': out_printf(o, "%02u", c->c_day); break;
		case 'e': out_printf(o, "%2u", c->c_day); break;
		case 'H': out_printf(o, "%02u", c->c_hour); break;
		case 'M': out_printf(o, "%02u", c->c_min); break;
		case 'S': out_printf(o, "%02u", c->c_sec); break;
		case 's': out_printf(o, "%ld", (long)t); break;
		case 'a': out_printf(o, "%s", wdays[c->c_wday]); break;
		case 'b': out_printf(o, "%s", months[c->c_month - 1]); break;
		case 'j': {
			unsigned yday = c->c_day;
			for (unsigned m = 1; m < c->c_month; m++)
				yday += (unsigned)civil_month_days(c->c_year, m);
			out_printf(o, "%03u", yday);
			break;
		}
		case 'F': out_printf(o, "%d-%02u-%02u", c->c_year, c->c_month, c->c_day); break;
		case 'T': out_printf(o, "%02u:%02u:%02u", c->c_hour, c->c_min, c->c_sec); break;
		case 'n': out_write(o, "\n", 1); break;
		case 't': out_write(o, "\t", 1); break;
		case '%': out_write(o, "%", 1); break;
		default: out_write(o, f - 1, 2); break;
		}
	}
	out_write(o, "\n", 1);
}

int main(int argc, char **argv)
{
	const char *format = "%a %b %e %H:%M:%S UTC %Y";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0) {
			fdprintf(1, "%s", usage);
			return 0;
		}
		if (strcmp(argv[i], "-u") == 0)
			continue;
		if (argv[i][0] == '+' && i == argc - 1) {
			format = argv[i] + 1;
			continue;
		}
		fdprintf(2, "%s", usage);
		return 2;
	}
	if (ukinfo->ki_boot_unix < 0 || ukinfo->ki_tsc_hz == 0) {
		fdprintf(2, "date: the kernel found no valid CMOS clock at boot\n");
		return 1;
	}
	int64_t now = ukinfo->ki_boot_unix +
		      (int64_t)((rdtsc() - ukinfo->ki_boot_tsc) / ukinfo->ki_tsc_hz);
	struct civil c;
	civil_from_unix(now, &c);
	static struct outbuf o;
	out_init(&o, 1);
	put_format(&o, format, now, &c);
	return out_flush(&o) ? 1 : 0;
}
