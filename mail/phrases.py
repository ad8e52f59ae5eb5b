"""Texts made outside the templates (autonomy reasons, stock notes, the extraction method) that a
rep reads in the summary. They are stored and audited in English; `localise` shows one in the
rep's language by matching it against the English template it was formatted from. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache


def N_(message: str) -> str:
    """Marks a message for the catalogs; it is translated where it is shown."""
    return message


# why a draft may post by itself (agent/review/autopost_policy.py formats these)
REASON_CUSTOMER = N_("known customer %(customer)s by sender address")
REASON_NO_ISSUE = N_("no open issue")
REASON_LINES = N_("%(n)s line(s)")
REASON_PRODUCTS = N_("every product by explicit article code or learned alias")
REASON_QUANTITIES = N_("quantities within %(factor)sx of earlier orders")
REASON_STOCK = N_("stock confirmed by the ERP")
REASON_TOTAL = N_("total %(total)s under the limit %(limit)s")
REASON_TEXT = N_("no instruction the rules did not understand")
REASON_ATTACHMENTS = N_("no attachment left unread")
REASON_HISTORY = N_("%(n)s earlier order(s) approved without edits")
# stock notes on a draft (tools/draft_order.py formats these)
STOCK_SHORT_TOGETHER = N_("only %(available)s in stock for lines %(lines)s together (ordered %(ordered)s)")
STOCK_OUT = N_("out of stock (ordered %(ordered)s)")
STOCK_SHORT = N_("only %(available)s in stock (ordered %(ordered)s)")
STOCK_SHORT_BOTH = N_("only %(in_unit)s in stock (%(available)s; ordered %(ordered)s)")
STOCK_UNKNOWN = N_("stock unknown: the ERP did not answer the stock query; check availability if it matters")
STOCK_UNKNOWN_SKU = N_("stock unknown: the ERP has no stock figure for %(sku)s")
# how a draft was read (agent/extract/rules.py)
METHOD_RULES = N_("rules, no AI model configured")

TEMPLATES = (
    REASON_CUSTOMER,
    REASON_NO_ISSUE,
    REASON_LINES,
    REASON_PRODUCTS,
    REASON_QUANTITIES,
    REASON_STOCK,
    REASON_TOTAL,
    REASON_TEXT,
    REASON_ATTACHMENTS,
    REASON_HISTORY,
    STOCK_SHORT_TOGETHER,
    STOCK_OUT,
    STOCK_SHORT,
    STOCK_SHORT_BOTH,
    STOCK_UNKNOWN,
    STOCK_UNKNOWN_SKU,
    METHOD_RULES,
)
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@cache
def _pattern(template: str) -> re.Pattern[str]:
    parts = _PLACEHOLDER.split(template)  # literal, name, literal, name, ...
    regex = "".join(f"(?P<{part}>.+?)" if index % 2 else re.escape(part) for index, part in enumerate(parts))
    return re.compile(regex + r"\Z", re.DOTALL)


def localise(text: str, translate: Callable[[str], str]) -> str:
    """`text` in another language when it was formatted from one of TEMPLATES (its values kept),
    else unchanged. `translate` is the language's gettext."""
    for template in TEMPLATES:
        match = _pattern(template).match(text)
        if match:
            translated = translate(template)
            return translated % match.groupdict() if translated != template else text
    return text
