import unittest

from units import Temperature, UnitError, convert_temperature, parse_temperature


class TemperatureTests(unittest.TestCase):
    def test_conversion_fixed_points(self):
        self.assertAlmostEqual(convert_temperature(100, "C", "F"), 212)
        self.assertAlmostEqual(convert_temperature(32, "F", "C"), 0)
        self.assertAlmostEqual(convert_temperature(0, "C", "K"), 273.15)
        self.assertAlmostEqual(convert_temperature(-40, "F", "C"), -40)

    def test_to_same_scale_is_identity(self):
        t = Temperature(21.5, "C")
        self.assertIs(t.to("celsius"), t)

    def test_absolute_zero_is_allowed_below_is_not(self):
        self.assertAlmostEqual(Temperature(0, "K").to("C").value, -273.15)
        with self.assertRaises(UnitError):
            Temperature(-300, "C")
        with self.assertRaises(UnitError):
            Temperature(-1, "K")

    def test_equality_across_scales(self):
        self.assertEqual(Temperature(0, "C"), Temperature(32, "F"))
        self.assertEqual(Temperature(0, "C"), Temperature(273.15, "K"))
        self.assertNotEqual(Temperature(0, "C"), Temperature(0, "F"))

    def test_equal_temperatures_hash_alike(self):
        self.assertEqual(len({Temperature(100, "C"), Temperature(212, "F")}), 1)

    def test_ordering_on_one_scale(self):
        temps = [Temperature(30, "C"), Temperature(-5, "C"), Temperature(12, "C")]
        self.assertEqual([t.value for t in sorted(temps)], [-5, 12, 30])
        self.assertTrue(Temperature(1, "F") < Temperature(2, "F"))
        self.assertTrue(Temperature(2, "K") >= Temperature(2, "K"))

    def test_format(self):
        self.assertEqual(str(Temperature(21.5, "C")), "21.5 °C")
        self.assertEqual(Temperature(70, "F").format(), "70 °F")
        self.assertEqual(Temperature(300, "K").format(), "300 K")
        self.assertEqual(Temperature(36.666, "C").format(2), "36.67 °C")

    def test_parse_temperature_spellings(self):
        self.assertEqual(parse_temperature("21.5°C"), Temperature(21.5, "C"))
        self.assertEqual(parse_temperature("70 F").scale, "F")
        self.assertEqual(parse_temperature("-40 fahrenheit"), Temperature(-40, "C"))
        self.assertEqual(parse_temperature("300K").value, 300)
        self.assertEqual(parse_temperature("12 ° C").scale, "C")

    def test_parse_temperature_rejects_bad_input(self):
        for text in ("", "21.5", "hot", "21.5 R", "C 21"):
            with self.subTest(text=text):
                with self.assertRaises(UnitError):
                    parse_temperature(text)

    def test_temperature_rejects_non_numbers(self):
        for value in ("20", None, float("nan"), True):
            with self.subTest(value=value):
                with self.assertRaises(UnitError):
                    Temperature(value, "C")


if __name__ == "__main__":
    unittest.main()
