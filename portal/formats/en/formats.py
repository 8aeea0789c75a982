"""English as written in Belgium: day before month, 24-hour clock (Django's "en" is US style).

Dutch and French keep Django's own formats for those languages.
"""

DATE_FORMAT = "j F Y"  # 28 November 2026
TIME_FORMAT = "H:i"  # 14:05
DATETIME_FORMAT = "j F Y H:i"  # 28 November 2026 14:05
YEAR_MONTH_FORMAT = "F Y"  # November 2026
MONTH_DAY_FORMAT = "j F"  # 28 November
SHORT_DATE_FORMAT = "d/m/Y"  # 28/11/2026
SHORT_DATETIME_FORMAT = "d/m/Y H:i"  # 28/11/2026 14:05
FIRST_DAY_OF_WEEK = 1  # Monday

DATE_INPUT_FORMATS = ["%d/%m/%Y", "%d/%m/%y", "%Y-%m-%d"]
DATETIME_INPUT_FORMATS = [
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%y %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
]
DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
