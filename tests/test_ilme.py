"""Internal LM estimation: where a character LM is fused into transducer beam search, the
transducer's own internal LM (its prediction network) is subtracted, in recog and recog-edge alike,
from a flag or from the LM's tuned setting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile
import torch

from recog.checkpoint import save_checkpoint
from recog.cli import main
from recog.decoding.fusion import FusionSum, LMFusion
from recog.decoding.internal_lm import InternalLMFusion
from recog.decoding.options import DecodingOptions
from recog.lm import CharNgramLM
from recog_edge import EdgeModel
from recog_edge.fusion import LM_WEIGHT
from recog_edge.lm import read_fusion_setting, write_fusion_setting
from recog_edge.search import TransducerInternalLM
from tests.conftest import speak
from tests.helpers import tiny_recognizer

pytestmark = pytest.mark.usefixtures("one_thread")

PREFIXES = [(), (3,), (3, 4, 5), (5, 5, 2, 7), (2, 6, 3, 4, 5, 6, 7, 8)]


@pytest.fixture(scope="module")
def model():  # noqa: ANN201 - a tiny hybrid Recognizer
    model = tiny_recognizer([8, 3], heads={"ctc": {}, "rnnt": {"pred_dim": 32, "joint_dim": 32}})
    with torch.no_grad():
        model.heads["ctc"].proj.bias[0] -= 3.0
    return model


@pytest.fixture(scope="module")
def lm(model) -> CharNgramLM:  # noqa: ANN001
    return CharNgramLM.train(["open the door please", "blue sky", "the sky is blue"], order=3)


def pieces(model) -> list[str]:  # noqa: ANN001
    return [model.tokenizer.id_to_piece(i) for i in range(model.tokenizer.vocab_size)]


def test_the_fused_score_is_the_lm_less_the_weighted_internal_lm(model, lm: CharNgramLM) -> None:  # noqa: ANN001
    fused = model.lm_fusion(lm, 0.5, 1.0, "rnnt", 0.3)
    plain = LMFusion(lm, pieces(model), 0.5, 1.0, head="rnnt")
    internal = InternalLMFusion(model.heads["rnnt"], 1.0, 0.0)
    for prefix in PREFIXES:
        expected = plain.prefix_score(prefix) - 0.3 * internal.prefix_score(prefix)
        assert fused.prefix_score(prefix) == pytest.approx(expected, abs=1e-5)
        expected = plain.final_score(prefix) - 0.3 * internal.prefix_score(prefix)
        assert fused.final_score(prefix) == pytest.approx(expected, abs=1e-5)
    assert model.lm_fusion(lm, 0.5, 1.0, "rnnt", 0.0).prefix_score((3, 4)) == plain.prefix_score((3, 4))
    with pytest.raises(ValueError, match="'ctc' head has none"):
        model.lm_fusion(lm, 0.5, 1.0, "ctc", 0.3)


def test_the_lm_s_tuned_setting_carries_the_weight_and_a_flag_overrides_it(model, lm: CharNgramLM,  # noqa: ANN001
                                                                           tmp_path: Path) -> None:
    path = tmp_path / "lm.npz"
    lm.save(path)
    write_fusion_setting(path, 0.5, 1.0, "test", ilme_weight=0.3, head="rnnt")
    assert read_fusion_setting(path) == {"rnnt": {"weight": 0.5, "bonus": 1.0, "ilme_weight": 0.3}}
    tuned = CharNgramLM.load(path)
    assert model.lm_fusion(tuned, None, None, "ctc").weight == LM_WEIGHT  # tuned for rnnt only: ctc's defaults
    explicit = model.lm_fusion(lm, 0.5, 1.0, "rnnt", 0.3)
    for prefix in PREFIXES:
        assert model.lm_fusion(tuned, None, None, "rnnt").prefix_score(prefix) == explicit.prefix_score(prefix)
    off = model.lm_fusion(tuned, None, None, "rnnt", 0.0)
    assert off.prefix_score((3, 4)) == LMFusion(lm, pieces(model), 0.5, 1.0, head="rnnt").prefix_score((3, 4))
    write_fusion_setting(path, 0.5, 1.0, "test", head="rnnt")  # without: no key, no subtraction
    assert "ilme_weight" not in json.loads(path.with_name("lm.fusion.json").read_text())["heads"]["rnnt"]
    path.with_name("lm.fusion.json").write_text('{"weight": 0.5, "bonus": 1.0, "ilme_weight": -1}')
    with pytest.raises(ValueError, match="lm.fusion.json"):
        read_fusion_setting(path)


def test_decoding_fuses_the_lm_less_the_internal_lm_and_refuses_it_where_it_has_no_place(
        model, lm: CharNgramLM) -> None:  # noqa: ANN001
    options = DecodingOptions(beam=4, lm_weight=0.5, lm_bonus=1.0, ilme_weight=0.4)
    fusion, expected = model.fusion(options, lm, "rnnt"), model.lm_fusion(lm, 0.5, 1.0, "rnnt", 0.4)
    plain = LMFusion(lm, pieces(model), 0.5, 1.0, head="rnnt")
    for prefix in PREFIXES[1:]:
        assert fusion.prefix_score(prefix) == pytest.approx(expected.prefix_score(prefix), abs=1e-5)
        assert fusion.prefix_score(prefix) != pytest.approx(plain.prefix_score(prefix), abs=1e-3)
    h, lengths = model.encoder(torch.randn(2, 64, 80), torch.tensor([64, 40]))
    decoded = model.decode(h, lengths, head="rnnt", lm=lm, options=options)
    direct = model.heads["rnnt"].search(h, lengths, options, expected)
    assert [d.tokens for d in decoded] == [d.tokens for d in direct]
    with pytest.raises(ValueError, match="ilme_weight"):
        model.decode(h, lengths, head="rnnt", beam=4, ilme_weight=0.4)  # no LM
    with pytest.raises(ValueError, match="ilme_weight"):
        model.decode(h, lengths, head="ctc", beam=4, lm=lm, ilme_weight=0.4)  # CTC has no internal LM
    with pytest.raises(ValueError, match="non-negative"):
        model.decode(h, lengths, head="rnnt", beam=4, lm=lm, ilme_weight=-0.4)


def test_the_edge_runtime_subtracts_the_same_internal_lm(model, lm: CharNgramLM, tmp_path: Path) -> None:  # noqa: ANN001
    checkpoint = save_checkpoint(model, tmp_path / "model.ckpt")
    assert main(["export", "--model", str(checkpoint), "--out", str(tmp_path / "onnx")]) == 0
    edge = EdgeModel(tmp_path / "onnx", head="rnnt", beam=4, lm=lm, lm_weight=0.5, lm_bonus=1.0, ilme=0.3)
    internal = TransducerInternalLM(edge.parts["predictor"], edge.parts["joiner"], edge.meta["predictor"], 1.0)
    torch_side = InternalLMFusion(model.heads["rnnt"], 1.0, 0.0)
    fused = model.lm_fusion(lm, 0.5, 1.0, "rnnt", 0.3)
    for prefix in PREFIXES:
        assert internal.prefix_score(prefix) == pytest.approx(torch_side.prefix_score(prefix), abs=1e-4)
        assert edge.fusion.prefix_score(prefix) == pytest.approx(fused.prefix_score(prefix), abs=1e-4)
    small = TransducerInternalLM(edge.parts["predictor"], edge.parts["joiner"], edge.meta["predictor"], 1.0)
    small.CACHE_PREFIXES = 2  # starts over many times along the way
    long_prefix = tuple(2 + (i * 5) % 7 for i in range(30))
    assert small.prefix_score(long_prefix) == pytest.approx(torch_side.prefix_score(long_prefix), abs=1e-3)
    wav = speak("open the door please", tmp_path / "a.wav")
    lm.save(tmp_path / "lm.npz")
    assert main(["transcribe", str(wav), "--model", str(checkpoint), "--lm", str(tmp_path / "lm.npz"),
                 "--head", "rnnt", "--beam", "4", "--ilme-weight", "0.3",
                 "--output", str(tmp_path / "recog.jsonl")]) == 0
    recog_text = json.loads((tmp_path / "recog.jsonl").read_text())["text"]
    assert edge.transcribe(*soundfile.read(wav, dtype="float32")) == recog_text
    with pytest.raises(ValueError, match="ilme_weight"):
        EdgeModel(tmp_path / "onnx", head="rnnt", beam=4, ilme=0.3)  # no LM


def test_the_cli_refuses_the_weight_without_an_lm(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    wav = speak("blue sky", tmp_path / "b.wav")
    assert main(["transcribe", str(wav), "--ilme-weight", "0.3"]) == 2
    assert "--ilme-weight goes with --lm" in capsys.readouterr().err


def test_the_flags_reach_the_searches_and_a_tuned_weight_reaches_streaming_and_the_edge(
        model, lm: CharNgramLM, tmp_path: Path) -> None:  # noqa: ANN001
    from recog.cli import build_parser, search_options
    from recog.streaming import StreamingRecognizer
    from recog_edge.cli import build_parser as edge_parser
    from recog_edge.cli import lm_options
    from recog_edge.fusion import FusionSum

    path = tmp_path / "lm.npz"
    lm.save(path)
    args = build_parser().parse_args(["transcribe", "a.wav", "--lm", str(path), "--ilme-weight", "0.3"])
    assert search_options(args)["ilme_weight"] == 0.3
    stream_args = build_parser().parse_args(["stream", "a.wav", "--lm", str(path), "--ilme-weight", "0.3"])
    assert stream_args.ilme_weight == 0.3
    edge_args = edge_parser().parse_args(["transcribe", "a.wav", "--lm", str(path), "--ilme-weight", "0.3"])
    assert lm_options(edge_args)["ilme"] == 0.3
    write_fusion_setting(path, 0.5, 1.0, "test", ilme_weight=0.3, head="rnnt")
    tuned = CharNgramLM.load(path)
    streaming = StreamingRecognizer(model, head="rnnt", beam=4, lm=tuned)
    assert isinstance(streaming.fusion, FusionSum)
    assert streaming.fusion.prefix_score((3, 4)) == pytest.approx(
        model.lm_fusion(lm, 0.5, 1.0, "rnnt", 0.3).prefix_score((3, 4)), abs=1e-5)
    assert not isinstance(StreamingRecognizer(model, head="rnnt", beam=4, lm=tuned, ilme_weight=0.0).fusion,
                          FusionSum)


def test_each_head_fuses_with_its_own_setting_and_rescoring_with_the_ctc_one(model, lm: CharNgramLM,  # noqa: ANN001
                                                                             tmp_path: Path) -> None:
    """A flat setting with an ilme weight (tuned on a transducer) serves a CTC search too, without
    the subtraction it has no place for; per-head settings give each search its own pair, and
    rescoring fuses the LM into the CTC n-best, so it takes the ctc pair whichever head decodes."""
    path = tmp_path / "lm.npz"
    lm.save(path)
    write_fusion_setting(path, 0.4, 0.5, "flat", ilme_weight=0.3)
    flat = CharNgramLM.load(path)
    options = DecodingOptions(beam=4)
    ctc = model.fusion(options, flat, "ctc")
    assert isinstance(ctc, LMFusion) and (ctc.weight, ctc.bonus) == (0.4, 0.5)  # no internal LM to subtract
    assert isinstance(model.fusion(options, flat, "rnnt"), FusionSum)
    path.with_name("lm.fusion.json").unlink()
    write_fusion_setting(path, 0.9, 2.0, "ctc", head="ctc")
    write_fusion_setting(path, 0.2, 0.1, "rnnt", head="rnnt")
    tuned = CharNgramLM.load(path)
    assert (model.fusion(options, tuned, "ctc").weight, model.fusion(options, tuned, "rnnt").weight) == (0.9, 0.2)
    rescoring = tiny_recognizer([8, 3], heads={"ctc": {}, "attention": {"layers": 1, "heads": 2}})
    for head in ("ctc", "attention"):
        fused = rescoring.fusion(DecodingOptions(search="rescore", beam=4), tuned, head)
        assert (fused.weight, fused.bonus) == (0.9, 2.0)
