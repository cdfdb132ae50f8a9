#ifndef EXO_KERN_RTC_H
#define EXO_KERN_RTC_H

#include <inc/types.h>

/* The CMOS clock's registers, in the order rtc_decode takes them. */
enum { RTC_SEC, RTC_MIN, RTC_HOUR, RTC_DAY, RTC_MONTH, RTC_YEAR, RTC_CENTURY, RTC_STATUS_B,
       RTC_NREGS };

/* Read the CMOS real-time clock: seconds since 1970 (UTC, as QEMU and most
 * PCs keep it), or -1 if it gives no consistent, valid date. Waits at most
 * a few milliseconds (an update in progress). */
int64_t rtc_read_unix(void);
/* A register snapshot to seconds since 1970, or -1 if it is not a valid
 * date: BCD or binary, 12- or 24-hour, per status register B. Pure. */
int64_t rtc_decode(const uint8_t regs[RTC_NREGS]);

#endif
