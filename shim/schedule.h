/* schedule.h: when to fetch again.  Pure arithmetic; r is a uniform random
 * number in [0,1) supplied by the caller, so tests can pin it. */
#ifndef AS_SCHEDULE_H
#define AS_SCHEDULE_H

#include <time.h>

/* After a good fetch: around half of [this_update, expires] (jittered by
 * +-10% of the window), never sooner than a second from now, never later than
 * shortly before expires. */
time_t as_next_refresh(time_t now, time_t this_update, time_t expires, double r);

/* After the n-th consecutive failure (n >= 1): retry_min * 2^(n-1), capped
 * at retry_max, jittered to between half and all of that.  If a good response
 * is still held (held_expires > now), the retry also comes before it lapses
 * where possible. */
time_t as_next_retry(time_t now, int n, long retry_min, long retry_max,
                     time_t held_expires, double r);

#endif
