"""指标导出: one breakdown of the dashboard as a table, for CSV and Excel (openpyxl)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from tongban.metrics import selectors

COLUMNS: tuple[tuple[str, str, str], ...] = (
    # (header, section, key): rates stay fractions in Excel (formatted as %), and CSV
    # writes them as decimals so a spreadsheet or a script reads the exact value.
    ("申请件数", "cases", "submitted"),
    ("网上申请件数", "cases", "submitted_online"),
    ("网办比例", "cases", "online_share"),
    ("办结件数", "cases", "concluded"),
    ("全程网办件数", "cases", "full_online"),
    ("全程网办率", "cases", "full_online_rate"),
    ("即办件数", "cases", "same_day"),
    ("即办率", "cases", "same_day_rate"),
    ("按时办结率", "cases", "on_time_rate"),
    ("超期办结件数", "cases", "late"),
    ("平均办结用时（工作日）", "cases", "average_working_days"),
    ("90%办结用时（工作日）", "cases", "p90_working_days"),
    ("所需材料", "cases", "materials_required"),
    ("逐项申请所需材料", "cases", "materials_single_path"),
    ("实际提交材料", "cases", "materials_submitted"),
    ("免提交材料", "cases", "materials_spared"),
    ("减材料率", "cases", "spared_rate"),
    ("容缺后补", "cases", "deferred"),
    ("跑动次数", "cases", "visits"),
    ("逐项申请跑动次数", "cases", "visits_single_path"),
    ("办理环节", "cases", "steps"),
    ("逐项申请办理环节", "cases", "steps_single_path"),
    ("承诺时限合计（工作日）", "cases", "promised_days"),
    ("逐项申请承诺时限合计（工作日）", "cases", "promised_days_single_path"),
    ("评价数", "reviews", "ratings"),
    ("满意率", "reviews", "satisfaction_rate"),
    ("差评率", "reviews", "bad_rate"),
    ("整改工单", "reviews", "orders_opened"),
    ("整改率", "reviews", "rectification_rate"),
    ("按时整改率", "reviews", "on_time_rate"),
)
RATE_KEYS = {k for _, _, k in COLUMNS if k.endswith(("_rate", "_share"))}


def table(*, scope: selectors.Scope, by: str) -> tuple[list[str], list[list[Any]]]:
    data = selectors.breakdown(scope=scope, by=by)
    headers = ["编码", data["by_label"], *(h for h, _, _ in COLUMNS)]
    rows = [
        [r["code"], r["name"], *(r[section][key] for _, section, key in COLUMNS)]
        for r in data["rows"]
    ]
    return headers, rows


def filename(*, scope: selectors.Scope, by: str, extension: str) -> str:
    return f"tongban-metrics-{by}-{scope.start:%Y%m%d}-{scope.end:%Y%m%d}.{extension}"


def as_csv(headers: list[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    # A BOM so Excel opens the Chinese headers as UTF-8.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def as_xlsx(headers: list[str], rows: list[list[Any]], *, title: str) -> bytes:
    """A write-only workbook (memory stays flat for a year by item); rates are fractions
    shown as percentages, so Excel can still compute with them."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.append(headers)
    rate_columns = {i for i, (_, _, k) in enumerate(COLUMNS, start=2) if k in RATE_KEYS}
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            cell = WriteOnlyCell(sheet, value=float(value) if isinstance(value, Decimal) else value)
            if i in rate_columns:
                cell.number_format = "0.0%"
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
