"""Dataset builders: NSMC (`nsmc`) and the pretraining corpus (`corpus`), written as parquet + dataset card.

Per dataset: the domain logic (`nsmc`, `corpus`), the `datasets.GeneratorBasedBuilder` form (`nsmc_builder`,
`corpus_builder`); shared by both: the cards (`cards`, templates in `distilkobert/resources/dataset_cards/`), the
command line (`cli`), parquet writing (`parquet`), inputs (`sources`), the build records (`build_results`) and
publishing (`publish`). Output folders follow `distilkobert.common.output_dir`.
"""
