import hashlib
import io
import warnings
from fractions import Fraction

import pytest
from PIL import Image

from geogrid.cases import media
from geogrid.cases.media import (
    FORMATS,
    MAX_PHOTOS,
    MAX_PIXELS,
    THUMB_SIZE,
    MediaStore,
    Photo,
    check_photo,
    check_photos,
    distance_m,
)
from geogrid.errors import InvalidInputError, NotFoundError

GPS_IFD = 0x8825


def encode(img, fmt, **params):
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def gradient(width=64, height=48, mode="RGB"):
    """An image whose pixels differ, so re-encoding and rotation are observable."""
    img = Image.new("RGB", (width, height))
    img.putdata(
        [(x * 255 // width, y * 255 // height, 128) for y in range(height) for x in range(width)]
    )
    return img.convert(mode)


def gps_exif(lat=(34, 45, 0), lat_ref="N", lon=(113, 37, 0), lon_ref="E", orientation=None):
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make, in IFD0
    if orientation is not None:
        exif[0x0112] = orientation
    exif.get_ifd(GPS_IFD).update(
        {
            1: lat_ref,
            2: tuple(Fraction(v) for v in lat),
            3: lon_ref,
            4: tuple(Fraction(v) for v in lon),
        }
    )
    return exif


def refused(name, data):
    with pytest.raises(InvalidInputError) as info:
        check_photo(name, data)
    err = info.value
    assert err.message.startswith(f"photo {name!r}: ")
    assert err.details == [
        {"field": "photo", "file": name, "message": err.message.split(": ", 1)[1]}
    ]
    return err.message


def test_constants():
    assert media.MAX_PHOTO_BYTES == 10 * 1024 * 1024
    assert MAX_PIXELS == 40_000_000
    assert MAX_PHOTOS == 9
    assert THUMB_SIZE == 320
    assert FORMATS == {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


@pytest.mark.parametrize(("pil", "fmt"), [("JPEG", "jpeg"), ("PNG", "png"), ("WEBP", "webp")])
def test_formats_accepted(pil, fmt):
    data = encode(gradient(640, 400), pil)
    photo = check_photo("a.img", data)
    assert isinstance(photo, Photo)
    assert photo.name == "a.img"
    assert photo.format == fmt
    assert (photo.width, photo.height) == (640, 400)
    assert photo.sha256 == hashlib.sha256(photo.data).hexdigest()
    assert photo.gps is None
    with Image.open(io.BytesIO(photo.data)) as out:
        assert out.format == pil
        assert out.size == (640, 400)
    with Image.open(io.BytesIO(photo.thumbnail)) as thumb:
        assert thumb.format == "JPEG"
        assert thumb.mode == "RGB"
        assert thumb.size == (THUMB_SIZE, 200)


def test_gps_read_and_all_metadata_stripped():
    src = gradient(400, 300)
    data = encode(src, "JPEG", exif=gps_exif(), icc_profile=b"\0" * 128, comment=b"secret note")
    with Image.open(io.BytesIO(data)) as original:  # the fixture really carries it all
        assert original.getexif().get_ifd(GPS_IFD)
        assert original.info.get("comment") == b"secret note"
    assert b"Exif" in data
    photo = check_photo("gps.jpg", data)
    lon, lat = photo.gps
    assert lon == pytest.approx(113 + 37 / 60, abs=1e-6)
    assert lat == pytest.approx(34.75, abs=1e-6)
    for blob in (photo.data, photo.thumbnail):
        assert b"Exif" not in blob
        assert b"secret note" not in blob
        assert b"ICC_PROFILE" not in blob
        with Image.open(io.BytesIO(blob)) as out:
            assert len(out.getexif()) == 0
            assert "icc_profile" not in out.info
            assert "exif" not in out.info
            assert "comment" not in out.info


def test_gps_south_west_negative():
    data = encode(gradient(), "JPEG", exif=gps_exif((33, 52, 4.8), "S", (151, 12, 36), "W"))
    lon, lat = check_photo("syd.jpg", data).gps
    assert lat == pytest.approx(-(33 + 52 / 60 + 4.8 / 3600), abs=1e-6)
    assert lon == pytest.approx(-(151 + 12 / 60 + 36 / 3600), abs=1e-6)


def test_malformed_gps_ignored():
    data = encode(gradient(), "JPEG", exif=gps_exif(lat_ref="Q"))
    photo = check_photo("odd.jpg", data)
    assert photo.gps is None
    assert photo.format == "jpeg"


def test_png_icc_and_text_stripped():
    from PIL import PngImagePlugin

    meta = PngImagePlugin.PngInfo()
    meta.add_text("Comment", "secret note")
    data = encode(gradient(), "PNG", pnginfo=meta, icc_profile=b"\0" * 128, exif=gps_exif())
    with Image.open(io.BytesIO(data)) as original:
        assert "icc_profile" in original.info
    photo = check_photo("meta.png", data)
    assert photo.gps == pytest.approx((113 + 37 / 60, 34.75), abs=1e-6)
    assert b"secret note" not in photo.data
    with Image.open(io.BytesIO(photo.data)) as out:
        assert "icc_profile" not in out.info
        assert len(out.getexif()) == 0


def test_orientation_applied_then_dropped():
    src = gradient(64, 48)
    src.putpixel((0, 0), (255, 0, 0))  # top-left red
    data = encode(src, "PNG", exif=gps_exif(orientation=6))
    photo = check_photo("turned.png", data)
    assert (photo.width, photo.height) == (48, 64)
    with Image.open(io.BytesIO(photo.data)) as out:
        assert out.size == (48, 64)
        assert 0x0112 not in out.getexif()
        # orientation 6 = rotate 90° clockwise to view: top-left goes to top-right
        assert out.convert("RGB").getpixel((47, 0)) == (255, 0, 0)
    with Image.open(io.BytesIO(photo.thumbnail)) as thumb:
        assert thumb.size == (48, 64)


def test_transparent_png_kept_and_thumbnail_white():
    img = Image.new("RGBA", (40, 20), (0, 0, 0, 0))
    photo = check_photo("clear.png", encode(img, "PNG"))
    with Image.open(io.BytesIO(photo.data)) as out:
        assert out.mode == "RGBA"
        assert out.getpixel((5, 5))[3] == 0
    with Image.open(io.BytesIO(photo.thumbnail)) as thumb:
        assert all(c > 245 for c in thumb.getpixel((5, 5)))


def test_gif_refused():
    message = refused("anim.gif", encode(gradient(), "GIF"))
    assert "not a JPEG, PNG or WebP image" in message


@pytest.mark.parametrize("pil", ["BMP", "TIFF"])
def test_other_formats_refused(pil):
    assert "not a JPEG, PNG or WebP image" in refused(f"x.{pil.lower()}", encode(gradient(), pil))


def test_text_refused():
    assert "not a JPEG, PNG or WebP image" in refused(
        "notes.txt", b"hello, this is not a picture\n"
    )


def test_empty_refused():
    assert "empty" in refused("empty.jpg", b"")


def test_too_many_bytes_refused(monkeypatch):
    data = encode(gradient(), "PNG")
    monkeypatch.setattr(media, "MAX_PHOTO_BYTES", len(data) - 1)
    message = refused("big.png", data)
    assert f"{len(data):,} bytes" in message
    assert f"{len(data) - 1:,}" in message
    monkeypatch.setattr(media, "MAX_PHOTO_BYTES", len(data))
    assert check_photo("big.png", data).format == "png"


def test_too_many_pixels_refused_before_decoding(monkeypatch):
    data = encode(Image.new("L", (8000, 6000), 200), "PNG")
    assert len(data) < media.MAX_PHOTO_BYTES

    def no_load(self):
        raise AssertionError("pixels decoded")

    monkeypatch.setattr(Image.Image, "load", no_load)
    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", no_load)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        message = refused("huge.png", data)
    assert "48,000,000 pixels" in message
    assert f"limit of {MAX_PIXELS:,} pixels" in message


def test_pillow_bomb_warning_is_a_refusal(monkeypatch):
    # Above Pillow's own limit the header check in Image.open warns (or errors):
    # either must become a refusal, never just a warning.
    data = encode(gradient(100, 100), "PNG")
    monkeypatch.setattr(media, "MAX_PIXELS", 10**9)  # so only Pillow's check can refuse
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 4000)  # 10,000 px > 2 * 4000: an error
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "pixels" in refused("bomb.png", data)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 6000)  # 10,000 px: only a warning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert "pixels" in refused("bomb.png", data)
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]


