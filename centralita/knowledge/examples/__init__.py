"""An example knowledge base (a fictional collections company in Chile and Spain) and the
questions debtors ask about it: data files, shipped with the package for the bench."""
