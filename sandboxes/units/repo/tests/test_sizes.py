import unittest

from units import UnitError, convert_size, format_size, parse_size


class ParseSizeTests(unittest.TestCase):
    def test_parse_binary_units(self):
        self.assertEqual(parse_size("1.5 MiB"), 1572864)
        self.assertEqual(parse_size("4KiB"), 4096)
        self.assertEqual(parse_size("2 GiB"), 2 * 1024**3)

    def test_parse_decimal_units(self):
        self.assertEqual(parse_size("1 GB"), 10**9)
        self.assertEqual(parse_size("2.5kB"), 2500)

    def test_parse_short_and_long_spellings(self):
        self.assertEqual(parse_size("2k"), 2000)
        self.assertEqual(parse_size("2Ki"), 2048)
        self.assertEqual(parse_size("3 M"), 3 * 10**6)
        self.assertEqual(parse_size("10 bytes"), 10)

    def test_parse_ignores_case(self):
        self.assertEqual(parse_size("1 mib"), parse_size("1 MiB"))
        self.assertEqual(parse_size("1 kb"), 1000)

    def test_parse_bare_number_and_int(self):
        self.assertEqual(parse_size("512"), 512)
        self.assertEqual(parse_size(512), 512)
        self.assertEqual(parse_size("1_048_576"), 1048576)

    def test_parse_rounds_half_up(self):
        self.assertEqual(parse_size("0.5 B"), 1)
        self.assertEqual(parse_size("1.0001 KiB"), 1024)

    def test_parse_size_rejects_bad_input(self):
        for text in ("", "MiB", "1.5 XB", "-1 KiB", "1..5 MB", 1.5, -3):
            with self.subTest(text=text):
                with self.assertRaises(UnitError):
                    parse_size(text)


class FormatSizeTests(unittest.TestCase):
    def test_format_bytes(self):
        self.assertEqual(format_size(0), "0 B")
        self.assertEqual(format_size(512), "512 B")
        self.assertEqual(format_size(1023), "1023 B")

    def test_format_binary(self):
        self.assertEqual(format_size(1024), "1 KiB")
        self.assertEqual(format_size(1572864), "1.5 MiB")
        self.assertEqual(format_size(5 * 1024**4), "5 TiB")

    def test_format_decimal(self):
        self.assertEqual(format_size(1500, binary=False), "1.5 kB")
        self.assertEqual(format_size(2_000_000_000, binary=False), "2 GB")

    def test_format_precision(self):
        self.assertEqual(format_size(1234567, precision=3), "1.177 MiB")
        self.assertEqual(format_size(1234567, binary=False, precision=0), "1 MB")

    def test_format_largest_unit_is_pib(self):
        self.assertEqual(format_size(3 * 1024**6), "3072 PiB")

    def test_format_size_rejects_bad_input(self):
        for value in (-1, 1.5, "1 KiB", True):
            with self.subTest(value=value):
                with self.assertRaises(UnitError):
                    format_size(value)

    def test_convert_size(self):
        self.assertEqual(convert_size("1 GiB", "MiB"), 1024.0)
        self.assertEqual(convert_size(1500, "kB"), 1.5)
        with self.assertRaises(UnitError):
            convert_size(10, "parsecs")


if __name__ == "__main__":
    unittest.main()
