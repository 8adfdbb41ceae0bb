"""Runs: the plan (spec + container) of one harness run, the run matrix with resume and truncation, the
experiment folder's ownership, find-peak."""
