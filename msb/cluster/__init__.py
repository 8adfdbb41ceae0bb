"""Running a submission's matrices on a Slurm cluster (issue 18)."""
