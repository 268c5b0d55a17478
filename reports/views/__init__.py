"""TLSRPT pages: charts, report lists and drill-down, raw inputs, upload, set-up."""
