/*
 * Civil time (civil.h): calendar dates to and from seconds since 1970.
 *
 * Days are counted in 400-year eras of the proleptic Gregorian calendar
 * (146,097 days each, the cycle after which the leap-year rule repeats),
 * with years starting on March 1 so that the leap day falls at the end of
 * a year and each month's first day is a fixed linear function of its
 * number. The arithmetic is on whole numbers only and floors towards minus
 * infinity, so dates before 1970 work too.
 *
 * Hostile stance: civil_to_unix expects a valid date (civil_valid); the
 * kernel checks what the clock chip says before converting it.
 */
#include <common/civil.h>

#define DAYS_PER_ERA 146097 /* 400 Gregorian years */
#define DAYS_1970_FROM_0000_03_01 719468

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static bool leap(int32_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int civil_month_days(int32_t year, unsigned month)
{
	static const uint8_t days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (month < 1 || month > 12)
		return 0;
	return days[month - 1] + (month == 2 && leap(year));
}

bool civil_valid(const struct civil *c)
{
	return c->c_year > -1000000 && c->c_year < 1000000 && c->c_month >= 1 &&
	       c->c_month <= 12 && c->c_day >= 1 &&
	       c->c_day <= civil_month_days(c->c_year, c->c_month) && c->c_hour < 24 &&
	       c->c_min < 60 && c->c_sec <= 60;
}

/* Days from 1970-01-01 to year-month-day. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2; /* the year starts on March 1 */
	int64_t era = floor_div(y, 400);
	int64_t yoe = y - era * 400;                                  /* 0-399 */
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* 0-365 */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;          /* 0-146096 */
	return era * DAYS_PER_ERA + doe - DAYS_1970_FROM_0000_03_01;
}

int64_t civil_to_unix(const struct civil *c)
{
	int64_t days = days_from_civil(c->c_year, c->c_month, c->c_day);
	return days * 86400 + c->c_hour * 3600 + c->c_min * 60 + c->c_sec;
}

void civil_from_unix(int64_t t, struct civil *c)
{
	int64_t days = floor_div(t, 86400);
	int64_t secs = t - days * 86400;
	c->c_hour = (uint8_t)(secs / 3600);
	c->c_min = (uint8_t)(secs / 60 % 60);
	c->c_sec = (uint8_t)(secs % 60);
	c->c_wday = (uint8_t)(floor_div(days + 4, 7) * -7 + days + 4); /* 1970-01-01: Thursday */

	int64_t z = days + DAYS_1970_FROM_0000_03_01;
	int64_t era = floor_div(z, DAYS_PER_ERA);
	int64_t doe = z - era * DAYS_PER_ERA;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153; /* 0 March - 11 February */
	c->c_day = (uint8_t)(doy - (153 * mp + 2) / 5 + 1);
	c->c_month = (uint8_t)(mp < 10 ? mp + 3 : mp - 9);
	c->c_year = (int32_t)(yoe + era * 400 + (c->c_month <= 2));
}
