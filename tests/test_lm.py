"""recog.lm: the Kneser-Ney character n-gram model, its file format, and shallow fusion into CTC
prefix beam search and transducer beam search."""

from __future__ import annotations

import gzip
import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from recog.decoding.ctc import prefix_beam_search
from recog.decoding.fusion import LMFusion
from recog.decoding.transducer import BeamSearch, beam_search
from recog.heads.transducer import TransducerHead
from recog.lm import EOS, FORBIDDEN, CharNgramLM
from recog_edge.fusion import LM_BONUS, LM_WEIGHT, fusion_weights, ilme_weight
from recog_edge.lm import ANY_HEAD, copy_fusion_setting, write_fusion_setting

TEXTS = ["the cat sat on the mat", "a cat and a hat", "the hat is on the cat", "that cat sat"]


@pytest.mark.parametrize("order", [1, 2, 3, 5])
@pytest.mark.parametrize("context", ["", "th", "the c", "zzz", "cat sat on the"])
def test_probabilities_sum_to_one_with_the_unseen_character_mass(order: int, context: str) -> None:
    lm = CharNgramLM.train(TEXTS, order=order)
    seen = sum(math.exp(lm.log_prob(context, c)) for c in lm.vocab)
    unseen = math.exp(lm.log_prob(context, "\u00e9"))  # never in training: the rest of the mass
    assert EOS in lm.vocab
    assert seen + unseen == pytest.approx(1.0, abs=1e-9)
    assert 0 < unseen < 0.2


def test_the_model_prefers_seen_spellings_and_uses_its_context() -> None:
    lm = CharNgramLM.train(TEXTS, order=4)
    assert lm.score("the cat") > lm.score("teh cat")
    assert lm.score("the hat") > lm.score("the hta")
    assert lm.log_prob("the c", "a") > lm.log_prob("the c", "o")
    assert lm.log_prob("a cat and a ha", "t") > lm.log_prob("", "t")  # context sharpens the prediction
    assert lm.score("the cat", eos=True) < lm.score("the cat", eos=False)


def test_only_the_last_order_minus_one_characters_count() -> None:
    lm = CharNgramLM.train(TEXTS, order=3)
    assert lm.log_prob("zzzz the c", "a") == lm.log_prob("the c", "a") == lm.log_prob(" c", "a")
    assert lm.log_prob("c", "a") != lm.log_prob(" c", "a")  # a short context is the start of a text


def test_save_and_load_give_the_same_scores(tmp_path) -> None:
    lm = CharNgramLM.train(TEXTS, order=5)
    path = tmp_path / "lm.npz"
    lm.save(path)
    again = CharNgramLM.load(path)
    for text in ("the cat", "a hat on the mat", "xyz"):
        assert again.score(text) == pytest.approx(lm.score(text), abs=1e-12)


