/*
 * Host tests for common/civil.c (dates to and from seconds since 1970) and
 * the CMOS clock's decoding (kern/arch/rtc.c's rtc_decode): conversions
 * are checked against the host C library's gmtime_r/timegm over every day
 * of several centuries and random instants; the decoder over BCD and
 * binary, 12- and 24-hour codings, the century register, and every kind of
 * garbage a broken chip can return.
 */
#include "check.h"

#include <time.h>

#include <common/civil.h>
#include <kern/arch/rtc.h>

static void check_against_host(int64_t t)
{
	time_t ht = (time_t)t;
	struct tm tm;
	CHECK(gmtime_r(&ht, &tm) != NULL);
	struct civil c;
	civil_from_unix(t, &c);
	CHECK_MSG(c.c_year == tm.tm_year + 1900 && c.c_month == tm.tm_mon + 1 &&
			  c.c_day == tm.tm_mday && c.c_hour == tm.tm_hour &&
			  c.c_min == tm.tm_min && c.c_sec == tm.tm_sec && c.c_wday == tm.tm_wday,
		  "t=%lld: got %d-%u-%u %u:%u:%u w%u", (long long)t, c.c_year, c.c_month,
		  c.c_day, c.c_hour, c.c_min, c.c_sec, c.c_wday);
	CHECK(civil_valid(&c));
	CHECK_EQ(civil_to_unix(&c), t);
}

TEST(civil, epoch)
{
	struct civil c = { 1970, 1, 1, 0, 0, 0, 0 };
	CHECK_EQ(civil_to_unix(&c), 0);
	civil_from_unix(0, &c);
	CHECK_EQ(c.c_wday, 4); /* a Thursday */
	struct civil y2k = { 2000, 3, 1, 0, 0, 0, 0 };
	CHECK_EQ(civil_to_unix(&y2k), 951868800);
}

TEST(civil, every_day_1600_to_2400)
{
	for (int64_t d = -135140; d < 157000; d++)
		check_against_host(d * 86400 + (d * 7919) % 86400);
}

TEST(civil, random_instants)
{
	uint64_t x = 88172645463325252ULL;
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		check_against_host((int64_t)(x % 40000000000ULL) - 20000000000LL);
	}
}

TEST(civil, validity)
{
	struct civil feb29_2000 = { 2000, 2, 29, 0, 0, 0, 0 };
	struct civil feb29_1900 = { 1900, 2, 29, 0, 0, 0, 0 };
	struct civil feb29_2024 = { 2024, 2, 29, 0, 0, 0, 0 };
	struct civil apr31 = { 2024, 4, 31, 0, 0, 0, 0 };
	struct civil month0 = { 2024, 0, 1, 0, 0, 0, 0 };
	struct civil hour24 = { 2024, 1, 1, 24, 0, 0, 0 };
	CHECK(civil_valid(&feb29_2000));
	CHECK(!civil_valid(&feb29_1900));
	CHECK(civil_valid(&feb29_2024));
	CHECK(!civil_valid(&apr31));
	CHECK(!civil_valid(&month0));
	CHECK(!civil_valid(&hour24));
	CHECK_EQ(civil_month_days(2023, 2), 28);
	CHECK_EQ(civil_month_days(2023, 13), 0);
}

static int64_t decode(uint8_t sec, uint8_t min, uint8_t hour, uint8_t day, uint8_t mon,
		      uint8_t year, uint8_t century, uint8_t b)
{
	uint8_t r[RTC_NREGS] = { sec, min, hour, day, mon, year, century, b };
	return rtc_decode(r);
}

/* 2025-07-04 21:05:09 UTC */
#define WANT 1751663109

TEST(rtc, bcd_24h)
{
	CHECK_EQ(decode(0x09, 0x05, 0x21, 0x04, 0x07, 0x25, 0x20, 0x02), WANT);
}

TEST(rtc, binary_24h)
{
	CHECK_EQ(decode(9, 5, 21, 4, 7, 25, 20, 0x06), WANT);
}

TEST(rtc, bcd_12h)
{
	CHECK_EQ(decode(0x09, 0x05, 0x80 | 0x09, 0x04, 0x07, 0x25, 0x20, 0x00), WANT);
	/* 12 AM is midnight, 12 PM noon */
	CHECK_EQ(decode(0, 0, 0x12, 1, 1, 0x70, 0x19, 0x00), 0);
	CHECK_EQ(decode(0, 0, 0x80 | 0x12, 1, 1, 0x70, 0x19, 0x00), 12 * 3600);
	CHECK_EQ(decode(0, 0, 0x80 | 0x11, 1, 1, 0x70, 0x19, 0x00), 23 * 3600);
}

TEST(rtc, binary_12h)
{
	CHECK_EQ(decode(9, 5, 0x80 | 9, 4, 7, 25, 20, 0x04), WANT);
	CHECK_EQ(decode(0, 0, 12, 1, 1, 70, 19, 0x04), 0);
}

TEST(rtc, no_century_register)
{
	/* 0 or 0xff there: the year is this century's */
	CHECK_EQ(decode(0x09, 0x05, 0x21, 0x04, 0x07, 0x25, 0x00, 0x02), WANT);
	CHECK_EQ(decode(0x09, 0x05, 0x21, 0x04, 0x07, 0x25, 0xff, 0x02), WANT);
}

TEST(rtc, garbage)
{
	CHECK_EQ(decode(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), -1); /* no chip */
	CHECK_EQ(decode(0x0a, 0x05, 0x21, 0x04, 0x07, 0x25, 0x20, 0x02), -1); /* not BCD */
	CHECK_EQ(decode(0x60, 0x05, 0x21, 0x04, 0x07, 0x25, 0x20, 0x02), -1); /* second 60 */
	CHECK_EQ(decode(0x09, 0x05, 0x24, 0x04, 0x07, 0x25, 0x20, 0x02), -1); /* hour 24 */
	CHECK_EQ(decode(0x09, 0x05, 0x80 | 0x21, 0x04, 0x07, 0x25, 0x20, 0x02), -1); /* PM, 24h */
	CHECK_EQ(decode(0x09, 0x05, 0x00, 0x04, 0x07, 0x25, 0x20, 0x00), -1); /* hour 0, 12h */
	CHECK_EQ(decode(0x09, 0x05, 0x13, 0x04, 0x07, 0x25, 0x20, 0x00), -1); /* hour 13, 12h */
	CHECK_EQ(decode(0x09, 0x05, 0x21, 0x31, 0x06, 0x25, 0x20, 0x02), -1); /* June 31 */
	CHECK_EQ(decode(0x09, 0x05, 0x21, 0x00, 0x07, 0x25, 0x20, 0x02), -1); /* day 0 */
	CHECK_EQ(decode(0x09, 0x05, 0x21, 0x04, 0x13, 0x25, 0x20, 0x02), -1); /* month 13 */
	CHECK_EQ(decode(9, 5, 21, 4, 7, 100, 20, 0x06), -1);                  /* year 100 */
}
