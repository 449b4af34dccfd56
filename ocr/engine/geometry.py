"""Skew detection and image rotation.

Sign convention: a *positive* skew angle means the page content is rotated
counter-clockwise as displayed (text lines rise to the right, like
``PIL.Image.rotate(+a)``). :func:`deskew` rotates the image clockwise by that angle.

:func:`detect_skew` is a coarse-to-fine projection-profile search: foreground pixels of a
downscaled, Otsu-binarised image are projected onto the axis perpendicular to the
candidate text direction, and the angle that gives the "peakiest" profile (largest sum of
squared bin counts) wins. Coarse 0.5 deg steps over +-``max_angle`` on a small image,
then 0.1 deg and 0.02 deg refinements at higher resolution.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

MIN_FOREGROUND = 2000  # pixels at working resolution; fewer means "nothing to align"
MAX_FOREGROUND_SHARE = 0.35  # a mostly dark page is a photo, not text: leave it
CORRECTION_THRESHOLD = 0.1  # degrees; smaller skews are not worth a resample
SEARCH_MARGIN = 1.0  # degrees searched beyond max_angle


def _foreground_points(gray: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Coordinates (x, y) of dark pixels after downscaling ``gray``'s long side to ``side``."""
    scale = min(1.0, side / max(gray.shape[:2]))
    small = (
        cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        if scale < 1.0
        else gray
    )
    _, binary = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    # Drop isolated specks (noise) that blur the profiles.
    binary = cv2.morphologyEx(binary, cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    ys, xs = np.nonzero(binary)
    if xs.size < MIN_FOREGROUND or xs.size > MAX_FOREGROUND_SHARE * binary.size:
        return None
    return xs.astype(np.float32), ys.astype(np.float32)


def _score(xs: np.ndarray, ys: np.ndarray, angle_deg: float, bins: int) -> float:
    """Sum of squares of the row profile after undoing a skew of ``angle_deg``."""
    theta = math.radians(angle_deg)
    proj = ys * math.cos(theta) + xs * math.sin(theta)
    hist = np.bincount(proj.astype(np.int32) + bins // 4, minlength=bins)
    hist = hist.astype(np.float64)
    return float(np.dot(hist, hist))


def _search(
    points: tuple[np.ndarray, np.ndarray], center: float, span: float, step: float
) -> float:
    xs, ys = points
    bins = int(xs.max() + ys.max()) * 2 + 8
    angles = np.arange(center - span, center + span + step / 2, step)
    scores = [_score(xs, ys, float(a), bins) for a in angles]
    best = int(np.argmax(scores))
    # Parabolic interpolation around the best step for sub-step precision.
    if 0 < best < len(angles) - 1:
        s0, s1, s2 = scores[best - 1], scores[best], scores[best + 1]
        denom = s0 - 2 * s1 + s2
        if denom < 0:
            return float(angles[best] + step * 0.5 * (s0 - s2) / denom)
    return float(angles[best])


def detect_skew(gray: np.ndarray, *, max_angle: float = 10.0) -> float:
    """Skew of the text in ``gray`` (uint8, dark text on light) in degrees.

    Returns 0.0 when there is too little (or too much) foreground to decide.
    Typical accuracy is a few hundredths of a degree on text pages.
    """
    coarse_pts = _foreground_points(gray, 1100)
    if coarse_pts is None:
        return 0.0
    # Search a little past the limit: a page skewed by exactly max_angle refines to
    # just over it and would otherwise be left skewed (and unreadable).
    limit = max_angle + SEARCH_MARGIN
    angle = _search(coarse_pts, 0.0, limit, 0.5)
    fine_pts = _foreground_points(gray, 2200)
    if fine_pts is None:
        return 0.0
    angle = _search(fine_pts, angle, 0.6, 0.1)
    angle = _search(fine_pts, angle, 0.12, 0.02)
    if abs(angle) > limit:
        return 0.0
    return round(angle, 3)


def rotate(gray: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rotate counter-clockwise by ``angle_deg`` about the centre, white fill.

    The canvas grows just enough to keep every corner of the input (no text is cut off
    when a page's content reaches its edges), so the result can be a little larger.
    """
    h, w = gray.shape[:2]
    theta = math.radians(angle_deg)
    cos, sin = abs(math.cos(theta)), abs(math.sin(theta))
    new_w = math.ceil(w * cos + h * sin - 1e-6)
    new_h = math.ceil(w * sin + h * cos - 1e-6)
    matrix = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle_deg, 1.0)
    matrix[0, 2] += (new_w - w) / 2.0
    matrix[1, 2] += (new_h - h) / 2.0
    return cv2.warpAffine(
        gray,
        matrix,
        (new_w, new_h),
        flags=cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=255,
    )


def deskew(gray: np.ndarray, *, max_angle: float = 10.0) -> tuple[np.ndarray, float]:
    """Detect and correct skew; return ``(image, corrected_angle)``.

    Angles below :data:`CORRECTION_THRESHOLD` are reported as 0.0 and the image is
    returned unchanged.
    """
    angle = detect_skew(gray, max_angle=max_angle)
    if abs(angle) < CORRECTION_THRESHOLD:
        return gray, 0.0
    return rotate(gray, -angle), angle


def rotate_quarter(gray: np.ndarray, degrees: int) -> np.ndarray:
    """Rotate counter-clockwise by 0/90/180/270 degrees (lossless)."""
    k = (degrees // 90) % 4
    return np.ascontiguousarray(np.rot90(gray, k)) if k else gray


def _peakiness(xs: np.ndarray, ys: np.ndarray, max_angle: float) -> float:
    """Best normalised profile energy of ``ys`` over skews in +-``max_angle`` (1 = flat)."""
    best = 0.0
    for angle in np.arange(-max_angle, max_angle + 0.5, 1.0):
        theta = math.radians(float(angle))
        proj = (ys * math.cos(theta) + xs * math.sin(theta)).astype(np.int32)
        hist = np.bincount(proj - proj.min()).astype(np.float64)
        best = max(best, float(np.dot(hist, hist)) * len(hist) / float(xs.size) ** 2)
    return best


def lines_look_vertical(gray: np.ndarray, *, max_angle: float = 10.0) -> bool:
    """True when text lines run vertically (page turned by 90 or 270 degrees).

    Compares how "peaky" the row and column ink profiles get (allowing some skew):
    horizontal text lines alternate ink and gaps row by row.
    """
    points = _foreground_points(gray, 1100)
    if points is None:
        return False
    xs, ys = points
    return _peakiness(ys, xs, max_angle) > _peakiness(xs, ys, max_angle)
