"""Pages of 大厅、窗口、服务点与场馆；大厅查找；15分钟服务圈；窗口设置比例等数字."""

from __future__ import annotations
