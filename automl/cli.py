"""The ``automl`` command line: a competition baseline in two commands.

::

    automl fit train.csv --target Status --time-budget 60 --output model.joblib
    automl predict model.joblib test.csv --output submission.csv
    automl show model.joblib
    automl export model.joblib --python pipeline.py

Bad input gets one line on stderr and exit status 2; a search in which no trial succeeds
exits with status 1; Ctrl-C exits with 130.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

__all__ = ["main"]

EXIT_USAGE = 2
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130
CLASSIFICATION_MAX_INT_LEVELS = 20


class CLIError(Exception):
    """A problem with the user's input: reported as one line, exit status 2."""


def _read_csv(path: str, what: str) -> Any:
    import pandas as pd

    file = Path(path)
    if not file.is_file():
        raise CLIError(f"{what} file not found: {path}")
    try:
        frame = pd.read_csv(file)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CLIError(f"cannot read {what} CSV {path}: {first}") from exc
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise CLIError(f"{what} CSV {path} has no rows or no columns")
    return frame


def _infer_task(y: Any) -> str:
    """Classification for labels that look categorical, regression for real numbers."""
    import pandas as pd

    if not pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y):
        return "classification"
    values = y.dropna()
    is_whole = bool((values == values.round()).all())
    if is_whole and values.nunique() <= CLASSIFICATION_MAX_INT_LEVELS:
        return "classification"
    return "regression"


def _split_target(frame: Any, target: str, id_column: str | None) -> tuple[Any, Any]:
    if target not in frame.columns:
        raise CLIError(
            f"target column {target!r} not found; the columns are: {', '.join(map(str, frame.columns))}"
        )
    if id_column is not None and id_column not in frame.columns:
        raise CLIError(f"id column {id_column!r} not found in the training CSV")
    y = frame[target]
    if y.isna().any():
        raise CLIError(
            f"target column {target!r} has {int(y.isna().sum())} missing values; drop those rows first"
        )
    X = frame.drop(columns=[target] + ([id_column] if id_column else []))
    return X, y


def _cmd_fit(args: argparse.Namespace) -> int:
    from automl import AutoClassifier, AutoRegressor
    from automl.persist import save

    frame = _read_csv(args.train, "training")
    X, y = _split_target(frame, args.target, args.id_column)
    task = args.task if args.task != "auto" else _infer_task(y)
    if task == "classification" and y.nunique() < 2:
        raise CLIError(f"target column {args.target!r} has a single class ({y.iloc[0]!r}); "
                       "a classifier needs at least two")
    cls = AutoClassifier if task == "classification" else AutoRegressor
    model = cls(
        time_budget=args.time_budget,
        n_trials=args.n_trials,
        metric=args.metric,
        cv=args.cv,
        n_jobs=args.n_jobs,
        random_state=args.seed,
        verbose=0 if args.quiet else 1,
    )
    _log(args, f"{task} on {X.shape[0]} rows x {X.shape[1]} columns, target {args.target!r}, "
               f"budget {args.time_budget} s")
    model.fit(X, y)
    model.cli_info_ = {"target": args.target, "id_column": args.id_column, "task": task,
                       "train_file": str(args.train)}
    save(model, args.output)
    _log(args, f"best CV {model.metric_name_} {model.best_score_:.5f} with {model.best_algorithm_}; "
               f"model written to {args.output}")
    return 0


def _load_model(path: str) -> Any:
    from automl.persist import load

    if not Path(path).is_file():
        raise CLIError(f"model file not found: {path}")
    try:
        return load(path)
    except ValueError as exc:
        raise CLIError(str(exc)) from exc


