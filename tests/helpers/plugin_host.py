#!/usr/bin/env python3
"""plugin_host.py [--global LIB]... [--serve PORT CERT KEY] [PLUGIN]...: a
process whose OpenSSL is not in the global scope, as an interpreter's is
(tests/openssl11/28-private-openssl.t).

  --global LIB   dlopen LIB with RTLD_GLOBAL first (a program linked to it);
  --serve ...    serve TLS on 127.0.0.1:PORT through Python's ssl module,
                 which loads the system's libssl RTLD_LOCAL;
  PLUGIN         dlopen each with RTLD_LOCAL, after the server is set up (a
                 plugin with a libssl of its own: tests/helpers/tls_plugin.c).

Prints "plugin_host: ready" once all is loaded, then serves (or sleeps)
until killed, at most 600 s.
"""
import ctypes
import os
import sys
import threading
import time


def main(argv):
    port = None
    plugins = []
    i = 0
    while i < len(argv):
        if argv[i] == "--global":
            ctypes.CDLL(argv[i + 1], mode=os.RTLD_NOW | os.RTLD_GLOBAL)
            i += 2
        elif argv[i] == "--serve":
            port, cert, key = int(argv[i + 1]), argv[i + 2], argv[i + 3]
            i += 4
        else:
            plugins.append(argv[i])
            i += 1
    if port is not None:
        import socket
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        listener = socket.create_server(("127.0.0.1", port))

        def serve():
            while True:
                conn, _ = listener.accept()
                try:
                    with ctx.wrap_socket(conn, server_side=True) as tls:
                        tls.recv(1024)
                        tls.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
                except (OSError, ssl.SSLError):
                    pass
        threading.Thread(target=serve, daemon=True).start()
    for p in plugins:
        ctypes.CDLL(p, mode=os.RTLD_NOW | os.RTLD_LOCAL)
    print("plugin_host: ready", file=sys.stderr, flush=True)
    time.sleep(600)


if __name__ == "__main__":
    main(sys.argv[1:])
