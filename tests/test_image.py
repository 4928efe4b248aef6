"""recog.image: the multi-size table, resizing, loading every common file kind into uint8 RGB, refusing
bad or oversized files with an ImageError that names them, and the pixel frontend; plus the
text-line dataset's size groups."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from recog.data import IMAGE_KEY, BucketingBatchSampler, Entry, ImageDataset, collate
from recog.image import MAX_PIXELS, ImageConfig, ImageError, ImageFrontend, load_image, resize_line, target_size
from recog.text import CharTokenizer

# ---------------------------------------------------------------- target_size


@pytest.mark.parametrize(("ratio", "size"), [(1, (64, 64)), (2, (96, 48)), (3, (112, 40)), (4, (128, 32))])
def test_small_aspect_ratios_use_the_fixed_sizes(ratio: int, size: tuple[int, int]) -> None:
    assert target_size(100 * ratio, 100) == size
    assert target_size(7 * ratio, 7) == size  # only the ratio matters, not the scale


@pytest.mark.parametrize("ratio", [5, 6, 17, 100, 128])
def test_ratios_above_4_become_32r_by_32(ratio: int) -> None:
    assert target_size(50 * ratio, 50) == (32 * ratio, 32)


@pytest.mark.parametrize(("width", "height"), [(129 * 40, 40), (1000 * 7, 7), (20000, 20), (100_000, 1)])
def test_ratios_above_128_are_capped_at_max_width(width: int, height: int) -> None:
    assert target_size(width, height) == (4096, 32)


def test_the_cap_follows_the_configured_max_width() -> None:
    assert target_size(2000, 100, ImageConfig(max_width=320)) == (320, 32)  # r = 20 -> 640 capped to 320
    assert target_size(500, 100, ImageConfig(max_width=320)) == (160, 32)  # under the cap: unchanged


def test_width_scale_narrows_long_lines_only() -> None:
    """features.width_scale reads a line wider than ratio 4 at that fraction of its width (rounded to
    whole 32 px steps); the fixed short sizes stay; recog and recog_edge give the same size."""
    from recog_edge.lines import target_size as edge_target_size

    squeezed = ImageConfig(width_scale=0.75)
    assert target_size(1000, 32) == (992, 32)  # ratio 31
    assert target_size(1000, 32, squeezed) == (736, 32)  # round(23.44) = 23 -> 736
    assert target_size(350, 100, squeezed) == target_size(350, 100) == (128, 32)  # ratio 4: fixed size
    assert target_size(560, 100, squeezed) == (128, 32)  # ratio 6 read at round(4.2) = 4
    for width, height in [(1000, 32), (560, 100), (5000, 20), (301, 60)]:
        assert target_size(width, height, squeezed) == edge_target_size(width, height, 32, 4096, 0.75)
    with pytest.raises(ValueError, match="width_scale"):
        ImageConfig(width_scale=0.0)


@pytest.mark.parametrize(("width", "size"), [
    (149, (64, 64)),  # 1.49 -> 1
    (151, (96, 48)),  # 1.51 -> 2
    (249, (96, 48)),  # 2.49 -> 2
    (250, (96, 48)),  # 2.5 -> 2 (Python rounds halves to even)
    (251, (112, 40)),  # 2.51 -> 3
    (350, (128, 32)),  # 3.5 -> 4
    (449, (128, 32)),  # 4.49 -> 4
    (451, (160, 32)),  # 4.51 -> 5
])
def test_the_ratio_is_width_over_height_rounded_to_the_nearest_integer(width: int, size: tuple[int, int]) -> None:
    assert target_size(width, 100) == size


@pytest.mark.parametrize(("width", "height"), [(20, 100), (1, 500), (49, 100), (1, 1)])
def test_tall_and_square_images_get_the_ratio_1_size(width: int, height: int) -> None:
    assert target_size(width, height) == (64, 64)


# ---------------------------------------------------------------- resize_line


@pytest.mark.parametrize(("height", "width", "shape"), [
    (100, 100, (64, 64, 3)),
    (30, 61, (48, 96, 3)),  # upscaled
    (200, 600, (40, 112, 3)),  # downscaled
    (10, 40, (32, 128, 3)),
    (40, 400, (32, 320, 3)),
    (1, 300, (32, 4096, 3)),
    (20, 20000, (32, 4096, 3)),
    (300, 20, (64, 64, 3)),
])
def test_resize_line_gives_uint8_rgb_at_the_target_size(height: int, width: int, shape: tuple[int, int, int]) -> None:
    image = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    out = resize_line(image)
    assert out.shape == shape
    assert out.dtype == np.uint8


def test_resize_line_keeps_a_flat_colour() -> None:
    image = np.full((30, 200, 3), (10, 120, 250), dtype=np.uint8)
    out = resize_line(image)
    assert out.shape == (32, 224, 3)
    assert np.array_equal(out, np.broadcast_to(np.array([10, 120, 250], dtype=np.uint8), out.shape))


# ---------------------------------------------------------------- load_image: formats and modes

RED, BLUE = (220, 20, 30), (20, 40, 200)


def _gradient(height: int = 20, width: int = 50) -> np.ndarray:
    x = np.linspace(0, 255, width, dtype=np.float64)[None, :].repeat(height, 0)
    return x.astype(np.uint8)


def _check_rgb(array: np.ndarray, height: int, width: int) -> None:
    assert isinstance(array, np.ndarray)
    assert array.dtype == np.uint8
    assert array.shape == (height, width, 3)


def test_mode_1_loads_as_black_and_white(tmp_path: Path) -> None:
    bits = np.zeros((20, 50), dtype=bool)
    bits[:, 25:] = True
    path = tmp_path / "bits.png"
    Image.fromarray(bits).convert("1").save(path)

    out = load_image(path)

    _check_rgb(out, 20, 50)
    assert (out[:, :25] == 0).all() and (out[:, 25:] == 255).all()


def test_mode_l_loads_as_equal_channels(tmp_path: Path) -> None:
    gray = _gradient()
    path = tmp_path / "gray.png"
    Image.fromarray(gray, "L").save(path)

    out = load_image(path)

    _check_rgb(out, 20, 50)
    for channel in range(3):
        assert np.array_equal(out[:, :, channel], gray)


def test_mode_la_composites_transparent_pixels_on_white(tmp_path: Path) -> None:
    la = np.zeros((20, 50, 2), dtype=np.uint8)  # black ink...
    la[:, :25, 1] = 255  # ...opaque on the left, fully transparent on the right
    path = tmp_path / "la.png"
    Image.fromarray(la, "LA").save(path)

    out = load_image(path)

    _check_rgb(out, 20, 50)
    assert (out[:, :25] == 0).all()
    assert (out[:, 25:] == 255).all()


def test_mode_rgb_png_round_trips_exactly(tmp_path: Path) -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (20, 50, 3), dtype=np.uint8)
    path = tmp_path / "rgb.png"
    Image.fromarray(rgb, "RGB").save(path)

    assert np.array_equal(load_image(path), rgb)


def test_mode_rgba_composites_on_white(tmp_path: Path) -> None:
    rgba = np.zeros((20, 60, 4), dtype=np.uint8)
    rgba[:, :20] = (*RED, 255)  # opaque red
    rgba[:, 20:40] = (0, 0, 0, 0)  # transparent black: must become white, not black
    rgba[:, 40:] = (0, 0, 0, 128)  # half-transparent black: mid grey
    path = tmp_path / "rgba.png"
    Image.fromarray(rgba, "RGBA").save(path)

    out = load_image(path)

    _check_rgb(out, 20, 60)
    assert (out[:, :20] == RED).all()
    assert (out[:, 20:40] == 255).all()
    assert (np.abs(out[:, 40:].astype(int) - 127) <= 2).all()


def _palette_image() -> Image.Image:
    index = np.zeros((20, 50), dtype=np.uint8)
    index[:, 25:] = 1
    img = Image.fromarray(index, "P")
    img.putpalette([*RED, *BLUE] + [0] * (256 * 3 - 6))
    return img


def test_mode_p_without_transparency_uses_the_palette_colours(tmp_path: Path) -> None:
    path = tmp_path / "palette.png"
    _palette_image().save(path)

    out = load_image(path)

    _check_rgb(out, 20, 50)
    assert (out[:, :25] == RED).all() and (out[:, 25:] == BLUE).all()


def test_mode_p_with_a_transparent_index_shows_white_there(tmp_path: Path) -> None:
    path = tmp_path / "palette_t.png"
    _palette_image().save(path, transparency=0)  # index 0 (red) is transparent

    out = load_image(path)

    _check_rgb(out, 20, 50)
    assert (out[:, :25] == 255).all()
    assert (out[:, 25:] == BLUE).all()


def test_a_16_bit_png_is_stretched_to_the_full_8_bit_range(tmp_path: Path) -> None:
    values = np.linspace(1000, 3000, 20 * 50).reshape(20, 50).astype(np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)

    out = load_image(path)

    _check_rgb(out, 20, 50)
    assert out.min() == 0 and out.max() == 255
    assert out[0, 0, 0] == 0 and out[-1, -1, 0] == 255  # darkest and brightest keep their places
    assert (np.diff(out[:, :, 0].astype(int).ravel()) >= 0).all()  # order of values kept


def test_a_flat_16_bit_image_does_not_divide_by_zero(tmp_path: Path) -> None:
    path = tmp_path / "flat16.png"
    Image.fromarray(np.full((10, 30), 5000, dtype=np.uint16)).save(path)

    out = load_image(path)

    _check_rgb(out, 10, 30)


@pytest.mark.parametrize(("cmyk", "rgb"), [((0, 0, 0, 0), (255, 255, 255)), ((0, 0, 0, 255), (0, 0, 0)),
                                           ((0, 255, 255, 0), (255, 0, 0))])
def test_a_cmyk_jpeg_loads_as_rgb(tmp_path: Path, cmyk: tuple[int, ...], rgb: tuple[int, ...]) -> None:
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (50, 20), cmyk).save(path, quality=95)

    out = load_image(path)

    _check_rgb(out, 20, 50)
    assert (np.abs(out.astype(int) - np.array(rgb)) <= 6).all()


@pytest.mark.parametrize(("suffix", "options", "tolerance"), [
    (".webp", {"lossless": True}, 0),
    (".bmp", {}, 0),
    (".tif", {}, 0),
    (".tiff", {"compression": "tiff_lzw"}, 0),
    (".jpg", {"quality": 95}, 8),
    (".gif", {}, 0),
])
def test_common_formats_load_as_uint8_rgb(tmp_path: Path, suffix: str, options: dict, tolerance: int) -> None:
    rgb = np.zeros((20, 50, 3), dtype=np.uint8)
    rgb[:, :25] = RED
    rgb[:, 25:] = BLUE
    path = tmp_path / f"line{suffix}"
    Image.fromarray(rgb, "RGB").save(path, **options)

    out = load_image(path)

    _check_rgb(out, 20, 50)
    assert (np.abs(out[:, 2:23].astype(int) - RED) <= tolerance).all()
    assert (np.abs(out[:, 27:48].astype(int) - BLUE) <= tolerance).all()


def test_an_animated_gif_loads_its_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (50, 20), colour) for colour in (RED, BLUE, (0, 200, 0))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert Image.open(path).n_frames == 3  # the fixture really is animated

    out = load_image(path)

    _check_rgb(out, 20, 50)
    assert (out == RED).all()


def test_exif_orientation_6_is_applied(tmp_path: Path) -> None:
    """Orientation 6: the stored pixels must be turned 90 degrees clockwise to display; the stored
    left half (black) becomes the top half."""
    stored = np.full((20, 40, 3), 255, dtype=np.uint8)
    stored[:, :20] = 0
    img = Image.fromarray(stored, "RGB")
    exif = img.getexif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    img.save(path, exif=exif, quality=95)

    out = load_image(path)

    _check_rgb(out, 40, 20)  # height and width swapped
    assert out[:16].mean() < 30
    assert out[24:].mean() > 225


# ---------------------------------------------------------------- load_image: bad files


def _assert_image_error_naming(path: Path, match: str | None = None) -> ImageError:
    with pytest.raises(ImageError) as info:
        load_image(path)
    assert path.name in str(info.value)
    if match is not None:
        assert match in str(info.value)
    return info.value


def test_a_missing_file_is_an_image_error_naming_it(tmp_path: Path) -> None:
    _assert_image_error_naming(tmp_path / "nowhere.png", "no such file")


def test_an_empty_file_is_an_image_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    _assert_image_error_naming(path)


def test_a_text_file_named_png_is_an_image_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("this is not an image\n" * 20)
    _assert_image_error_naming(path, "not readable as an image")


def test_a_directory_is_an_image_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "folder.png"
    path.mkdir()
    _assert_image_error_naming(path)


def test_a_truncated_png_is_an_image_error_or_a_uint8_rgb_image(tmp_path: Path) -> None:
    rgb = np.random.default_rng(2).integers(0, 256, (40, 120, 3), dtype=np.uint8)  # noise: barely compresses
    full = tmp_path / "full.png"
    Image.fromarray(rgb, "RGB").save(full)
    path = tmp_path / "cut.png"
    path.write_bytes(full.read_bytes()[: full.stat().st_size // 2])

    try:
        out = load_image(path)
    except ImageError as err:
        assert path.name in str(err)
    else:
        _check_rgb(out, 40, 120)


def test_a_one_pixel_high_line_loads_and_resizes_to_the_capped_width(tmp_path: Path) -> None:
    path = tmp_path / "hairline.png"
    Image.new("RGB", (300, 1), RED).save(path)

    out = load_image(path)

    _check_rgb(out, 1, 300)
    resized = resize_line(out)
    assert resized.shape == (32, 4096, 3)
    assert (np.abs(resized.astype(int) - RED) <= 1).all()


def test_a_20000_by_20_strip_loads_and_resizes_within_max_width(tmp_path: Path) -> None:
    path = tmp_path / "strip.png"
    Image.new("L", (20000, 20), 90).save(path)

    out = load_image(path)

    _check_rgb(out, 20, 20000)
    assert resize_line(out).shape == (32, 4096, 3)


def _png_claiming(path: Path, width: int, height: int) -> Path:
    """A small real PNG whose header claims ``width`` x ``height`` (the data stays tiny)."""
    Image.new("1", (8, 8), 1).save(path)
    data = bytearray(path.read_bytes())
    assert data[12:16] == b"IHDR"
    ihdr = bytearray(data[16:29])
    ihdr[0:8] = struct.pack(">II", width, height)
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + bytes(ihdr)))
    path.write_bytes(bytes(data))
    return path


def test_an_image_over_max_pixels_is_refused_before_decoding(tmp_path: Path) -> None:
    assert 9000 * 8000 > MAX_PIXELS
    path = _png_claiming(tmp_path / "bomb.png", 9000, 8000)
    assert path.stat().st_size < 1000

    _assert_image_error_naming(path, "too large")


def test_a_real_1_bit_image_over_max_pixels_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.png"
    Image.new("1", (9000, 8000), 1).save(path)  # white: compresses to a few KB

    _assert_image_error_naming(path, "too large")


def test_a_decompression_bomb_beyond_pillows_own_limit_is_an_image_error(tmp_path: Path) -> None:
    path = _png_claiming(tmp_path / "huge.png", 20000, 10000)  # 200 M pixels: Pillow refuses it itself
    _assert_image_error_naming(path)


def test_an_image_of_exactly_max_pixels_is_not_refused_for_its_size(tmp_path: Path) -> None:
    assert 8000 * 8000 == MAX_PIXELS
    path = _png_claiming(tmp_path / "edge.png", 8000, 8000)  # allowed size, but its data is missing

    error = _assert_image_error_naming(path, "not readable")
    assert "too large" not in str(error)


# ---------------------------------------------------------------- ImageFrontend


def test_frontend_gives_channels_first_floats_in_minus_1_to_1_with_padding_zeroed() -> None:
    images = torch.full((2, 32, 10, 3), 255, dtype=torch.uint8)
    images[0, :, :4] = 0
    images[1, :, 8:] = 77  # padding of item 1 (width 6) holds junk
    widths = torch.tensor([10, 6])

    x, lengths = ImageFrontend()(images, widths)

    assert x.shape == (2, 3, 32, 10)
    assert x.dtype == torch.float32
    assert torch.equal(lengths, widths)
    assert x.min() >= -1 and x.max() <= 1
    assert (x[0, :, :, :4] == -1).all() and (x[0, :, :, 4:] == 1).all()
    assert (x[1, :, :, :6] == 1).all()
    assert (x[1, :, :, 6:] == 0).all()


def test_frontend_keeps_channel_order() -> None:
    images = torch.zeros((1, 4, 5, 3), dtype=torch.uint8)
    images[..., 0] = 255  # pure red
    x, _ = ImageFrontend()(images, torch.tensor([5]))
    assert (x[0, 0] == 1).all() and (x[0, 1] == -1).all() and (x[0, 2] == -1).all()


# ---------------------------------------------------------------- ImageDataset sizes


def _entry(path: Path, text: str = "ab") -> Entry:
    return Entry(str(path), None, text, 1, IMAGE_KEY)


def test_dataset_items_have_their_multi_size_shape_and_batches_never_mix_sizes(tmp_path: Path) -> None:
    sizes = [(100, 100), (210, 100), (40, 20), (300, 100), (90, 30), (1000, 100), (990, 99), (60, 60)]
    entries = []
    for i, (w, h) in enumerate(sizes):
        path = tmp_path / f"line{i}.png"
        Image.new("RGB", (w, h), BLUE).save(path)
        entries.append(_entry(path))
    dataset = ImageDataset(entries, CharTokenizer("ab"))
    lengths, groups = dataset.batch_lengths()

    for i, (w, h) in enumerate(sizes):
        item = dataset[i]["input"]
        assert tuple(item.shape) == (*target_size(w, h)[::-1], 3)
        assert groups[i] == target_size(w, h)
    sampler = BucketingBatchSampler(lengths, max_frames=10 * max(lengths), shuffle=False, groups=groups)
    for batch in sampler.batches():
        assert len({groups[i] for i in batch}) == 1
        collated = collate([dataset[i] for i in batch])
        assert (collated["input_lengths"] == collated["inputs"].shape[2]).all()  # one size: no padding


def test_dataset_sizes_a_rotated_jpeg_as_inference_does(tmp_path: Path) -> None:
    """Training and inference must resize a file to the same shape. A 200x100 JPEG stored with EXIF
    orientation 6 displays (and loads) as 100 wide x 200 high, so inference gives it the ratio-1 size
    (64x64); the dataset must too, rather than squashing the rotated image into 96x48."""
    img = Image.new("RGB", (200, 100), RED)
    exif = img.getexif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    img.save(path, exif=exif)
    inference_shape = resize_line(load_image(path)).shape

    dataset = ImageDataset([_entry(path)], CharTokenizer("ab"))

    assert inference_shape == (64, 64, 3)
    assert tuple(dataset[0]["input"].shape) == inference_shape


def test_with_luminance_the_frontend_reads_hue_apart_from_brightness_alike() -> None:
    """Two images of the same luminance in other hues (green text on magenta, and grey on grey)
    reach the encoder as the same input with ``luminance``; without it they differ."""
    rgb = np.array([[70, 235, 60], [185, 75, 150]], np.float64)  # text, ground
    luma = np.round(rgb @ [0.299, 0.587, 0.114])
    coloured = np.zeros((1, 8, 16, 3), np.uint8)
    coloured[:, :, :] = rgb[1]
    coloured[:, 2:6, 4:12] = rgb[0]
    grey = np.repeat(np.round(coloured.astype(np.float64) @ [0.299, 0.587, 0.114])[..., None], 3, axis=-1)
    assert set(np.unique(grey)) == set(luma)
    widths = torch.tensor([16])
    on, off = ImageFrontend(ImageConfig(luminance=True)), ImageFrontend(ImageConfig())
    read = [frontend(torch.from_numpy(x.astype(np.uint8)), widths)[0]
            for frontend in (on, off) for x in (coloured, grey)]
    assert torch.allclose(read[0], read[1], atol=0.5 / 127.5)  # luminance rounded to uint8 in the grey image
    assert not torch.allclose(read[2], read[3], atol=0.1)
    assert torch.equal(read[0][:, 0], read[0][:, 2])
