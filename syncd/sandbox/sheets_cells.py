"""Cell values for the Sheets emulator: how input is interpreted and how values are rendered.

Input (ValueInputOption, Sheets API reference):
- RAW: "The values the user has entered will not be parsed and will be stored as-is." Every
  string stays a string, including one starting with "=", "+", "-" or "@".
- USER_ENTERED: "parsed as if the user typed them into the UI": `=...` is a formula, a leading
  `'` forces text, TRUE/FALSE are booleans, numbers (`1,234.5`, `1e3`, `50%`, `$12.50`) and
  dates (`2024-05-01`, `2024-05-01 13:45:00`, `5/1/2024`, en_US locale) become numbers, and a
  number format is applied to the cell when it has none, as the UI does.
- JSON numbers and booleans are stored as numberValue/boolValue under either option; JSON null
  leaves the cell unchanged and "" clears its value (ValueRange docs).
A cell holds at most 50,000 characters.

Output (ValueRenderOption): FORMATTED_VALUE renders with the cell's number format,
UNFORMATTED_VALUE gives the raw number/bool/string, FORMULA gives formulas as typed. Formula
results come from `sheets_formula`; a formula it cannot evaluate shows its own text.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from syncd.sandbox.sheets_formula import ERROR_TEXT, Unsupported, evaluate

MAX_CELL_CHARS = 50_000
CELL_TOO_LONG = "Your input contains more than the maximum of 50000 characters in a single cell."
EPOCH = dt.datetime(1899, 12, 30)  # serial number 0 (Sheets/Lotus date epoch)

# en_US defaults for a number format type given without a pattern.
DEFAULT_PATTERNS = {
    "NUMBER": "#,##0.00",
    "PERCENT": "0.00%",
    "CURRENCY": '"$"#,##0.00',
    "SCIENTIFIC": "0.00E+00",
    "DATE": "M/d/yyyy",
    "TIME": "h:mm:ss am/pm",
    "DATE_TIME": "M/d/yyyy H:mm:ss",
}
DATE_TYPES = ("DATE", "TIME", "DATE_TIME")

_NUMBER = re.compile(
    r"([+-]?)(\$?)((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d+))?(%?)"
)
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?")
_DATE_TOKEN = re.compile(
    r'"[^"]*"|\\.|yyyy|yy|mmmm|mmm|mm|m|MMMM|MMM|MM|M|dddd|ddd|dd|d|hh|h|HH|H|ss|s|am/pm|AM/PM|.'
)


class SheetsError(Exception):
    """An API error: HTTP status and Google's message (wrapped into the JSON error body)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def check_length(text: str) -> None:
    """Reject a string longer than one cell may hold."""
    if len(text) > MAX_CELL_CHARS:
        raise SheetsError(400, CELL_TOO_LONG)


def _whole(number: float) -> int | float:
    """5.0 -> 5 so JSON shows `5` as Google's does."""
    return int(number) if isinstance(number, float) and number.is_integer() else number


def input_value(value: Any, option: str) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    """(ExtendedValue, number format to apply or None) for one input value; None = skip.

    An empty ExtendedValue means "clear the value".
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return {"boolValue": value}, None
    if isinstance(value, int | float):
        return {"numberValue": _whole(value)}, None
    text = str(value)
    check_length(text)
    if text == "":
        return {}, None
    if option == "RAW":
        return {"stringValue": text}, None
    return typed_value(text)


def typed_value(text: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Interpret text as if typed into the Sheets UI (USER_ENTERED)."""
    if text.startswith("'"):
        return {"stringValue": text[1:]}, None
    if text.startswith("=") and len(text) > 1:
        return {"formulaValue": text}, None
    stripped = text.strip()
    first = stripped[:1]
    if first.isalpha() and first not in "TtFf":
        return {"stringValue": text}, None  # cannot be a number, date or boolean: skip parsing
    if stripped.isdigit() and stripped.isascii():  # plain integers, the common number
        return {"numberValue": int(stripped) if len(stripped) <= 15 else float(stripped)}, None
    if stripped.upper() in ("TRUE", "FALSE"):
        return {"boolValue": stripped.upper() == "TRUE"}, None
    match = _NUMBER.fullmatch(stripped)
    if match:
        sign, dollar, digits, exponent, percent = match.groups()
        number = float(digits.replace(",", "") + (f"e{exponent}" if exponent else ""))
        number = -number if sign == "-" else number
        fmt = None
        decimals = len(digits.partition(".")[2])
        if percent:
            number /= 100
            fmt = {"type": "PERCENT", "pattern": "0.00%" if decimals else "0%"}
        elif dollar:
            fmt = {"type": "CURRENCY", "pattern": '"$"#,##0.00' if decimals else '"$"#,##0'}
        elif exponent:
            fmt = {"type": "SCIENTIFIC", "pattern": "0.00E+00"}
        elif "," in digits:
            fmt = {"type": "NUMBER", "pattern": "#,##0.00" if decimals else "#,##0"}
        return {"numberValue": _whole(number)}, fmt
    return _typed_date(stripped) or ({"stringValue": text}, None)


