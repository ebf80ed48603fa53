import contextlib
import io
import unittest

from units.cli import main


def run_cli(*argv):
    """(exit status, stdout, stderr) of the command line with ``argv``."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(argv))
    return status, out.getvalue(), err.getvalue()


class CommandLineTests(unittest.TestCase):
    def test_cli_convert(self):
        self.assertEqual(run_cli("convert", "5", "km", "mi"), (0, "3.11 mi\n", ""))

    def test_cli_convert_precision(self):
        self.assertEqual(run_cli("convert", "1", "in", "cm", "--precision", "3")[1], "2.54 cm\n")

    def test_cli_duration_both_ways(self):
        self.assertEqual(run_cli("duration", "5400")[1], "1h30m\n")
        self.assertEqual(run_cli("duration", "1h30m")[1], "5400\n")

    def test_cli_size_both_ways(self):
        self.assertEqual(run_cli("size", "1572864")[1], "1.5 MiB\n")
        self.assertEqual(run_cli("size", "1500", "--decimal")[1], "1.5 kB\n")
        self.assertEqual(run_cli("size", "1.5 MiB")[1], "1572864\n")

    def test_cli_bad_unit_exits_2(self):
        status, out, err = run_cli("convert", "5", "km", "kg")
        self.assertEqual((status, out), (2, ""))
        self.assertIn("cannot convert length", err)

    def test_cli_prints_to_stdout(self):
        # Not captured here on purpose: the test runner keeps a test's output out of its report.
        self.assertEqual(main(["duration", "90"]), 0)
        self.assertEqual(main(["size", "nonsense"]), 2)


if __name__ == "__main__":
    unittest.main()
