"""The HTTP layer as real clients use it: HTTP/1.0, pipelining, `Expect: 100-continue`, chunked bodies."""

import json
import socket

from harness import rid
from test_server_shutdown import read_response, signed_form_request


def exchange(server, data: bytes, timeout: float = 10.0) -> bytes:
    """Send bytes on a fresh connection; read until the server closes it (or `timeout`)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    try:
        sock.sendall(data)
        out = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                return out
            if not chunk:
                return out
            out += chunk
    finally:
        sock.close()


def split(request: bytes) -> tuple:
    head, _, body = request.partition(b"\r\n\r\n")
    return head, body


def test_http_1_0_and_pipelined_requests_are_answered_in_order(server):
    ids = [rid(), rid()]
    head, body = split(signed_form_request(server, [ids[0]], [("via", "1.0")]))
    answer = exchange(server, head.replace(b" HTTP/1.1\r\n", b" HTTP/1.0\r\n", 1) + b"\r\n\r\n" + body)
    assert answer.startswith(b"HTTP/1.0 200 "), answer[:300]
    pipelined = signed_form_request(server, [ids[1]], [("via", "pipeline")]) + \
        f"GET /healthz HTTP/1.1\r\nHost: {server.endpoint}\r\nConnection: close\r\n\r\n".encode()
    answer = exchange(server, pipelined)
    assert answer.count(b"HTTP/1.1 200 ") == 2 and answer.endswith(b"ok\n"), answer[:600]
    assert server.raw().rows(ids=sorted(ids)) == sorted([(ids[0], "via", "1.0"), (ids[1], "via", "pipeline")])


def test_chunked_body_and_expect_100_continue(server):
    r1, r2 = rid(), rid()
    head, body = split(signed_form_request(server, [r1], [("via", "chunked")]))
    head = b"\r\n".join(h for h in head.split(b"\r\n") if not h.lower().startswith(b"content-length"))
    half = len(body) // 2
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:half], body[half:])) + b"0\r\n\r\n"
    answer = exchange(server, head + b"\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]

    head, body = split(signed_form_request(server, [r2], [("via", "expect")]))
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        sock.sendall(head + b"\r\nExpect: 100-continue\r\n\r\n")
        assert sock.recv(4096) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        answer = read_response(sock)
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]
    assert server.raw().rows(ids=sorted([r1, r2])) == sorted([(r1, "via", "chunked"), (r2, "via", "expect")])


def test_a_body_announced_over_the_limit_is_refused_before_it_is_sent(server):
    # A client that sends `Expect: 100-continue` (Java, Go, curl) waits for the server's go-ahead. For a body the
    # server will refuse anyway, it used to get "100 Continue", upload the whole body, and only then the error.
    over = 2 * 1024 * 1024
    for path, headers, code_key, code in [
        ("/?Action=TagResources&Version=2014-08-15&Format=JSON", "", "Code", "InvalidParameter"),
        ("/v1/resource", "Authorization: bce-auth-v1/ak/2026-01-01T00:00:00Z/1800//sig\r\n", "code",
         "InvalidHTTPRequest"),
    ]:
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        try:
            sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {server.endpoint}\r\n{headers}"
                         f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {over}\r\n"
                         f"Expect: 100-continue\r\n\r\n".encode())
            answer = read_response(sock)
        finally:
            sock.close()
        assert answer.startswith(b"HTTP/1.1 400 "), answer[:300]
        assert b"\r\nconnection: close\r\n" in answer.partition(b"\r\n\r\n")[0].lower(), answer[:300]
        body = json.loads(answer.partition(b"\r\n\r\n")[2])
        assert body[code_key] == code, body