def _cmd_predict(args: argparse.Namespace) -> int:
    import pandas as pd

    model = _load_model(args.model)
    info = getattr(model, "cli_info_", {}) or {}
    frame = _read_csv(args.test, "test")
    id_column = args.id_column or info.get("id_column")
    X = frame.drop(columns=[c for c in (id_column, info.get("target")) if c and c in frame.columns])
    out = pd.DataFrame(index=frame.index)
    if id_column and id_column in frame.columns:
        out[id_column] = frame[id_column]
    target = info.get("target") or "prediction"
    if args.proba:
        if not hasattr(model, "predict_proba"):
            raise CLIError("--proba needs a classification model")
        proba = model.predict_proba(X)
        for i, label in enumerate(model.classes_):
            out[str(label)] = proba[:, i]
    else:
        out[target] = model.predict(X)
    if args.output:
        out.to_csv(args.output, index=False)
        print(f"wrote {len(out)} predictions to {args.output}", file=sys.stderr)
    else:
        out.to_csv(sys.stdout, index=False)
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    import pandas as pd

    model = _load_model(args.model)
    print(model.summary() if hasattr(model, "summary") else repr(model))
    if hasattr(model, "leaderboard"):
        board = model.leaderboard().head(args.top)
        with pd.option_context("display.width", 140, "display.max_colwidth", 60):
            print(f"\nleaderboard (top {args.top}):")
            print(board.drop(columns=[c for c in ("config",) if c in board.columns]).to_string())
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    model = _load_model(args.model)
    if not hasattr(model, "export_python"):
        raise CLIError(f"{args.model} holds a {type(model).__name__}, which cannot be exported")
    info = getattr(model, "cli_info_", {}) or {}
    model.export_python(args.python, target=info.get("target", "target"),
                        id_column=info.get("id_column"))
    print(f"wrote {args.python}: python {args.python} TRAIN.csv TEST.csv [OUT.csv]", file=sys.stderr)
    return 0


def _log(args: argparse.Namespace, message: str) -> None:
    if not getattr(args, "quiet", False):
        print(f"automl: {message}", file=sys.stderr)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a number of seconds; got {text!r}") from exc
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive; got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``automl`` command."""
    parser = argparse.ArgumentParser(prog="automl", description="AutoML baselines from CSV files.")
    sub = parser.add_subparsers(dest="command", required=True)

    fit = sub.add_parser("fit", help="search for the best pipeline and save it")
    fit.add_argument("train", help="training CSV (a header row; the target is one column)")
    fit.add_argument("--target", required=True, help="name of the target column")
    fit.add_argument("--task", choices=["auto", "classification", "regression"], default="auto")
    fit.add_argument("--metric", default=None, help="e.g. roc_auc, log_loss, accuracy, rmse, r2")
    fit.add_argument("--time-budget", type=_positive_float, default=60.0, help="seconds (default 60)")
    fit.add_argument("--n-trials", type=int, default=None,
                     help="stop after this many trials (with the time budget as a cap)")
    fit.add_argument("--cv", type=int, default=5, help="cross-validation folds (default 5)")
    fit.add_argument("--n-jobs", type=int, default=1, help="trials run in parallel (default 1)")
    fit.add_argument("--id-column", default=None, help="a row identifier, not used as a feature")
    fit.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    fit.add_argument("--output", default="model.joblib", help="model file (default model.joblib)")
    fit.add_argument("--quiet", action="store_true", help="no progress display")
    fit.set_defaults(func=_cmd_fit)

    predict = sub.add_parser("predict", help="predict a CSV with a saved model")
    predict.add_argument("model")
    predict.add_argument("test", help="CSV with the training columns (the target may be absent)")
    predict.add_argument("--proba", action="store_true", help="class probabilities, one column each")
    predict.add_argument("--id-column", default=None, help="overrides the one given at fit time")
    predict.add_argument("--output", default=None, help="submission CSV (default: stdout)")
    predict.set_defaults(func=_cmd_predict)

    show = sub.add_parser("show", help="describe a saved model")
    show.add_argument("model")
    show.add_argument("--top", type=int, default=10, help="leaderboard rows (default 10)")
    show.set_defaults(func=_cmd_show)

    export = sub.add_parser("export", help="export the best pipeline")
    export.add_argument("model")
    export.add_argument("--python", required=True, help="standalone Python script to write")
    export.set_defaults(func=_cmd_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``automl`` command; returns the exit status."""
    from automl.exceptions import NoSuccessfulTrialError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except CLIError as exc:
        print(f"automl: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except NoSuccessfulTrialError as exc:
        print(f"automl: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except (ValueError, TypeError) as exc:
        message = " ".join(str(exc).split())
        print(f"automl: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("automl: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
