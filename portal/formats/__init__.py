"""The portal's date formats per language (settings.FORMAT_MODULE_PATH), over Django's own: pages print dates with
`date:"SHORT_DATETIME_FORMAT"`. Times are UTC in every language (TIME_ZONE), and the pages say so."""