def _typed_date(text: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    iso, us = _ISO_DATE.fullmatch(text), _US_DATE.fullmatch(text)
    if iso:
        year, month, day, hour, minute, second = iso.groups()
        base = "yyyy-mm-dd"
    elif us:
        month, day, year, hour, minute, second = us.groups()
        base = "M/d/yyyy"
    else:
        return None
    try:
        when = dt.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0))
    except ValueError:
        return None
    when += dt.timedelta(seconds=int(second or 0))
    delta = when - EPOCH
    serial = _whole(delta.days + delta.seconds / 86400)
    if hour is None:
        return {"numberValue": serial}, {"type": "DATE", "pattern": base}
    clock = "hh:mm" if iso else "H:mm"
    pattern = f"{base} {clock}:ss" if second is not None else f"{base} {clock}"
    return {"numberValue": serial}, {"type": "DATE_TIME", "pattern": pattern}


def effective_value(entered: dict[str, Any]) -> dict[str, Any]:
    """What a cell evaluates to (formulas computed when the emulator can)."""
    formula = entered.get("formulaValue")
    if formula is None:
        return entered
    try:
        return evaluate(formula)
    except Unsupported:
        return {"stringValue": formula}


def format_value(value: dict[str, Any], number_format: dict[str, Any] | None) -> str:
    """The formattedValue of an effective ExtendedValue."""
    if "stringValue" in value:
        return str(value["stringValue"])
    if "boolValue" in value:
        return "TRUE" if value["boolValue"] else "FALSE"
    if "errorValue" in value:
        return ERROR_TEXT.get(value["errorValue"].get("type", ""), "#ERROR!")
    if "numberValue" in value:
        return format_number(value["numberValue"], number_format)
    return ""


def render(cell: dict[str, Any] | None, option: str, date_option: str = "SERIAL_NUMBER") -> Any:
    """One cell for the values API under a ValueRenderOption ("" for an empty cell)."""
    entered = (cell or {}).get("userEnteredValue")
    if not entered:
        return ""
    if option == "FORMULA" and "formulaValue" in entered:
        return entered["formulaValue"]
    value = effective_value(entered)
    number_format = ((cell or {}).get("userEnteredFormat") or {}).get("numberFormat")
    if option == "FORMATTED_VALUE":
        return format_value(value, number_format)
    if "numberValue" in value:
        is_date = (number_format or {}).get("type") in DATE_TYPES
        if is_date and date_option == "FORMATTED_STRING":
            return format_value(value, number_format)
        return _whole(value["numberValue"])
    if "boolValue" in value:
        return value["boolValue"]
    return format_value(value, number_format)


def format_number(number: float, number_format: dict[str, Any] | None) -> str:
    """Render a number with a NumberFormat (type + pattern), or Sheets' General format."""
    kind = (number_format or {}).get("type")
    pattern = (number_format or {}).get("pattern") or DEFAULT_PATTERNS.get(kind or "", "")
    if kind in DATE_TYPES:
        return _format_date(number, pattern)
    if not pattern or kind == "TEXT":
        return _general(number)
    return _format_pattern(number, pattern)


