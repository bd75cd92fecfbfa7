"""The ground floor: small helpers that every layer of the package (and the benchmarks and scripts) may import.

What belongs here: a helper used by several features that imports no other project module except the ones in
this folder (``nsmc_results`` uses ``environment`` and ``tables``). A module that is a feature of its own, or that
needs a higher layer (data, tokenization, hub, ...), lives with that feature instead.

- :mod:`.output_dir`: the output-folder policy of every command (checked first, built aside, swapped in);
- :mod:`.front_matter`: a card's YAML front matter, for dataset and model cards;
- :mod:`.tables`: Markdown tables, for cards, results and benchmarks;
- :mod:`.environment`: machine facts and library versions, recorded in every results file;
- :mod:`.model_size`: parameter counts;
- :mod:`.nsmc_results`: the ``nsmc_results.json`` schema, its tables and ``--compare``;
- :mod:`.recipe`: typed YAML recipes for ``HfArgumentParser`` jobs (imports transformers).

Nothing is imported here: importing one helper does not import the others.
"""
