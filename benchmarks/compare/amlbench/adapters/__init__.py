"""One adapter per benchmarked system, all with the interface of :class:`base.Adapter`.

Each module imports its system lazily (inside methods), so a module can be imported in
any environment; only the system's own environment can fit it."""
