/*
 * HTTP dates (RFC 9110 section 5.6.7): Date and Last-Modified are sent as
 * IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"); If-Modified-Since and
 * If-Range are accepted in that form and in the two obsolete ones a
 * recipient must still read, RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT")
 * and asctime ("Sun Nov  6 08:49:37 1994").
 *
 * Times are seconds since 1970-01-01 UTC, converted with the proleptic
 * Gregorian calendar by day counting (no tables beyond month lengths).
 * Parsing is strict about the shape of each format and the range of each
 * field, since the text comes from clients: anything else is "not a date",
 * which the caller treats as an absent field (as RFC 9110 13.1.3 says).
 * A two-digit RFC 850 year is taken as 19yy from 70 up and 20yy below:
 * such dates come only from very old clients.
 */
#include <user/srv/httpd/core.h>
#include <common/string.h>

static const char wkday[7][4] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
static const char *const weekday_long[7] = { "Monday", "Tuesday",  "Wednesday", "Thursday",
					     "Friday", "Saturday", "Sunday" };
static const char month_name[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m) /* m: 0..11 */
{
	static const uint8_t days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return days[m] + (m == 1 && is_leap(y));
}

/* Days from 1970-01-01 to y-m-d (m 1..12): counted in 400-year eras from
 * March 1 of year 0, so February's leap day falls at the end of a year. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static void put2(char *p, int v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
}

void http_date_format(int64_t t, char *out)
{
	int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
	int64_t secs = t - days * 86400;
	int64_t y;
	int m, d;
	civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999) /* not representable: the epoch, rather than garbage */
		y = 1970, m = 1, d = 1, days = 0, secs = 0;
	int wd = (int)(((days % 7) + 7) % 7);
	memcpy(out, wkday[wd], 3);
	memcpy(out + 3, ", ", 2);
	put2(out + 5, d);
	out[7] = ' ';
	memcpy(out + 8, month_name[m - 1], 3);
	out[11] = ' ';
	put2(out + 12, (int)(y / 100));
	put2(out + 14, (int)(y % 100));
	out[16] = ' ';
	put2(out + 17, (int)(secs / 3600));
	out[19] = ':';
	put2(out + 20, (int)(secs / 60 % 60));
	out[22] = ':';
	put2(out + 23, (int)(secs % 60));
	memcpy(out + 25, " GMT", 5); /* with the NUL */
}

/* A cursor over the text being parsed. */
struct scan {
	const char *p, *end;
};

static bool lit(struct scan *s, const char *text)
{
	size_t n = strlen(text);
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, text, n) != 0)
		return false;
	s->p += n;
	return true;
}

/* Exactly n digits. */
static bool digits(struct scan *s, int n, int *v)
{
	if (s->end - s->p < n)
		return false;
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s->p[i]))
			return false;
		*v = *v * 10 + (s->p[i] - '0');
	}
	s->p += n;
	return true;
}

static bool month(struct scan *s, int *m)
{
	for (int i = 0; i < 12; i++)
		if (lit(s, month_name[i])) {
			*m = i + 1;
			return true;
		}
	return false;
}

/* "HH:MM:SS" */
static bool time_of_day(struct scan *s, int *h, int *mi, int *sec)
{
	return digits(s, 2, h) && lit(s, ":") && digits(s, 2, mi) && lit(s, ":") &&
	       digits(s, 2, sec);
}

static bool finish(int64_t y, int m, int d, int h, int mi, int sec, int64_t *t)
{
	if (m < 1 || m > 12 || d < 1 || d > month_days(y, m - 1) || h > 23 || mi > 59 ||
	    sec > 60) /* 60: a leap second, which counts as the next second */
		return false;
	*t = days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60 + sec;
	return true;
}

bool http_date_parse(const char *text, size_t len, int64_t *t)
{
	struct scan s = { text, text + len };
	int d, m, y, h, mi, sec;

	/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
	for (int i = 0; i < 7; i++) {
		s.p = text;
		if (lit(&s, wkday[i]) && lit(&s, ", ") && digits(&s, 2, &d) && lit(&s, " ") &&
		    month(&s, &m) && lit(&s, " ") && digits(&s, 4, &y) && lit(&s, " ") &&
		    time_of_day(&s, &h, &mi, &sec) && lit(&s, " GMT") && s.p == s.end)
			return finish(y, m, d, h, mi, sec, t);
	}
	/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
	for (int i = 0; i < 7; i++) {
		s.p = text;
		if (lit(&s, weekday_long[i]) && lit(&s, ", ") && digits(&s, 2, &d) &&
		    lit(&s, "-") && month(&s, &m) && lit(&s, "-") && digits(&s, 2, &y) &&
		    lit(&s, " ") && time_of_day(&s, &h, &mi, &sec) && lit(&s, " GMT") &&
		    s.p == s.end)
			return finish(y >= 70 ? 1900 + y : 2000 + y, m, d, h, mi, sec, t);
	}
	/* asctime: "Sun Nov  6 08:49:37 1994" (a one-digit day after a space) */
	for (int i = 0; i < 7; i++) {
		s.p = text;
		if (!(lit(&s, wkday[i]) && lit(&s, " ") && month(&s, &m) && lit(&s, " ")))
			continue;
		if (!(lit(&s, " ") ? digits(&s, 1, &d) : digits(&s, 2, &d)))
			return false;
		if (lit(&s, " ") && time_of_day(&s, &h, &mi, &sec) && lit(&s, " ") &&
		    digits(&s, 4, &y) && s.p == s.end)
			return finish(y, m, d, h, mi, sec, t);
		return false;
	}
	return false;
}
