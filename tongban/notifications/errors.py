from __future__ import annotations

from tongban.common.errors import NotFound


class NoticeNotFound(NotFound):
    # Also for another user's notice: saying "not yours" would confirm that it exists.
    code = "NOTICE_NOT_FOUND"
    message = "未找到该消息"
