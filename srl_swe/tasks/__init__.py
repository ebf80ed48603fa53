"""Tasks, in one place: the sources accepted by ``collect --tasks`` and ``eval --benchmark`` (``names``), reading
and normalising rows into :class:`srl_swe.trajectory.SweTask` (``rows``), how each task is tested (``testing``),
and writing tasks as a swebench task repo (``export``)."""
