"""What the tool reads: system descriptions, image definitions, round profiles, locks, each decoded and
type-checked with errors naming the file and field; and what a host can tell about itself (detect)."""
