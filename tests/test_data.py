"""recog.data: manifests, collation and the length-bucketing batch sampler."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from recog.data import (
    AudioDataset,
    BucketingBatchSampler,
    ManifestError,
    collate,
    padding_fraction,
    read_manifest,
)
from recog.text import CharTokenizer


def write_wav(path: Path, seconds: float = 0.1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(str(path), np.zeros(int(16000 * seconds), dtype=np.float32), 16000, subtype="PCM_16")
    return path


def write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def row(audio: str, duration: float = 0.1, text: str = "hi") -> str:
    return json.dumps({"audio_filepath": audio, "duration": duration, "text": text})


def assert_names_line(err: ManifestError, manifest: Path, line: int) -> None:
    message = str(err)
    assert str(manifest) in message
    assert re.search(rf"(:{line}\b|line {line}\b)", message), message


# ---------------------------------------------------------------- read_manifest


def test_relative_paths_resolve_against_the_manifest_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "corpus"
    nested = write_wav(root / "audio" / "a.wav")
    absolute = write_wav(tmp_path / "elsewhere" / "b.wav")
    manifest = write_lines(root / "train.jsonl", [row("audio/a.wav", 1.5, "one"), row(str(absolute), 2.0, "two")])
    monkeypatch.chdir(tmp_path / "elsewhere")  # not the manifest's folder

    entries = read_manifest(manifest)

    assert [Path(e.path) for e in entries] == [nested, absolute]
    assert all(Path(e.path).is_absolute() for e in entries)
    assert [(e.duration, e.text, e.line) for e in entries] == [(1.5, "one", 1), (2.0, "two", 2)]


def test_mixed_manifests_name_the_same_files_and_keep_every_field(tmp_path: Path) -> None:
    from tools.mix_manifests import main

    first = write_lines(tmp_path / "lines" / "train.jsonl", [row("a.wav", 1.0, "one"), "", row("b.wav", 2.0, "two")])
    second = write_lines(tmp_path / "pages" / "crops.jsonl",
                         [json.dumps({"audio_filepath": "c/c.wav", "duration": 3.0, "text": "three", "kind": "sign"})])
    for name in ("lines/a.wav", "lines/b.wav", "pages/c/c.wav"):
        write_wav(tmp_path / name)
    out = tmp_path / "mix" / "train.jsonl"

    assert main([str(first), str(second), "--out", str(out)]) == 0

    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0]["audio_filepath"] == "../lines/a.wav"
    assert rows[2]["kind"] == "sign"
    want = (("lines/a.wav", "one", 1.0), ("lines/b.wav", "two", 2.0), ("pages/c/c.wav", "three", 3.0))
    assert [(Path(e.path).resolve(), e.text, e.duration) for e in read_manifest(out)] == [
        ((tmp_path / name).resolve(), text, seconds) for name, text, seconds in want]


def test_mixing_audio_and_image_manifests_is_refused_naming_the_row(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from tools.mix_manifests import main

    audio = write_lines(tmp_path / "audio.jsonl", [row("a.wav")])
    write_wav(tmp_path / "a.wav")
    (tmp_path / "x.png").write_bytes(b"")
    images = write_lines(tmp_path / "images.jsonl", [json.dumps({"image_filepath": "x.png", "text": "x"})])
    out = tmp_path / "mix.jsonl"

    assert main([str(audio), str(images), "--out", str(out)]) == 2
    assert f"{images}:1" in capsys.readouterr().err
    assert not out.exists()


def test_blank_lines_are_skipped_but_counted(tmp_path: Path) -> None:
    write_wav(tmp_path / "a.wav")
    manifest = write_lines(tmp_path / "m.jsonl", ["", row("a.wav", text="x"), "   ", row("a.wav", text="y")])

    entries = read_manifest(manifest)

    assert [(e.text, e.line) for e in entries] == [("x", 2), ("y", 4)]


def test_text_is_optional_when_not_required(tmp_path: Path) -> None:
    write_wav(tmp_path / "a.wav")
    manifest = write_lines(tmp_path / "m.jsonl", [json.dumps({"audio_filepath": "a.wav", "duration": 0.1})])

    assert read_manifest(manifest, require_text=False)[0].text == ""


def test_missing_files_are_not_checked_when_told_not_to(tmp_path: Path) -> None:
    manifest = write_lines(tmp_path / "m.jsonl", [row("gone.wav")])

    assert read_manifest(manifest, check_files=False)[0].path == str(tmp_path / "gone.wav")


BAD_LINES = {
    "bad_json": '{"audio_filepath": "a.wav", "duration": 0.1, "text": "hi"',
    "not_an_object": '["a.wav", 0.1, "hi"]',
    "missing_text": json.dumps({"audio_filepath": "a.wav", "duration": 0.1}),
    "missing_audio_filepath": json.dumps({"duration": 0.1, "text": "hi"}),
    "missing_duration": json.dumps({"audio_filepath": "a.wav", "text": "hi"}),
    "missing_audio_file": row("nowhere/b.wav"),
    "zero_duration": row("a.wav", duration=0),
    "negative_duration": row("a.wav", duration=-1.5),
    "nan_duration": json.dumps({"audio_filepath": "a.wav", "duration": float("nan"), "text": "hi"}),
    "text_duration": row("a.wav", duration="long"),  # type: ignore[arg-type]
    "infinite_duration": json.dumps({"audio_filepath": "a.wav", "duration": float("inf"), "text": "hi"}),
    "null_audio_filepath": json.dumps({"audio_filepath": None, "duration": 0.1, "text": "hi"}),
    "numeric_audio_filepath": json.dumps({"audio_filepath": 17, "duration": 0.1, "text": "hi"}),
    "null_text": json.dumps({"audio_filepath": "a.wav", "duration": 0.1, "text": None}),
    "negative_offset": json.dumps({"audio_filepath": "a.wav", "duration": 0.1, "offset": -1, "text": "hi"}),
    "text_offset": json.dumps({"audio_filepath": "a.wav", "duration": 0.1, "offset": "start", "text": "hi"}),
}
EXPECTED_WORDS = {
    "bad_json": "JSON", "not_an_object": "object", "missing_text": "text",
    "missing_audio_filepath": "audio_filepath", "missing_duration": "duration", "missing_audio_file": "b.wav",
    "zero_duration": "duration", "negative_duration": "duration", "nan_duration": "duration",
    "text_duration": "duration", "infinite_duration": "duration", "null_audio_filepath": "audio_filepath",
    "numeric_audio_filepath": "audio_filepath", "null_text": "text", "negative_offset": "offset",
    "text_offset": "offset",
}


@pytest.mark.parametrize("case", list(BAD_LINES))
def test_bad_lines_raise_manifest_error_naming_manifest_and_line(tmp_path: Path, case: str) -> None:
    write_wav(tmp_path / "a.wav")
    manifest = write_lines(tmp_path / "data" / "dev.jsonl",
                           [row("../a.wav"), "", row("../a.wav"), BAD_LINES[case].replace('"a.wav"', '"../a.wav"'),
                            row("../a.wav")])

    with pytest.raises(ManifestError) as info:
        read_manifest(manifest)

    assert_names_line(info.value, manifest, 4)
    assert EXPECTED_WORDS[case] in str(info.value)


def test_a_line_that_is_not_utf8_raises_manifest_error_naming_it(tmp_path: Path) -> None:
    write_wav(tmp_path / "a.wav")
    manifest = tmp_path / "latin1.jsonl"
    latin1_row = json.dumps({"audio_filepath": "a.wav", "duration": 0.1, "text": "caf\u00e9"}, ensure_ascii=False)
    manifest.write_bytes((row("a.wav") + "\n" + latin1_row + "\n").encode("latin-1"))
    assert b"caf\xe9" in manifest.read_bytes()  # really not UTF-8

    with pytest.raises(ManifestError) as info:
        read_manifest(manifest)

    assert_names_line(info.value, manifest, 2)


@pytest.mark.parametrize("content", ["", "\n\n  \n"], ids=["empty_file", "only_blank_lines"])
def test_a_manifest_without_entries_is_an_error(tmp_path: Path, content: str) -> None:
    manifest = tmp_path / "empty.jsonl"
    manifest.write_text(content)

    with pytest.raises(ManifestError) as info:
        read_manifest(manifest)

    assert str(manifest) in str(info.value)


def test_a_missing_manifest_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="nothere.jsonl"):
        read_manifest(tmp_path / "nothere.jsonl")


# ---------------------------------------------------------------- dataset and collation


def test_dataset_and_collate_give_padded_batches_with_lengths(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    sizes, texts = [1600, 4000, 800], ["ab", "abc a", "b"]
    rows = []
    for i, n in enumerate(sizes):
        samples = rng.uniform(-0.5, 0.5, n).astype(np.float32)
        soundfile.write(str(tmp_path / f"{i}.wav"), samples, 16000, subtype="FLOAT")
        rows.append(row(f"{i}.wav", n / 16000, texts[i]))
    entries = read_manifest(write_lines(tmp_path / "m.jsonl", rows))
    tokenizer = CharTokenizer.from_texts(texts)
    dataset = AudioDataset(entries, tokenizer)

    batch = collate([dataset[i] for i in range(3)])

    assert batch["inputs"].shape == (3, 4000) and batch["inputs"].dtype == torch.float32
    assert batch["input_lengths"].tolist() == sizes
    assert batch["targets"].shape == (3, 5) and batch["targets"].dtype == torch.int64
    assert batch["target_lengths"].tolist() == [2, 5, 1]
    assert batch["texts"] == texts
    assert batch["paths"] == [str(tmp_path / f"{i}.wav") for i in range(3)]
    for b, (n, text) in enumerate(zip(sizes, texts, strict=True)):
        assert torch.equal(batch["inputs"][b, :n], dataset[b]["input"])
        assert (batch["inputs"][b, n:] == 0).all()
        assert tokenizer.decode(batch["targets"][b, : len(text)].tolist()) == text
        assert (batch["targets"][b, len(text):] == 0).all()  # padded with the blank id


def test_speed_perturbation_changes_lengths_within_its_range_and_repeats_per_seed(tmp_path: Path) -> None:
    n = 16000
    soundfile.write(str(tmp_path / "a.wav"), np.zeros(n, dtype=np.float32) + 0.1, 16000, subtype="FLOAT")
    entries = read_manifest(write_lines(tmp_path / "m.jsonl", [row("a.wav", 1.0, "ab")]))
    tokenizer = CharTokenizer.from_texts(["ab"])
    plain = AudioDataset(entries, tokenizer)
    assert len(plain[0]["input"]) == n
    lengths = [len(AudioDataset(entries, tokenizer, (0.8, 1.25), seed=s)[0]["input"]) for s in range(8)]
    assert all(n / 1.25 - 2 <= length <= n / 0.8 + 2 for length in lengths)
    assert len(set(lengths)) > 1  # different speeds for different seeds
    again = [len(AudioDataset(entries, tokenizer, (0.8, 1.25), seed=s)[0]["input"]) for s in range(8)]
    assert again == lengths
    with pytest.raises(ValueError, match="speed_perturb"):
        AudioDataset(entries, tokenizer, (1.2, 0.9))


# ---------------------------------------------------------------- bucketing sampler


def lognormal_lengths(n: int = 2000, seed: int = 0) -> list[int]:
    rng = np.random.default_rng(seed)
    return [int(x) + 1 for x in rng.lognormal(mean=5.5, sigma=0.6, size=n)]


MAX_FRAMES = 8000


def test_lengths_fixture_is_spread_out() -> None:
    lengths = lognormal_lengths()
    assert max(lengths) < MAX_FRAMES
    assert max(lengths) > 8 * min(lengths)


def test_every_index_appears_exactly_once_per_epoch() -> None:
    lengths = lognormal_lengths()
    sampler = BucketingBatchSampler(lengths, MAX_FRAMES, shuffle=True, seed=1)
    for _ in range(3):
        batches = list(sampler)
        assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))


@pytest.mark.parametrize("max_batch_size", [None, 7])
def test_every_batch_fits_the_padded_frame_budget(max_batch_size: int | None) -> None:
    lengths = lognormal_lengths()
    sampler = BucketingBatchSampler(lengths, MAX_FRAMES, seed=2, max_batch_size=max_batch_size)
    batches = list(sampler)
    for batch in batches:
        assert batch
        assert len(batch) * max(lengths[i] for i in batch) <= MAX_FRAMES
        if max_batch_size is not None:
            assert len(batch) <= max_batch_size
    assert len(sampler) == len(batches)


def test_every_epoch_has_the_same_number_of_batches_as_its_length() -> None:
    # Lightning reads len() once and validates after that many batches: an epoch one batch
    # short skipped its validation. The jittered cuts of this fixture vary from epoch to epoch.
    lengths = lognormal_lengths(3000)
    sampler = BucketingBatchSampler(lengths, MAX_FRAMES, shuffle=True, seed=7)
    raw = {len(sampler._cut(random.Random(7 + epoch))) for epoch in range(12)}
    assert len(raw) > 1
    expected = len(sampler)
    seen_share = []
    for _ in range(12):  # iterating moves on to the next epoch
        batches = list(sampler)
        assert len(batches) == expected == len(sampler)
        items = [i for batch in batches for i in batch]
        assert len(items) == len(set(items))  # never twice
        seen_share.append(len(items) / len(lengths))
        for batch in batches:
            assert batch and len(batch) * max(lengths[i] for i in batch) <= MAX_FRAMES
    assert min(seen_share) > 0.99 and sum(share == 1.0 for share in seen_share) >= 10


def test_without_shuffling_every_item_is_kept_whatever_the_count() -> None:
    lengths = lognormal_lengths(3000)
    batches = list(BucketingBatchSampler(lengths, MAX_FRAMES, shuffle=False))
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))


def test_an_item_longer_than_the_budget_is_refused() -> None:
    with pytest.raises(ValueError, match="max_frames"):
        BucketingBatchSampler([10, 500, 20], max_frames=400)


def test_each_epoch_has_a_different_batch_order_when_shuffling() -> None:
    sampler = BucketingBatchSampler(lognormal_lengths(), MAX_FRAMES, shuffle=True, seed=3)
    epochs = [list(sampler) for _ in range(3)]  # iterating moves on to the next epoch
    assert epochs[0] != epochs[1] and epochs[1] != epochs[2] and epochs[0] != epochs[2]
    sampler.set_epoch(1)
    assert list(sampler) == epochs[1]  # an epoch's batches can be reproduced


def test_an_epoch_left_unfinished_still_moves_the_next_one_on() -> None:
    """Lightning takes len(sampler) batches and leaves the iterator unexhausted."""
    sampler = BucketingBatchSampler(lognormal_lengths(), MAX_FRAMES, shuffle=True, seed=3)
    firsts = [next(iter(sampler)) for _ in range(3)]
    assert firsts == [sampler.batches(epoch)[0] for epoch in range(3)]
    assert firsts[0] != firsts[1] != firsts[2]


def test_batches_are_deterministic_for_a_fixed_seed() -> None:
    lengths = lognormal_lengths()
    first = [list(BucketingBatchSampler(lengths, MAX_FRAMES, seed=5)) for _ in range(2)]
    other = list(BucketingBatchSampler(lengths, MAX_FRAMES, seed=6))
    assert first[0] == first[1]
    assert first[0] != other


def test_without_shuffle_batches_follow_length_order() -> None:
    lengths = lognormal_lengths(300)
    batches = list(BucketingBatchSampler(lengths, MAX_FRAMES, shuffle=False))
    flat = [i for batch in batches for i in batch]
    assert [lengths[i] for i in flat] == sorted(lengths)


def test_bucketing_pads_far_less_than_random_batches_of_the_same_sizes() -> None:
    lengths = lognormal_lengths()
    batches = list(BucketingBatchSampler(lengths, MAX_FRAMES, seed=0))
    shuffled = list(range(len(lengths)))
    random.Random(0).shuffle(shuffled)
    random_batches, start = [], 0
    for batch in batches:
        random_batches.append(shuffled[start: start + len(batch)])
        start += len(batch)

    bucketed = np.mean([padding_fraction([lengths[i] for i in b]) for b in batches])
    unbucketed = np.mean([padding_fraction([lengths[i] for i in b]) for b in random_batches if len(b) > 1])

    assert bucketed < 0.1
    assert bucketed < unbucketed / 4


def test_padding_fraction_is_the_share_of_padding() -> None:
    assert padding_fraction([10, 10]) == 0.0
    assert padding_fraction([10, 5]) == pytest.approx(0.25)
    assert padding_fraction(torch.tensor([4, 1, 1, 2])) == pytest.approx(0.5)


def test_two_ranks_get_disjoint_batches_of_equal_count() -> None:
    lengths = lognormal_lengths()
    ranks = [BucketingBatchSampler(lengths, MAX_FRAMES, seed=4, rank=r, world_size=2) for r in range(2)]
    for epoch in range(2):
        for sampler in ranks:
            sampler.set_epoch(epoch)
        batches = [list(sampler) for sampler in ranks]
        assert len(batches[0]) == len(batches[1]) == len(ranks[0]) == len(ranks[1]) > 0
        seen = [{i for batch in b for i in batch} for b in batches]
        assert not seen[0] & seen[1]
        assert sum(len(batch) for b in batches for batch in b) == len(seen[0]) + len(seen[1])  # no repeats
        single = BucketingBatchSampler(lengths, MAX_FRAMES, seed=4)
        single.set_epoch(epoch)
        all_batches = single.batches()
        assert len(batches[0]) + len(batches[1]) >= len(all_batches) - 1  # at most one batch left over


def test_leading_silence_puts_a_seeded_silence_of_bounded_length_before_the_audio(tmp_path: Path) -> None:
    n = 16000
    soundfile.write(str(tmp_path / "a.wav"), np.zeros(n, dtype=np.float32) + 0.1, 16000, subtype="FLOAT")
    entries = read_manifest(write_lines(tmp_path / "m.jsonl", [row("a.wav", 1.0, "ab")]))
    tokenizer = CharTokenizer.from_texts(["ab"])
    fixed = AudioDataset(entries, tokenizer, leading_silence=(0.5, 0.5))[0]["input"]
    assert len(fixed) == n + 8000 and (fixed[:8000] == 0).all() and (fixed[8000:] != 0).all()
    lengths = [len(AudioDataset(entries, tokenizer, seed=s, leading_silence=(0.0, 1.5))[0]["input"]) for s in range(8)]
    assert all(n <= length <= n + 24000 for length in lengths) and len(set(lengths)) > 1
    assert lengths == [len(AudioDataset(entries, tokenizer, seed=s, leading_silence=(0.0, 1.5))[0]["input"])
                       for s in range(8)]
    # the bucketing budget counts the longest silence; the speed draws stay those of speed_perturb alone
    assert AudioDataset(entries, tokenizer, leading_silence=(0.0, 1.5)).batch_lengths()[0] == [250.0]
    both = AudioDataset(entries, tokenizer, (0.8, 1.25), seed=3, leading_silence=(0.0, 0.0))[0]["input"]
    assert len(both) == len(AudioDataset(entries, tokenizer, (0.8, 1.25), seed=3)[0]["input"])
    with pytest.raises(ValueError, match="leading_silence"):
        AudioDataset(entries, tokenizer, leading_silence=(1.0, 0.5))
    # leading_silence_prob: that share of items gets the silence, the rest starts as recorded
    some = [len(AudioDataset(entries, tokenizer, seed=s, leading_silence=(0.5, 0.5), leading_silence_prob=0.5)[0]
                ["input"]) for s in range(40)]
    assert set(some) == {n, n + 8000} and 10 <= some.count(n) <= 30
    none = AudioDataset(entries, tokenizer, leading_silence=(0.5, 0.5), leading_silence_prob=0.0)[0]["input"]
    assert len(none) == n
    with pytest.raises(ValueError, match="leading_silence_prob"):
        AudioDataset(entries, tokenizer, leading_silence=(0.0, 1.0), leading_silence_prob=1.5)


def test_noise_is_added_at_an_snr_in_range_measured_on_the_speech_and_fresh_at_every_call(tmp_path: Path) -> None:
    n = 16000
    t = np.arange(n) / 16000
    tone = np.where(t >= 0.5, 0.3 * np.sin(2 * np.pi * 440 * t), 0.0).astype(np.float32)  # 0.5 s silent, then speech
    soundfile.write(str(tmp_path / "a.wav"), tone, 16000, subtype="FLOAT")
    entries = read_manifest(write_lines(tmp_path / "m.jsonl", [row("a.wav", 1.0, "ab")]))
    tokenizer = CharTokenizer.from_texts(["ab"])
    clean = AudioDataset(entries, tokenizer)[0]["input"].numpy()

    data = AudioDataset(entries, tokenizer, noise_prob=1.0, noise_snr=(5.0, 15.0))
    draws = [data[0]["input"].numpy() for _ in range(6)]
    for noisy in draws:
        added = noisy.astype(np.float64) - clean
        assert noisy.dtype == np.float32 and len(noisy) == n
        assert np.abs(added[:8000]).mean() > 0  # the silent start is noisy too
        snr = 10 * np.log10(np.mean(clean[8000:].astype(np.float64) ** 2) / np.mean(added**2))
        assert 4.9 <= snr <= 15.1, snr  # on the speech frames: the silent half does not count
    assert len({float(d.sum()) for d in draws}) == 6  # a new draw at every call (every epoch)
    again = AudioDataset(entries, tokenizer, noise_prob=1.0, noise_snr=(5.0, 15.0))
    assert all(np.array_equal(a, again[0]["input"].numpy()) for a in draws)  # repeatable from the seed
    assert np.array_equal(AudioDataset(entries, tokenizer, noise_prob=0.0)[0]["input"].numpy(), clean)
    some = AudioDataset(entries, tokenizer, noise_prob=0.5)
    noisy_share = sum(not np.array_equal(some[0]["input"].numpy(), clean) for _ in range(40))
    assert 10 <= noisy_share <= 30
    # the speed and silence draws stay those without noise
    plain = [len(AudioDataset(entries, tokenizer, (0.8, 1.25), seed=s, leading_silence=(0.0, 1.0))[0]["input"])
             for s in range(5)]
    assert plain == [len(AudioDataset(entries, tokenizer, (0.8, 1.25), seed=s, leading_silence=(0.0, 1.0),
                                      noise_prob=1.0)[0]["input"]) for s in range(5)]


@pytest.mark.parametrize(("kwargs", "name"), [({"noise_prob": 1.5}, "noise_prob"),
                                              ({"noise_snr": (20.0, 10.0)}, "noise_snr"),
                                              ({"noise_colours": ("grey",)}, "noise_colours")])
def test_bad_noise_settings_are_refused_naming_them(tmp_path: Path, kwargs: dict, name: str) -> None:
    write_wav(tmp_path / "a.wav")
    entries = read_manifest(write_lines(tmp_path / "m.jsonl", [row("a.wav")]))
    with pytest.raises(ValueError, match=name):
        AudioDataset(entries, CharTokenizer.from_texts(["hi"]), **kwargs)


def test_join_puts_another_utterance_and_a_gap_before_an_item_and_joins_the_texts(tmp_path: Path) -> None:
    rows = []
    for name, value, seconds, text in (("a", 0.1, 1.0, "ab"), ("b", 0.2, 0.5, "ba"), ("c", 0.3, 0.25, "bb")):
        soundfile.write(str(tmp_path / f"{name}.wav"), np.full(int(seconds * 16000), value, dtype=np.float32),
                        16000, subtype="FLOAT")
        rows.append(row(f"{name}.wav", seconds, text))
    entries = read_manifest(write_lines(tmp_path / "m.jsonl", rows))
    tokenizer = CharTokenizer.from_texts(["ab ba"])
    alone = AudioDataset(entries, tokenizer)
    assert alone.partner == [None, None, None] and alone[1]["text"] == "ba"
    joined = AudioDataset(entries, tokenizer, join_prob=1.0, join_gap=(0.25, 0.25), seed=5)
    assert all(p is not None and p != i for i, p in enumerate(joined.partner))
    values = [0.1, 0.2, 0.3]
    for i, item in enumerate(joined):
        before = entries[joined.partner[i]]
        assert item["text"] == f"{before.text} {entries[i].text}"
        assert tokenizer.decode(item["tokens"].tolist()) == item["text"]
        x, first = item["input"].numpy(), int(before.duration * 16000)
        assert len(x) == first + 4000 + int(entries[i].duration * 16000)
        np.testing.assert_allclose(x[:first], values[joined.partner[i]], rtol=1e-6)
        assert (x[first: first + 4000] == 0).all()
        np.testing.assert_allclose(x[first + 4000:], values[i], rtol=1e-6)
    # the bucketing budget counts both utterances, the longest gap and the longest leading silence
    budget = AudioDataset(entries, tokenizer, join_prob=1.0, join_gap=(0.1, 0.4), seed=5,
                          leading_silence=(0.0, 0.5), leading_silence_prob=0.5)
    assert budget.partner == joined.partner
    for i, length in enumerate(budget.batch_lengths()[0]):
        assert length == pytest.approx((entries[budget.partner[i]].duration + 0.4 + entries[i].duration + 0.5) * 100)
    # a pair longer than max_seconds stays single: a (1.0 s) joins nothing within 1.6 s, c (0.25 s) joins b
    capped = AudioDataset(entries, tokenizer, join_prob=1.0, join_gap=(0.0, 0.0), max_seconds=1.0)
    assert capped.partner[0] is None and capped.partner[1] in (None, 2) and capped.partner[2] in (None, 1)
    assert capped.partner[1:] == [p if entries[i].duration + entries[p].duration <= 1.0 else None
                                  for i, p in enumerate(AudioDataset(entries, tokenizer, join_prob=1.0).partner)][1:]
    # the pairing is fixed by the seed; about join_prob of the items are joined
    assert AudioDataset(entries, tokenizer, join_prob=1.0, seed=5).partner == joined.partner
    many = AudioDataset(entries * 100, tokenizer, join_prob=0.5)
    assert 100 <= sum(p is not None for p in many.partner) <= 200
    gaps = {len(AudioDataset(entries, tokenizer, join_prob=1.0, join_gap=(0.0, 1.0), seed=s)[2]["input"])
            - 4000 - int(entries[AudioDataset(entries, tokenizer, join_prob=1.0, seed=s).partner[2]].duration * 16000)
            for s in range(6)}
    assert len(gaps) > 1 and all(0 <= g <= 16000 for g in gaps)
    # a tokenizer without a space (text written without spaces) joins the texts with nothing
    spaceless = AudioDataset(entries, CharTokenizer.from_texts(["ab"]), join_prob=1.0, seed=5)
    item = spaceless[1]
    assert item["text"] == entries[spaceless.partner[1]].text + entries[1].text
    assert spaceless.tokenizer.decode(item["tokens"].tolist()) == item["text"]
    for bad in ({"join_prob": 1.5}, {"join_prob": 0.5, "join_gap": (1.0, 0.5)}):
        with pytest.raises(ValueError, match="join_"):
            AudioDataset(entries, tokenizer, **bad)
