"""Case photos: checking, cleaning and storing the pictures reported with an event.

An upload is accepted only if Pillow recognises it as a JPEG, PNG or WebP image of
at most ``MAX_PHOTO_BYTES`` bytes and ``MAX_PIXELS`` pixels that decodes in full.
The pixel limit is checked from the header, before any pixel is decoded, and
Pillow's own decompression-bomb warning is turned into a refusal too.

An accepted photo is re-encoded in its own format with no metadata at all (no
EXIF, XMP, ICC profile or comment), after turning it upright by its EXIF
Orientation tag, so what is stored and served cannot leak where or with what a
picture was taken. The position of the original's EXIF GPS tags, if any, is kept
apart in ``Photo.gps`` for the caller to compare with the reported spot.

``MediaStore`` keeps the cleaned images and their JPEG thumbnails on disk by the
sha256 of the cleaned bytes (``root/ab/abcd….jpg``), so the same photo is stored
once however often it is uploaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import os
import re
import secrets
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pyproj
from PIL import Image, ImageOps

from geogrid.errors import InvalidInputError, NotFoundError

__all__ = [
    "FORMATS",
    "MAX_PHOTOS",
    "MAX_PHOTO_BYTES",
    "MAX_PIXELS",
    "THUMB_SIZE",
    "MediaStore",
    "Photo",
    "check_photo",
    "check_photos",
    "distance_m",
]

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_PHOTOS = 9
THUMB_SIZE = 320
FORMATS = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}

# Pillow's format names -> ours. MPO is how Pillow names a multi-picture JPEG
# (what many phones write); it is a JPEG file and is stored as one.
_PIL_FORMATS = {"JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "WEBP": "webp"}
_OPENERS = ["JPEG", "PNG", "WEBP"]  # the only plugins tried (the JPEG one opens MPO too)
_EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp"}
_SHA256 = re.compile(r"[0-9a-f]{64}")
_GPS_IFD = 0x8825
_GEOD = pyproj.Geod(ellps="WGS84")


@dataclass(frozen=True)
class Photo:
    """A checked photo, re-encoded without metadata, with its thumbnail.

    Attributes
    ----------
    name : str
        The uploaded file name, for messages.
    sha256 : str
        Hex sha256 of ``data``.
    format : str
        ``"jpeg"``, ``"png"`` or ``"webp"`` (a key of ``FORMATS``).
    data : bytes
        The re-encoded image, upright, with no EXIF, XMP, ICC or text metadata.
    thumbnail : bytes
        A JPEG of the image whose longest side is at most ``THUMB_SIZE`` px.
    width, height : int
        Size of ``data`` in pixels (after turning it upright).
    gps : tuple of float or None
        ``(lon, lat)`` in WGS-84 degrees from the original's EXIF GPS tags, if any.
    """

    name: str
    sha256: str
    format: str
    data: bytes = field(repr=False)
    thumbnail: bytes = field(repr=False)
    width: int
    height: int
    gps: tuple[float, float] | None


def _refuse(name: str, message: str) -> InvalidInputError:
    """An ``InvalidInputError`` about the photo ``name``."""
    return InvalidInputError(
        f"photo {name!r}: {message}",
        details=[{"field": "photo", "file": name, "message": message}],
    )


def _open(name: str, data: bytes) -> tuple[Image.Image, str]:
    """Open ``data`` (header only) and check its size and format.

    Returns
    -------
    tuple
        The opened, not yet decoded image and its format (a key of ``FORMATS``).
    """
    if not data:
        raise _refuse(name, "the file is empty")
    if len(data) > MAX_PHOTO_BYTES:
        raise _refuse(
            name, f"the file has {len(data):,} bytes, more than the limit of {MAX_PHOTO_BYTES:,}"
        )
    too_big = f"the image has more than the limit of {MAX_PIXELS:,} pixels"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=_OPENERS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse(name, too_big) from None
    except Exception:
        # UnidentifiedImageError, or a header so broken the plugin gave up.
        raise _refuse(name, "not a JPEG, PNG or WebP image") from None
    fmt = _PIL_FORMATS.get(img.format or "")
    if fmt is None:
        raise _refuse(name, "not a JPEG, PNG or WebP image")
    width, height = img.size
    if width <= 0 or height <= 0:
        raise _refuse(name, "the image has no pixels")
    if width * height > MAX_PIXELS:
        raise _refuse(
            name,
            f"the image has {width * height:,} pixels ({width}×{height}), "
            f"more than the limit of {MAX_PIXELS:,} pixels",
        )
    return img, fmt


def _decode(name: str, img: Image.Image) -> None:
    """Decode every pixel of ``img``, refusing truncated or corrupt data."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img.load()
    except Exception:
        # OSError (truncated), SyntaxError, ValueError, struct.error, zlib.error, ...
        raise _refuse(name, "the image cannot be decoded (truncated or corrupt data)") from None


