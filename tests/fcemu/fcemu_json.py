"""fcemu_json: a strict JSON reader that remembers where every token ends.

Firecracker deserializes request bodies with serde_json, whose errors end in
"at line L column C".  Python's json module neither reports such positions nor
rejects what serde_json rejects (NaN, Infinity, duplicate keys are caught later
by serde).  This reader parses RFC 8259 JSON only and produces a small node tree
so the schema checker can report serde-like positions.
"""


class JsonSyntaxError(Exception):
    """Malformed JSON; str() is serde_json's wording with position."""


class Node:
    """One JSON value. kind: object|array|string|integer|float|bool|null.

    start/end are byte offsets (end = offset just past the value), used to
    compute serde_json's 'line L column C' (position of the last byte read).
    For objects, `items` is a list of (key, key_end, Node) in document order.
    """

    __slots__ = ("kind", "value", "start", "end", "items", "raw")

    def __init__(self, kind, value, start, end, items=None, raw=None):
        self.kind = kind
        self.value = value
        self.start = start
        self.end = end
        self.items = items
        self.raw = raw

    def to_py(self):
        """Plain Python value (dict keeps the last duplicate, like json)."""
        if self.kind == "object":
            return {k: v.to_py() for k, _, v in self.items}
        if self.kind == "array":
            return [v.to_py() for v in self.value]
        return self.value


def position(text, offset):
    """serde_json position of the byte before `offset`: (line, column)."""
    line = text.count("\n", 0, offset) + 1
    last_nl = text.rfind("\n", 0, offset)
    column = offset - (last_nl + 1)
    return line, column


def at(text, offset):
    line, column = position(text, offset)
    return f"at line {line} column {column}"


class _Reader:
    def __init__(self, text):
        self.t = text
        self.i = 0

    def err(self, msg, offset=None):
        off = self.i if offset is None else offset
        raise JsonSyntaxError(f"{msg} {at(self.t, off)}")

    def ws(self):
        t, n = self.t, len(self.t)
        while self.i < n and t[self.i] in " \t\n\r":
            self.i += 1

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else ""

    def value(self, ctx="value"):
        self.ws()
        c = self.peek()
        if c == "":
            self.err("EOF while parsing a value")
        if c == "{":
            return self.obj()
        if c == "[":
            return self.arr()
        if c == '"':
            start = self.i
            s = self.string()
            return Node("string", s, start, self.i)
        if c == "-" or c.isdigit():
            return self.number()
        for word, val, kind in (("true", True, "bool"), ("false", False, "bool"),
                                ("null", None, "null")):
            if c == word[0]:
                start = self.i
                for ch in word:
                    if self.peek() != ch:
                        if self.peek() == "":
                            self.err("EOF while parsing a value")
                        self.i += 1
                        self.err("expected ident")
                    self.i += 1
                return Node(kind, val, start, self.i)
        self.i += 1
        self.err("expected value")

    def string(self):
        t = self.t
        self.i += 1  # opening quote
        out = []
        while True:
            if self.i >= len(t):
                self.err("EOF while parsing a string")
            c = t[self.i]
            self.i += 1
            if c == '"':
                return "".join(out)
            if c == "\\":
                if self.i >= len(t):
                    self.err("EOF while parsing a string")
                e = t[self.i]
                self.i += 1
                simple = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f",
                          "n": "\n", "r": "\r", "t": "\t"}
                if e in simple:
                    out.append(simple[e])
                elif e == "u":
                    cp = self.hex4()
                    if 0xD800 <= cp < 0xDC00 and t[self.i:self.i + 2] == "\\u":
                        self.i += 2
                        lo = self.hex4()
                        if 0xDC00 <= lo < 0xE000:
                            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                        else:
                            self.err("lone leading surrogate in hex escape")
                    elif 0xD800 <= cp < 0xE000:
                        self.err("lone leading surrogate in hex escape")
                    out.append(chr(cp))
                else:
                    self.err("invalid escape")
            elif ord(c) < 0x20:
                self.err("control character (\\u0000-\\u001F) found while parsing a string")
            else:
                out.append(c)

    def hex4(self):
        h = self.t[self.i:self.i + 4]
        if len(h) < 4 or any(ch not in "0123456789abcdefABCDEF" for ch in h):
            self.i += len(h)
            self.err("invalid escape")
        self.i += 4
        return int(h, 16)

    def number(self):
        t, start = self.t, self.i
        if self.peek() == "-":
            self.i += 1
        if self.peek() == "0":
            self.i += 1
        elif self.peek().isdigit():
            while self.peek().isdigit():
                self.i += 1
        else:
            self.i += 1
            self.err("invalid number")
        is_float = False
        if self.peek() == ".":
            is_float = True
            self.i += 1
            if not self.peek().isdigit():
                self.i += 1
                self.err("invalid number")
            while self.peek().isdigit():
                self.i += 1
        if self.peek() in ("e", "E"):
            is_float = True
            self.i += 1
            if self.peek() in ("+", "-"):
                self.i += 1
            if not self.peek().isdigit():
                self.i += 1
                self.err("invalid number")
            while self.peek().isdigit():
                self.i += 1
        raw = t[start:self.i]
        if is_float:
            return Node("float", float(raw), start, self.i, raw=raw)
        return Node("integer", int(raw), start, self.i, raw=raw)

    def obj(self):
        start = self.i
        self.i += 1
        items = []
        self.ws()
        if self.peek() == "}":
            self.i += 1
            return Node("object", None, start, self.i, items=items)
        while True:
            self.ws()
            c = self.peek()
            if c == "":
                self.err("EOF while parsing an object")
            if c != '"':
                self.i += 1
                self.err("key must be a string")
            key = self.string()
            key_end = self.i
            self.ws()
            if self.peek() == "":
                self.err("EOF while parsing an object")
            if self.peek() != ":":
                self.i += 1
                self.err("expected `:`")
            self.i += 1
            val = self.value()
            items.append((key, key_end, val))
            self.ws()
            c = self.peek()
            if c == ",":
                self.i += 1
                self.ws()
                if self.peek() == "}":
                    self.i += 1
                    self.err("trailing comma")
                continue
            if c == "}":
                self.i += 1
                return Node("object", None, start, self.i, items=items)
            if c == "":
                self.err("EOF while parsing an object")
            self.i += 1
            self.err("expected `,` or `}`")

    def arr(self):
        start = self.i
        self.i += 1
        vals = []
        self.ws()
        if self.peek() == "]":
            self.i += 1
            return Node("array", vals, start, self.i)
        while True:
            vals.append(self.value())
            self.ws()
            c = self.peek()
            if c == ",":
                self.i += 1
                self.ws()
                if self.peek() == "]":
                    self.i += 1
                    self.err("trailing comma")
                continue
            if c == "]":
                self.i += 1
                return Node("array", vals, start, self.i)
            if c == "":
                self.err("EOF while parsing a list")
            self.i += 1
            self.err("expected `,` or `]`")


def parse(text):
    """Parse a whole document; raises JsonSyntaxError with serde wording."""
    r = _Reader(text)
    node = r.value()
    r.ws()
    if r.i < len(text):
        r.i += 1
        r.err("trailing characters")
    return node
