"""amlbench: the side-by-side benchmark of automl against the AutoML systems users would
pick instead (issue 8). Lives outside the library; see benchmarks/compare/README.md."""
