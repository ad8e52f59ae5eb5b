"""OCR for scans and images with Tesseract (pytesseract), only when the binary is installed.

Owns: whether OCR can run (`shutil.which("tesseract")` and pytesseract importable), rendering
a PDF page without a text layer to an image within the pixel budget, reading image files
(png/jpg/tiff/gif/bmp/webp, several TIFF pages) safely, and turning Tesseract's word boxes
into layout.Word so scans go through the same line and table reconstruction as PDFs.
Without Tesseract an image gives `needs_ocr` and the issue "attachment needs OCR".
"""

from __future__ import annotations

import io
import shutil
from functools import lru_cache
from typing import Any

from .layout import PageLayout, Word
from .models import Collector, Document, Limits

_LANGUAGES = ("nld", "eng", "deu")
_DPI = 300


def tesseract_available() -> bool:
    if shutil.which("tesseract") is None:
        return False
    try:
        import pytesseract  # noqa: F401
    except ImportError:
        return False
    return True


@lru_cache(maxsize=1)
def _languages() -> str | None:
    import pytesseract

    try:
        installed = set(pytesseract.get_languages(config=""))
    except Exception:  # noqa: BLE001 - fall back to Tesseract's default language
        return None
    chosen = [lang for lang in _LANGUAGES if lang in installed]
    return "+".join(chosen) or None


def image_to_data(image: Any) -> dict[str, list[Any]]:
    """Tesseract's word boxes (pytesseract's DICT output)."""
    import pytesseract

    return pytesseract.image_to_data(
        image, lang=_languages(), config="--psm 6", output_type=pytesseract.Output.DICT
    )


def words_from_data(data: dict[str, list[Any]]) -> list[Word]:
    words: list[Word] = []
    for i, text in enumerate(data.get("text", [])):
        text = str(text).strip()
        try:
            confidence = float(data["conf"][i])
            left, top = float(data["left"][i]), float(data["top"][i])
            width, height = float(data["width"][i]), float(data["height"][i])
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        if text and confidence >= 0 and width > 0 and height > 0:
            words.append(Word(text, left, left + width, top, top + height))
    return words


def ocr_image(image: Any) -> list[Word]:
    return words_from_data(image_to_data(image.convert("L")))


def _pixel_budget(limits: Limits) -> int:
    return max(limits.max_uncompressed // 4, 1)  # RGBA while rendering


def ocr_pdf_page(page: Any, limits: Limits) -> list[Word]:
    """A page without a text layer, rendered at up to 300 dpi within the pixel budget."""
    inches = max(float(page.width) / 72 * float(page.height) / 72, 0.01)
    resolution = min(_DPI, int((_pixel_budget(limits) / inches) ** 0.5))
    if resolution < 50:
        return []
    image = page.to_image(resolution=resolution).original
    return ocr_image(image)


def read_image(name: str, data: bytes, limits: Limits, kind_name: str) -> Document:
    document = Document(filename=name, kind="image")
    out = Collector(document, limits)
    try:
        from PIL import Image, ImageSequence
    except ImportError:  # pragma: no cover - Pillow comes with pdfplumber
        out.issue("image reading is not installed (Pillow)")
        return document
    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size
        frames = int(getattr(image, "n_frames", 1) or 1)
    except Exception:  # noqa: BLE001 - Pillow raises many kinds on damaged input
        out.issue(f"not a readable {kind_name.upper()} image (file is damaged)")
        return document
    document.pages = frames
    if width * height > _pixel_budget(limits):
        out.issue(f"image is {width}x{height} pixels, over the limit; not read")
        return document
    if not tesseract_available():
        document.needs_ocr = True
        out.issue("attachment needs OCR (an image, no text layer; OCR is not available here)")
        return document
    layout = PageLayout(out)
    try:
        for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
            if number > limits.max_pages:
                out.issue(f"has {frames} pages; only the first {limits.max_pages} were read")
                break
            if frame.size[0] * frame.size[1] > _pixel_budget(limits):
                out.issue(f"page {number} is over the pixel limit; not read")
                continue
            layout.page(f"p{number}", ocr_image(frame))
    except Exception:  # noqa: BLE001 - a truncated image or a Tesseract failure
        out.issue("the image could not be read completely (file is damaged or OCR failed)")
    out.issue("read by OCR; check the lines against the attachment")
    return document
