"""The fast 随申码 QR drawing is segno's symbol for the same version, level and mask, module
for module, and its SVG draws exactly those modules inside a 4-module quiet zone."""

from __future__ import annotations

import re
import secrets

import base45
import numpy as np
import pytest
import segno

from tongban.idcode import qr, services


def _text(length: int) -> str:
    return ("SSM1:" + base45.b45encode(secrets.token_bytes(200)).decode("ascii"))[:length]


def _segno_modules(text: str) -> np.ndarray:
    symbol = segno.make_qr(
        text, version=11, error="q", mask=qr.MASK, mode="alphanumeric", boost_error=False
    )
    return np.array(symbol.matrix, dtype=np.uint8)


# 239 is every code's length. segno writes a whole zero byte after the terminator when the
# data ends on a byte boundary (the standard adds no bits then), so lengths where that
# happens (171, 206, …) are left out: there the two symbols differ in padding only.
@pytest.mark.parametrize("length", [239, 239, 239, 237, 200, 150, 97, 12, 1, qr.MAX_CHARS])
def test_the_symbol_is_segnos_for_version_11_level_q_mask_4(length):
    text = _text(length)
    assert (15 + length // 2 * 11 + length % 2 * 6 + 4) % 8 != 0
    assert np.array_equal(qr.matrix(text), _segno_modules(text))


def _drawn(svg: str) -> np.ndarray:
    """The modules an SVG from qr.svg paints: each "M x y.5 h n" is n dark modules."""
    side = qr.SIZE + 2 * qr.BORDER
    drawn = np.zeros((side, side), dtype=np.uint8)
    path = re.search(r' d="([^"]*)"', svg).group(1)
    runs = re.findall(r"M(\d+) (\d+)\.5 *h(\d+) *", path)
    assert re.sub(" +(?=[Mh]|$)", "", path) == "".join(f"M{x} {y}.5h{n}" for x, y, n in runs)
    for x, y, n in runs:
        drawn[int(y), int(x) : int(x) + int(n)] = 1
    return drawn


def test_the_svg_draws_the_symbol_in_a_quiet_zone_and_scales_with_its_viewbox():
    text = _text(239)
    svg = services.code_svg(text)
    assert svg.startswith('<svg viewBox="0 0 552 552" ')
    assert 'width="552" height="552"' in svg and "<title>随申码</title>" in svg
    assert 'transform="scale(8)"' in svg
    drawn = _drawn(svg)
    b = qr.BORDER
    assert np.array_equal(drawn[b:-b, b:-b], _segno_modules(text))
    assert drawn[:b].sum() == drawn[-b:].sum() == drawn[:, :b].sum() == drawn[:, -b:].sum() == 0
    assert services.qr_version(text) == 11


def test_a_text_that_does_not_fit_the_fixed_shape_is_drawn_by_segno():
    assert not qr.fits("ssm1:lower case") and not qr.fits("9" * (qr.MAX_CHARS + 1))
    text = "ssm1:" + _text(239)[5:]
    svg = services.code_svg(text)
    assert svg.startswith("<svg viewBox=") and "<title>随申码</title>" in svg
    assert services.qr_version(text) == segno.make_qr(text, error="q", boost_error=False).version
