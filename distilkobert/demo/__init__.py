"""The main job, offline, on the embedded defaults: `distilkobert demo` / `make demo`.

- :mod:`.run`: the command (``main``): checks its folders, starts the local Hub (stage 1), runs the stages, prints
  the timings and the Space command;
- :mod:`.config`: the run's settings, its inputs (demo_data/ or --data-dir) and the frame of a stage; no Hugging
  Face import;
- :mod:`.stages`: stages 2 to 7 (datasets, tokenizer, training, evaluation, publishing, results), each calling
  the same ``main(argv)`` as its command-line tool; imported once the Hub endpoint is configured.

Nothing is imported here.
"""
