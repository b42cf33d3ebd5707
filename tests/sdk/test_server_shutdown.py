"""Stopping `tagd serve` with SIGTERM: in-flight requests are finished, and no client can hold the stop up."""

import socket
import time

import requests

from harness import form_encode, rds_tag_params, retire_server, rid, spawn_server, utc_stamp, v1_signature, \
    v1_string_to_sign, ROOT_AK, ROOT_SECRET, RDS_VERSION, uid


def signed_form_request(server, ids, tags) -> bytes:
    """A V1 RDS TagResources with its parameters in a form body: the request line, headers and body."""
    query = [("Action", "TagResources"), ("Version", RDS_VERSION), ("AccessKeyId", ROOT_AK),
             ("SignatureMethod", "HMAC-SHA1"), ("SignatureVersion", "1.0"), ("SignatureNonce", uid(32)),
             ("Timestamp", utc_stamp()), ("Format", "JSON")]
    body_pairs = rds_tag_params(ids, tags)
    query.append(("Signature", v1_signature(ROOT_SECRET, v1_string_to_sign("POST", query + body_pairs))))
    body = form_encode(body_pairs).encode()
    head = (f"POST /?{form_encode(query)} HTTP/1.1\r\nHost: {server.endpoint}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def read_response(sock) -> bytes:
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
        head, sep, rest = data.partition(b"\r\n\r\n")
        if sep:
            length = [int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")]
            if length and len(rest) >= length[0]:
                return data


def test_sigterm_finishes_a_request_whose_body_is_still_arriving(tagd_bin, tmp_path_factory):
    srv = spawn_server(tagd_bin, tmp_path_factory)
    try:
        r = rid()
        request = signed_form_request(srv, [r], [("stop", "in-flight")])
        sock = socket.create_connection(("127.0.0.1", srv.port), timeout=15)
        try:
            sock.sendall(request[:-5])
            time.sleep(0.3)  # the server has the headers and is reading the body
            srv.proc.send_signal(15)
            time.sleep(0.5)
            assert srv.running, "tagd exited with a request in flight"
            sock.sendall(request[-5:])
            response = read_response(sock)
        finally:
            sock.close()
        assert response.startswith(b"HTTP/1.1 200 "), response[:500]
        assert srv.proc.wait(timeout=20) == 0, srv.logs()
        srv.start()
        assert srv.raw().rows(ids=[r]) == [(r, "stop", "in-flight")]
    finally:
        retire_server(srv)


def test_sigterm_is_not_held_up_by_a_half_sent_request(tagd_bin, tmp_path_factory):
    # A client that sent part of a request's headers and went quiet (a stuck client, a slowloris) used to keep a
    # stopping server alive for as long as it kept the connection open. The stop waits for in-flight requests only
    # as long as a request may run (--request-timeout-secs), then closes what is left.
    srv = spawn_server(tagd_bin, tmp_path_factory, "--request-timeout-secs", "2")
    try:
        stuck = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
        try:
            stuck.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            assert requests.get(f"{srv.base_url}/healthz", timeout=5).status_code == 200
            srv.stop(timeout=20)  # SIGTERM, exit 0 within 20 s
        finally:
            stuck.close()
    finally:
        retire_server(srv)
