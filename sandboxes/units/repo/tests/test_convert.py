import unittest

from units import Quantity, UnitError, canonical_unit, convert, dimension, parse_quantity


class ConvertTests(unittest.TestCase):
    def test_convert_length(self):
        self.assertAlmostEqual(convert(1, "mi", "km"), 1.609344)
        self.assertAlmostEqual(convert(12, "in", "ft"), 1.0)
        self.assertAlmostEqual(convert(250, "cm", "m"), 2.5)

    def test_convert_mass(self):
        self.assertAlmostEqual(convert(1, "kg", "lb"), 2.2046226218)
        self.assertAlmostEqual(convert(16, "oz", "lb"), 1.0)

    def test_convert_time_and_data(self):
        self.assertEqual(convert(90, "min", "h"), 1.5)
        self.assertEqual(convert(2, "MiB", "KiB"), 2048)

    def test_convert_temperature_units(self):
        self.assertAlmostEqual(convert(100, "C", "F"), 212)
        self.assertAlmostEqual(convert(212, "fahrenheit", "kelvin"), 373.15)

    def test_convert_accepts_aliases(self):
        self.assertAlmostEqual(convert(3, "feet", "yd"), 1.0)
        self.assertEqual(convert(2, "hours", "minutes"), 120)

    def test_convert_across_dimensions_fails(self):
        with self.assertRaisesRegex(UnitError, "cannot convert length"):
            convert(5, "km", "kg")
        with self.assertRaises(UnitError):
            convert(5, "C", "s")

    def test_unknown_unit(self):
        with self.assertRaisesRegex(UnitError, "unknown unit"):
            convert(1, "furlong", "m")

    def test_canonical_unit_and_dimension(self):
        self.assertEqual(canonical_unit("Feet"), "ft")
        self.assertEqual(canonical_unit("°F"), "F")
        self.assertEqual(dimension("lbs"), "mass")
        self.assertEqual(dimension("kelvin"), "temperature")

    def test_parse_quantity(self):
        self.assertEqual(parse_quantity("12.5 km"), Quantity(12.5, "km"))
        self.assertEqual(parse_quantity("3 feet"), Quantity(3.0, "ft"))
        self.assertEqual(parse_quantity("-4 °C"), Quantity(-4.0, "C"))
        with self.assertRaises(UnitError):
            parse_quantity("km 12")

    def test_quantity_to_and_format(self):
        q = Quantity(5, "km").to("mi")
        self.assertEqual(q.unit, "mi")
        self.assertEqual(q.format(), "3.11 mi")
        self.assertEqual(Quantity(2.0, "kg").format(), "2 kg")


if __name__ == "__main__":
    unittest.main()
