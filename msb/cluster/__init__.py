"""`build.py run --slurm`, `build.py node-run`, `build.py status`: one submission from many machines through Slurm.

Layers: `chain.py` (pure: the job of each benchmark/scenario chain, its file and its sbatch line), `unit_status.py`
(pure: a unit's state from its state file and its job), `slurm.py` (the Slurm edge: its CLI through subprocess),
`submit.py` and `node.py` (the side effects), `commands.py` (the commands' arguments and bodies)."""
