"""Dataset builders: NSMC (`nsmc`) and the pretraining corpus (`corpus`), written as parquet + dataset card.

Import-light on purpose: `datasets` is only imported by the `*_builder` modules (the
`GeneratorBasedBuilder` classes, reached lazily as `nsmc.NsmcBuilder` / `corpus.CorpusBuilder`), so that the
commands can configure the Hub endpoint first.
"""