def _degrees(value, ref) -> float | None:
    """Decimal degrees from EXIF (degrees, minutes, seconds) rationals and a ref letter."""
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    if not isinstance(ref, str) or len(value) != 3:
        return None
    d, m, s = (float(part) for part in value)
    result = d + m / 60 + s / 3600
    if not math.isfinite(result) or min(d, m, s) < 0:
        return None
    ref = ref.strip("\x00 ").upper()
    if ref in ("S", "W"):
        return -result
    return result if ref in ("N", "E") else None


def _gps(img: Image.Image) -> tuple[float, float] | None:
    """``(lon, lat)`` from the EXIF GPS IFD of ``img``; None if absent or malformed."""
    try:
        ifd = img.getexif().get_ifd(_GPS_IFD)
        if not ifd:
            return None
        lat = _degrees(ifd.get(2), ifd.get(1))  # GPSLatitude, GPSLatitudeRef
        lon = _degrees(ifd.get(4), ifd.get(3))  # GPSLongitude, GPSLongitudeRef
    except Exception:
        # Malformed EXIF of any kind: the position is just unknown.
        return None
    if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180:
        return None
    return lon, lat


def _upright(img: Image.Image) -> Image.Image:
    """A copy of ``img`` turned by its EXIF Orientation tag, with no metadata left."""
    try:
        out = ImageOps.exif_transpose(img)
    except Exception:
        # An Orientation tag in malformed EXIF: keep the picture as it is.
        out = img.copy()
    # Savers fall back on ``info`` for some metadata (the PNG ICC profile, the JPEG
    # comment); keep only the transparency, which is part of the picture.
    out.info = {k: v for k, v in out.info.items() if k == "transparency"}
    return out


def _encode(img: Image.Image, fmt: str) -> bytes:
    """``img`` encoded as ``fmt`` with no EXIF, XMP or ICC data."""
    buf = io.BytesIO()
    if fmt == "jpeg":
        if img.mode != "RGB":
            img = img.convert("RGB")
        img.save(buf, "JPEG", quality=85, optimize=True)
    elif fmt == "png":
        img.save(buf, "PNG", optimize=True)
    else:
        img.save(buf, "WEBP", quality=85)
    return buf.getvalue()


def _thumbnail(img: Image.Image) -> bytes:
    """A JPEG (quality 80) of ``img`` whose longest side is at most ``THUMB_SIZE``."""
    small = img.copy()
    small.thumbnail((THUMB_SIZE, THUMB_SIZE))
    if small.mode in ("RGBA", "LA", "PA") or "transparency" in small.info:
        # Transparent parts become white, not whatever colour hides under them.
        rgba = small.convert("RGBA")
        small = Image.new("RGB", rgba.size, (255, 255, 255))
        small.paste(rgba, mask=rgba.getchannel("A"))
    elif small.mode != "RGB":
        small = small.convert("RGB")
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def check_photo(name: str, data: bytes) -> Photo:
    """Check one uploaded photo and re-encode it without metadata.

    Parameters
    ----------
    name : str
        The uploaded file name, used in messages.
    data : bytes
        The file's bytes.

    Returns
    -------
    Photo
        The cleaned image, its thumbnail, size and the original's GPS position.

    Raises
    ------
    InvalidInputError
        If the file is empty, too large, not a JPEG, PNG or WebP image, has more
        than ``MAX_PIXELS`` pixels, or cannot be decoded.
    """
    img, fmt = _open(name, data)
    with img:
        _decode(name, img)
        gps = _gps(img)
        upright = _upright(img)
    try:
        encoded = _encode(upright, fmt)
        thumbnail = _thumbnail(upright)
    except Exception:
        # A mode the encoder cannot take (e.g. an exotic PNG bit depth).
        raise _refuse(name, "the image cannot be re-encoded") from None
    return Photo(
        name=name,
        sha256=hashlib.sha256(encoded).hexdigest(),
        format=fmt,
        data=encoded,
        thumbnail=thumbnail,
        width=upright.width,
        height=upright.height,
        gps=gps,
    )


