"""docs/formats.md's worked example runs as written and agrees with this code."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

from tongban.certificates import cose
from tongban.certificates import verify as v

DOC = Path(__file__).resolve().parents[3] / "docs" / "formats.md"


def _example() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text.split("<!-- example: verify -->\n```python\n", 1)[1].split("```", 1)[0]


def test_the_worked_example_verifies_with_cbor2_and_cryptography_only():
    code = _example()
    assert "from tongban" not in code and "import tongban" not in code
    out = io.StringIO()
    namespace: dict = {}
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - our own document
    assert out.getvalue() == (
        "SH-GA 1795000000 2425720000 5f1c0a9e3b7d4c2a8e6f0b1d3c5a7e90\n"
        "resident_id_card 张三（示例） [1, 90210]\n"
    )
    # And tongban's own verifier agrees, with the key from the example as its trust list.
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    public = load_der_public_key(namespace["SPKI"])
    key = v.TrustedKey(
        kid=cose.kid_for(public),
        alg=-7,
        public_key=public,
        issuer="SH-GA",
        issuer_name="示例市公安局",
        valid_from=0,
    )
    trust = v.TrustList.of([key])
    result = v.verify_text(namespace["TEXT"], trust, 1795000000, lambda i, n: False)
    assert result.code == "valid"
    assert v.verify_text(namespace["TEXT"], trust, 2425720000, lambda i, n: False).code == "expired"
