"""The printable copy of a certificate: A4, the Chinese font embedded, the signed QR code and a
line telling anyone how to check it. The PDF itself is not the proof; the QR code's signature is.
"""

from __future__ import annotations

import io
import subprocess
from functools import lru_cache
from pathlib import Path

import segno
from django.conf import settings
from django.utils import timezone
from fpdf import FPDF

from tongban.certificates.errors import PdfFontMissing
from tongban.certificates.models import Certificate
from tongban.certificates.selectors import certificate_json, certificate_state

FONT_FAMILY = "WenQuanYi Micro Hei"
FONT_FALLBACK = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
STATE_LABELS = {"valid": "有效", "expired": "已过期", "revoked": "已注销"}


@lru_cache(maxsize=1)
def font_path() -> str | None:
    """The font file: TONGBAN_PDF_FONT if set, else what fontconfig finds, else Debian's path.
    fc-match answers its default font when the family is missing, so the answer is checked."""
    configured = getattr(settings, "TONGBAN_PDF_FONT", "") or ""
    candidates = [configured] if configured else []
    try:
        found = subprocess.run(  # noqa: S603 - fixed arguments, no user input
            ["fc-match", "-f", "%{file}", FONT_FAMILY],  # noqa: S607 - found on PATH by design
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
        if "wqy-microhei" in found.lower():
            candidates.append(found)
    except (OSError, subprocess.SubprocessError):
        pass
    candidates.append(FONT_FALLBACK)
    return next((c for c in candidates if c and Path(c).is_file()), None)


def _qr_png(text: str) -> bytes:
    out = io.BytesIO()
    segno.make_qr(text, error="q", boost_error=False).save(out, kind="png", scale=4, border=4)
    return out.getvalue()


def certificate_pdf(cert: Certificate, *, verify_url: str, compress: bool = True) -> bytes:
    """The PDF of CERT. Raises PdfFontMissing (503) rather than printing boxes for Chinese."""
    path = font_path()
    if path is None:
        raise PdfFontMissing()
    body = certificate_json(cert)
    pdf = FPDF(format="A4", unit="mm")
    pdf.set_compression(compress)
    pdf.set_title(f"{body['type']['name']} {cert.serial}")
    pdf.set_creator("tongban")
    if path.lower().endswith(".ttc"):
        pdf.add_font("wqy", fname=path, collection_font_number=0)
    else:
        pdf.add_font("wqy", fname=path)
    pdf.add_page()
    pdf.set_margins(20, 20, 20)
    pdf.set_font("wqy", size=18)
    pdf.cell(0, 12, "电子证照", new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.set_font("wqy", size=15)
    pdf.cell(0, 10, body["type"]["name"], new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.ln(4)
    pdf.set_font("wqy", size=11)
    labels = {c["name"]: (c["label"], c["value"]) for c in body["claims"]}
    shown = body["display"] or [c["name"] for c in body["claims"]]
    state = certificate_state(cert)
    rows = [("持证人", body["holder"]["name"])]
    rows += [labels[n] for n in shown if n in labels]
    issued = timezone.localtime(cert.valid_from).date().isoformat()
    expires = timezone.localtime(cert.expires_at).date().isoformat() if cert.expires_at else "长期"
    rows += [
        ("签发机构", body["issuer"]["name"]),
        ("签发日期", issued),
        ("有效期至", expires),
        ("状态", STATE_LABELS.get(state, state)),
        ("证照编号", cert.serial),
    ]
    for label, value in rows:
        pdf.cell(40, 8, str(label))
        pdf.multi_cell(0, 8, str(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.image(io.BytesIO(_qr_png(cert.text)), x=20, w=60)
    pdf.ln(2)
    pdf.set_font("wqy", size=9)
    pdf.multi_cell(
        0,
        6,
        f"核验方法：用任意扫码工具读取上方二维码，将所得文本粘贴到 {verify_url} 核验签名、"
        "签发机构、有效期与撤销状态。本打印件仅为副本，以二维码核验结果为准。",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    return bytes(pdf.output())