def _general(number: float) -> str:
    if float(number).is_integer() and abs(number) < 1e15:
        return str(int(number))
    return f"{number:.10g}".replace("e", "E")


def _format_pattern(number: float, pattern: str) -> str:
    body = pattern.split(";")[0]
    match = re.search(r"[#0][#0,]*(?:\.[#0]*)?(?:[Ee][+-]0+)?", body)
    if not match:
        return _general(number)
    literal = re.compile(r'"([^"]*)"|\\(.)')
    prefix = literal.sub(lambda m: m.group(1) or m.group(2) or "", body[: match.start()])
    suffix = literal.sub(lambda m: m.group(1) or m.group(2) or "", body[match.end() :])
    core = match.group(0)
    value = abs(number) * (100 if "%" in suffix else 1)
    mantissa, _, exp_part = core.upper().partition("E")
    integer, _, fraction = mantissa.partition(".")
    fixed, optional = fraction.count("0"), fraction.count("#")
    if exp_part:
        text = f"{value:.{fixed + optional}E}"
        digits, _, exponent = text.partition("E")
        text = f"{digits}E{exponent[0]}{abs(int(exponent)):0{len(exp_part) - 1}d}"
    else:
        # Sheets rounds halves away from zero (1.25 shows as 1.3 under "0.0"), unlike
        # Python's float formatting, so the number is rounded as its decimal text.
        places = Decimal(1).scaleb(-(fixed + optional))
        rounded = Decimal(repr(float(value))).quantize(places, rounding=ROUND_HALF_UP)
        text = f"{rounded:{',' if ',' in integer else ''}f}"
        if optional:
            head, _, tail = text.partition(".")
            tail = tail.rstrip("0").ljust(fixed, "0")
            text = f"{head}.{tail}" if tail else head
        if integer.strip(",").startswith("#") and text.startswith("0") and "0" not in integer:
            text = text[1:]
    sign = "-" if number < 0 and float(text.replace(",", "").split("E")[0] or 0) else ""
    return f"{sign}{prefix}{text}{suffix}"


def _format_date(serial: float, pattern: str) -> str:
    when = EPOCH + dt.timedelta(days=serial)
    when = when.replace(microsecond=0) + dt.timedelta(seconds=round(when.microsecond / 1e6))
    tokens = _DATE_TOKEN.findall(pattern)
    twelve = any(t.lower() == "am/pm" for t in tokens)
    out: list[str] = []
    for i, token in enumerate(tokens):
        low = token.lower()
        prev = next((t for t in reversed(tokens[:i]) if t.strip() and t[0].isalpha()), "")
        nxt = next((t for t in tokens[i + 1 :] if t.strip() and t[0].isalpha()), "")
        minute = token in ("m", "mm") and (prev.lower().startswith("h") or nxt.startswith("s"))
        hour12 = (when.hour % 12) or 12
        if low == "yyyy":
            out.append(f"{when.year:04d}")
        elif low == "yy":
            out.append(f"{when.year % 100:02d}")
        elif minute:
            out.append(f"{when.minute:02d}" if token == "mm" else str(when.minute))
        elif low == "mmmm":
            out.append(when.strftime("%B"))
        elif low == "mmm":
            out.append(when.strftime("%b"))
        elif low == "mm":
            out.append(f"{when.month:02d}")
        elif low == "m":
            out.append(str(when.month))
        elif low in ("dddd", "ddd"):
            out.append(when.strftime("%A" if low == "dddd" else "%a"))
        elif low in ("dd", "d"):
            out.append(f"{when.day:02d}" if low == "dd" else str(when.day))
        elif low in ("hh", "h"):
            hour = hour12 if twelve else when.hour
            out.append(f"{hour:02d}" if low == "hh" else str(hour))
        elif low in ("ss", "s"):
            out.append(f"{when.second:02d}" if low == "ss" else str(when.second))
        elif low == "am/pm":
            out.append("AM" if when.hour < 12 else "PM")
        elif token.startswith('"'):
            out.append(token[1:-1])
        elif token.startswith("\\"):
            out.append(token[1:])
        else:
            out.append(token)
    return "".join(out)
