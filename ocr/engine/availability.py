"""Whether this machine can run OCR at all, and if not, why (for /readyz and refusals)."""

from __future__ import annotations

from pathlib import Path

from . import numbers, tesseract

LANGUAGES = ("ara", "eng")


def engine_problem() -> str | None:
    """None when Tesseract, its ``ara``/``eng`` data and Portico's digit model are here;
    else what is missing."""
    try:
        folder = Path(tesseract.tessdata_dir())
    except RuntimeError:
        return "no ara.traineddata (install tesseract-ocr-ara and tesseract-ocr-eng)"
    missing = [
        f"{lang}.traineddata" for lang in LANGUAGES if not (folder / f"{lang}.traineddata").exists()
    ]
    if missing:
        return f"no {' or '.join(missing)} in {folder}"
    digits = numbers.TESSDATA / f"{numbers.DIGIT_LANG}.traineddata"
    if not digits.exists():
        return f"no {digits.name} in {digits.parent} (see bin/train_digit_model.py)"
    return None
