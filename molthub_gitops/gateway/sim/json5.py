"""A small JSON5 reader: what the real gateway accepts in ``raw``, with the same error texts.

OpenClaw parses config text with the ``json5`` npm package; its errors read
``JSON5: invalid character 'j' at 1:6`` (line and column 1-based) or
``JSON5: invalid end of input at 1:10``. The gateway prefixes them with ``SyntaxError: ``.
Supported: comments, single- and double-quoted strings, unquoted identifier keys, trailing
commas, hexadecimal numbers, leading or trailing decimal points, ``+``, ``Infinity``, ``NaN``.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["Json5Error", "loads"]


class Json5Error(ValueError):
    """The text is not JSON5; ``str()`` is the json5 package's message."""


_ESCAPES = {
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "0": "\0",
    "'": "'",
    '"': '"',
    "\\": "\\",
    "/": "/",
}
_LINE_TERMINATORS = "\n\r\u2028\u2029"
_WHITESPACE = " \t\n\r\v\f\u00a0\ufeff\u2028\u2029"


def loads(text: str) -> Any:
    """Parse one JSON5 value; raise :class:`Json5Error` with the json5 package's wording."""
    parser = _Parser(text)
    parser.skip()
    value = parser.value()
    parser.skip()
    if parser.pos < len(text):
        parser.fail()
    return value


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def where(self, pos: int | None = None) -> str:
        at = self.pos if pos is None else pos
        line = self.text.count("\n", 0, at) + 1
        column = at - (self.text.rfind("\n", 0, at) + 1) + 1
        return f"{line}:{column}"

    def fail(self) -> Any:
        if self.pos >= len(self.text):
            raise Json5Error(f"JSON5: invalid end of input at {self.where()}")
        char = self.text[self.pos]
        shown = char if char.isprintable() else f"\\u{ord(char):04x}"
        raise Json5Error(f"JSON5: invalid character '{shown}' at {self.where()}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip(self) -> None:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char in _WHITESPACE:
                self.pos += 1
            elif text.startswith("//", self.pos):
                while self.pos < len(text) and text[self.pos] not in _LINE_TERMINATORS:
                    self.pos += 1
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    self.pos = len(text)
                    self.fail()
                self.pos = end + 2
            elif char == "/":
                self.pos += 1
                self.fail()
            else:
                return

    def value(self) -> Any:
        char = self.peek()
        if not char:
            return self.fail()
        if char == "{":
            return self.object()
        if char == "[":
            return self.array()
        if char in "\"'":
            return self.string()
        if char in "+-.0123456789IN":
            return self.number()
        for word, result in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return result
        return self.fail()

    def object(self) -> dict[str, Any]:
        self.pos += 1
        result: dict[str, Any] = {}
        self.skip()
        while self.peek() != "}":
            key = self.string() if self.peek() and self.peek() in "\"'" else self.identifier()
            self.skip()
            if self.peek() != ":":
                self.fail()
            self.pos += 1
            self.skip()
            result[key] = self.value()
            self.skip()
            if self.peek() == ",":
                self.pos += 1
                self.skip()
            elif self.peek() != "}":
                self.fail()
        self.pos += 1
        return result

    def array(self) -> list[Any]:
        self.pos += 1
        result: list[Any] = []
        self.skip()
        while self.peek() != "]":
            result.append(self.value())
            self.skip()
            if self.peek() == ",":
                self.pos += 1
                self.skip()
            elif self.peek() != "]":
                self.fail()
        self.pos += 1
        return result

    def identifier(self) -> str:
        start = self.pos
        char = self.peek()
        if not char or not (char.isalpha() or char in "$_"):
            self.fail()
        while self.pos < len(self.text) and (
            self.text[self.pos].isalnum() or self.text[self.pos] in "$_"
        ):
            self.pos += 1
        return self.text[start : self.pos]

    def string(self) -> str:
        quote = self.text[self.pos]
        self.pos += 1
        out: list[str] = []
        text = self.text
        while True:
            if self.pos >= len(text):
                self.fail()
            char = text[self.pos]
            if char == quote:
                self.pos += 1
                return "".join(out)
            if char == "\\":
                self.pos += 1
                out.append(self.escape())
                continue
            if char in "\n\r":
                self.fail()
            out.append(char)
            self.pos += 1

    def escape(self) -> str:
        text = self.text
        if self.pos >= len(text):
            self.fail()
        char = text[self.pos]
        if char in _ESCAPES:
            self.pos += 1
            return _ESCAPES[char]
        if char in _LINE_TERMINATORS:
            self.pos += 2 if text.startswith("\r\n", self.pos) else 1
            return ""
        if char in "xu":
            width = 2 if char == "x" else 4
            digits = text[self.pos + 1 : self.pos + 1 + width]
            if len(digits) != width or any(d not in "0123456789abcdefABCDEF" for d in digits):
                self.pos += 1
                self.fail()
            self.pos += 1 + width
            return chr(int(digits, 16))
        if char.isdigit():
            self.fail()
        self.pos += 1
        return char

    def number(self) -> int | float:
        text = self.text
        sign = 1
        if self.peek() and self.peek() in "+-":
            sign = -1 if self.peek() == "-" else 1
            self.pos += 1
        for word, special in (("Infinity", math.inf), ("NaN", math.nan)):
            if text.startswith(word, self.pos):
                self.pos += len(word)
                return sign * special
        if text.startswith(("0x", "0X"), self.pos):
            start = self.pos + 2
            self.pos = start
            while self.pos < len(text) and text[self.pos] in "0123456789abcdefABCDEF":
                self.pos += 1
            if self.pos == start:
                self.fail()
            return sign * int(text[start : self.pos], 16)
        start = self.pos
        digits = 0
        while self.pos < len(text) and text[self.pos].isdigit():
            self.pos += 1
            digits += 1
        is_float = False
        if self.peek() == ".":
            is_float = True
            self.pos += 1
            while self.pos < len(text) and text[self.pos].isdigit():
                self.pos += 1
                digits += 1
        if digits == 0:
            self.fail()
        if self.peek() in ("e", "E"):
            is_float = True
            self.pos += 1
            if self.peek() and self.peek() in "+-":
                self.pos += 1
            exp_start = self.pos
            while self.pos < len(text) and text[self.pos].isdigit():
                self.pos += 1
            if self.pos == exp_start:
                self.fail()
        literal = text[start : self.pos]
        if is_float:
            number = float(literal)
            return sign * (int(number) if number.is_integer() and abs(number) < 2**53 else number)
        return sign * int(literal)
