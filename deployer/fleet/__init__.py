"""Many stacks from one manifest: parse and validate it, order the stacks, run them concurrently, summarise."""
