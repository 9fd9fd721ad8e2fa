"""fcemu_http: micro-http's behaviour on the API Unix socket.

HTTP/1.1 with keep-alive, status lines without a reason phrase, at most 10
connections (the 11th gets micro-http's canned 503 and is closed), bodies only
via Content-Length (chunked refused), a payload size limit, and parse failures
answered with {"error": "...\\nAll previous unanswered requests will be dropped."}.
Requests are handed to a callback one at a time, synchronously.
"""

import socket

MAX_CONNECTIONS = 10
CANNED_503_BODY = b'{ "error": "Too many open connections" }'
CANNED_503 = (b"HTTP/1.1 503\r\nServer: Firecracker API\r\nConnection: close\r\n"
              b"Content-Length: " + str(len(CANNED_503_BODY)).encode() + b"\r\n\r\n"
              + CANNED_503_BODY)
MAX_HEADER_BYTES = 64 * 1024


def format_response(status, body=None, extra_headers=()):
    """Bytes of a Firecracker API response."""
    head = [f"HTTP/1.1 {status} ", "Server: Firecracker API", "Connection: keep-alive"]
    head += list(extra_headers)
    data = b""
    if body is not None:
        data = body.encode()
        head += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + data


def error_body(msg):
    return '{ "error": "' + msg + '\nAll previous unanswered requests will be dropped." }'


class ParseError(Exception):
    pass


class Connection:
    """One client connection with its unparsed input."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.skip = 0
        self.sent_continue = False

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError:
            pass

    def feed(self, data, limit, on_request, on_error):
        """Consume received bytes; calls on_request(method, uri, body) per request."""
        if self.skip:
            drop = min(self.skip, len(data))
            self.skip -= drop
            data = data[drop:]
        self.buf += data
        while self.buf:
            try:
                req = self._parse_one(limit)
            except ParseError as e:
                self.buf = b""
                on_error(self, str(e))
                return
            if req is None:
                return
            method, uri, body = req
            on_request(self, method, uri, body)

    def _parse_one(self, limit):
        buf = self.buf
        head_end = buf.find(b"\r\n\r\n")
        if head_end < 0:
            if len(buf) > MAX_HEADER_BYTES:
                raise ParseError("Invalid request.")
            return None
        line_end = buf.find(b"\r\n")
        line = buf[:line_end]
        if len(line) < 14:
            raise ParseError("Invalid request.")
        sp1 = line.find(b" ")
        sp2 = line.find(b" ", sp1 + 1) if sp1 >= 0 else -1
        if sp1 < 0 or sp2 < 0:
            raise ParseError("Invalid request.")
        method, uri, version = line[:sp1], line[sp1 + 1:sp2], line[sp2 + 1:]
        if method not in (b"GET", b"PUT", b"PATCH"):
            raise ParseError("Invalid HTTP Method: Unsupported HTTP method.")
        if not uri:
            raise ParseError("Invalid URI: Empty URI not allowed.")
        try:
            uri = uri.decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError("Invalid URI: Cannot parse URI as UTF-8.") from None
        if version not in (b"HTTP/1.0", b"HTTP/1.1"):
            raise ParseError("Invalid HTTP Version: Unsupported HTTP version.")
        headers = buf[line_end + 2:head_end] if head_end > line_end else b""
        content_length, chunked, expect = 0, False, False
        for raw in headers.split(b"\r\n"):
            if not raw:
                break
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ParseError("Invalid header. Reason: Cannot parse header value as "
                                 "UTF-8.") from None
            if ":" not in text:
                raise ParseError(f"Invalid header. Reason: Header is incorrectly formatted. "
                                 f"Key: {text}")
            key, value = text.split(":", 1)
            name = key.strip().lower()
            if name == "content-length":
                try:
                    content_length = int(value.strip())
                    if not 0 <= content_length < 2**32 or not value.strip().isdigit():
                        raise ValueError
                except ValueError:
                    raise ParseError(f"Invalid header. Reason: Invalid value. Key:{key}; "
                                     f"Value:{value}") from None
            elif name == "transfer-encoding" and value.strip() == "chunked":
                chunked = True
            elif name == "expect" and value.strip() == "100-continue":
                expect = True
        body_start = head_end + 4
        if chunked:
            raise ParseError("Invalid header. Reason: Unsupported value. "
                             "Key:Transfer-Encoding; Value: chunked")
        if content_length > limit:
            have = len(buf) - body_start
            self.skip = max(0, content_length - have)
            raise ParseError(f"Request payload with size {content_length} is larger than the "
                             f"limit of {limit} allowed by server.")
        if len(buf) - body_start < content_length:
            if expect and not self.sent_continue:
                self.sent_continue = True
                self.send(b"HTTP/1.1 100 \r\nServer: Firecracker API\r\n"
                          b"Connection: keep-alive\r\n\r\n")
            return None
        body = buf[body_start:body_start + content_length] if content_length else None
        self.buf = buf[body_start + content_length:]
        self.sent_continue = False
        return method.decode(), uri, body


class Server:
    """Listening API socket plus its connections; driven by the main loop."""

    def __init__(self, path, limit):
        self.path = path
        self.limit = limit
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)  # raises OSError; caller reports FailedToBindSocket
        self.listener.listen(64)
        self.conns = {}

    def accept(self):
        try:
            sock, _ = self.listener.accept()
        except OSError:
            return None
        if len(self.conns) >= MAX_CONNECTIONS:
            try:
                sock.sendall(CANNED_503)
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            sock.close()
            return None
        sock.settimeout(5.0)
        conn = Connection(sock)
        self.conns[sock.fileno()] = conn
        return conn

    def close(self, conn):
        self.conns.pop(conn.sock.fileno(), None)
        conn.sock.close()
