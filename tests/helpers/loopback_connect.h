/* loopback_connect.h: a TCP connection to 127.0.0.1, for the test and
 * benchmark clients.  Header-only: include it once. */
#ifndef AS_LOOPBACK_CONNECT_H
#define AS_LOOPBACK_CONNECT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* A connected socket to 127.0.0.1:port, reads and writes timing out after
 * 10 s (nodelay: Nagle off); -1 on failure. */
static int loopback_connect(int port, int nodelay)
{
    struct sockaddr_in sa;
    struct timeval tv = { 10, 0 };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (nodelay)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof(nodelay));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

#endif
