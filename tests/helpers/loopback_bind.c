/* loopback_bind.so: a test-only preload that turns a bind() to the wildcard
 * address into a bind() to loopback (127.0.0.1 or ::1), for test programs
 * that cannot be told where to listen (OpenSSL 3.0's `openssl ocsp -port`
 * binds to every address).  Tests must only ever listen on loopback.  An
 * IPv6 wildcard becomes ::ffff:127.0.0.1, so that the dual-stack socket such
 * programs open still answers at 127.0.0.1 and nowhere else. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    static int (*real_bind)(int, const struct sockaddr *, socklen_t);
    if (real_bind == NULL)
        real_bind = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "bind");
    if (addr != NULL && addr->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in in;
        memcpy(&in, addr, sizeof(in));
        if (in.sin_addr.s_addr == htonl(INADDR_ANY)) {
            in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            return real_bind(fd, (const struct sockaddr *)&in, sizeof(in));
        }
    } else if (addr != NULL && addr->sa_family == AF_INET6 &&
               len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 in6;
        memcpy(&in6, addr, sizeof(in6));
        if (memcmp(&in6.sin6_addr, &in6addr_any, sizeof(in6addr_any)) == 0) {
            static const unsigned char mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0,
                                                      0, 0, 0xff, 0xff, 127, 0, 0, 1 };
            memcpy(&in6.sin6_addr, mapped, sizeof(mapped));
            return real_bind(fd, (const struct sockaddr *)&in6, sizeof(in6));
        }
    }
    return real_bind(fd, addr, len);
}
