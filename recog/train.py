"""Lightning glue: the training system around a Recognizer, the manifest data module, and the CLI.

``recog train --config configs/x.yaml [--ckpt_path last.ckpt] [--trainer.max_steps N ...]`` is
LightningCLI's ``fit`` with these two classes.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint, Timer
from lightning.pytorch.cli import LightningCLI
from torch.utils.data import DataLoader

from recog.checkpoint import checkpoint_section, read_model
from recog.data import (
    IMAGE_KEY,
    AudioDataset,
    BucketingBatchSampler,
    ImageDataset,
    collate,
    padding_fraction,
    read_manifest,
    rescaled_batches_done,
)
from recog.image import ImageConfig
from recog.metrics import char_error_rate, exact_match_rate, word_error_rate
from recog.model import Recognizer
from recog.models import resolve
from recog.text import Tokenizer, build_tokenizer, tokenizer_from_state
from recog.train_args import config_files, dict_options, fold_dict_options, lookup, read_config


def tokenizer_from_spec(spec: dict[str, Any]) -> Tokenizer:
    """Build a tokenizer from ``{"kind": "char"|"bpe", "manifest": train.jsonl, "vocab_size": N}``
    by training on the manifest's texts (deterministic, so a resumed run rebuilds the same)."""
    texts = [e.text for e in read_manifest(spec["manifest"], check_files=False)]
    return build_tokenizer(spec["kind"], texts, int(spec.get("vocab_size", 256)))


SCHEDULES = ("inverse_sqrt", "cosine")


def copy_matching_weights(model: torch.nn.Module, weights: dict[str, torch.Tensor],
                          include: list[str] | None = None) -> int:
    """Copy into ``model`` every tensor of ``weights`` whose name and shape match its own (and,
    with ``include``, whose name starts with one of those prefixes, e.g. ``["encoder."]``); returns
    how many were copied."""
    own = model.state_dict()
    matched = {name: weights[name] for name, tensor in own.items()
               if name in weights and weights[name].shape == tensor.shape
               and (include is None or name.startswith(tuple(include)))}
    model.load_state_dict({**own, **matched})
    return len(matched)


def budget_used(trainer: L.Trainer | None) -> float:
    """Fraction in [0, 1] of a run's training budget spent: the larger of steps / total steps (from
    max_steps or max_epochs) and elapsed / max_time (so a cosine schedule ends at zero whichever
    limit stops the run)."""
    if trainer is None:
        return 0.0
    used = 0.0
    total_steps = trainer.estimated_stepping_batches
    if math.isfinite(total_steps) and total_steps > 0:
        used = trainer.global_step / total_steps
    timer = next((c for c in trainer.callbacks if isinstance(c, Timer)), None)
    remaining = timer.time_remaining("train") if timer is not None else None
    if remaining is not None:
        elapsed = timer.time_elapsed("train")
        used = max(used, elapsed / max(elapsed + remaining, 1e-9))
    return min(1.0, used)


def training_precision() -> str:
    """Lightning precision for this machine: "bf16-mixed" where bfloat16 matmuls run natively (a
    CUDA GPU with bf16, or a CPU with AMX or AVX512-BF16: ~1.4x faster training steps on the
    recipe model), else "32" (emulated bf16 would be slower than float32). Recipes pass it as
    ``--trainer.precision``."""
    if torch.cuda.is_available():
        return "bf16-mixed" if torch.cuda.is_bf16_supported() else "32"
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "32"
    return "bf16-mixed" if ("amx_bf16" in flags or "avx512_bf16" in flags) else "32"


