"""Errors of the data exchange (数据共享交换), with stable codes."""

from __future__ import annotations

from tongban.catalog.loader import DefinitionProblem
from tongban.common.errors import DomainError


class SourceNotAllowed(DomainError):
    """The request names no scenario this source authorises, a legal basis it does not
    list, or elements a consent may not read (场景授权)."""

    code = "EXCHANGE_NOT_ALLOWED"
    message = "该数据源不允许此次查询"
    http_status = 403


class SourceUnavailable(DomainError):
    """The department system did not answer usably: disabled, circuit open, timed out,
    refused the signature, or answered something malformed."""

    code = "EXCHANGE_SOURCE_UNAVAILABLE"
    message = "数据源暂时无法核验，请稍后再试"
    http_status = 503

    def __init__(self, message: str | None = None, *, reason: str = "", lookup_id: int = 0):
        super().__init__(message)
        self.reason = reason  # disabled / circuit_open / timeout / connection / http_500 / …
        self.lookup_id = lookup_id


class SourceUnknown(DomainError):
    code = "EXCHANGE_SOURCE_UNKNOWN"
    message = "没有这个数据源"
    http_status = 404


class DataSourcesInvalid(DomainError):
    code = "DATA_SOURCES_INVALID"
    message = "数据源定义有误，未做任何更改"
    http_status = 422

    def __init__(self, problems: list[DefinitionProblem]):
        super().__init__(details=[p.as_dict() for p in problems])
        self.problems = problems
