import unittest
from datetime import timedelta

from units import UnitError, format_clock, format_duration, parse_duration, to_timedelta


class ParseDurationTests(unittest.TestCase):
    def test_parse_hours_and_minutes(self):
        self.assertEqual(parse_duration("1h30m"), 5400)

    def test_parse_every_unit_once(self):
        self.assertEqual(parse_duration("1w1d1h1m1s"), 604800 + 86400 + 3600 + 60 + 1)

    def test_parse_allows_spaces_between_parts(self):
        self.assertEqual(parse_duration(" 2h 15m "), 8100)
        self.assertEqual(parse_duration("2 h 15 m"), 8100)

    def test_parse_fractional_part(self):
        self.assertEqual(parse_duration("1.5h"), 5400)
        self.assertEqual(parse_duration("0.5s"), 0.5)

    def test_parse_bare_number_is_seconds(self):
        self.assertEqual(parse_duration("90"), 90)
        self.assertEqual(parse_duration("2.25"), 2.25)

    def test_parse_leading_sign(self):
        self.assertEqual(parse_duration("-1h30m"), -5400)
        self.assertEqual(parse_duration("+45s"), 45)

    def test_parse_clock_forms(self):
        self.assertEqual(parse_duration("1:30"), 90)
        self.assertEqual(parse_duration("1:30:00"), 5400)
        self.assertEqual(parse_duration("0:00:01.5"), 1.5)

    def test_parse_passes_numbers_and_timedeltas_through(self):
        self.assertEqual(parse_duration(12), 12.0)
        self.assertEqual(parse_duration(timedelta(minutes=2)), 120.0)

    def test_parse_rejects_garbage(self):
        for text in ("", "abc", "1x", "h1", "1h30", "--5", "1:75:00"):
            with self.subTest(text=text):
                with self.assertRaises(UnitError):
                    parse_duration(text)

    def test_parse_rejects_repeated_unit(self):
        with self.assertRaisesRegex(UnitError, "repeated"):
            parse_duration("1h2h")

    def test_parse_rejects_units_out_of_order(self):
        with self.assertRaisesRegex(UnitError, "out of order"):
            parse_duration("30m1h")

    def test_to_timedelta(self):
        self.assertEqual(to_timedelta("1d2h"), timedelta(days=1, hours=2))


class FormatDurationTests(unittest.TestCase):
    def test_format_hours_and_minutes(self):
        self.assertEqual(format_duration(5400), "1h30m")

    def test_format_leaves_out_zero_parts(self):
        self.assertEqual(format_duration(3601), "1h1s")
        self.assertEqual(format_duration(604800), "1w")

    def test_format_zero(self):
        self.assertEqual(format_duration(0), "0s")
        self.assertEqual(format_duration(0.0001), "0s")

    def test_format_milliseconds(self):
        self.assertEqual(format_duration(0.25), "250ms")
        self.assertEqual(format_duration(61.5), "1m1s500ms")

    def test_format_largest_unit(self):
        self.assertEqual(format_duration(90000), "1d1h")
        self.assertEqual(format_duration(90000, largest="h"), "25h")
        self.assertEqual(format_duration(5400, largest="m"), "90m")

    def test_format_unknown_largest_unit(self):
        with self.assertRaises(UnitError):
            format_duration(10, largest="y")

    def test_format_timedelta(self):
        self.assertEqual(format_duration(timedelta(days=8, seconds=5)), "1w1d5s")

    def test_format_rejects_text(self):
        with self.assertRaises(UnitError):
            format_duration("5m")

    def test_roundtrip_whole_seconds(self):
        for seconds in (1, 59, 60, 3599, 3600, 86399, 90061, 1209600):
            with self.subTest(seconds=seconds):
                self.assertEqual(parse_duration(format_duration(seconds)), seconds)


class FormatClockTests(unittest.TestCase):
    def test_clock_pads_minutes_and_seconds(self):
        self.assertEqual(format_clock(5400), "1:30:00")
        self.assertEqual(format_clock(65), "0:01:05")

    def test_clock_hours_are_unbounded(self):
        self.assertEqual(format_clock(100 * 3600), "100:00:00")

    def test_clock_negative(self):
        self.assertEqual(format_clock(-90), "-0:01:30")

    def test_clock_rounds_to_the_second(self):
        self.assertEqual(format_clock(59.6), "0:01:00")


if __name__ == "__main__":
    unittest.main()
