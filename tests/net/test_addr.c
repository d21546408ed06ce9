/* Address text handling: host[:port] splitting, IP literals. */
#include "check.h"
#include "net/net.h"

int main(void)
{
    char host[256];
    uint16_t port;
    CHECK(net_split_host_port("10.0.0.1:8000", host, sizeof host, &port, 7946) == 0);
    CHECK(strcmp(host, "10.0.0.1") == 0 && port == 8000);
    CHECK(net_split_host_port("example.com", host, sizeof host, &port, 7946) == 0);
    CHECK(strcmp(host, "example.com") == 0 && port == 7946);
    CHECK(net_split_host_port("[::1]:7000", host, sizeof host, &port, 7946) == 0);
    CHECK(strcmp(host, "::1") == 0 && port == 7000);
    CHECK(net_split_host_port("[::1]", host, sizeof host, &port, 7946) == 0);
    CHECK(strcmp(host, "::1") == 0 && port == 7946);
    CHECK(net_split_host_port("fe80::1", host, sizeof host, &port, 7946) == 0);
    CHECK(strcmp(host, "fe80::1") == 0 && port == 7946);
    CHECK(net_split_host_port("h:0", host, sizeof host, &port, 7946) == 0 && port == 0);
    CHECK(net_split_host_port("h:65536", host, sizeof host, &port, 7946) == -1);
    CHECK(net_split_host_port("h:", host, sizeof host, &port, 7946) == -1);
    CHECK(net_split_host_port("h:-1", host, sizeof host, &port, 7946) == -1);
    CHECK(net_split_host_port(":80", host, sizeof host, &port, 7946) == -1);
    CHECK(net_split_host_port("[::1", host, sizeof host, &port, 7946) == -1);
    CHECK(net_split_host_port("[::1]x", host, sizeof host, &port, 7946) == -1);
    CHECK(net_split_host_port("", host, sizeof host, &port, 7946) == -1);

    swim_addr a;
    CHECK(net_parse_ip("127.0.0.1", 7946, &a) == 0 && a.ip_len == 4 && a.ip[0] == 127 && a.port == 7946);
    CHECK(net_parse_ip("::1", 1, &a) == 0 && a.ip_len == 16 && a.ip[15] == 1);
    CHECK(net_parse_ip("::ffff:10.1.2.3", 1, &a) == 0 && a.ip_len == 4 && a.ip[0] == 10 && a.ip[3] == 3);
    CHECK(net_parse_ip("localhost", 1, &a) == -1);
    CHECK(net_parse_ip("1.2.3", 1, &a) == -1);

    char text[64];
    net_parse_ip("2001:db8::5", 9, &a);
    net_addr_ip_text(&a, text, sizeof text);
    CHECK(strcmp(text, "2001:db8::5") == 0);
    return check_done("test_addr");
}