class RecognizerSystem(L.LightningModule):
    """Trains a Recognizer: weighted head losses, AdamW with linear warm-up then a decay,
    validation WER/CER from the default head's greedy search.

    Args:
        model: Recognizer options (encoder, heads, features, spec_augment).
        tokenizer: ``{"kind": "char"|"bpe", "manifest": path, "vocab_size": N}``.
        lr: peak learning rate. weight_decay: AdamW decay. warmup_steps: linear warm-up length.
        schedule: after warm-up, "inverse_sqrt" (Noam) or "cosine": cosine decay to zero over the
            run's budget, whichever of ``trainer.max_time`` and the step/epoch limit ends it first
            (so a run limited by wall-clock time still ends annealed).
        init_from: a recog checkpoint or model folder to fine-tune (NeMo's ``init_from_nemo_model``):
            its tokenizer replaces ``tokenizer``, and every weight whose name and shape match is copied; the rest
            (a new head, a resized layer) keep their fresh initialisation. Optimizer, schedule and
            step count start anew, unlike resuming with ``--ckpt_path``.
        init_include: with ``init_from``, copy only the weights whose names start with one of these
            prefixes (NeMo's ``include``), e.g. ``["encoder.", "frontend."]`` to start new heads on a
            trained encoder.
        freeze: weights whose names start with one of these prefixes stay as they are (NeMo's
            ``freeze``), e.g. ``["encoder."]`` to train heads only on a trained encoder: they get no
            gradient and no optimizer state, and their modules stay in eval mode (no dropout, fixed
            normalisation statistics).
    """

    def __init__(self, model: dict[str, Any], tokenizer: dict[str, Any], lr: float = 2e-3,
                 weight_decay: float = 1e-3, warmup_steps: int = 1000, schedule: str = "inverse_sqrt",
                 init_from: str | None = None, init_include: list[str] | None = None,
                 freeze: list[str] | None = None) -> None:
        super().__init__()
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
        self.save_hyperparameters()
        if init_from:
            parts = read_model(resolve(init_from))
            self.model = Recognizer(tokenizer_from_state(parts.tokenizer), **model)
            copied = copy_matching_weights(self.model, parts.weights, init_include)
            print(f"init_from {init_from}: {copied} of {len(self.model.state_dict())} tensors copied")
        else:
            self.model = Recognizer(tokenizer_from_spec(tokenizer), **model)
        self._frozen = tuple(freeze or ())
        frozen = [p.requires_grad_(False) for n, p in self.model.named_parameters() if n.startswith(self._frozen)]
        if self._frozen and not frozen:
            raise ValueError(f"freeze {list(self._frozen)}: no weight of the model has such a name")
        self.train(self.training)  # the frozen modules in eval mode from the start
        self._val_refs: list[str] = []
        self._val_hyps: dict[str, list[str]] = {}
        self.validated_step = -1  # global step of the last finished validation

    @property
    def tokenizer(self) -> Tokenizer:
        return self.model.tokenizer

    def train(self, mode: bool = True) -> RecognizerSystem:
        """As nn.Module.train, but the frozen modules stay in eval mode."""
        super().train(mode)
        for name, module in self.model.named_modules():
            if name and f"{name}.".startswith(self._frozen):
                module.eval()
        return self

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        """Frozen modules back in eval mode before every step: Lightning restores each module's
        own training flag after validation (not through ``train``), and a BatchNorm left in train
        mode moves its statistics although no gradient reaches it."""
        if self._frozen:
            self.train(True)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        losses = self.model(batch["inputs"], batch["input_lengths"], batch["targets"], batch["target_lengths"])
        size = len(batch["texts"])
        self.log_dict({f"train/{k}": v for k, v in losses.items()}, prog_bar=True, batch_size=size)
        self.log("train/padding", padding_fraction(batch["input_lengths"]), batch_size=size)
        self.log("train/batch_size", float(size), batch_size=size)
        return losses["loss"]

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        losses = self.model(batch["inputs"], batch["input_lengths"], batch["targets"], batch["target_lengths"])
        self.log("val/loss", losses["loss"], batch_size=len(batch["texts"]), sync_dist=True)
        h, h_lengths = self.model.encode(batch["inputs"], batch["input_lengths"])
        self._val_refs.extend(batch["texts"])
        for head in self.model.decoding_heads:
            hyps = self.model.decode(h, h_lengths, head=head)
            self._val_hyps.setdefault(head, []).extend(hyp.text for hyp in hyps)

    def on_validation_epoch_end(self) -> None:
        """val/wer and val/cer from the default head; val/wer_<head> for every head; with several
        processes, over every process's items (gathered), so each logs the same figures."""
        if self.trainer.world_size > 1 and torch.distributed.is_initialized():
            gathered: list = [None] * self.trainer.world_size
            torch.distributed.all_gather_object(gathered, (self._val_refs, self._val_hyps))
            self._val_refs = [ref for refs, _ in gathered for ref in refs]
            heads = dict.fromkeys(head for _, hyps in gathered for head in hyps)
            self._val_hyps = {head: [h for _, hyps in gathered for h in hyps.get(head, [])] for head in heads}
        self.log("val/items", float(len(self._val_refs)))  # every process's, where there are several
        for head, hyps in self._val_hyps.items():
            wer = word_error_rate(self._val_refs, hyps)
            self.log(f"val/wer_{head}", wer)
            if head == self.model.default_head:
                self.log("val/wer", wer, prog_bar=True)
                self.log("val/cer", char_error_rate(self._val_refs, hyps), prog_bar=True)
                self.log("val/exact", exact_match_rate(self._val_refs, hyps))
        self._val_refs.clear()
        self._val_hyps.clear()
        if not self.trainer.sanity_checking:
            self.validated_step = self.global_step

    def configure_optimizers(self) -> dict[str, Any]:
        hp = self.hparams
        trained = [p for p in self.parameters() if p.requires_grad]
        decay = [p for p in trained if p.ndim > 1]
        no_decay = [p for p in trained if p.ndim <= 1]
        optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": hp.weight_decay},
                                       {"params": no_decay, "weight_decay": 0.0}], lr=hp.lr, betas=(0.9, 0.98))
        warmup = max(1, hp.warmup_steps)

        def schedule(step: int) -> float:
            step = step + 1
            if hp.schedule == "cosine":
                return step / warmup if step < warmup else 0.5 * (1 + math.cos(math.pi * budget_used(self._trainer)))
            return min(step / warmup, (warmup / step) ** 0.5)

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # What recog.load needs, in plain types (loadable with weights_only=True).
        checkpoint["recog"] = checkpoint_section(self.model)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.model.tokenizer = tokenizer_from_state(checkpoint["recog"]["tokenizer"])


