"""Distillation (and MLM-only training) of DistilKoBERT students; `distilkobert train` / `train_distill.py`.

Modules (import what you need; nothing heavy is imported here):
- `arguments`: dataclasses + YAML/flag parsing (`parse_args`); `DistillationConfig`, the trainer's `TrainingArguments`
- `student`: teacher loading, student construction with teacher-layer copy, positional forward
- `losses`: KL x T^2, MLM, cosine, MSE terms (`distillation_losses`); `LossConfig`, the loss settings
- `collator`: XLM-style masking collator, token counts
- `data`: corpus loading, cached tokenization + packing
- `trainer`: `DistillationTrainer(Trainer)`, reads the loss from `self.args` (exact gradient accumulation, logged
  loss terms)
- `heldout_mlm`: deterministic held-out MLM evaluation
- `publishing`: versioned checkpoint / final-model publication
- `distributed`: the accumulation for a global batch over a world size
- `prepare`: `distilkobert corpus tokenize`, resumable parquet shards of token ids
- `run`: `main(argv)`, the command
"""
