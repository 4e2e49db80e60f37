# French (Canada): the Office québécois de la langue française writes numeric dates year-month-day, with a 24-hour
# clock.
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