class ManifestDataModule(L.LightningDataModule):
    """Train/validation manifests (speech or text-line images, told apart by their path field)
    -> bucketed DataLoaders. The tokenizer comes from the model; for images, the image
    settings too.

    Args:
        max_frames: batch budget: padded 10 ms feature frames (speech) or pixels (images).
        max_batch_size: optional cap on items per batch.
        augment: apply recog.augment.TextLineAugment to training images.
        speed_perturb: ``[low, high]``: random speed of training audio (e.g. [0.85, 1.15]).
        leading_silence: ``[low, high]`` seconds of silence put before each training utterance
            (e.g. [0, 1.5]; for corpora whose utterances start at once, streaming models above all).
        leading_silence_prob: the share of training utterances that get that silence.
        join_prob: the share of training items made of two utterances: another one, a silence of
            ``join_gap`` (``[low, high]`` seconds), then the item; texts joined by a space. For
            streaming models that will read long streams of utterances one after another. Pairs
            longer than the batch budget stay single.
        noise_prob: the share of training utterances that get additive noise, drawn afresh each
            epoch: a colour of ``noise_colours`` (white, pink, brown, blue) at an SNR drawn from
            ``noise_snr`` (``[low, high]`` dB, on the speech frames). For corpora recorded clean.
        letterform_prob: with ``augment``, the probability of each change to the glyphs of a
            training line (bolder or lighter strokes, a smooth warp, a slant;
            ``recog.augment.LetterformAugment``), for fonts unlike those of the training lines.
    """

    def __init__(self, train_manifest: str, val_manifest: str, max_frames: int = 20_000,
                 max_batch_size: int | None = None, num_workers: int = 2, seed: int = 0,
                 augment: bool = True, speed_perturb: tuple[float, float] | None = None,
                 leading_silence: tuple[float, float] | None = None, leading_silence_prob: float = 1.0,
                 join_prob: float = 0.0, join_gap: tuple[float, float] = (0.0, 1.0), noise_prob: float = 0.0,
                 noise_snr: tuple[float, float] = (0.0, 30.0),
                 noise_colours: tuple[str, ...] = ("white", "pink", "brown", "blue"),
                 letterform_prob: float = 0.0) -> None:
        super().__init__()
        self.save_hyperparameters()
        self._resume_at: tuple[int, int, int | None] | None = None  # (epoch, batches done, world size)
        self._train_sampler: BucketingBatchSampler | None = None

    def state_dict(self) -> dict[str, int]:
        """Where training stands in its epoch, saved in every checkpoint: a run resumed with
        ``--ckpt_path`` goes on with the batches of the epoch it had not trained yet, as a run
        never stopped would (not the epoch again from its start)."""
        if self.trainer is None or self._train_sampler is None:
            return {}
        fit, epoch = self.trainer.fit_loop, self._train_sampler.drawing
        done = int(fit.epoch_loop.batch_progress.current.processed)
        started = fit.epoch_progress.current
        if self.trainer.max_steps == -1 and started.ready == started.started == started.processed:
            # Lightning closed this epoch (max_time or should_stop ended it): a resumed run starts the next
            epoch, done = epoch + 1, 0
        return {"epoch": epoch, "batches_done": done, "world_size": self.trainer.world_size}

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        if "epoch" in state_dict:
            saved = state_dict.get("world_size")  # None: a checkpoint from before it was recorded
            self._resume_at = (int(state_dict["epoch"]), int(state_dict["batches_done"]),
                               None if saved is None else int(saved))

    def _progress(self) -> tuple[int, int]:
        """(batches Lightning counts as done in the epoch it goes on with, batches it takes an
        epoch), for a resumed run's first training iteration (``BucketingBatchSampler.resume_at``).
        Asked when the iteration begins: with DataLoader workers, as Lightning sets up the data,
        before it knows its own count, so the count comes from the sampler and the limit."""
        current = self.trainer.fit_loop.epoch_loop.batch_progress.current
        return int(current.ready), self._epoch_batches()

    def _epoch_batches(self) -> int:
        """Batches a training epoch takes: the sampler's, less what ``trainer.limit_train_batches``
        leaves out (as Lightning counts them)."""
        whole, limit = len(self._train_sampler), self.trainer.limit_train_batches
        return min(whole, int(limit)) if isinstance(limit, int) else int(whole * limit)

    def _rescale_progress(self, done: int, saved_world_size: int | None) -> None:
        """Resumed on another number of processes: Lightning's restored count of the epoch's batches
        (each process's) moves to what the sampler skips on the new number, so that the epoch ends,
        validates and saves where it should."""
        shift = rescaled_batches_done(done, saved_world_size, self.trainer.world_size) - done
        if not shift:
            return
        current = self.trainer.fit_loop.epoch_loop.batch_progress.current
        for field in ("ready", "started", "processed", "completed"):
            setattr(current, field, max(0, getattr(current, field) + shift))

    def _dataset(self, manifest: str, train: bool) -> AudioDataset | ImageDataset:
        model = self.trainer.lightning_module.model
        entries = read_manifest(manifest)
        if entries[0].key == IMAGE_KEY:
            augment = None
            if train and self.hparams.augment:
                from recog.augment import TextLineAugment

                augment = TextLineAugment(letterform_prob=self.hparams.letterform_prob)
            return ImageDataset(entries, model.tokenizer, ImageConfig(**model.config["features"]), augment,
                                seed=self.hparams.seed)
        speed = self.hparams.speed_perturb if train else None
        silence = self.hparams.leading_silence if train else None
        return AudioDataset(entries, model.tokenizer, tuple(speed) if speed else None, seed=self.hparams.seed,
                            leading_silence=tuple(silence) if silence else None,
                            leading_silence_prob=self.hparams.leading_silence_prob,
                            join_prob=self.hparams.join_prob if train else 0.0, join_gap=tuple(self.hparams.join_gap),
                            max_seconds=self.hparams.max_frames / 100 - (silence[1] if silence else 0.0),
                            noise_prob=self.hparams.noise_prob if train else 0.0,
                            noise_snr=tuple(self.hparams.noise_snr), noise_colours=tuple(self.hparams.noise_colours))

    def _loader(self, manifest: str, train: bool) -> DataLoader:
        hp = self.hparams
        dataset = self._dataset(manifest, train)
        lengths, groups = dataset.batch_lengths()
        sampler = BucketingBatchSampler(
            lengths, max_frames=hp.max_frames, shuffle=train, seed=hp.seed, max_batch_size=hp.max_batch_size,
            rank=self.trainer.global_rank, world_size=self.trainer.world_size, groups=groups)
        if train:
            self._train_sampler = sampler
            if self._resume_at is not None:
                epoch, done, world_size = self._resume_at
                sampler.resume_at(epoch, done, self._progress, saved_world_size=world_size)
                self._rescale_progress(done, world_size)
                self._resume_at = None
        return DataLoader(dataset, batch_sampler=sampler, collate_fn=collate,
                          num_workers=hp.num_workers, persistent_workers=hp.num_workers > 0)

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.hparams.train_manifest, train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.hparams.val_manifest, train=False)


