"""`eval_nsmc.py` / `distilkobert eval`: honest NSMC fine-tuning evaluation of any Korean encoder.

Per seed: fine-tune a 2-label classification head with Trainer on train, select the checkpoint with the best
validation accuracy, then evaluate the selected model once on test (the steps are in `protocol`). Results go to
OUTPUT_DIR/nsmc_results.json plus a printed table; `--compare a.json b.json ...` prints the DistilKoBERT README
comparison table instead.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from distilkobert.common.nsmc_results import compare_rows, format_compare_table, load_results, write_compare_output


def run_compare(paths: Sequence[str], output: str | None) -> int:
    rows = compare_rows([load_results(p) for p in paths])
    table = format_compare_table(rows)
    print(table)
    if output:
        write_compare_output(rows, table, output)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `eval_nsmc.py` and `distilkobert eval`; returns an exit code (2: bad argument or input,
    one line naming it)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # lazy: the protocol imports the Hugging Face libraries, which read HF_ENDPOINT (set by the program's entry point:
    # cli.main or eval_nsmc.py) when imported
    from . import protocol

    try:
        margs, dargs, targs = protocol.parse_args(argv)
        if targs.compare:
            return run_compare(targs.compare, targs.compare_output)
        if targs.publish_classifier:  # refuse an existing version before hours of fine-tuning
            protocol.check_version_available(targs.publish_classifier, targs.classifier_version)
        results = protocol.evaluate_model(margs, dargs, targs, argv)
        if targs.update_model_card:
            protocol.update_card(results, margs, targs)
        if targs.publish_classifier:
            published = protocol.publish_evaluated_classifier(results, targs.output_dir, targs.publish_classifier,
                                                     targs.classifier_version)
            print(f"classifier published: {published.url} (version {published.tag}, commit {published.commit_sha})")
    except (protocol.DatasetFormatError, protocol.ModelLoadError, protocol.VersionExistsError, OSError,
            ValueError) as exc:
        print(f"eval_nsmc.py: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
