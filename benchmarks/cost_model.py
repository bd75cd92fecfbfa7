"""What the real recipe costs on GPUs, on paper: FLOPs per token x tokens / (peak x MFU).

FLOPs per token of one distillation step (matmuls only; a forward costs 2 FLOPs per weight per token, a
backward twice the forward):

    teacher forward       2 x N_enc(teacher) + 4 x L_t x s x d   (attention scores and values)
                          + 2 x d x d + 2 x d x V at every row    (MLM head transform + vocabulary projection)
    student fwd + bwd     3 x [2 x N_enc(student) + 4 x L_s x s x d + 2 x d x d + 2 x d x V at the loss rows]

with N_enc = L x (4 d^2 + 2 d x ffn) the encoder's matmul weights, s the sequence length, d the width, V the
vocabulary. The recipe's KL runs on every row (`ce_positions: all`), so both vocabulary projections run at every
row. Tokens = corpus bytes x tokens per byte (measured by benchmarks/corpus_prep.py on the real corpus with the
KoBERT tokenizer when its JSON is there) x epochs. The CPU measurement of benchmarks/train_step.py at the KoBERT
shape is turned into achieved FLOP/s as a sanity check of the formula.

    python benchmarks/cost_model.py [--recipe recipes/distilkobert-3l.yaml] [--corpus-gb 10] [--markdown]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

NAME = "cost_model"
KOBERT = {"d": 768, "ffn": 3072, "layers": 12, "vocab": 8002}  # monologg/kobert-lm (BERT-base, KoBERT vocabulary)
# dense bf16 tensor-core peaks (no sparsity), from the vendors' data sheets
GPUS = {"A100 80GB SXM (bf16)": 312e12, "H100 80GB SXM (bf16)": 989e12}
DEFAULT_TOKENS_PER_BYTE = 0.2545  # KoBERT tokens per UTF-8 byte of the shared corpus (benchmarks/corpus_prep.py)


def flops_per_token(seq_len: int, student_layers: int, *, d: int, ffn: int, layers: int, vocab: int,
                    loss_rows_fraction: float = 1.0) -> dict[str, float]:
    """Teacher forward, student forward + backward and their sum, in FLOPs per (non-pad) token."""
    def forward(n_layers: int, rows: float) -> float:
        encoder = 2 * n_layers * (4 * d * d + 2 * d * ffn) + 4 * n_layers * seq_len * d
        return encoder + rows * (2 * d * d + 2 * d * vocab)

    teacher = forward(layers, 1.0)
    student = 3 * forward(student_layers, loss_rows_fraction)
    return {"teacher_forward": teacher, "student_fwd_bwd": student, "total": teacher + student}


def measured_tokens_per_byte() -> tuple[float, str]:
    path = C.RESULTS_DIR / "corpus_prep.json"
    if path.is_file():
        data = json.loads(path.read_text("utf-8"))
        if "KoBERT" in data.get("tokenizer", ""):
            last = data["raw"][-1]
            return last["totals"]["tokens"] / last["generated"]["bytes"], f"measured ({path.name})"
    return DEFAULT_TOKENS_PER_BYTE, "default"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", default=str(C.REPO_ROOT / "recipes" / "distilkobert-3l.yaml"))
    parser.add_argument("--corpus-gb", type=float, default=10.0, help="corpus size in GB of UTF-8 text")
    parser.add_argument("--tokens-per-byte", type=float, default=None)
    parser.add_argument("--mfu", type=float, nargs="+", default=[0.30, 0.40], help="model FLOPs utilisation")
    parser.add_argument("--scaling-8", type=float, default=0.9, help="8-GPU efficiency vs 8 x one GPU")
    parser.add_argument("--output", default=None)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)

    recipe = yaml.safe_load(Path(args.recipe).read_text("utf-8"))
    seq_len = int(recipe["max_seq_length"])
    n_student = len(recipe["student_layers"])
    epochs = float(recipe["num_train_epochs"])
    global_batch = int(recipe["per_device_train_batch_size"]) * int(recipe["gradient_accumulation_steps"])
    tpb, tpb_source = (args.tokens_per_byte, "given") if args.tokens_per_byte else measured_tokens_per_byte()
    corpus_tokens = args.corpus_gb * 1e9 * tpb
    train_tokens = corpus_tokens * epochs
    f = flops_per_token(seq_len, n_student, **KOBERT)
    total_flops = train_tokens * f["total"]
    updates = train_tokens / (global_batch * seq_len)  # packed sequences are (nearly) full

    rows = []
    for gpu, peak in GPUS.items():
        for mfu in args.mfu:
            one = total_flops / (peak * mfu) / 3600
            eight = one / (8 * args.scaling_8)
            rows.append({"GPU": gpu, "MFU": f"{mfu:.0%}", "tokens/s per GPU": round(peak * mfu / f["total"]),
                         "1 GPU hours": round(one, 1), "8 GPUs hours": round(eight, 2),
                         "8 GPUs GPU-hours": round(eight * 8, 1)})

    # sanity check against the CPU measurement at the KoBERT shape (benchmarks/train_step.py)
    check = None
    ts_path = C.RESULTS_DIR / "train_step.json"
    if ts_path.is_file():
        ts = json.loads(ts_path.read_text("utf-8"))
        kob = next((r for r in ts["results"] if r["shape_name"] == "kobert"), None)
        if kob:
            fk = flops_per_token(kob["seq_len"], len(kob["student_layers"]), **KOBERT)
            tok_s = kob["end_to_end"]["tokens_per_s"]
            check = {"shape": f"batch {kob['batch_size']} x {kob['seq_len']}", "tokens_per_s": round(tok_s, 1),
                     "flops_per_token": fk["total"], "achieved_gflops": round(tok_s * fk["total"] / 1e9, 1),
                     "machine": ts["machine"].get("cpu_model"), "cores": ts["machine"].get("usable_cores")}

    print(f"recipe {Path(args.recipe).name}: {args.corpus_gb:g} GB corpus x {tpb:.4f} tokens/byte ({tpb_source}) = "
          f"{corpus_tokens / 1e9:.2f} G tokens x {epochs:g} epochs = {train_tokens / 1e9:.2f} G tokens; "
          f"global batch {global_batch:,} x {seq_len} = {global_batch * seq_len / 1e6:.2f} M tokens per update, "
          f"~{updates:,.0f} updates")
    print(f"FLOPs per token at length {seq_len}: teacher forward {f['teacher_forward'] / 1e6:.1f} M + student "
          f"fwd+bwd {f['student_fwd_bwd'] / 1e6:.1f} M = {f['total'] / 1e6:.1f} M; total {total_flops:.3g} FLOPs")
    C.print_table(rows, title=f"time of the recipe (8 GPUs: {args.scaling_8:.0%} of linear scaling)",
                  markdown=args.markdown)
    if check:
        print(f"\ncheck: CPU train-step benchmark, KoBERT shape {check['shape']}: {check['tokens_per_s']} tokens/s x "
              f"{check['flops_per_token'] / 1e6:.1f} M FLOPs/token = {check['achieved_gflops']} GFLOP/s achieved on "
              f"{check['cores']} {check['machine']} cores")
    path = C.write_json(NAME, {
        "benchmark": NAME, "command": ["python", "benchmarks/cost_model.py", *(argv or sys.argv[1:])],
        "recipe": args.recipe, "model_shape": KOBERT, "student_layers": n_student, "seq_len": seq_len,
        "epochs": epochs, "global_batch": global_batch, "corpus_gb": args.corpus_gb, "tokens_per_byte": tpb,
        "tokens_per_byte_source": tpb_source, "train_tokens": train_tokens, "flops_per_token": f,
        "total_flops": total_flops, "updates": updates, "gpu_peaks_flops": GPUS, "mfu": args.mfu,
        "scaling_8": args.scaling_8, "rows": rows, "cpu_check": check}, args.output)
    print(f"results written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