class RecogCLI(LightningCLI):
    """LightningCLI plus ``--run_dir``: one flag that places logs and checkpoints of a run."""

    def add_arguments_to_parser(self, parser: Any) -> None:
        # Our bucketing sampler shards batches across ranks itself.
        parser.set_defaults({"trainer.use_distributed_sampler": False})
        parser.add_argument("--run_dir", type=str | None, default=None,
                            help="folder for this run: sets trainer.default_root_dir, every logger's "
                                 "save_dir and ModelCheckpoint's dirpath (<run_dir>/checkpoints)")
        parser.add_argument("--ckpt_path", type=str | None, default=None,
                            help="resume an interrupted run from this checkpoint (weights, optimizer, schedule, "
                                 "step count); --model.init_from starts a new run from a model's weights instead")
        parser.add_argument("--save_every_minutes", type=float, default=10.0,
                            help="write last.ckpt every this many minutes of training, between validations, so a "
                                 "killed run resumes from there with --ckpt_path (0: only at validation)")

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand] if self.subcommand else self.config
        run_dir = config.get("run_dir")
        if not run_dir:
            return
        trainer = config.trainer
        trainer.default_root_dir = run_dir
        loggers = trainer.logger if isinstance(trainer.logger, list) else [trainer.logger]
        for logger in loggers:
            if hasattr(logger, "init_args") and "save_dir" in logger.init_args:
                logger.init_args.save_dir = run_dir
        for callback in trainer.callbacks or []:
            if callback.class_path.endswith("ModelCheckpoint"):
                keep_all = callback.init_args.get("save_top_k") == -1
                callback.init_args.dirpath = f"{run_dir}/checkpoints" + ("/epochs" if keep_all else "")


