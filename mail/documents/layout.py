"""Rebuilding lines and tables from positioned words (a PDF text layer or OCR output).

Owns: grouping words into lines and phrases, finding a header line, placing column boundaries
where the rows below leave a vertical gap ("positioned columns" without ruling), splitting
each line into cells, joining a wrapped description to its row, and carrying an open table
(positioned or ruled) over to the next page with or without a repeated header.
Coordinates only need to be consistent within a page: points for PDFs, pixels for OCR.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from statistics import median

from .models import Collector, Table
from .tables import GridTables, detect_header, is_item_row, is_totals_row, same_header


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float


@dataclass
class Phrase:
    words: list[Word]

    @property
    def x0(self) -> float:
        return self.words[0].x0

    @property
    def x1(self) -> float:
        return self.words[-1].x1

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


@dataclass
class Line:
    words: list[Word] = field(default_factory=list)

    @property
    def top(self) -> float:
        return min(w.top for w in self.words)

    @property
    def bottom(self) -> float:
        return max(w.bottom for w in self.words)

    @property
    def height(self) -> float:
        return median(w.bottom - w.top for w in self.words) or 1.0

    def phrases(self) -> list[Phrase]:
        """Words split where the gap is wider than a space: the line's cells as printed."""
        gap = max(0.45 * self.height, 1.0)
        out: list[Phrase] = []
        for word in self.words:
            if out and word.x0 - out[-1].x1 <= gap:
                out[-1].words.append(word)
            else:
                out.append(Phrase([word]))
        return out

    @property
    def text(self) -> str:
        return "  ".join(p.text for p in self.phrases())


@dataclass(frozen=True)
class RuledBlock:
    """A table pdfplumber found from ruling lines, as rows of cells."""

    top: float
    rows: list[list[str | None]]


def group_lines(words: list[Word]) -> list[Line]:
    """Words on one baseline (vertical centres within half a line height) form a line."""
    lines: list[Line] = []
    for word in sorted(words, key=lambda w: (w.top, w.x0)):
        centre = (word.top + word.bottom) / 2
        if lines:
            last = lines[-1]
            if last.top - 0.1 <= centre <= last.bottom + 0.1 and abs(word.top - last.top) < 0.5 * last.height:
                last.words.append(word)
                continue
        lines.append(Line([word]))
    for line in lines:
        line.words.sort(key=lambda w: w.x0)
    return lines


@dataclass
class _Positioned:
    table: Table
    bounds: list[float]  # len(header) - 1 x positions between the columns
    last_row_bottom: float | None = None
    last_row_height: float = 0.0


_LOOKAHEAD = 200


class PageLayout:
    """Reads pages in order into a Collector; an open table survives a page break."""

    def __init__(self, out: Collector) -> None:
        self.out = out
        self.grid = GridTables(out)
        self.open: _Positioned | None = None

    def page(self, scope: str, words: list[Word], ruled: list[RuledBlock] | None = None) -> None:
        lines = group_lines(words)
        blocks: list[tuple[float, Line | RuledBlock]] = [(line.top, line) for line in lines]
        blocks += [(block.top, block) for block in ruled or []]
        blocks.sort(key=lambda b: b[0])
        if self.open is not None:
            self.open.last_row_bottom = None
        items = [b for _, b in blocks]
        for index, item in enumerate(items):
            if not self.out.room():
                return
            if isinstance(item, RuledBlock):
                self._ruled(scope, item)
            else:
                self._line(scope, item, items[index + 1 : index + 1 + _LOOKAHEAD])

    def _ruled(self, scope: str, block: RuledBlock) -> None:
        self.open = None
        has_header = any(detect_header([c or "" for c in row]) for row in block.rows[:3])
        if not has_header and not (block.rows and self.grid.continues([c or "" for c in block.rows[0]])):
            self.grid.close()
        for row in block.rows:
            self.grid.feed(list(row), scope)

    def _line(self, scope: str, line: Line, following: list[Line | RuledBlock]) -> None:
        phrases = line.phrases()
        texts = [p.text for p in phrases]
        roles = detect_header(texts)
        if roles is not None:
            self.grid.close()
            below = []
            for item in following:
                if isinstance(item, RuledBlock) or detect_header([p.text for p in item.phrases()]):
                    break
                below.append(item)
                if is_totals_row([p.text for p in item.phrases()], {}):
                    break
            bounds = column_bounds(phrases, below)
            if self.open is not None and same_header(self.open.table.header, texts):
                self.open.bounds = bounds  # the header repeated on a new page
                return
            table = Table(header=texts, columns=roles, source=self.out.source(scope, "header"))
            self.open = _Positioned(table, bounds)
            return
        current = self.open
        if current is None:
            self.out.add_text(line.text, scope)
            return
        cells = split_cells(line, current.bounds)
        columns = current.table.columns
        if is_totals_row(cells, columns):
            self.out.add_text(line.text, scope)
            self.open = None
            return
        if is_item_row(cells, columns):
            if self.out.add_row(current.table, cells, scope):
                current.last_row_bottom, current.last_row_height = line.bottom, line.height
            return
        if self._continues_description(current, cells, line):
            row = current.table.rows[-1]
            index = columns["description"]
            row.cells[index] = f"{row.cells[index]} {cells[index]}".strip()
            current.last_row_bottom = line.bottom
            return
        self.out.add_text(line.text, scope)

    @staticmethod
    def _continues_description(current: _Positioned, cells: list[str], line: Line) -> bool:
        """A line with text only under the description, right below the last row."""
        index = current.table.columns.get("description")
        if index is None or current.last_row_bottom is None or not current.table.rows:
            return False
        if not cells[index] or any(c for i, c in enumerate(cells) if i != index):
            return False
        return line.top - current.last_row_bottom < 0.8 * max(current.last_row_height, line.height)


def column_bounds(header: list[Phrase], below: list[Line]) -> list[float]:
    """Between two header cells, the boundary goes where the fewest phrases of the lines below
    cross: the middle of the widest such gap. A left-aligned description longer than its
    header and a right-aligned number wider than its header both keep to their own column."""
    phrases = [(p.x0, p.x1) for line in below for p in line.phrases()]
    bounds: list[float] = []
    for left, right in pairwise(header):
        lo, hi = left.x1, right.x0
        if hi - lo < 1.0:
            bounds.append((lo + hi) / 2)
            continue
        near = [(a, b) for a, b in phrases if a < hi and b > lo]
        cuts = sorted({lo, hi, *(x for a, b in near for x in (a, b) if lo < x < hi)})
        runs: list[tuple[int, float, float]] = []  # (crossings, start, end), equal neighbours merged
        for a, b in pairwise(cuts):
            middle = (a + b) / 2
            count = sum(1 for x0, x1 in near if x0 < middle < x1)
            if runs and runs[-1][0] == count:
                runs[-1] = (count, runs[-1][1], b)
            else:
                runs.append((count, a, b))
        _, start, end = min(runs, key=lambda r: (r[0], -(r[2] - r[1])))
        bounds.append((start + end) / 2)
    return bounds


def split_cells(line: Line, bounds: list[float]) -> list[str]:
    """Each word goes to the column its centre falls in."""
    cells: list[list[str]] = [[] for _ in range(len(bounds) + 1)]
    for word in line.words:
        centre = (word.x0 + word.x1) / 2
        index = sum(1 for b in bounds if centre >= b)
        cells[index].append(word.text)
    return [" ".join(parts) for parts in cells]
