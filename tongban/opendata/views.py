"""开放数据 pages: the catalogue, a page per dataset, the files at their stable addresses, and
the developer's pages (registration, keys, usage). Thin: selectors and services hold the
rules."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
    require_safe,
)

from tongban.common.errors import DomainError
from tongban.opendata import selectors, services
from tongban.opendata.errors import DatasetNotFound
from tongban.opendata.forms import DeveloperForm

# Files may be kept by browsers and shared caches this long; the tables behind them are
# themselves kept TONGBAN_OPENDATA_CACHE_SECONDS, so a change shows within both.
FILE_MAX_AGE = 300
PREVIEW_ROWS = 3
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json; charset=utf-8"}


def _table(dataset_id: str) -> selectors.Table:
    try:
        return selectors.dataset_table(dataset_id)
    except DatasetNotFound:
        raise Http404 from None


def _licence() -> dict[str, str]:
    return {"title": selectors.LICENSE_TITLE, "url": selectors.LICENSE_TEXT_URL}


def _cell(value) -> str:
    """A value as the pages show it: 是/否, dates as written, "—" for nothing published."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)


@require_GET
def catalogue_view(request: HttpRequest) -> HttpResponse:
    """开放数据 — every dataset with what it holds, how often it changes and its files."""
    context = {
        "tables": selectors.catalogue(),
        "publisher": selectors.publisher_name(),
        "licence": _licence(),
        "catalog_title": selectors.CATALOG_TITLE,
        "catalog_description": selectors.CATALOG_DESCRIPTION,
    }
    return render(request, "opendata/catalogue.html", context)


@require_GET
def dataset_view(request: HttpRequest, dataset_id: str) -> HttpResponse:
    table = _table(dataset_id)
    dataset = table.dataset
    preview = table.rows[:PREVIEW_ROWS]
    # Field by field, one column per record: the preview then fits any screen whatever the
    # number of columns.
    preview_fields = [
        {"title": c.title, "values": [_cell(row[c.name]) for row in preview]}
        for c in dataset.columns
    ]
    context = {
        "table": table,
        "dataset": dataset,
        "publisher": selectors.publisher_name(),
        "licence": _licence(),
        "preview_count": len(preview),
        "preview_fields": preview_fields,
        "rows_url": request.build_absolute_uri(f"/api/v1/opendata/datasets/{dataset.id}/rows"),
        "metadata_url": f"/api/v1/opendata/datasets/{dataset.id}",
        "limit": selectors.rate_limit(),
    }
    return render(request, "opendata/dataset.html", context)


@require_safe
def download_view(request: HttpRequest, dataset_id: str, fmt: str) -> HttpResponse:
    """/opendata/<id>.csv and .json: open to anyone, no key, and cacheable — the same bytes
    until the data changes, with an ETag so a client asks "changed?" and gets a 304."""
    table = _table(dataset_id)
    body = selectors.csv_bytes(table) if fmt == "csv" else selectors.json_bytes(table)
    response = HttpResponse(body, content_type=CONTENT_TYPES[fmt])
    etag = selectors.file_etag(body)
    modified = int(table.modified.timestamp())
    response["ETag"] = etag
    response["Last-Modified"] = http_date(modified)
    # Public: the files hold no personal data, even when a logged-in person downloads them.
    response["Cache-Control"] = f"public, max-age={FILE_MAX_AGE}"
    response["Access-Control-Allow-Origin"] = "*"
    if fmt == "csv":
        response["Content-Disposition"] = f'attachment; filename="{table.dataset.id}.csv"'
    return get_conditional_response(request, etag=etag, last_modified=modified, response=response)


# ---------------------------------------------------------------- developers


def _show_key(request: HttpRequest, issued: services.IssuedKey, *, fresh: bool) -> HttpResponse:
    # Rendered once, straight from the POST: the key is stored hashed and never shown again.
    context = {"issued": issued, "fresh": fresh, "limit": selectors.rate_limit()}
    return render(request, "opendata/key_issued.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def developer_view(request: HttpRequest) -> HttpResponse:
    """开发者 — register an application (once), then see, replace and revoke its key."""
    developer = selectors.developer_of(request.user)
    form = DeveloperForm(request.POST or None) if developer is None else None
    error = ""
    if form is not None and request.method == "POST" and form.is_valid():
        try:
            issued = services.developer_register(user=request.user, **form.cleaned_data)
        except DomainError as exc:
            error = exc.message
            for detail in exc.details:
                form.add_error(detail["field"], detail["message"])
        else:
            return _show_key(request, issued, fresh=True)
    elif developer is not None and request.method == "POST":
        return redirect("opendata:developer")
    status = 422 if form is not None and request.method == "POST" else 200
    context = {
        "developer": developer,
        "keys": selectors.keys_of(developer) if developer else [],
        "form": form,
        "error": error,
        "limit": selectors.rate_limit(),
    }
    return render(request, "opendata/developer.html", context, status=status)


@require_POST
@login_required
def key_create_view(request: HttpRequest) -> HttpResponse:
    try:
        issued = services.api_key_create(actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("opendata:developer")
    return _show_key(request, issued, fresh=False)


@require_POST
@login_required
def key_revoke_view(request: HttpRequest, key_id: int) -> HttpResponse:
    try:
        key = services.api_key_revoke(actor=request.user, key_id=key_id)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已撤销密钥 {key.key_prefix}…，使用它的调用将被拒绝。")
    return redirect("opendata:developer")


@require_GET
@login_required
def usage_view(request: HttpRequest) -> HttpResponse:
    """调用统计 — calls per day and dataset over the last 30 days, and the limit."""
    developer = selectors.developer_of(request.user)
    if developer is None:
        return redirect("opendata:developer")
    context = {
        "developer": developer,
        "usage": selectors.usage_for(developer=developer),
        "keys": selectors.keys_of(developer),
    }
    return render(request, "opendata/usage.html", context)
