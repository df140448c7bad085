"""The public verification page, the published documents under /.well-known/tongban/, and the
wallet (我的证照) pages."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from tongban.certificates import selectors, services
from tongban.certificates.api import verification_body
from tongban.certificates.errors import CertificateNotFound, PdfFontMissing
from tongban.certificates.forms import VerifyForm
from tongban.certificates.models import Certificate
from tongban.certificates.pdf import STATE_LABELS, certificate_pdf
from tongban.common.errors import InvalidInput


def _published(request: HttpRequest, doc: selectors.Published | None) -> HttpResponse:
    if doc is None:
        raise Http404
    if request.headers.get("If-None-Match") == doc.etag:
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(doc.body, content_type=doc.content_type)
    response["ETag"] = doc.etag
    response["Cache-Control"] = f"public, max-age={doc.max_age}"
    response["Access-Control-Allow-Origin"] = "*"  # verifiers in other origins fetch these
    return response


@require_GET
def trust_list_view(request: HttpRequest) -> HttpResponse:
    # Signs a new edition first when the keys changed or the newest is past half its life.
    services.trust_list_publish()
    return _published(request, selectors.trust_list_document())


@require_GET
def root_key_view(request: HttpRequest) -> HttpResponse:
    services.root_key_ensure()
    doc = selectors.root_key_document()
    response = HttpResponse(
        json.dumps(doc, ensure_ascii=False, indent=2), content_type="application/json"
    )
    response["Cache-Control"] = "public, max-age=3600"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def status_list_view(request: HttpRequest, list_id: int) -> HttpResponse:
    services.root_key_ensure()
    return _published(request, services.status_list_token(list_id=list_id))


@require_http_methods(["GET", "POST"])
def verify_page(request: HttpRequest) -> HttpResponse:
    form = VerifyForm(request.POST or None)
    context: dict = {"form": form, "result": None}
    if request.method == "POST" and form.is_valid():
        result = selectors.certificate_verify(form.cleaned_data["text"].strip())
        body = verification_body(result)
        name, labels = (
            selectors.certificate_type_labels(body["type"]["code"])
            if body.get("type")
            else ("", {})
        )
        context["result"] = body
        context["ok"] = result.is_valid
        context["type_name"] = name
        context["claims"] = [
            (labels.get(name, name), value) for name, value in (body.get("claims") or {}).items()
        ]
    return render(request, "certificates/verify.html", context)


# ---------------------------------------------------------------- the wallet (我的证照)


def _own(request: HttpRequest, pk: int) -> Certificate:
    """Another person's certificate does not exist, as far as this person can tell."""
    try:
        return selectors.certificate_for(user=request.user, pk=pk)
    except CertificateNotFound as exc:
        raise Http404(exc.message) from exc


def _row(cert: Certificate) -> dict:
    state = selectors.certificate_state(cert)
    if cert.holder_enterprise_id:
        holder = cert.holder_enterprise.name
    else:
        holder = cert.holder_profile.name if cert.holder_profile_id else ""
    return {
        "id": cert.pk,
        "type_name": cert.type.name,
        "holder": holder,
        "issuer": cert.type.department.name,
        "state": state,
        "state_label": STATE_LABELS.get(state, state),
        # The document's own date: a card that existed on paper before the platform signed it
        # keeps its date (valid_from); the signing time is in the token.
        "issued_on": timezone.localtime(cert.valid_from).date(),
        "expires_on": timezone.localtime(cert.expires_at).date() if cert.expires_at else None,
    }


@login_required
@require_GET
def wallet_view(request: HttpRequest) -> HttpResponse:
    certs = selectors.certificates_for(user=request.user).select_related(
        "holder_profile", "holder_enterprise"
    )[:500]
    return render(request, "certificates/wallet.html", {"rows": [_row(c) for c in certs]})


@login_required
@require_GET
def wallet_certificate_view(request: HttpRequest, pk: int) -> HttpResponse:
    cert = _own(request, pk)
    body = selectors.certificate_json(cert)
    claims = {c["name"]: c for c in body["claims"]}
    shown = body["display"] or list(claims)
    result = selectors.certificate_verify(cert.text)
    context = {
        "row": _row(cert),
        "body": body,
        "display": [claims[n] for n in shown if n in claims],
        "qr_svg": selectors.certificate_qr_svg(cert.text, title=f"{cert.type.name}二维码"),
        "verification": result,
    }
    return render(request, "certificates/wallet_certificate.html", context)


@login_required
@require_GET
def wallet_certificate_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    cert = _own(request, pk)
    try:
        content = certificate_pdf(
            cert, verify_url=request.build_absolute_uri("/certificates/verify/")
        )
    except PdfFontMissing as exc:
        return render(
            request, "error.html", {"status": exc.http_status, "message": exc.message}, status=503
        )
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="certificate-{cert.serial[:12]}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def wallet_share_view(request: HttpRequest, pk: int) -> HttpResponse:
    cert = _own(request, pk)
    body = selectors.certificate_json(cert)
    disclosable = [c for c in body["claims"] if c["name"] in body["disclosable"]]
    context: dict = {"row": _row(cert), "choices": disclosable, "error": "", "shown": None}
    if request.method == "POST":
        chosen = request.POST.getlist("claims")
        context["chosen"] = chosen
        try:
            shown = services.presentation_create(
                certificate=cert, holder_user=request.user, claims=chosen
            )
        except InvalidInput as exc:
            context["error"] = exc.message
            if exc.details:
                labels = {c["name"]: c["label"] for c in body["claims"]}
                refused = [labels.get(d["field"], d["field"]) for d in exc.details]
                context["error"] += "：" + "、".join(refused)
        else:
            labels = {c["name"]: c["label"] for c in body["claims"]}
            context["shown"] = {
                "claims": [(labels.get(n, n), v) for n, v in shown.claims.items()],
                "expires_at": shown.expires_at,
                "text": shown.text,
                "qr_svg": selectors.certificate_qr_svg(shown.text, title="出示二维码"),
            }
    status = 422 if context["error"] else 200
    return render(request, "certificates/wallet_share.html", context, status=status)
