"""The public JSON API, /api/v1/. One router per app; errors always {"code", "message"}."""

from __future__ import annotations

from django.http import Http404
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from tongban.accounts.api import router as accounts_router
from tongban.accounts.api_agents import router as enterprise_agents_router
from tongban.appointments.api_booking import router as booking_router
from tongban.appointments.api_halls import router as halls_router
from tongban.appointments.api_kiosk import router as kiosk_router
from tongban.appointments.api_queue import router as queue_router
from tongban.appointments.api_waitlist import router as waitlist_router
from tongban.assistance.api import router as assistance_router
from tongban.assistant.api import router as assistant_router
from tongban.cases.api import router as cases_router
from tongban.catalog.api import router as catalog_router
from tongban.certificates.api import router as certificates_router
from tongban.commitment_checks.api import me as commitment_checks_me_router
from tongban.commitment_checks.api import router as commitment_checks_router
from tongban.common.errors import DomainError
from tongban.consents.api import router as consents_router
from tongban.delegation.api import router as delegation_router
from tongban.errorpages import DATABASE_UNAVAILABLE_ERRORS, database_unavailable
from tongban.idcode.api import router as idcode_router
from tongban.metrics.api import public as metrics_public_router
from tongban.metrics.api import router as metrics_router
from tongban.notifications.api import router as notifications_router
from tongban.opendata.api import router as opendata_router
from tongban.policies.api import router as policies_router
from tongban.policies.api_staff import public_router as policies_public_router
from tongban.policies.api_staff import router as policies_staff_router
from tongban.reviews.api import public as reviews_public_router
from tongban.reviews.api import router as reviews_router

api = NinjaAPI(
    title="tongban 一网通办 API",
    version="1",
    description='通办开放接口。错误统一为 {"code": ..., "message": ...}。',
    urls_namespace="api",
    # No validator badge: Swagger UI would send the document to validator.swagger.io.
    docs=Swagger(settings={"validatorUrl": None}),
)
api.add_router("/catalog/", catalog_router)


@api.get("/health", tags=["system"], summary="存活检查")
def health(request):
    """Touches no database: the benchmarks use it as the framework's ceiling for this app."""
    return {"status": "ok"}


api.add_router("/", accounts_router)
api.add_router("/", enterprise_agents_router)
api.add_router("/", cases_router)
api.add_router("/", certificates_router)
api.add_router("/", idcode_router)
api.add_router("/", delegation_router)  # 亲友代办
api.add_router("/", notifications_router)
api.add_router("/", policies_router)
api.add_router("/", policies_public_router)
api.add_router("/", policies_staff_router)
api.add_router("/", reviews_router)
api.add_router("/", reviews_public_router)
api.add_router("/", assistance_router)  # 行政协助
api.add_router("/", consents_router)  # 授权数据使用
api.add_router("/", commitment_checks_router)  # 告知承诺事后核查
api.add_router("/", commitment_checks_me_router)
api.add_router("/", halls_router)  # 大厅查找
api.add_router("/", booking_router)  # 统一预约
api.add_router("/", queue_router)  # 取号叫号
api.add_router("/", waitlist_router)  # 轮候
api.add_router("/", kiosk_router)  # 自助终端
api.add_router("/", assistant_router)  # 智能客服
api.add_router("/", metrics_router)  # 服务指标
api.add_router("/", metrics_public_router)
api.add_router("/", opendata_router)  # 开放数据


@api.exception_handler(DomainError)
def _domain_error(request, exc: DomainError):
    response = api.create_response(request, exc.as_dict(), status=exc.http_status)
    # A 429 says when to come back, so a client can wait instead of hammering (RFC 9110).
    if getattr(exc, "retry_after_seconds", None):
        response["Retry-After"] = str(exc.retry_after_seconds)
    return response


@api.exception_handler(NinjaValidationError)
def _validation_error(request, exc: NinjaValidationError):
    details = [
        {
            "field": ".".join(str(p) for p in err.get("loc", []) if p not in ("body", "payload")),
            "message": err.get("msg", ""),
        }
        for err in exc.errors
    ]
    body = {"code": "INVALID_INPUT", "message": "请求格式不正确", "details": details}
    return api.create_response(request, body, status=422)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return api.create_response(request, {"code": "NOT_FOUND", "message": "未找到"}, status=404)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    body = {"code": "AUTHENTICATION_REQUIRED", "message": "请先登录"}
    return api.create_response(request, body, status=401)


@api.exception_handler(HttpError)
def _http_error(request, exc: HttpError):
    body = {"code": f"HTTP_{exc.status_code}", "message": str(exc.message)}
    return api.create_response(request, body, status=exc.status_code)


# Ninja re-raises what it has no handler for and Django would answer 500; a database that
# cannot be reached is the same 503 with Retry-After that handler500 gives to everything else.
for _error in DATABASE_UNAVAILABLE_ERRORS:
    api.add_exception_handler(_error, database_unavailable)
