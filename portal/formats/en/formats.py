# English: ISO dates and a 24-hour clock, as the portal always showed them (Control Hub's own admin lists do too).
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
