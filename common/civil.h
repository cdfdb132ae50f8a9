/*
 * Civil time: proleptic Gregorian calendar dates and times of day (UTC),
 * and seconds since 1970-01-01 00:00:00 UTC ("Unix time", leap seconds not
 * counted, as POSIX has it). Shared by the kernel (the CMOS clock gives a
 * date) and the tools (`date` prints one).
 */
#ifndef EXO_COMMON_CIVIL_H
#define EXO_COMMON_CIVIL_H

#include <inc/types.h>

struct civil {
	int32_t c_year;   /* e.g. 2025 */
	uint8_t c_month;  /* 1-12 */
	uint8_t c_day;    /* 1-31 */
	uint8_t c_hour;   /* 0-23 */
	uint8_t c_min;    /* 0-59 */
	uint8_t c_sec;    /* 0-59 (60, a leap second, counts as the next 0) */
	uint8_t c_wday;   /* 0 Sunday - 6 Saturday: filled by civil_from_unix */
};

/* Days in month (1-12) of year; 0 for a month out of range. */
int civil_month_days(int32_t year, unsigned month);
/* Is every field in range (the day for its month)? */
bool civil_valid(const struct civil *c);
/* Seconds since the epoch for a valid c (negative before 1970). */
int64_t civil_to_unix(const struct civil *c);
/* The date and time t seconds after the epoch (t may be negative). */
void civil_from_unix(int64_t t, struct civil *c);

#endif
