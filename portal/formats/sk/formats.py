# Slovak: day. month. year with spaces (STN 01 6910), 24-hour clock.
SHORT_DATE_FORMAT = "j. n. Y"
SHORT_DATETIME_FORMAT = "j. n. Y H:i"