def test_truncated_jpeg_refused():
    data = encode(gradient(640, 480), "JPEG")
    assert check_photo("whole.jpg", data).format == "jpeg"
    assert "cannot be decoded" in refused("cut.jpg", data[: len(data) // 2])


def test_check_photos_all_or_nothing():
    good = encode(gradient(), "JPEG")
    photos = check_photos([("a.jpg", good), ("b.png", encode(gradient(), "PNG"))])
    assert [p.format for p in photos] == ["jpeg", "png"]
    with pytest.raises(InvalidInputError) as info:
        check_photos([("a.jpg", good), ("b.txt", b"nope"), ("c.jpg", b"")])
    assert "'b.txt'" in info.value.message
    assert info.value.details[0]["file"] == "b.txt"


def test_store_paths(tmp_path):
    store = MediaStore(tmp_path)
    sha = "ab" + "0" * 62
    assert store.path(sha, "jpeg") == tmp_path / "ab" / f"{sha}.jpg"
    assert store.path(sha, "png") == tmp_path / "ab" / f"{sha}.png"
    assert store.path(sha, "webp") == tmp_path / "ab" / f"{sha}.webp"
    assert store.thumb_path(sha) == tmp_path / "ab" / f"{sha}.thumb.jpg"


def test_store_save_read_remove(tmp_path):
    store = MediaStore(str(tmp_path))
    photos = check_photos(
        [("a.jpg", encode(gradient(), "JPEG")), ("b.webp", encode(gradient(), "WEBP"))]
    )
    created = store.save(photos)
    expected = [
        store.path(photos[0].sha256, "jpeg"),
        store.thumb_path(photos[0].sha256),
        store.path(photos[1].sha256, "webp"),
        store.thumb_path(photos[1].sha256),
    ]
    assert created == expected
    assert all(p.is_file() for p in expected)
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert store.save(photos) == []

    assert store.read(photos[0].sha256, "jpeg") == (photos[0].data, "image/jpeg")
    assert store.read(photos[1].sha256, "webp") == (photos[1].data, "image/webp")
    assert store.read(photos[1].sha256, "webp", thumbnail=True) == (
        photos[1].thumbnail,
        "image/jpeg",
    )

    # one file gone: only it is written again
    expected[1].unlink()
    assert store.save(photos) == [expected[1]]

    store.remove([*expected[:2], tmp_path / "never-there.jpg"])
    assert not expected[0].exists() and not expected[1].exists()
    assert expected[2].exists()
    with pytest.raises(NotFoundError):
        store.read(photos[0].sha256, "jpeg")


def test_store_save_failure_removes_what_it_wrote(tmp_path, monkeypatch):
    store = MediaStore(tmp_path)
    photos = check_photos(
        [("a.jpg", encode(gradient(), "JPEG")), ("b.png", encode(gradient(), "PNG"))]
    )
    real = media._write_new
    calls = []

    def failing(target, data):
        calls.append(target)
        if len(calls) == 3:
            raise OSError("disk full")
        real(target, data)

    monkeypatch.setattr(media, "_write_new", failing)
    with pytest.raises(OSError, match="disk full"):
        store.save(photos)
    assert len(calls) == 3
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(
    "sha",
    ["../etc/passwd", "../" + "a" * 61, "A" * 64, "a" * 63, "a" * 65, "g" * 64, "", "0" * 64],
)
def test_store_read_bad_or_missing(tmp_path, sha):
    root = tmp_path / "srv" / "media"
    root.mkdir(parents=True)
    store = MediaStore(root)
    if sha != "0" * 64:  # plant a file where a store that trusted `sha` would look
        for name in (f"{sha}.jpg", f"{sha}.thumb.jpg"):
            planted = root / sha[:2] / name
            planted.parent.mkdir(parents=True, exist_ok=True)
            planted.write_bytes(b"planted")
    with pytest.raises(NotFoundError):
        store.read(sha, "jpeg")
    with pytest.raises(NotFoundError):
        store.read(sha, "jpeg", thumbnail=True)


def test_store_read_bad_format(tmp_path):
    store = MediaStore(tmp_path)
    photo = check_photo("a.jpg", encode(gradient(), "JPEG"))
    store.save([photo])
    assert store.read(photo.sha256, "jpeg")[1] == "image/jpeg"
    for fmt in ("gif", "../jpeg", "jpg"):
        with pytest.raises(NotFoundError):
            store.read(photo.sha256, fmt)


def test_distance_m():
    assert distance_m(113.6, 34.78, 113.6, 34.781) == pytest.approx(110.9, abs=1.0)
    assert distance_m(113.6, 34.78, 113.6, 34.78) == 0.0
    assert distance_m(113.6, 34.781, 113.6, 34.78) == pytest.approx(
        distance_m(113.6, 34.78, 113.6, 34.781)
    )
    # one degree of longitude at the equator: 111.32 km
    assert distance_m(0, 0, 1, 0) == pytest.approx(111_319.49, abs=0.1)


def test_multi_picture_jpeg_stored_as_plain_jpeg():
    first, second = gradient(80, 60), gradient(80, 60).rotate(180)
    data = encode(first, "MPO", save_all=True, append_images=[second], exif=gps_exif())
    with Image.open(io.BytesIO(data)) as original:
        assert original.format == "MPO"  # what phones' multi-picture files open as
    photo = check_photo("phone.jpg", data)
    assert photo.format == "jpeg"
    assert photo.gps == pytest.approx((113 + 37 / 60, 34.75), abs=1e-6)
    assert b"Exif" not in photo.data
    with Image.open(io.BytesIO(photo.data)) as out:
        assert out.format == "JPEG"
        assert getattr(out, "n_frames", 1) == 1
