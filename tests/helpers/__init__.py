"""What the tests share, kept out of the installed package: ``tests/`` is on ``sys.path`` under pytest (the
conftest's folder), so these import as ``helpers.<module>``.

- :mod:`.local_hub`: the pytest plugin that starts a local Hub for the session (``tests/conftest.py`` loads it);
- :mod:`.kobert_standins`: stand-ins for the published KoBERT repos, in their original layout;
- :mod:`.tiny_bert`: a WordPiece tokenizer with KoBERT's special ids, a corpus folder, a tiny BERT teacher;
- :mod:`.tiny_classifier`: tiny fine-tuned-looking classifiers (also for ``benchmarks/serving.py --quick``);
- :mod:`.tiny_e5`: a multilingual-e5-shaped teacher at toy size, for the study.

The benchmarks' --quick runs use the tiny builders too (``benchmarks/_common.py:test_helper``).
"""
