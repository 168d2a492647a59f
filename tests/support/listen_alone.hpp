#pragma once
// httplib servers in tests listen alone on their port: SO_REUSEADDR only. httplib's default adds
// SO_REUSEPORT, with which a second process binds a port another already listens on and the kernel
// splits the connections between the two: a test whose port free_port() also gave another test
// then gets, now and then, the other test's answers (an empty 404) instead of a clear bind error.
#include <httplib.h>
#include <sys/socket.h>

namespace orch::test {

inline void listen_alone(httplib::Server& server) {
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
}

}  // namespace orch::test
