"""`build.py explore`: short performance runs over a grid of batch sizes (and threads) in the system's image, each
kept as an experiment of its own, with a CSV, plots and a summary that recommends a setting."""
