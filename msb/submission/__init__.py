"""The submission tree after the runs: truncating accuracy logs, checking the rules, packing a tarball."""