def save_last(trainer: L.Trainer) -> None:
    """Write the weights and training state as they are now to ``last.ckpt`` in the folder of
    every ModelCheckpoint that keeps one (``save_last``), and tell that callback so (it would
    otherwise take the file for another run's and write ``last-v1.ckpt`` beside it)."""
    for callback in trainer.checkpoint_callbacks:
        if isinstance(callback, ModelCheckpoint) and callback.dirpath is not None and callback.save_last:
            path = str(Path(callback.dirpath) / f"{callback.CHECKPOINT_NAME_LAST}{callback.FILE_EXTENSION}")
            callback.last_model_path = path
            trainer.save_checkpoint(path)


class PeriodicCheckpoint(L.Callback):
    """``last.ckpt`` (:func:`save_last`) every ``minutes`` of training, after the step that passes
    the mark. Lightning's checkpoints come at validation, once an epoch, and an epoch of a large
    corpus on a CPU lasts hours: a run killed before its first validation had nothing to resume
    from. Under DDP, rank 0's clock decides for every rank (a save is collective), asked once every
    ``SYNC_STEPS`` steps that could save (the ranks count the same ones), not with a collective call
    every step."""

    SYNC_STEPS = 25

    def __init__(self, minutes: float) -> None:
        if minutes <= 0:
            raise ValueError(f"minutes must be > 0, got {minutes}")
        self.seconds = minutes * 60.0
        self._mark = time.monotonic()
        self._step = -1
        self._candidates = 0  # steps that could have saved: under DDP, every SYNC_STEPS-th asks rank 0

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._mark, self._step = time.monotonic(), trainer.global_step

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        stepped, self._step = trainer.global_step != self._step, trainer.global_step
        done = trainer.fit_loop.epoch_loop.batch_progress.current.processed
        if not stepped or done >= trainer.num_training_batches or done % trainer.val_check_batch == 0:
            # between accumulated batches (gradients are not saved), or where validation comes next (a
            # run resumed from here would take it as done): the save waits for the next step
            return
        due = time.monotonic() - self._mark >= self.seconds
        if trainer.world_size > 1:
            self._candidates += 1
            if self._candidates % self.SYNC_STEPS:
                return
            due = trainer.strategy.broadcast(due, src=0)
        if due:
            save_last(trainer)
            self._mark = time.monotonic()


