"""The original KoBERT-family checkpoints (``monologg/kobert``, ``kobert-lm``, ``distilkobert``): loading and upgrading.

- :mod:`.repo`: a checkpoint (Hub repo or folder), its files, its checked config and its exact tokenizer;
  a checkpoint that is not KoBERT-family is refused before its weights are downloaded;
- :mod:`.api`: the original DistilKoBERT Python API (``get_kobert_model``, ``get_distilkobert_model``,
  ``get_tokenizer``, ...), re-exported lazily by :mod:`distilkobert`;
- :mod:`.conversion`: an upgraded copy with the same weights (safetensors, exact fast tokenizer, model card);
- :mod:`.cli`: ``distilkobert convert`` (``python -m distilkobert.checkpoints.cli``).

Nothing heavy is imported here: the command configures the Hub endpoint before any Hugging Face import.
"""
