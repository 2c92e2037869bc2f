"""Pure rules of the product: no I/O, no clock, no environment. Standard library only."""
