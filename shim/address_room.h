/* address_room.h: how much address space the library may still reserve in
 * this process.  A server may cap its processes with RLIMIT_AS (FTP and mail
 * daemons do, per connection); a library that reserves without looking makes
 * the server's own next mmap fail.  So the library takes at most a small
 * share of the room left under the limit, read at the moment it reserves. */
#ifndef AS_ADDRESS_ROOM_H
#define AS_ADDRESS_ROOM_H

#include <stddef.h>

/* The address-space limit and what the process has mapped now, in bytes.
 * limit is SIZE_MAX when there is none; used is 0 when it cannot be read
 * (no /proc, in a chroot).  Returns 1 if there is a limit. */
int as_address_limit(size_t *limit, size_t *used);

/* Bytes the library may still reserve: SIZE_MAX without a limit, else
 * 1/16 of the room left under it (1/64 of the limit when what is mapped
 * cannot be read), 0 when there is none. */
size_t as_address_room(void);

#endif
