"""Every side effect a workflow asks for, as methods of classes built with their clients."""
