"""Running a submission's matrices on a Slurm cluster: one job per chain, a node-side entry through the local
matrix's machinery, and each unit's status (docs/CLUSTER.md)."""