def test_bad_files_are_refused_with_their_name(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        CharNgramLM.load(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not an archive at all")
    with pytest.raises(ValueError, match="junk.npz"):
        CharNgramLM.load(junk)
    other = tmp_path / "other.json.gz"
    with gzip.open(other, "wt") as f:
        f.write('{"format": "something-else"}')
    with pytest.raises(ValueError, match="other.json.gz"):
        CharNgramLM.load(other)
    pickled = tmp_path / "pickled.npz"  # an archive whose arrays need pickle to load
    np.savez(pickled, meta=np.array([{"format": "recog-char-ngram-v2"}], dtype=object))
    with pytest.raises(ValueError, match="pickled.npz"):
        CharNgramLM.load(pickled)
    with pytest.raises(ValueError, match="no text"):
        CharNgramLM.train([], order=3)


def _arrays(path) -> dict[str, np.ndarray]:
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize(("name", "change"), [
    ("sizes3", lambda a: a + 1),  # successors that run past the characters
    ("parent3", lambda a: a + 1000),  # a context whose suffix the order below lacks
    ("first2", lambda a: a[::-1].copy()),  # contexts out of key order
    ("counts1", lambda a: a * 0),  # a zero count
    ("codes2", lambda a: a + 200),  # a character outside the alphabet
])
def test_a_damaged_table_is_refused_with_the_file_name(tmp_path, name: str, change) -> None:
    good = tmp_path / "good.npz"
    CharNgramLM.train(TEXTS, order=3).save(good)
    arrays = _arrays(good)
    arrays[name] = change(arrays[name].astype(np.int64))
    bad = tmp_path / "damaged.npz"
    np.savez_compressed(bad, **arrays)
    with pytest.raises(ValueError, match="damaged.npz"):
        CharNgramLM.load(bad)
    del arrays[name]
    np.savez_compressed(bad, **arrays)
    with pytest.raises(ValueError, match=f"damaged.npz.*{name}"):
        CharNgramLM.load(bad)


def test_the_file_is_packed_arrays_that_need_no_pickle_and_the_first_format_still_loads(tmp_path) -> None:
    lm = CharNgramLM.train(["ab", "ba b"], order=2)
    lm.save(tmp_path / "lm.npz")
    arrays = _arrays(tmp_path / "lm.npz")  # np.load refuses pickled arrays by default
    assert all(a.dtype.kind in "ui" for a in arrays.values())
    assert sum(len(arrays[f"sizes{k}"]) for k in (1, 2)) == lm.num_contexts == 1 + 4  # "", BOS, a, b, " "
    first = tmp_path / "first.json.gz"  # the gzip JSON of count tables that recog wrote before
    with gzip.open(first, "wt", encoding="utf-8") as f:
        json.dump({"format": "recog-char-ngram-v1", "order": 2, "tables": [
            {"": {"a": 2, "b": 3, EOS: 1, " ": 1}},  # continuation counts: distinct characters before
            {"\x02": {"a": 1, "b": 1}, "a": {"b": 1, " ": 1}, "b": {EOS: 2, "a": 1}, " ": {"b": 1}},
        ]}, f)
    old = CharNgramLM.load(first)
    for text in ("ab", "ba", "b a", "abba", "c"):
        assert old.score(text) == pytest.approx(lm.score(text), abs=1e-12)


def test_the_cli_learns_plain_text_files_as_it_learns_manifest_texts(tmp_path, capsys) -> None:
    from recog.cli import main

    plain = tmp_path / "texts.txt"
    plain.write_text("\n".join(f"  {t.replace(' ', '   ')} " for t in TEXTS[:2]) + "\n\n" + "\n".join(TEXTS[2:]) + "\n")
    out = tmp_path / "lm.npz"
    assert main(["lm", "--text", str(plain), "--order", "4", "--out", str(out)]) == 0
    assert "from 4 texts" in capsys.readouterr().out
    expected = CharNgramLM.train(TEXTS, order=4)  # blank lines dropped, whitespace collapsed
    for text in ("the cat", "a hat on the mat"):
        assert CharNgramLM.load(out).score(text) == pytest.approx(expected.score(text), abs=1e-12)
    write_fusion_setting(out, 0.3, 0.5, "tuned for the LM written first")
    assert main(["lm", "--text", str(plain), "--order", "3", "--out", str(out)]) == 0  # another LM in its place
    assert "removed" in capsys.readouterr().out and not (tmp_path / "lm.fusion.json").exists()
    assert main(["lm", "--out", str(out)]) == 2
    assert "--text" in capsys.readouterr().err
    binary = tmp_path / "weights.bin"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    assert main(["lm", "--text", str(binary), "--out", str(out)]) == 2
    assert "weights.bin" in capsys.readouterr().err
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n")
    assert main(["lm", "--text", str(empty), "--out", str(out)]) == 2
    assert "empty.txt" in capsys.readouterr().err


WORDS = sorted({w for t in TEXTS for w in t.split()})


@pytest.mark.parametrize("context", ["", "th", "the", "the c", "cat sat on the m", "a cat and a ha"])
def test_a_lexicon_renormalises_over_the_characters_that_stay_inside_it(context: str) -> None:
    lm = CharNgramLM.train(TEXTS, order=4, lexicon=WORDS)
    allowed = [c for c in lm.vocab if lm.log_prob(context, c) > FORBIDDEN]
    assert allowed and sum(math.exp(lm.log_prob(context, c)) for c in allowed) == pytest.approx(1.0, abs=1e-9)
    for c in set(lm.vocab) - set(allowed):
        assert lm.log_prob(context, c) == FORBIDDEN


def test_a_lexicon_allows_only_its_words_separated_by_single_spaces() -> None:
    lm = CharNgramLM.train(TEXTS, order=4, lexicon=WORDS)
    assert lm.log_prob("th", "x") == FORBIDDEN  # no word starts "thx"
    assert lm.log_prob("th", " ") == FORBIDDEN and lm.log_prob("the c", EOS) == FORBIDDEN  # "th", "c": no words
    assert lm.log_prob("the", " ") > FORBIDDEN and lm.log_prob("the cat", EOS) > FORBIDDEN
    assert lm.log_prob("the ", " ") == FORBIDDEN  # no empty word
    assert lm.log_prob("", EOS) > FORBIDDEN  # the empty text
    # the word being spelt decides even when it reaches back past the n-gram's context
    long = CharNgramLM.train(TEXTS + ["extraordinary"], order=2, lexicon=WORDS + ["extraordinary"])
    assert long.context_chars == len("extraordinary") + 1
    assert long.log_prob("a extraordinar", "y") > FORBIDDEN and long.log_prob("a extraordinar", "i") == FORBIDDEN
    assert long.log_prob("the ordinar", "y") == FORBIDDEN  # "ordinary" is not a word of this lexicon
    with pytest.raises(ValueError, match="lexicon"):
        CharNgramLM.train(TEXTS, order=3, lexicon=["two words"])
    with pytest.raises(ValueError, match="lexicon"):
        CharNgramLM.train(TEXTS, order=3, lexicon=[])


def test_the_lexicon_is_saved_with_the_model(tmp_path) -> None:
    lm = CharNgramLM.train(TEXTS, order=4, lexicon=WORDS)
    lm.save(tmp_path / "lm.npz")
    again = CharNgramLM.load(tmp_path / "lm.npz")
    assert again.lexicon == frozenset(WORDS) and again.context_chars == lm.context_chars
    for text in ("the cat", "a hat on the mat", "teh cat"):
        assert again.score(text) == pytest.approx(lm.score(text), abs=1e-12)
    CharNgramLM.train(TEXTS, order=4).save(tmp_path / "plain.npz")
    assert CharNgramLM.load(tmp_path / "plain.npz").lexicon is None


# CTC posteriors over blank + the characters of "cta ": the acoustics hesitate between "cat" and
# "cta" (the second and third letters each half a/t), and slightly favour the misspelling.
PIECES = ["<b>", "<unk>", "c", "t", "a", " "]
BLANK, C, T, A = 0, 2, 3, 4


def posteriors(second: float, third: float) -> np.ndarray:
    """Log-posteriors (T, V) of "c", then t (prob ``second``) or a, then a (prob ``third``) or t."""
    frames = [{C: 0.9}, {BLANK: 0.9}, {T: second, A: 0.98 - second}, {BLANK: 0.9}, {A: third, T: 0.98 - third},
              {BLANK: 0.9}]
    probs = np.full((len(frames), len(PIECES)), 1e-3)
    for t, frame in enumerate(frames):
        for token, p in frame.items():
            probs[t, token] = p
    probs /= probs.sum(axis=1, keepdims=True)
    return np.log(probs)


def hesitant_posteriors() -> np.ndarray:
    return posteriors(0.52, 0.52)


def sure_posteriors() -> np.ndarray:
    """The acoustics clearly favour the misspelling "cta"."""
    return posteriors(0.8, 0.8)


def test_fusion_lets_the_language_model_pick_between_acoustically_close_spellings() -> None:
    lp = hesitant_posteriors()
    assert prefix_beam_search(lp, beam=4).tokens == [C, T, A]  # acoustics alone: "cta"
    lm = CharNgramLM.train(TEXTS, order=4)
    fused = prefix_beam_search(lp, beam=4, fusion=LMFusion(lm, PIECES, weight=0.5, bonus=0.0, head="ctc"))
    assert fused.tokens == [C, A, T]  # "cat"
    assert fused.nbest[0].tokens == [C, A, T] and [C, T, A] in [h.tokens for h in fused.nbest]


def test_a_lexicon_corrects_a_misspelling_the_character_lm_alone_keeps() -> None:
    lp = sure_posteriors()
    lm = CharNgramLM.train(TEXTS, order=4)
    fused = prefix_beam_search(lp, beam=4, fusion=LMFusion(lm, PIECES, weight=0.3, bonus=0.0, head="ctc"))
    assert fused.tokens == [C, T, A]
    constrained = CharNgramLM.train(TEXTS, order=4, lexicon=WORDS)
    fused = prefix_beam_search(lp, beam=4, fusion=LMFusion(constrained, PIECES, weight=0.3, bonus=0.0, head="ctc"))
    assert fused.tokens == [C, A, T]  # "cta" is no word of the lexicon


def test_fusion_with_zero_weight_and_bonus_changes_nothing() -> None:
    lp = hesitant_posteriors()
    plain = prefix_beam_search(lp, beam=4)
    neutral = prefix_beam_search(lp, beam=4, fusion=LMFusion(CharNgramLM.train(TEXTS, 3), PIECES, 0.0, 0.0, head="ctc"))
    assert [h.tokens for h in neutral.nbest] == [h.tokens for h in plain.nbest]
    assert neutral.score == pytest.approx(plain.score)
    assert neutral.timestamps == plain.timestamps and neutral.confidence == plain.confidence


def test_a_fusion_setting_beside_the_file_sets_the_weights_a_fusion_takes_unless_given(tmp_path) -> None:
    path = tmp_path / "lm.npz"
    CharNgramLM.train(TEXTS, order=4).save(path)
    plain = CharNgramLM.load(path)
    assert plain.fusion_settings is None
    default = LMFusion(plain, PIECES, head="ctc")
    assert (default.weight, default.bonus) == (LM_WEIGHT, LM_BONUS)
    assert write_fusion_setting(path, 0.0, 0.0, "by hand") == tmp_path / "lm.fusion.json"
    tuned = CharNgramLM.load(path)
    assert tuned.fusion_settings == {ANY_HEAD: {"weight": 0.0, "bonus": 0.0}}  # one flat setting: every head's
    assert fusion_weights(tuned, "rnnt") == fusion_weights(tuned, "ctc") == (0.0, 0.0)
    lp = hesitant_posteriors()
    assert prefix_beam_search(lp, beam=4, fusion=LMFusion(plain, PIECES, head="ctc")).tokens == [C, A, T]
    assert prefix_beam_search(lp, beam=4, fusion=LMFusion(tuned, PIECES, head="ctc")).tokens == [C, T, A]  # weight 0
    assert prefix_beam_search(lp, beam=4, fusion=LMFusion(tuned, PIECES, weight=0.5, head="ctc")).tokens == [C, A, T]
    CharNgramLM.train(TEXTS, order=3).save(path)  # another LM in its place: the pair tuned for the old one goes
    assert CharNgramLM.load(path).fusion_settings is None and not (tmp_path / "lm.fusion.json").exists()


def test_each_head_takes_the_setting_tuned_for_its_search_and_a_head_never_tuned_the_defaults(tmp_path) -> None:
    path = tmp_path / "lm.npz"
    CharNgramLM.train(TEXTS, order=4).save(path)
    write_fusion_setting(path, 0.7, 2.0, "an old flat setting")
    write_fusion_setting(path, 0.5, 0.5, "tuned on rnnt", ilme_weight=0.25, head="rnnt")
    flat_kept = CharNgramLM.load(path)  # the flat pair still serves the heads without their own
    assert flat_kept.fusion_settings == {ANY_HEAD: {"weight": 0.7, "bonus": 2.0},
                                         "rnnt": {"weight": 0.5, "bonus": 0.5, "ilme_weight": 0.25}}
    assert fusion_weights(flat_kept, "ctc") == (0.7, 2.0) and fusion_weights(flat_kept, "rnnt") == (0.5, 0.5)
    (tmp_path / "lm.fusion.json").unlink()
    write_fusion_setting(path, 0.5, 0.5, "tuned on rnnt", ilme_weight=0.25, head="rnnt")
    only_rnnt = CharNgramLM.load(path)
    assert fusion_weights(only_rnnt, "ctc") == (LM_WEIGHT, LM_BONUS)  # a transducer's pair is not a CTC search's
    assert ilme_weight(only_rnnt, "ctc") == 0.0 and ilme_weight(only_rnnt, "rnnt") == 0.25
    write_fusion_setting(path, 0.0, 0.0, "tuned on ctc", head="ctc")  # kept beside rnnt's
    lm = CharNgramLM.load(path)
    assert fusion_weights(lm, "rnnt") == (0.5, 0.5) and fusion_weights(lm, "ctc") == (0.0, 0.0)
    assert fusion_weights(lm, "ctc", bonus=1.5) == (0.0, 1.5)  # a given value wins
    notes = json.loads((tmp_path / "lm.fusion.json").read_text())["heads"]
    assert (notes["ctc"]["tuned"], notes["rnnt"]["tuned"]) == ("tuned on ctc", "tuned on rnnt")
    lp = hesitant_posteriors()
    assert prefix_beam_search(lp, beam=4, fusion=LMFusion(lm, PIECES, head="ctc")).tokens == [C, T, A]  # weight 0
    assert prefix_beam_search(lp, beam=4, fusion=LMFusion(only_rnnt, PIECES, head="ctc")).tokens == [C, A, T]
    for broken in ('{"heads": {"ctc": {"weight": 0.5}}}', '{"weight": 0.5, "bonus": 1, "heads": {}}',
                   '{"heads": [1]}', '[1, 2]'):
        (tmp_path / "lm.fusion.json").write_text(broken)
        with pytest.raises(ValueError, match="lm.fusion.json: not an LM fusion setting"):
            CharNgramLM.load(path)
    write_fusion_setting(path, 0.3, 0.0, "over a broken file", head="ctc")  # replaced whole
    assert CharNgramLM.load(path).fusion_settings == {"ctc": {"weight": 0.3, "bonus": 0.0}}


@pytest.mark.parametrize("text", ["{", '{"weight": 0.4}', '{"weight": "x", "bonus": 1}', '{"weight": -1, "bonus": 0}',
                                  '{"weight": NaN, "bonus": 0}'])
def test_a_malformed_fusion_setting_is_refused_naming_it(tmp_path, text: str) -> None:
    path = tmp_path / "lm.npz"
    CharNgramLM.train(TEXTS, order=3).save(path)
    (tmp_path / "lm.fusion.json").write_text(text)
    with pytest.raises(ValueError, match="lm.fusion.json"):
        CharNgramLM.load(path)


def test_copying_a_setting_replaces_or_removes_the_targets(tmp_path) -> None:
    source, target = tmp_path / "a.npz", tmp_path / "b.npz"
    write_fusion_setting(target, 0.7, 2.0, "tuned for another LM")
    assert copy_fusion_setting(source, target) is None and not (tmp_path / "b.fusion.json").exists()
    write_fusion_setting(source, 0.4, 0.5, "tuned")
    assert copy_fusion_setting(source, target) == tmp_path / "b.fusion.json"
    assert json.loads((tmp_path / "b.fusion.json").read_text())["weight"] == 0.4


def test_fusion_scores_are_the_lm_score_of_the_text_plus_the_bonus() -> None:
    lm = CharNgramLM.train(TEXTS, order=4)
    fusion = LMFusion(lm, ["<b>", "<unk>", "\u2581the", "\u2581cat", "s"], weight=0.7, bonus=0.25, head="ctc")
    prefix = (2, 3, 4)  # BPE pieces: "the cats", the first word's space dropped
    expected = 0.7 * lm.score("the cats", eos=False) + 0.25 * 3
    assert fusion.prefix_score(prefix) == pytest.approx(expected)
    assert fusion.final_score(prefix) == pytest.approx(expected + 0.7 * lm.log_prob("the cats", EOS))


def test_fusion_scores_prefixes_longer_than_the_recursion_limit() -> None:
    lm = CharNgramLM.train(TEXTS, order=3)
    fusion = LMFusion(lm, PIECES, weight=1.0, bonus=0.0, head="ctc")
    prefix = (C, A, T, 5) * 1500  # 6000 tokens
    assert fusion.prefix_score(prefix) == pytest.approx(lm.score("cat " * 1500, eos=False))


def frame_transducer(log_probs: np.ndarray) -> tuple[TransducerHead, torch.Tensor]:
    """A transducer head whose joiner ignores the prediction network and returns each frame's
    ``log_probs`` row (T, V), with the encoder output (1, T, V) that makes it do so."""
    head = TransducerHead(log_probs.shape[1], log_probs.shape[1], pred_dim=8, joint_dim=8).eval()
    head.enc_proj = nn.Identity()
    head.joint = lambda enc, pred: enc.expand(pred.shape[0], -1)  # type: ignore[method-assign]
    return head, torch.from_numpy(log_probs).float()[None]


def test_fusion_lets_the_language_model_pick_in_transducer_beam_search() -> None:
    head, h = frame_transducer(hesitant_posteriors())
    lengths = torch.tensor([h.shape[1]])
    assert beam_search(head, h, lengths, 4)[0].tokens == [C, T, A]  # acoustics alone: "cta"
    fusion = LMFusion(CharNgramLM.train(TEXTS, order=4), PIECES, weight=0.5, bonus=0.0, head="rnnt")
    fused = head.decode(h, lengths, beam=4, fusion=fusion)[0]
    assert fused.tokens == [C, A, T]  # "cat"
    assert fused.timestamps == [0, 2, 4]
    with pytest.raises(ValueError, match="beam"):
        head.decode(h, lengths, beam=1, fusion=fusion)


def test_transducer_fusion_with_zero_weight_and_bonus_changes_nothing() -> None:
    torch.manual_seed(0)
    head = TransducerHead(16, len(PIECES), pred_dim=8, joint_dim=8).eval()
    h, lengths = torch.randn(2, 12, 16), torch.tensor([12, 9])
    plain = beam_search(head, h, lengths, 4)
    neutral = beam_search(head, h, lengths, 4,
                          fusion=LMFusion(CharNgramLM.train(TEXTS, 3), PIECES, 0.0, 0.0, head="rnnt"))
    for p, n in zip(plain, neutral, strict=True):
        assert (n.tokens, n.timestamps) == (p.tokens, p.timestamps)
        assert n.score == pytest.approx(p.score) and n.confidence == pytest.approx(p.confidence)


def test_a_finished_transducer_search_ranks_by_the_lms_end_of_text_score() -> None:

    fusion = LMFusion(CharNgramLM.train(TEXTS, order=4), PIECES, weight=1.0, bonus=0.0, head="rnnt")
    short, long = (C, A), (C, A, T)  # "ca" never ends a training text; "cat" does
    eos = {t: fusion.final_score(t) - fusion.prefix_score(t) for t in (short, long)}
    assert eos[long] > eos[short]
    margin = (eos[long] - eos[short]) / 2  # "ca" leads by this before the end, trails by as much after
    score = {short: 0.0, long: fusion.prefix_score(short) - fusion.prefix_score(long) - margin}
    hyps = [{"tokens": t, "score": score[t], "lm": fusion.prefix_score(t), "stamps": tuple(range(len(t))),
             "probs": (1.0,) * len(t)} for t in (short, long)]
    search = BeamSearch(hyps=hyps, state=(), pred=torch.zeros(2, 1), frames=6)
    assert search.best().tokens == [C, A]  # a partial result: no end of text yet
    final = search.best(fusion)
    assert final.tokens == [C, A, T]
    assert final.score == pytest.approx(score[long] + fusion.final_score(long))


def test_the_fusion_cache_starts_over_when_it_holds_too_many_tokens_and_scores_stay_exact() -> None:
    lm = CharNgramLM.train(TEXTS, order=3)
    fusion = LMFusion(lm, PIECES, weight=1.0, bonus=0.0, head="rnnt")
    fusion.CACHE_TOKENS = 50
    for n in range(1, 40):
        prefix = (C, A, T, 5) * n
        assert fusion.prefix_score(prefix) == pytest.approx(lm.score("cat " * n, eos=False))
        assert fusion._cached_tokens <= fusion.CACHE_TOKENS + len(prefix)