def check_photos(files: list[tuple[str, bytes]]) -> list[Photo]:
    """Check several photos, all or nothing: the first bad file raises.

    Parameters
    ----------
    files : list of (str, bytes)
        ``(file name, data)`` pairs. The caller enforces ``MAX_PHOTOS``.

    Returns
    -------
    list of Photo
        One per file, in order.
    """
    return [check_photo(name, data) for name, data in files]


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Geodesic distance in metres between two WGS-84 lon/lat points."""
    _, _, dist = _GEOD.inv(lon1, lat1, lon2, lat2)
    return abs(float(dist))


def _write_new(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically: a temporary file, then ``os.replace``."""
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


class MediaStore:
    """Photos and thumbnails on disk, named by the sha256 of the stored bytes.

    Parameters
    ----------
    root : str or os.PathLike
        The folder holding the files (created when first written to).
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def _folder(self, sha256: str) -> Path:
        """The folder of ``sha256``; NotFoundError unless it is 64 lowercase hex digits."""
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise NotFoundError(f"no photo {sha256!r}")
        return self.root / sha256[:2]

    def path(self, sha256: str, fmt: str) -> Path:
        """The path of the image ``sha256`` of format ``fmt`` (``root/ab/abcd….jpg``)."""
        folder = self._folder(sha256)
        if fmt not in _EXTENSIONS:
            raise NotFoundError(f"no photo {sha256!r} in format {fmt!r}")
        return folder / f"{sha256}.{_EXTENSIONS[fmt]}"

    def thumb_path(self, sha256: str) -> Path:
        """The path of the thumbnail of ``sha256`` (``root/ab/abcd….thumb.jpg``)."""
        return self._folder(sha256) / f"{sha256}.thumb.jpg"

    def save(self, photos: list[Photo]) -> list[Path]:
        """Write the image and thumbnail of each photo not stored yet.

        A file already present has the same content (it is named by its hash)
        and is left alone. If writing fails, the files this call created are
        removed again before the error propagates.

        Returns
        -------
        list of Path
            Only the paths this call created, so a caller whose transaction
            fails can ``remove`` exactly those.
        """
        created: list[Path] = []
        try:
            for photo in photos:
                pairs = (
                    (self.path(photo.sha256, photo.format), photo.data),
                    (self.thumb_path(photo.sha256), photo.thumbnail),
                )
                for target, data in pairs:
                    if target.exists():
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    _write_new(target, data)
                    created.append(target)
        except BaseException:
            self.remove(created)
            raise
        return created

    def remove(self, paths: list[Path]) -> None:
        """Delete ``paths``, best effort: missing or undeletable files are skipped."""
        for p in paths:
            with contextlib.suppress(OSError):
                Path(p).unlink()

    def read(self, sha256: str, fmt: str, thumbnail: bool = False) -> tuple[bytes, str]:
        """The bytes and content type of a stored image or of its thumbnail.

        Raises
        ------
        NotFoundError
            If ``sha256`` is not 64 lowercase hex digits, ``fmt`` is not a key of
            ``FORMATS``, or the file does not exist.
        """
        image = self.path(sha256, fmt)
        target = self.thumb_path(sha256) if thumbnail else image
        try:
            data = target.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            raise NotFoundError(f"no photo {sha256!r}") from None
        return data, "image/jpeg" if thumbnail else FORMATS[fmt]