def finish_interrupted_epoch(trainer: L.Trainer, system: RecognizerSystem, datamodule: L.LightningDataModule) -> None:
    """A run that ``max_time`` (or ``max_steps``) stopped inside an epoch has trained past its last
    validation and checkpoint -- with the cosine schedule, its most annealed steps. Validate those weights and
    save them as a ``best-*`` checkpoint where they beat the best so far. In every case the final weights go
    to ``last.ckpt`` (Lightning leaves it at the last validation before ``max_time``)."""
    if trainer.global_step == 0 or trainer.interrupted:
        return
    save_last(trainer)  # Lightning leaves last.ckpt at the last validation before max_time
    callbacks = [c for c in trainer.checkpoint_callbacks if isinstance(c, ModelCheckpoint) and c.dirpath is not None]
    if system.validated_step == trainer.global_step:
        return
    results = trainer.validate(system, datamodule=datamodule, verbose=False)
    if not results:  # validation switched off (limit_val_batches=0): nothing to compare
        return
    metrics = results[0]
    candidates = {"epoch": trainer.current_epoch, "step": trainer.global_step, **metrics}
    for callback in callbacks:
        monitor, best = callback.monitor, callback.best_model_score
        if monitor in metrics:
            score = float(metrics[monitor])
            better = best is None or (score < float(best) if callback.mode == "min" else score > float(best))
            if better:
                trainer.save_checkpoint(callback.format_checkpoint_name(candidates))
    scores = ", ".join(f"{k} {float(v):.4f}" for k, v in metrics.items())
    print(f"final weights (step {trainer.global_step}): {scores}")


def trains_detector(args: list[str]) -> bool:
    """Whether the ``--config`` files among ``args`` describe a text detector (``model.model.detector``):
    those train with recog.detection.training's system and data module, the rest as recognisers."""
    return any(lookup(read_config(config), "model.model.detector")[0] for config in config_files(args))


def run_training(args: list[str]) -> None:
    """``recog train`` entry point: LightningCLI with our system and data module (its keys are
    ``recog train --help``'s; ``--print_config`` shows the merged config), ``Trainer.fit``, then
    :func:`finish_interrupted_epoch`."""
    import warnings

    from recog.memory import keep_freed_memory

    keep_freed_memory()  # every step allocates the same large tensors: about 15 % of en-speech's step time
    Path("runs").mkdir(exist_ok=True)
    # recog train passes its own arguments on, which LightningCLI would warn about on every run
    warnings.filterwarnings("ignore", message=r".*LightningCLI's args parameter is intended to run from within Python")
    system, data = (RecognizerSystem, ManifestDataModule)
    if trains_detector(args):
        from recog.detection.training import DetectorSystem, PageDataModule

        system, data = DetectorSystem, PageDataModule
    args = fold_dict_options(args, {**dict_options(system, "model"), **dict_options(data, "data")})
    cli = RecogCLI(system, data, args=args, run=False, save_config_kwargs={"overwrite": True},
                   parser_kwargs={"prog": "recog train", "description": "Train a recog model from YAML configs "
                                  "(later --config files override earlier keys; any key can be given as a flag)."})
    minutes = cli.config.get("save_every_minutes") or 0.0
    if minutes < 0:
        cli.parser.error(f"--save_every_minutes must be >= 0, got {minutes:g}")
    if minutes:
        cli.trainer.callbacks.append(PeriodicCheckpoint(minutes))
    cli.trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=cli.config.get("ckpt_path"))
    finish_interrupted_epoch(cli.trainer, cli.model, cli.datamodule)
