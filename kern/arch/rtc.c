/*
 * The CMOS real-time clock (MC146818 and its descendants), read once at
 * boot for the wall-clock time the kernel exposes (kern_info's
 * ki_boot_unix); nothing here runs after boot, and the clock is never set.
 *
 * The chip is behind an index port (0x70) and a data port (0x71). It
 * updates its registers once a second, and a read during the update (the
 * UIP bit of status register A) can see a torn time, so rtc_read_unix waits
 * for UIP to clear, reads everything, and reads again until two snapshots
 * agree. Status register B says how the values are coded: bit 2 binary
 * (else BCD), bit 1 24-hour (else 12-hour, with bit 7 of the hour meaning
 * PM). The century is register 0x32, where ACPI's FADT puts it on every PC
 * and QEMU; a chip without one reads as 0 or garbage there, and years then
 * count from 2000.
 *
 * Hostile stance: the chip is hardware, but a broken or absent one gives
 * 0xff everywhere: every field is range-checked and a bad date gives -1
 * ("unknown"), never a made-up time.
 */
#include <common/civil.h>
#include <kern/arch/rtc.h>
#include <kern/arch/x86.h>

#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define CMOS_NMI_OFF 0x80 /* keep NMIs masked while we index */
#define RTC_REG_A 0x0a
#define RTC_A_UIP 0x80
#define RTC_B_24H 0x02
#define RTC_B_BINARY 0x04
#define RTC_HOUR_PM 0x80
#define RTC_TRIES 8         /* snapshots until two agree */
#define RTC_UIP_SPINS 100000 /* an update lasts under 2 ms */

static const uint8_t reg_index[RTC_NREGS] = {
	[RTC_SEC] = 0x00, [RTC_MIN] = 0x02,  [RTC_HOUR] = 0x04,    [RTC_DAY] = 0x07,
	[RTC_MONTH] = 0x08, [RTC_YEAR] = 0x09, [RTC_CENTURY] = 0x32, [RTC_STATUS_B] = 0x0b,
};

static uint8_t cmos_read(uint8_t reg)
{
	outb(CMOS_INDEX, CMOS_NMI_OFF | reg);
	return inb(CMOS_DATA);
}

/* A BCD byte's value, or 0xff if a digit is not decimal. */
static unsigned from_bcd(uint8_t v)
{
	if ((v & 0x0f) > 9 || (v >> 4) > 9)
		return 0xff;
	return (v >> 4) * 10 + (v & 0x0f);
}

int64_t rtc_decode(const uint8_t regs[RTC_NREGS])
{
	bool binary = regs[RTC_STATUS_B] & RTC_B_BINARY;
	bool h24 = regs[RTC_STATUS_B] & RTC_B_24H;
	unsigned v[RTC_NREGS];
	for (int i = 0; i < RTC_STATUS_B; i++) {
		uint8_t raw = regs[i];
		if (i == RTC_HOUR)
			raw &= (uint8_t)~RTC_HOUR_PM; /* the PM flag is not a digit */
		v[i] = binary ? raw : from_bcd(raw);
	}
	unsigned hour = v[RTC_HOUR];
	if (!h24) {
		/* 12-hour: 12 AM is midnight, 12 PM noon */
		if (hour < 1 || hour > 12)
			return -1;
		hour = hour % 12 + ((regs[RTC_HOUR] & RTC_HOUR_PM) ? 12 : 0);
	} else if (regs[RTC_HOUR] & RTC_HOUR_PM) {
		return -1; /* no PM flag in 24-hour mode */
	}
	unsigned century = v[RTC_CENTURY];
	if (century < 19 || century > 99)
		century = 20; /* no century register: this one */
	if (v[RTC_YEAR] > 99)
		return -1;
	struct civil c = {
		.c_year = (int32_t)(century * 100 + v[RTC_YEAR]),
		.c_month = (uint8_t)MIN(v[RTC_MONTH], 0xffu),
		.c_day = (uint8_t)MIN(v[RTC_DAY], 0xffu),
		.c_hour = (uint8_t)hour,
		.c_min = (uint8_t)MIN(v[RTC_MIN], 0xffu),
		.c_sec = (uint8_t)MIN(v[RTC_SEC], 0xffu),
	};
	if (!civil_valid(&c) || c.c_sec > 59)
		return -1;
	return civil_to_unix(&c);
}

static bool snapshot(uint8_t regs[RTC_NREGS])
{
	for (int spin = 0; cmos_read(RTC_REG_A) & RTC_A_UIP; spin++)
		if (spin == RTC_UIP_SPINS)
			return false;
	for (int i = 0; i < RTC_NREGS; i++)
		regs[i] = cmos_read(reg_index[i]);
	return true;
}

int64_t rtc_read_unix(void)
{
	uint8_t a[RTC_NREGS], b[RTC_NREGS];
	if (!snapshot(a))
		return -1;
	for (int t = 0; t < RTC_TRIES; t++) {
		if (!snapshot(b))
			return -1;
		bool same = true;
		for (int i = 0; i < RTC_NREGS; i++)
			same &= a[i] == b[i];
		if (same)
			return rtc_decode(b);
		for (int i = 0; i < RTC_NREGS; i++)
			a[i] = b[i];
	}
	return -1;
}
