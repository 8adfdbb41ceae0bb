"""The submission tree after the runs: truncating accuracy logs, checking the round's rules, packing a tarball."""
