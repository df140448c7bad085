"""The public verification page and the published documents under /.well-known/tongban/."""

from __future__ import annotations

import json

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from tongban.certificates import selectors, services
from tongban.certificates.api import verification_body
from tongban.certificates.forms import VerifyForm


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
    services.root_key_ensure()
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
    return _published(request, selectors.status_list_token(list_id))


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
