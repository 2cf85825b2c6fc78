"""The sections of docs/results.md, one module each (:mod:`shopgym.experiments.agent_results` assembles the
page): Pricing-v1 against the exact optimum, the Marketing-v1 comparison, memory on a partially observed task,
training speed, and the transfer and continual-learning suites with the project's targets. Every section reads
and writes its finished runs as cells of one :class:`~shopgym.experiments.runs.CellStore`."""
