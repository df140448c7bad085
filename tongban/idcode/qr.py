"""The 随申码 QR symbol, drawn fast: every code has the same shape (alphanumeric text, version
11, level Q), so everything but the data is worked out once per process.

segno picks the best of eight masks by scoring each whole symbol, which is nine tenths of
its ~12 ms; a fixed mask is as valid (every reader handles all eight) and saves that, but
segno's pure-Python codeword placement and Reed–Solomon step still cost a few milliseconds.
Here the error-correction bytes come from tables (Reed–Solomon is linear: the remainder of a
message is the XOR of the remainders of its bytes at their positions), and the data modules'
coordinates, the mask over them and the function patterns are fixed arrays.

The symbol is exactly the one `segno.make_qr(text, version=11, error="q", mask=MASK)`
draws (tests compare them module by module); texts that do not fit are drawn by segno.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np
import segno

VERSION = 11
SIZE = 4 * VERSION + 17  # 61 modules
BORDER = 4  # the quiet zone the standard asks for
# Mask 4 of the standard's eight (segno's numbering is the standard's).
MASK = 4
# Version 11 at level Q: 4 blocks of 22 data codewords and 4 of 23, each with 28 of error
# correction (ISO/IEC 18004 table 9); no remainder bits.
BLOCKS = (22, 22, 22, 22, 23, 23, 23, 23)
EC_PER_BLOCK = 28
DATA_CODEWORDS = sum(BLOCKS)  # 180
ALIGNMENT_CENTRES = (6, 30, 54)
ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
# Mode 0010, an 11-bit character count (versions 10–26): the longest text that fits.
MAX_CHARS = (DATA_CODEWORDS * 8 - 4 - 11) // 11 * 2


def _reserved() -> np.ndarray:
    """Function modules: finders with their separators and format areas, timing lines,
    alignment patterns, version information and the dark module."""
    r = np.zeros((SIZE, SIZE), dtype=bool)
    r[:9, :9] = r[:9, SIZE - 8 :] = r[SIZE - 8 :, :9] = True
    r[6, :] = r[:, 6] = True
    corners = {(6, 6), (6, SIZE - 7), (SIZE - 7, 6)}
    for y in ALIGNMENT_CENTRES:
        for x in ALIGNMENT_CENTRES:
            if (y, x) not in corners:
                r[y - 2 : y + 3, x - 2 : x + 3] = True
    r[:6, SIZE - 11 : SIZE - 8] = r[SIZE - 11 : SIZE - 8, :6] = True
    return r


def _data_positions(reserved: np.ndarray) -> np.ndarray:
    """Flat indices of the data modules in the order codeword bits fill them: two-module
    columns from the right, upwards then downwards, stepping over the timing column."""
    order = []
    upwards = True
    x = SIZE - 1
    while x > 0:
        if x == 6:
            x -= 1
        rows = range(SIZE - 1, -1, -1) if upwards else range(SIZE)
        for y in rows:
            for xx in (x, x - 1):
                if not reserved[y, xx]:
                    order.append(y * SIZE + xx)
        upwards = not upwards
        x -= 2
    return np.array(order, dtype=np.intp)


def _mask(i: np.ndarray, j: np.ndarray) -> np.ndarray:
    return (i // 2 + j // 3) % 2 == 0  # the standard's mask pattern 4


def _gf_tables() -> tuple[list[int], list[int]]:
    exp, log = [0] * 512, [0] * 256
    x = 1
    for i in range(255):
        exp[i], log[x] = x, i
        x <<= 1
        if x & 0x100:
            x ^= 0x11D
    for i in range(255, 512):
        exp[i] = exp[i - 255]
    return exp, log


def _remainder(message: list[int], generator: list[int], exp, log) -> list[int]:
    rest = list(message) + [0] * EC_PER_BLOCK
    for i in range(len(message)):
        coef = rest[i]
        if coef:
            for k, g in enumerate(generator[1:], start=1):
                if g:
                    rest[i + k] ^= exp[log[coef] + log[g]]
    return rest[len(message) :]


@dataclass(frozen=True)
class _Tables:
    template: np.ndarray  # function patterns, format and version information; data modules 0
    positions: np.ndarray  # flat indices of the data modules, in placement order
    mask: np.ndarray  # the mask's value at each of those positions
    # ec[p, v]: the 28 error-correction bytes of a block whose only non-zero byte is v, p
    # bytes before the block's end (the same for both block lengths).
    ec: np.ndarray
    slots: np.ndarray  # (block, i) → p for the blocks laid out 8 × 23, right-aligned
    data_order: np.ndarray  # the interleaved order of the data codewords in that layout
    # "M{x} {y}.5" for each module (quiet zone included) and "h{n}" for each run length, as
    # rows of ASCII bytes padded with spaces (which path data allows between commands), so a
    # whole path is gathered in one indexing step instead of joined string by string.
    moves: np.ndarray
    runs: np.ndarray


@functools.cache
def _tables() -> _Tables:
    exp, log = _gf_tables()
    generator = [1]
    for i in range(EC_PER_BLOCK):  # (x - α^0)(x - α^1)…
        nxt = [0] * (len(generator) + 1)
        for k, g in enumerate(generator):
            nxt[k] ^= g
            if g:
                nxt[k + 1] ^= exp[log[g] + i]
        generator = nxt
    longest = max(BLOCKS)
    units = np.zeros((longest, 8, EC_PER_BLOCK), dtype=np.uint8)
    for p in range(longest):
        for bit in range(8):
            message = [0] * longest
            message[longest - 1 - p] = 1 << bit
            units[p, bit] = _remainder(message, generator, exp, log)
    values = np.arange(256)
    ec = np.zeros((longest, 256, EC_PER_BLOCK), dtype=np.uint8)
    for bit in range(8):  # the remainder is linear in the message's bits
        ec ^= np.where((values >> bit & 1)[None, :, None] == 1, units[:, bit][:, None, :], 0)
    # Blocks right-aligned in an 8 × 23 layout (a short block gets a leading zero, which
    # changes no remainder). Interleaved: the i-th codeword of every block that has one, for
    # i = 0, 1, … (ISO/IEC 18004 7.6).
    slots = np.broadcast_to(np.arange(longest - 1, -1, -1), (len(BLOCKS), longest)).copy()
    data_order = np.array(
        [
            b * longest + (longest - n) + i
            for i in range(longest)
            for b, n in enumerate(BLOCKS)
            if i < n
        ],
        dtype=np.intp,
    )
    reserved = _reserved()
    positions = _data_positions(reserved)
    rows, cols = np.divmod(positions, SIZE)
    mask = _mask(rows, cols).astype(np.uint8)
    # The function patterns as segno draws them for this version, level and mask.
    sample = segno.make_qr("0", version=VERSION, error="q", mask=MASK, boost_error=False)
    template = np.array(sample.matrix, dtype=np.uint8)
    template.flat[positions] = 0
    moves = _padded([f"M{x + BORDER} {y + BORDER}.5" for y in range(SIZE) for x in range(SIZE + 1)])
    runs = _padded([f"h{n}" for n in range(SIZE + 1)])
    return _Tables(template, positions, mask, ec, slots, data_order, moves, runs)


def _padded(texts: list[str]) -> np.ndarray:
    width = max(map(len, texts)) + 1
    return np.frombuffer("".join(t.ljust(width) for t in texts).encode(), np.uint8).reshape(
        len(texts), width
    )


_CHAR_VALUES = np.full(256, 255, dtype=np.uint16)
_CHAR_VALUES[np.frombuffer(ALPHANUMERIC.encode("ascii"), dtype=np.uint8)] = np.arange(45)
_SHIFTS_11 = np.arange(10, -1, -1, dtype=np.uint16)
_SHIFTS_6 = np.arange(5, -1, -1, dtype=np.uint16)
_PAD = np.frombuffer(b"\xec\x11" * DATA_CODEWORDS, dtype=np.uint8)


def _data_codewords(text: str) -> np.ndarray:
    """Mode, count, the characters two by two in 11 bits (a last odd one in 6), terminator,
    zeros to the byte, then the pad codewords 0xEC 0x11 (ISO/IEC 18004 7.4)."""
    values = _CHAR_VALUES[np.frombuffer(text.encode("ascii"), dtype=np.uint8)]
    pairs = values[0 : len(values) - 1 : 2] * 45 + values[1::2][: len(values) // 2]
    header = (0b0010 << 11 | len(text)) >> np.arange(14, -1, -1, dtype=np.uint16) & 1
    parts = [header, (pairs[:, None] >> _SHIFTS_11 & 1).ravel()]
    if len(values) % 2:
        parts.append(values[-1] >> _SHIFTS_6 & 1)
    bits = np.concatenate(parts).astype(np.uint8)
    capacity = DATA_CODEWORDS * 8
    zeros = min(4, capacity - len(bits))
    zeros += -(len(bits) + zeros) % 8
    data = np.packbits(np.concatenate([bits, np.zeros(zeros, dtype=np.uint8)]))
    return np.concatenate([data, _PAD[: DATA_CODEWORDS - len(data)]])


def _codewords(text: str, tables: _Tables) -> np.ndarray:
    data = _data_codewords(text)
    longest = max(BLOCKS)
    layout = np.zeros((len(BLOCKS), longest), dtype=np.uint8)
    start = 0
    for b, length in enumerate(BLOCKS):
        layout[b, longest - length :] = data[start : start + length]
        start += length
    ec = np.bitwise_xor.reduce(tables.ec[tables.slots, layout], axis=1)  # 8 × 28
    return np.concatenate([layout.ravel()[tables.data_order], ec.T.ravel()])


_FITS = re.compile(f"[{re.escape(ALPHANUMERIC)}]*")


def fits(text: str) -> bool:
    return len(text) <= MAX_CHARS and _FITS.fullmatch(text) is not None


def matrix(text: str) -> np.ndarray:
    """The SIZE × SIZE modules (1 dark) of TEXT, which must fit (see `fits`)."""
    tables = _tables()
    bits = np.unpackbits(_codewords(text, tables))
    out = tables.template.ravel().copy()  # indexing a flat array: far quicker than .flat
    out[tables.positions] = bits ^ tables.mask
    return out.reshape(SIZE, SIZE)


def svg(text: str, *, scale: int, title: str) -> str:
    """The symbol as SVG with its quiet zone, a viewBox (so the page can size it) and a
    title; drawn by segno when TEXT does not fit the fixed shape."""
    if not fits(text):
        return _segno_svg(text, scale=scale, title=title)
    tables = _tables()
    padded = np.zeros((SIZE, SIZE + 2), dtype=np.int8)
    padded[:, 1:-1] = matrix(text)
    edges = (padded[:, 1:] - padded[:, :-1]).ravel()
    starts = np.flatnonzero(edges == 1)  # in the (SIZE + 1)-wide rows of `edges`
    ends = np.flatnonzero(edges == -1)
    path = np.hstack([tables.moves[starts], tables.runs[ends - starts]]).tobytes().decode()
    path = path.rstrip()
    side = (SIZE + 2 * BORDER) * scale
    return (
        f'<svg viewBox="0 0 {side} {side}" xmlns="http://www.w3.org/2000/svg" width="{side}" '
        f'height="{side}" class="segno"><title>{title}</title><path transform="scale({scale})" '
        f'class="qrline" stroke="#000" d="{path}"/></svg>'
    )


def _segno_svg(text: str, *, scale: int, title: str) -> str:
    import io

    qr = segno.make_qr(text, error="q", boost_error=False)
    out = io.BytesIO()
    qr.save(out, kind="svg", scale=scale, xmldecl=False, svgns=True, title=title, border=BORDER)
    width, height = qr.symbol_size(scale=scale, border=BORDER)
    return (
        out.getvalue().decode("utf-8").replace("<svg ", f'<svg viewBox="0 0 {width} {height}" ', 1)
    )
