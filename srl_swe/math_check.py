"""Final-answer checking with math-verify, safe from any thread.

math-verify bounds its own work with ``signal.alarm``, which only works in a process's main thread, and
TRL calls reward functions from wherever it likes. So every check runs in a worker process (whose main
thread does the work, with math-verify's own timeouts), and the caller waits at most
``timeout_s`` per batch item; a worker that hangs past that is killed and the item counts as wrong.

Contract: ``answers_match(completions, references)`` returns one bool per pair; the completion's last
``\\boxed{…}`` is compared with the reference (gold first, as math-verify requires). A completion with no
boxed answer is wrong. A reference that math-verify cannot parse makes the item wrong, never an error.
"""

from __future__ import annotations

import atexit
import multiprocessing
import threading
from concurrent.futures import CancelledError, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool

DEFAULT_TIMEOUT_S = 10.0
_pool: ProcessPoolExecutor | None = None
_lock = threading.Lock()


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{…}`` (or ``\\fbox{…}``) in text, braces balanced; None if absent."""
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        return None
    brace = text.find("{", start)
    if brace < 0:
        return None
    depth = 0
    for index in range(brace, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return text[brace + 1 : index]
    return None


def _verify(completion: str, reference: str) -> bool:
    """Runs in a worker process's main thread, where math-verify's signal timeouts work."""
    from math_verify import LatexExtractionConfig, parse, verify

    boxed = last_boxed(completion)
    if boxed is None:
        return False
    config = [LatexExtractionConfig(boxed_match_priority=0)]
    gold = parse(f"${reference}$" if "$" not in reference and "\\boxed" not in reference else reference)
    predicted = parse(f"\\boxed{{{boxed}}}", extraction_config=config)
    return bool(gold) and bool(predicted) and verify(gold, predicted)


def _get_pool() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            workers = max(1, min(4, multiprocessing.cpu_count()))
            _pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        return _pool


def _reset_pool(broken: ProcessPoolExecutor) -> None:
    """Kill the workers of ``broken`` (one of them hangs) so the next call starts fresh ones. Another
    thread may already have replaced it: then nothing is done."""
    global _pool
    with _lock:
        if _pool is not broken:
            return
        _pool = None
    for process in list(getattr(broken, "_processes", {}).values()):
        process.kill()
    broken.shutdown(wait=False, cancel_futures=True)


@atexit.register
def _shutdown() -> None:
    if _pool is not None:
        _reset_pool(_pool)


def answers_match(completions: list[str], references: list[str], timeout_s: float = DEFAULT_TIMEOUT_S) -> list[bool]:
    """Check each completion's boxed answer against its reference (see module docstring).

    An item whose worker hangs past ``timeout_s`` is wrong and its pool is replaced; items that lose
    their worker to that (or to any crash) are checked again on fresh workers. RuntimeError when the
    workers cannot run at all (e.g. a script without ``if __name__ == "__main__":`` under spawn).
    """
    if len(completions) != len(references):
        raise ValueError(f"{len(completions)} completions but {len(references)} references")
    results = [False] * len(completions)
    pending, idle_rounds = list(range(len(completions))), 0
    while pending:
        pool = _get_pool()
        futures = {i: pool.submit(_verify, completions[i], str(references[i])) for i in pending}
        pending = []
        for index, future in futures.items():
            try:
                results[index] = bool(future.result(timeout=timeout_s))
            except FutureTimeout:
                _reset_pool(pool)  # the hung item stays wrong; the others are resubmitted
            except (BrokenProcessPool, CancelledError):
                pending.append(index)
            except Exception:  # math-verify failing on odd input: the answer is not verified
                pass
        idle_rounds = idle_rounds + 1 if len(pending) == len(futures) else 0
        if idle_rounds > 2:
            raise RuntimeError("math-verify worker processes keep dying before answering; under the 'spawn' "
                               "start method a calling script needs an `if __name__ == '__main__':` guard")
    return results
